/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-sse-parser.h"

/* Every rule of PROTOCOL.md's "SSE parsing", each case fed whole, one byte
 * at a time, split at every position into two chunks, and in random
 * chunks: the events must not depend on how the bytes arrive. */

typedef struct
{
  GString *log;
} Collector;

static void
on_event (gpointer           user_data,
          const AicSseEvent *event)
{
  Collector *c = user_data;
  g_autofree char *data = g_strescape (event->data, NULL);

  g_assert_cmpuint (strlen (event->data), <=, event->data_len);
  g_string_append_printf (c->log, "[%s|%s|%s]", event->type, data, event->id);
}

static void
on_retry (gpointer user_data,
          guint64  milliseconds)
{
  Collector *c = user_data;

  g_string_append_printf (c->log, "(retry %" G_GUINT64_FORMAT ")", milliseconds);
}

static void
on_comment (gpointer    user_data,
            const char *text,
            gsize       len)
{
  Collector *c = user_data;

  g_string_append_printf (c->log, "(:%.*s)", (int) len, text);
}

static const AicSseCallbacks callbacks = { on_event, on_retry, on_comment };

typedef enum { WHOLE, BYTES, SPLIT, RANDOM } Mode;

static char *
run (const char *input,
     gsize       len,
     gboolean    keep_complete,
     Mode        mode,
     gsize       split_at,
     GRand      *rand)
{
  Collector c = { g_string_new (NULL) };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, &c);
  g_autoptr(GError) error = NULL;
  gsize pos = 0;

  while (pos < len)
    {
      gsize n;

      switch (mode)
        {
        case WHOLE:  n = len; break;
        case BYTES:  n = 1; break;
        case SPLIT:  n = pos < split_at ? split_at - pos : len - pos; break;
        case RANDOM: n = g_rand_int_range (rand, 1, 8); break;
        default:     g_assert_not_reached ();
        }
      n = MIN (n, len - pos);
      g_assert_true (aic_sse_parser_feed (parser, input + pos, n, &error));
      g_assert_no_error (error);
      pos += n;
    }
  g_assert_true (aic_sse_parser_finish (parser, keep_complete, &error));
  return g_string_free (c.log, FALSE);
}

static void
check_case (const char *input,
            gssize      input_len,
            gboolean    keep_complete,
            const char *expected)
{
  gsize len = input_len < 0 ? strlen (input) : (gsize) input_len;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree char *whole = run (input, len, keep_complete, WHOLE, 0, rand);

  g_assert_cmpstr (whole, ==, expected);
  {
    g_autofree char *bytes = run (input, len, keep_complete, BYTES, 0, rand);
    g_assert_cmpstr (bytes, ==, expected);
  }
  for (gsize i = 1; i < len; i++)
    {
      g_autofree char *split = run (input, len, keep_complete, SPLIT, i, rand);
      g_assert_cmpstr (split, ==, expected);
    }
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *random = run (input, len, keep_complete, RANDOM, 0, rand);
      g_assert_cmpstr (random, ==, expected);
    }
}

#define CHECK(input, expected) check_case (input, -1, FALSE, expected)

static void
test_basic (void)
{
  CHECK ("data: hello\n\n", "[message|hello|]");
  CHECK ("event: token\ndata: {\"content\": \"The\"}\nid: 7\n\n", "[token|{\\\"content\\\": \\\"The\\\"}|7]");
  CHECK ("data: a\n\ndata: b\n\n", "[message|a|][message|b|]");
}

static void
test_line_endings (void)
{
  CHECK ("data: a\r\n\r\ndata: b\r\r", "[message|a|][message|b|]");
  CHECK ("data: a\r\rdata: b\n\n", "[message|a|][message|b|]");
  /* CRLF is one line end, LF CR is two. */
  CHECK ("data: a\r\n\r\n", "[message|a|]");
  CHECK ("data: a\n\rdata: b\n\n", "[message|a|][message|b|]");
  CHECK ("data: x\r\r\r\r", "[message|x|]");
}

