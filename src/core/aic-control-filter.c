/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-control-filter.h"

enum
{
  STATE_TEXT,
  STATE_ESCAPE,        /* after ESC */
  STATE_CSI,           /* ESC [ or U+009B: parameters up to a final byte */
  STATE_STRING,        /* OSC, DCS, SOS, PM, APC: up to BEL or ST */
  STATE_STRING_ESCAPE, /* ESC inside a string: ESC \ is ST */
};

void
aic_control_filter_init (AicControlFilter *filter,
                         gboolean          keep_newlines)
{
  filter->state = STATE_TEXT;
  filter->keep_newlines = keep_newlines;
}

static gboolean
starts_string (gunichar c)
{
  /* ] OSC, P DCS, X SOS, ^ PM, _ APC after ESC. */
  return c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_';
}

static gboolean
is_control (gunichar c)
{
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f);
}

/* One character outside any sequence. */
static void
text_char (AicControlFilter *filter,
           gunichar          c,
           GString          *out)
{
  if (c == 0x1b)
    filter->state = STATE_ESCAPE;
  else if (c == 0x9b)
    filter->state = STATE_CSI;
  else if (c == 0x9d || c == 0x90 || c == 0x98 || c == 0x9e || c == 0x9f)
    filter->state = STATE_STRING;
  else if (c == '\n')
    g_string_append_c (out, filter->keep_newlines ? '\n' : ' ');
  else if (c == '\t')
    g_string_append_c (out, '\t');
  else if (!is_control (c))
    g_string_append_unichar (out, c);
}

void
aic_control_filter_feed (AicControlFilter *filter,
                         const char       *text,
                         GString          *out)
{
  g_return_if_fail (filter != NULL && out != NULL);

  if (text == NULL)
    return;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      /* Not UTF-8: nothing to show, and nothing to step over safely. */
      if (c == (gunichar) -1 || c == (gunichar) -2)
        return;

      switch (filter->state)
        {
        case STATE_ESCAPE:
          if (c == '[')
            filter->state = STATE_CSI;
          else if (starts_string (c))
            filter->state = STATE_STRING;
          else if (c >= 0x20 && c <= 0x2f)
            ;   /* an intermediate byte: the sequence goes on */
          else if (c == 0x1b)
            ;
          else
            {
              filter->state = STATE_TEXT;
              /* ESC followed by a control ends there; that control is
               * judged on its own (a \n stays a line break). */
              if (is_control (c))
                text_char (filter, c, out);
            }
          break;

        case STATE_CSI:
          if (c >= 0x20 && c <= 0x3f)
            ;   /* parameter and intermediate bytes */
          else
            {
              filter->state = STATE_TEXT;
              if (!(c >= 0x40 && c <= 0x7e))
                text_char (filter, c, out);
            }
          break;

        case STATE_STRING:
          if (c == 0x07 || c == 0x9c)
            filter->state = STATE_TEXT;
          else if (c == 0x1b)
            filter->state = STATE_STRING_ESCAPE;
          break;

        case STATE_STRING_ESCAPE:
          if (c == '\\')
            filter->state = STATE_TEXT;
          else if (c != 0x1b)
            filter->state = STATE_STRING;
          break;

        case STATE_TEXT:
        default:
          text_char (filter, c, out);
          break;
        }
    }
}

/**
 * aic_control_strip:
 * Returns: (transfer full): @text without control sequences, for text that
 *   arrives whole
 */
char *
aic_control_strip (const char *text,
                   gboolean    keep_newlines)
{
  AicControlFilter filter;
  GString *out = g_string_new (NULL);

  aic_control_filter_init (&filter, keep_newlines);
  aic_control_filter_feed (&filter, text, out);
  return g_string_free (out, FALSE);
}
