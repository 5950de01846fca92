/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "aic-error.h"
#include "aic-sse-parser.h"

/* An incremental parser for text/event-stream, following the WHATWG HTML
 * "event stream interpretation" rules to the letter (see PROTOCOL.md).
 *
 * Bytes may arrive in any chunks: a CR ending one chunk and the LF starting
 * the next make one line end, and a BOM split over chunks is still dropped.
 * Every byte is scanned a bounded number of times, so the cost is linear in
 * the input however it is cut, and lines that sit whole inside a chunk are
 * parsed where they lie without being copied. Line and event sizes are
 * bounded; past a bound the parser fails with AIC_ERROR_TOO_LARGE and stays
 * failed, instead of growing without end. */

static const char bom[] = "\xEF\xBB\xBF";

struct _AicSseParser
{
  AicSseCallbacks callbacks;
  gpointer        user_data;

  gsize           max_line;
  gsize           max_event;

  GString        *line;          /* a line split over chunks */
  GString        *data;
  GString        *type;
  GString        *id_buffer;     /* the last event id buffer */
  GString        *last_id;       /* the last event id, as of the last dispatch */

  guint           bom_seen;      /* BOM bytes matched at the start, 0..3 */
  guint           line_non_ascii : 1;  /* in line, a byte past 0x7F */
  guint           id_changed : 1;      /* id_buffer set since the last dispatch */
  guint           started : 1;   /* past the BOM check */
  guint           pending_cr : 1;
  guint           failed : 1;
};

AicSseParser *
aic_sse_parser_new (const AicSseCallbacks *callbacks,
                    gpointer               user_data)
{
  AicSseParser *self;

  g_return_val_if_fail (callbacks != NULL && callbacks->event != NULL, NULL);

  self = g_new0 (AicSseParser, 1);
  self->callbacks = *callbacks;
  self->user_data = user_data;
  self->max_line = AIC_SSE_DEFAULT_MAX_LINE;
  self->max_event = AIC_SSE_DEFAULT_MAX_EVENT;
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
  self->type = g_string_new (NULL);
  self->id_buffer = g_string_new (NULL);
  self->last_id = g_string_new (NULL);
  return self;
}

void
aic_sse_parser_free (AicSseParser *self)
{
  if (self == NULL)
    return;
  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_string_free (self->type, TRUE);
  g_string_free (self->id_buffer, TRUE);
  g_string_free (self->last_id, TRUE);
  g_free (self);
}

/**
 * aic_sse_parser_set_limits:
 * @max_line: the longest line accepted, in bytes, without its terminator
 * @max_event: the largest data buffer of one event, in bytes
 */
void
aic_sse_parser_set_limits (AicSseParser *self,
                           gsize         max_line,
                           gsize         max_event)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (max_line > 0 && max_event > 0);

  self->max_line = max_line;
  self->max_event = max_event;
}

/**
 * aic_sse_parser_reset:
 * Forgets everything of the current connection but the last event id, as
 * a reconnection must: the next bytes are a new stream.
 */
void
aic_sse_parser_reset (AicSseParser *self)
{
  g_return_if_fail (self != NULL);

  g_string_truncate (self->line, 0);
  self->line_non_ascii = FALSE;
  g_string_truncate (self->data, 0);
  g_string_truncate (self->type, 0);
  g_string_assign (self->id_buffer, self->last_id->str);
  self->bom_seen = 0;
  self->started = FALSE;
  self->pending_cr = FALSE;
  self->failed = FALSE;
}

const char *
aic_sse_parser_get_last_event_id (AicSseParser *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->last_id->str;
}

void
aic_sse_parser_set_last_event_id (AicSseParser *self,
                                  const char   *id)
{
  g_return_if_fail (self != NULL);
  g_string_assign (self->last_id, id ? id : "");
  g_string_assign (self->id_buffer, self->last_id->str);
}

typedef enum { TOO_LONG_LINE, TOO_LARGE_EVENT } Limit;

static gboolean
fail (AicSseParser  *self,
      GError       **error,
      Limit          what,
      gsize          limit)
{
  g_autofree char *size = g_format_size_full (limit, G_FORMAT_SIZE_IEC_UNITS);

  self->failed = TRUE;
  if (what == TOO_LONG_LINE)
    /* Translators: %s is a size such as "1.0 MiB" */
    g_set_error (error, AIC_ERROR, AIC_ERROR_TOO_LARGE,
                 _("A line of the event stream is larger than %s."), size);
  else
    g_set_error (error, AIC_ERROR, AIC_ERROR_TOO_LARGE,
                 _("An event of the event stream is larger than %s."), size);
  return FALSE;
}