static void
test_bom (void)
{
  CHECK ("\xEF\xBB\xBF" "data: a\n\n", "[message|a|]");
  /* Only one, and only at the very start. */
  CHECK ("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n", "");
  CHECK ("data: a\n\n\xEF\xBB\xBF" "data: b\n\n", "[message|a|]");
  /* A lone first BOM byte is content: it starts an unknown field. */
  CHECK ("\xEF" "data: a\n\n", "");
}

static void
test_comments (void)
{
  CHECK (": keep-alive\n\ndata: a\n\n", "(: keep-alive)[message|a|]");
  CHECK (":\n:ping\ndata: b\n:x\n\n", "(:)(:ping)(:x)[message|b|]");
}

static void
test_fields (void)
{
  /* Exactly one space after the colon goes; never a tab. */
  CHECK ("data:a\n\n", "[message|a|]");
  CHECK ("data:  a\n\n", "[message| a|]");
  CHECK ("data:\ta\n\n", "[message|\\ta|]");
  /* A line without a colon is a field with an empty value. */
  CHECK ("data\n\n", "[message||]");
  CHECK ("data\ndata\n\n", "[message|\\n|]");
  /* Field names are case-sensitive; unknown fields are ignored. */
  CHECK ("Data: a\nDATA: b\nfoo: c\ndata: d\n\n", "[message|d|]");
  /* The field name runs to the first colon only. */
  CHECK ("data: a:b: c\n\n", "[message|a:b: c|]");
  CHECK ("data : a\n\n", "");
  /* data lines join with LF, one trailing LF removed. */
  CHECK ("data: a\ndata: b\ndata:\n\n", "[message|a\\nb\\n|]");
  CHECK ("data: \n\n", "[message||]");
}

static void
test_event_type (void)
{
  CHECK ("event: a\nevent: b\ndata: x\n\n", "[b|x|]");
  CHECK ("event:\ndata: x\n\n", "[message|x|]");
  /* The type resets after each dispatch, and with an event without data. */
  CHECK ("event: a\ndata: x\n\ndata: y\n\n", "[a|x|][message|y|]");
  CHECK ("event: a\n\ndata: y\n\n", "[message|y|]");
}

static void
test_ids (void)
{
  /* The last event id persists across events. */
  CHECK ("id: 1\ndata: a\n\ndata: b\n\n", "[message|a|1][message|b|1]");
  /* An empty id resets it. */
  CHECK ("id: 1\ndata: a\n\nid\ndata: b\n\n", "[message|a|1][message|b|]");
  /* An id with NUL is ignored. */
  {
    static const char with_nul[] = "id: 1\ndata: a\n\nid: 2\0003\ndata: b\n\n";
    check_case (with_nul, sizeof with_nul - 1, FALSE, "[message|a|1][message|b|1]");
  }
  /* An id applies even when its event has no data. */
  CHECK ("id: 5\n\ndata: a\n\n", "[message|a|5]");
  CHECK ("data: a\nid: 9\n\n", "[message|a|9]");
}

static void
test_retry (void)
{
  CHECK ("retry: 3000\n\n", "(retry 3000)");
  CHECK ("retry: 30x0\nretry: -1\nretry: 1.5\nretry: \nretry:  5\n\n", "");
  CHECK ("retry:0\n", "(retry 0)");
  CHECK ("retry: 99999999999999999999999\n", "");
}

static void
test_end_of_stream (void)
{
  /* Standard: a half-built event is dropped at the end. */
  CHECK ("data: a\n\ndata: b\n", "[message|a|]");
  CHECK ("data: a\n\ndata: b", "[message|a|]");
  /* Provider dialects keep what was complete. */
  check_case ("data: a\n\ndata: [DONE]", -1, TRUE, "[message|a|][message|[DONE]|]");
  check_case ("data: a\n\ndata: b\n", -1, TRUE, "[message|a|][message|b|]");
  check_case ("data: a\r", -1, TRUE, "[message|a|]");
  check_case ("", -1, TRUE, "");
}

