/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-control-filter.h"

/* What a terminal would be told by a hostile model, and what must remain. */
static const struct
{
  const char *text;
  const char *shown;
} cases[] = {
  { "plain text, ünïcode ✓", "plain text, ünïcode ✓" },
  { "line one\nline\ttwo\n", "line one\nline\ttwo\n" },
  /* CSI: clear the screen, move up, colours. */
  { "a\033[2J\033[1Ab\033[31;1mc\033[0m", "abc" },
  /* OSC 52 writes the clipboard: ended by BEL, or by ST (ESC \). */
  { "copy\033]52;c;ZWNobyBwd25lZA==\007 me", "copy me" },
  { "copy\033]52;c;ZWNobyBwd25lZA==\033\\ me", "copy me" },
  /* The window title, and a hyperlink. */
  { "\033]0;owned\007title", "title" },
  { "\033]8;;http://evil.example\033\\link\033]8;;\033\\", "link" },
  /* DCS, APC. */
  { "x\033Pq#0;2;0;0;0\033\\y\033_hidden\033\\z", "xyz" },
  /* C1 forms: CSI U+009B, OSC U+009D ended by ST U+009C. */
  { "a\302\2332Jb\302\23552;c;Zm9v\302\234c", "abc" },
  /* Other C0 and C1 controls go: CR (which would overwrite a line),
   * BEL, backspace, DEL, NEL. */
  { "safe\rEVIL\b\b\007\177\302\205!", "safeEVIL!" },
  /* Two-character escapes (reset, save cursor), and a lone ESC. */
  { "a\033cb\0337c\033", "abc" },
  /* A sequence broken by a newline keeps the line break. */
  { "a\033\nb", "a\nb" },
};

static void
test_strip (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = aic_control_strip (cases[i].text, TRUE);

      g_assert_cmpstr (shown, ==, cases[i].shown);
    }
}

static void
test_one_line (void)
{
  g_autofree char *shown = aic_control_strip ("one\ntwo\033[K", FALSE);

  g_assert_cmpstr (shown, ==, "one two");
}

/* Streamed tokens may cut a sequence anywhere between characters: each
 * case, fed in every split into two and character by character, must give
 * what it gives whole. */
static void
test_split (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *text = cases[i].text;
      gsize len = strlen (text);

      for (const char *cut = text; cut <= text + len; cut = cut < text + len ? g_utf8_next_char (cut) : cut + 1)
        {
          AicControlFilter filter;
          g_autoptr(GString) out = g_string_new (NULL);
          g_autofree char *head = g_strndup (text, cut - text);

          aic_control_filter_init (&filter, TRUE);
          aic_control_filter_feed (&filter, head, out);
          aic_control_filter_feed (&filter, cut, out);
          g_assert_cmpstr (out->str, ==, cases[i].shown);
        }

      {
        AicControlFilter filter;
        g_autoptr(GString) out = g_string_new (NULL);

        aic_control_filter_init (&filter, TRUE);
        for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
          {
            g_autofree char *one = g_strndup (p, g_utf8_next_char (p) - p);

            aic_control_filter_feed (&filter, one, out);
          }
        g_assert_cmpstr (out->str, ==, cases[i].shown);
      }
    }
}

static void
test_no_controls_left (void)
{
  /* Every byte from 1 to 127 after ESC, and after ESC [ and ESC ]:
   * whatever is shown has no control character in it. */
  for (guint prefix = 0; prefix < 3; prefix++)
    for (guint c = 1; c < 128; c++)
      {
        g_autofree char *text = g_strdup_printf ("%s%c%s", (const char *[]) { "\033", "\033[", "\033]" }[prefix], c, "x\033[2Jy");
        g_autofree char *shown = aic_control_strip (text, TRUE);

        for (const char *p = shown; *p != '\0'; p++)
          g_assert_true (*p == '\n' || *p == '\t' || ((guchar) *p >= 0x20 && *p != 0x7f));
      }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/control-filter/strip", test_strip);
  g_test_add_func ("/control-filter/one-line", test_one_line);
  g_test_add_func ("/control-filter/split", test_split);
  g_test_add_func ("/control-filter/no-controls-left", test_no_controls_left);

  return g_test_run ();
}