/* GLib 2.74's g_string_truncate() is a call; this runs once per event. */
static inline void
clear (GString *string)
{
  string->len = 0;
  string->str[0] = '\0';
}

static void
dispatch (AicSseParser *self)
{
  AicSseEvent event;

  /* The last event id only changes when an id field came. */
  if (self->id_changed)
    {
      self->id_changed = FALSE;
      if (self->last_id->len != self->id_buffer->len ||
          memcmp (self->last_id->str, self->id_buffer->str, self->id_buffer->len) != 0)
        g_string_assign (self->last_id, self->id_buffer->str);
    }

  if (self->data->len == 0)
    {
      if (self->type->len > 0)
        clear (self->type);
      return;
    }

  /* One trailing LF goes; every data line added one. */
  self->data->len--;
  self->data->str[self->data->len] = '\0';

  event.type = self->type->len ? self->type->str : "message";
  event.data = self->data->str;
  event.data_len = self->data->len;
  event.id = self->last_id->str;
  self->callbacks.event (self->user_data, &event);

  clear (self->data);
  if (self->type->len > 0)
    clear (self->type);
}

static inline void
set_string (GString    *string,
            const char *value,
            gsize       len)
{
  if (len + 1 > string->allocated_len)
    g_string_set_size (string, len);
  memcpy (string->str, value, len);
  string->len = len;
  string->str[len] = '\0';
}

/* Adds a data line's value and its LF to the event's data. */
static inline gboolean
append_data (AicSseParser  *self,
             const char    *value,
             gsize          len,
             GError       **error)
{
  GString *data = self->data;
  gsize old = data->len;

  if (old + len + 1 > self->max_event)
    return fail (self, error, TOO_LARGE_EVENT, self->max_event);
  if (old + len + 2 > data->allocated_len)
    g_string_set_size (data, old + len + 1);
  memcpy (data->str + old, value, len);
  data->str[old + len] = '\n';
  data->len = old + len + 1;
  data->str[data->len] = '\0';
  return TRUE;
}

static inline gboolean
is_data_field (const char *line,
               gsize       len)
{
  return len >= 5 && line[0] == 'd' && line[1] == 'a' && line[2] == 't' && line[3] == 'a' && line[4] == ':';
}

/* Valid UTF-8, where NUL is a character like any other (unlike in
 * g_utf8_validate()). */
static gboolean
is_valid_utf8 (const char *text,
               gsize       len)
{
  const char *end = text + len;

  while (text < end)
    {
      const char *nul = memchr (text, '\0', end - text);
      const char *stop = nul ? nul : end;

      if (!g_utf8_validate_len (text, stop - text, NULL))
        return FALSE;
      text = nul ? nul + 1 : end;
    }
  return TRUE;
}

/* The WHATWG "UTF-8 decode" with replacement: one U+FFFD for each maximal
 * ill-formed subsequence, so "\xE4\xB8" gives one, not two. Only used on
 * lines that failed validation. */
static char *
decode_with_replacement (const char *text,
                         gsize       len,
                         gsize      *out_len)
{
  GString *out = g_string_sized_new (len + 8);
  guint needed = 0, seen = 0;
  guint8 lower = 0x80, upper = 0xBF;
  gunichar code_point = 0;

  for (gsize i = 0; i < len; i++)
    {
      guint8 byte = (guint8) text[i];

      if (needed == 0)
        {
          if (byte <= 0x7F)
            g_string_append_c (out, (char) byte);
          else if (byte >= 0xC2 && byte <= 0xDF)
            needed = 1, code_point = byte & 0x1F;
          else if (byte >= 0xE0 && byte <= 0xEF)
            {
              if (byte == 0xE0)
                lower = 0xA0;
              else if (byte == 0xED)
                upper = 0x9F;
              needed = 2, code_point = byte & 0x0F;
            }
          else if (byte >= 0xF0 && byte <= 0xF4)
            {
              if (byte == 0xF0)
                lower = 0x90;
              else if (byte == 0xF4)
                upper = 0x8F;
              needed = 3, code_point = byte & 0x07;
            }
          else
            g_string_append (out, "\xEF\xBF\xBD");
          continue;
        }

      if (byte < lower || byte > upper)
        {
          /* The sequence broke off: replace it, and read this byte anew. */
          needed = seen = 0, code_point = 0;
          lower = 0x80, upper = 0xBF;
          g_string_append (out, "\xEF\xBF\xBD");
          i--;
          continue;
        }

      lower = 0x80, upper = 0xBF;
      code_point = (code_point << 6) | (byte & 0x3F);
      if (++seen == needed)
        {
          g_string_append_unichar (out, code_point);
          needed = seen = 0, code_point = 0;
        }
    }
  if (needed != 0)
    g_string_append (out, "\xEF\xBF\xBD");

  *out_len = out->len;
  return g_string_free (out, FALSE);
}