static void
test_utf8 (void)
{
  CHECK ("data: Grüße, 世界 😀\n\n", "[message|Gr\\303\\274\\303\\237e, \\344\\270\\226\\347\\225\\214 \\360\\237\\230\\200|]");
  /* Broken sequences become U+FFFD (EF BF BD), not an error. */
  CHECK ("data: a\xff" "b\n\n", "[message|a\\357\\277\\275b|]");
  CHECK ("data: \xc3\n\n", "[message|\\357\\277\\275|]");
  /* One U+FFFD per broken sequence, as the WHATWG decoder has it. */
  CHECK ("data: \xe4\xb8!\n\n", "[message|\\357\\277\\275!|]");
  CHECK ("data: \xed\xa0\x80\n\n", "[message|\\357\\277\\275\\357\\277\\275\\357\\277\\275|]");
  CHECK ("data: \xf0\x9f\x98\n\n", "[message|\\357\\277\\275|]");
}

static void
on_event_length (gpointer           user_data,
                 const AicSseEvent *event)
{
  *(gsize *) user_data = event->data_len;
}

/* NUL bytes in data are data; the length says where the event ends. */
static void
test_nul_in_data (void)
{
  static const AicSseCallbacks length_callbacks = { on_event_length, NULL, NULL };
  gsize data_len = 0;
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&length_callbacks, &data_len);
  g_autoptr(GError) error = NULL;

  g_assert_true (aic_sse_parser_feed (parser, "data: a\0b\n\n", 11, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (data_len, ==, 3);
}

static void
expect_too_large (const char *input,
                  gsize       chunk)
{
  Collector c = { g_string_new (NULL) };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, &c);
  g_autoptr(GError) error = NULL;
  gsize len = strlen (input);
  gboolean ok = TRUE;

  aic_sse_parser_set_limits (parser, 16, 32);
  for (gsize pos = 0; pos < len && ok; pos += chunk)
    ok = aic_sse_parser_feed (parser, input + pos, MIN (chunk, len - pos), &error);
  g_assert_false (ok);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* It stays failed until reset. */
  g_assert_false (aic_sse_parser_feed (parser, "data: x\n\n", 9, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
  g_clear_error (&error);
  aic_sse_parser_reset (parser);
  g_string_truncate (c.log, 0);
  g_assert_true (aic_sse_parser_feed (parser, "data: x\n\n", 9, &error));
  g_assert_cmpstr (c.log->str, ==, "[message|x|]");
  g_string_free (c.log, TRUE);
}

static void
test_limits (void)
{
  const char *long_line = "data: 0123456789abcdefghij\n\n";
  const char *long_event = "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n";
  const char *endless = "data: 0123456789012345678901234567890123456789";

  for (gsize chunk = 1; chunk <= 64; chunk *= 2)
    {
      expect_too_large (long_line, chunk);
      expect_too_large (long_event, chunk);
      expect_too_large (endless, chunk);
    }
}

static void
test_limits_exact (void)
{
  Collector c = { g_string_new (NULL) };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, &c);
  g_autoptr(GError) error = NULL;

  /* Exactly at the limits is fine: 16-byte line, 16-byte data + LF. */
  aic_sse_parser_set_limits (parser, 16, 17);
  g_assert_true (aic_sse_parser_feed (parser, "data: 0123456789\n\n", 18, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c.log->str, ==, "[message|0123456789|]");
  g_string_free (c.log, TRUE);
}

static void
test_reset_keeps_id (void)
{
  Collector c = { g_string_new (NULL) };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, &c);

  g_assert_true (aic_sse_parser_feed (parser, "id: 41\ndata: a\n\nid: 42\ndata: half", 33, NULL));
  g_assert_cmpstr (aic_sse_parser_get_last_event_id (parser), ==, "41");
  aic_sse_parser_reset (parser);
  /* The half event is gone, the id of the last dispatched one stays. */
  g_assert_true (aic_sse_parser_feed (parser, "data: b\n\n", 9, NULL));
  g_assert_cmpstr (c.log->str, ==, "[message|a|41][message|b|41]");
  aic_sse_parser_set_last_event_id (parser, "100");
  g_assert_cmpstr (aic_sse_parser_get_last_event_id (parser), ==, "100");
  g_string_free (c.log, TRUE);
}

/* Linear time: a megabyte of CR-only lines, and one 256 KiB line fed 4
 * bytes at a time, finish fast (a quadratic scan would take minutes). */
static void
test_linear (void)
{
  Collector c = { g_string_new (NULL) };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, &c);
  g_autoptr(GString) input = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < 100000; i++)
    g_string_append (input, ":a\r");
  g_string_append (input, "data: ");
  for (guint i = 0; i < 256 * 1024; i++)
    g_string_append_c (input, 'x');
  g_string_append (input, "\n\n");

  c.log = g_string_new (NULL);
  for (gsize pos = 0; pos < input->len; pos += 4)
    g_assert_true (aic_sse_parser_feed (parser, input->str + pos, MIN (4, input->len - pos), &error));
  g_assert_true (g_str_has_suffix (c.log->str, "|]"));
  /* Generous: this takes milliseconds; quadratic would be minutes. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
  g_string_free (c.log, TRUE);
}

/* Lines are scanned 16 bytes at a time: a line end or a broken byte on
 * either side of a block's edge, or right at it, is still seen, and a
 * non-ASCII byte past the line end does not taint the line. */