static gboolean
digits_only (const char *text,
             gsize       len,
             guint64    *value)
{
  guint64 n = 0;

  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] < '0' || text[i] > '9')
        return FALSE;
      if (n > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      n = n * 10 + (guint64) (text[i] - '0');
    }
  *value = n;
  return TRUE;
}

/* @non_ascii: whether @line may hold bytes past 0x7F; the scanner that
 * found its end knows, so the line is not read again to learn it. */
static gboolean
process_line (AicSseParser  *self,
              const char    *line,
              gsize          len,
              gboolean       non_ascii,
              GError       **error)
{
  g_autofree char *valid = NULL;
  const char *colon, *value;
  gsize field_len, value_len;

  if (len > self->max_line)
    return fail (self, error, TOO_LONG_LINE, self->max_line);

  if (len == 0)
    {
      dispatch (self);
      return TRUE;
    }

  /* The stream is UTF-8; broken sequences become U+FFFD, as the decoder
   * the standard prescribes does. Line ends are ASCII, so a line holds
   * whole characters and can be checked on its own. */
  if (non_ascii && !is_valid_utf8 (line, len))
    {
      valid = decode_with_replacement (line, len, &len);
      line = valid;
    }

  /* The line nearly every event is made of, taken the short way. */
  if (is_data_field (line, len))
    {
      const char *data_value = line + 5;
      gsize data_len = len - 5;

      if (data_len > 0 && data_value[0] == ' ')
        data_value++, data_len--;
      return append_data (self, data_value, data_len, error);
    }

  if (line[0] == ':')
    {
      if (self->callbacks.comment != NULL)
        self->callbacks.comment (self->user_data, line + 1, len - 1);
      return TRUE;
    }

  /* Field names are short: a loop beats a call to memchr(). */
  colon = NULL;
  for (gsize i = 0; i < len; i++)
    if (line[i] == ':')
      {
        colon = line + i;
        break;
      }
  if (colon != NULL)
    {
      field_len = colon - line;
      value = colon + 1;
      value_len = len - field_len - 1;
      if (value_len > 0 && value[0] == ' ')
        value++, value_len--;
    }
  else
    {
      field_len = len;
      value = line + len;
      value_len = 0;
    }

  if (field_len == 4 && memcmp (line, "data", 4) == 0)
    {
      if (!append_data (self, value, value_len, error))
        return FALSE;
    }
  else if (field_len == 5 && memcmp (line, "event", 5) == 0)
    set_string (self->type, value, value_len);
  else if (field_len == 2 && line[0] == 'i' && line[1] == 'd')
    {
      gboolean has_nul = FALSE;

      for (gsize i = 0; i < value_len && !has_nul; i++)
        has_nul = value[i] == '\0';
      if (!has_nul)
        {
          set_string (self->id_buffer, value, value_len);
          self->id_changed = TRUE;
        }
    }
  else if (field_len == 5 && memcmp (line, "retry", 5) == 0)
    {
      guint64 milliseconds;

      if (digits_only (value, value_len, &milliseconds) && self->callbacks.retry != NULL)
        self->callbacks.retry (self->user_data, milliseconds);
    }
  /* Any other field is ignored. */

  return TRUE;
}

/* The first LF or CR in [@p, @end), or NULL; sets *@non_ascii when a byte
 * before it (or before @end, when there is none) is past 0x7F. One pass
 * finds both, so a line's bytes are read once before it is parsed. */
static inline const char *
find_line_end (const char *p,
               const char *end,
               gboolean   *non_ascii)
{
#ifdef __SSE2__
  const __m128i lf = _mm_set1_epi8 ('\n');
  const __m128i cr = _mm_set1_epi8 ('\r');
  guint high = 0;

  while (end - p >= 16)
    {
      __m128i v = _mm_loadu_si128 ((const __m128i *) p);
      guint ends = _mm_movemask_epi8 (_mm_or_si128 (_mm_cmpeq_epi8 (v, lf), _mm_cmpeq_epi8 (v, cr)));
      guint bits = _mm_movemask_epi8 (v);

      if (ends != 0)
        {
          guint first = __builtin_ctz (ends);

          high |= bits & ((1u << first) - 1);
          *non_ascii |= high != 0;
          return p + first;
        }
      high |= bits;
      p += 16;
    }
  *non_ascii |= high != 0;
#endif
  for (; p < end; p++)
    {
      if (*p == '\n' || *p == '\r')
        return p;
      if ((guchar) *p >= 0x80)
        *non_ascii = TRUE;
    }
  return NULL;
}

static gboolean
feed_lines (AicSseParser  *self,
            const char    *p,
            const char    *end,
            GError       **error)
{
  if (self->pending_cr)
    {
      self->pending_cr = FALSE;
      if (p < end && *p == '\n')
        p++;
    }

  while (p < end)
    {
      gboolean non_ascii = FALSE;
      const char *term = find_line_end (p, end, &non_ascii);

      if (term == NULL)
        {
          if (self->line->len + (end - p) > self->max_line)
            return fail (self, error, TOO_LONG_LINE, self->max_line);
          g_string_append_len (self->line, p, end - p);
          self->line_non_ascii |= non_ascii;
          return TRUE;
        }

      if (self->line->len > 0)
        {
          if (self->line->len + (term - p) > self->max_line)
            return fail (self, error, TOO_LONG_LINE, self->max_line);
          g_string_append_len (self->line, p, term - p);
          if (!process_line (self, self->line->str, self->line->len,
                             self->line_non_ascii || non_ascii, error))
            return FALSE;
          g_string_truncate (self->line, 0);
          self->line_non_ascii = FALSE;
        }
      else if (term == p)
        dispatch (self);
      else if (!non_ascii && is_data_field (p, term - p) && (gsize) (term - p) <= self->max_line)
        {
          /* The usual line, parsed where it lies. */
          const char *value = p + 5;

          if (value < term && *value == ' ')
            value++;
          if (!append_data (self, value, term - value, error))
            return FALSE;
        }
      else if (!process_line (self, p, term - p, non_ascii, error))
        return FALSE;

      p = term + 1;
      if (*term == '\r')
        {
          if (p == end)
            self->pending_cr = TRUE;
          else if (*p == '\n')
            p++;
        }
    }

  return TRUE;
}

/**
 * aic_sse_parser_feed:
 * Parses @len more bytes; events are dispatched through the callbacks
 * before this returns. After an error the parser refuses more input until
 * aic_sse_parser_reset().
 */
gboolean
aic_sse_parser_feed (AicSseParser  *self,
                     const char    *data,
                     gsize          len,
                     GError       **error)
{
  const char *p = data;
  const char *end = data + len;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (self->failed)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The event stream had already failed."));
      return FALSE;
    }

  /* One BOM at the very start is dropped, even when it arrives in pieces. */
  while (!self->started && p < end)
    {
      if (*p == bom[self->bom_seen])
        {
          p++;
          if (++self->bom_seen == 3)
            self->started = TRUE;
          continue;
        }

      self->started = TRUE;
      if (self->bom_seen > 0 && !feed_lines (self, bom, bom + self->bom_seen, error))
        return FALSE;
    }

  return feed_lines (self, p, end, error);
}

/**
 * aic_sse_parser_is_between_events:
 * Whether the bytes fed so far end exactly at the end of an event (or of
 * a comment): a stream that stops here was not cut inside an event.
 */
gboolean
aic_sse_parser_is_between_events (AicSseParser *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->line->len == 0 && self->data->len == 0 && self->type->len == 0;
}

/**
 * aic_sse_parser_finish:
 * @keep_complete: %TRUE for provider dialects, where the end of the stream
 *   also ends its last line and event; %FALSE for the standard behaviour,
 *   which drops an event that no blank line completed
 *
 * Call at the end of the stream.
 */
gboolean
aic_sse_parser_finish (AicSseParser  *self,
                       gboolean       keep_complete,
                       GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->failed)
    return TRUE;

  if (!self->started && self->bom_seen > 0 && keep_complete)
    {
      self->started = TRUE;
      if (!feed_lines (self, bom, bom + self->bom_seen, error))
        return FALSE;
    }

  if (keep_complete)
    {
      if (self->line->len > 0)
        {
          if (!process_line (self, self->line->str, self->line->len, self->line_non_ascii, error))
            return FALSE;
        }
      dispatch (self);
    }

  g_string_truncate (self->line, 0);
  self->line_non_ascii = FALSE;
  g_string_truncate (self->data, 0);
  g_string_truncate (self->type, 0);
  return TRUE;
}