static void
test_block_edges (void)
{
  for (gsize len = 1; len <= 40; len++)
    for (gsize bad = 0; bad <= len; bad++)
      for (guint end = 0; end < 3; end++)
        {
          static const char * const ends[] = { "\n", "\r", "\r\n" };
          g_autoptr(GString) input = g_string_new ("data:");
          g_autoptr(GString) expected = g_string_new ("[message|");
          g_autofree char *log = NULL;

          for (gsize i = 0; i < len; i++)
            {
              g_string_append_c (input, i == bad ? '\xFF' : 'x');
              g_string_append (expected, i == bad ? "\\357\\277\\275" : "x");
            }
          /* With bad == len, the broken byte is on the next line, a
           * comment. */
          g_string_append (input, ends[end]);
          if (bad == len)
            g_string_append_printf (input, ":\xFF%s", ends[end]);
          g_string_append (input, ends[end]);
          g_string_append (expected, "|]");
          log = run (input->str, input->len, FALSE, WHOLE, 0, NULL);
          if (bad == len)
            g_string_prepend (expected, "(:\357\277\275)");
          g_assert_cmpstr (log, ==, expected->str);
        }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sse-parser/basic", test_basic);
  g_test_add_func ("/sse-parser/line-endings", test_line_endings);
  g_test_add_func ("/sse-parser/bom", test_bom);
  g_test_add_func ("/sse-parser/comments", test_comments);
  g_test_add_func ("/sse-parser/fields", test_fields);
  g_test_add_func ("/sse-parser/event-type", test_event_type);
  g_test_add_func ("/sse-parser/ids", test_ids);
  g_test_add_func ("/sse-parser/retry", test_retry);
  g_test_add_func ("/sse-parser/end-of-stream", test_end_of_stream);
  g_test_add_func ("/sse-parser/utf8", test_utf8);
  g_test_add_func ("/sse-parser/nul-in-data", test_nul_in_data);
  g_test_add_func ("/sse-parser/limits", test_limits);
  g_test_add_func ("/sse-parser/limits-exact", test_limits_exact);
  g_test_add_func ("/sse-parser/reset-keeps-id", test_reset_keeps_id);
  g_test_add_func ("/sse-parser/linear", test_linear);
  g_test_add_func ("/sse-parser/block-edges", test_block_edges);

  return g_test_run ();
}
