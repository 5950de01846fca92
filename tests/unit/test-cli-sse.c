/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-cli.h"
#include "aic-http.h"
#include "aic-json.h"

/* Pieces of ai-console-cli that are pure functions: what sse prints for an
 * event, and how it tells a chunked body that really ended. */

static void
test_sse_json (void)
{
  static const char data[] = "a\0b\n\"q\\\0";
  g_autofree char *line = aic_cli_sse_event_to_json ("x", data, sizeof data - 1, "7");
  g_autofree char *empty = aic_cli_sse_event_to_json ("message", "\0", 1, "");
  g_autofree char *plain = aic_cli_sse_event_to_json ("token", "{\"content\": \"é\"}", strlen ("{\"content\": \"é\"}"), "1");
  g_autoptr(JsonNode) node = NULL;
  const char *parsed;
  gsize parsed_len;

  g_assert_cmpstr (line, ==, "{\"event\":\"x\",\"data\":\"a\\u0000b\\n\\\"q\\\\\\u0000\",\"id\":\"7\"}");
  g_assert_cmpstr (empty, ==, "{\"event\":\"message\",\"data\":\"\\u0000\",\"id\":\"\"}");
  g_assert_cmpstr (plain, ==, "{\"event\":\"token\",\"data\":\"{\\\"content\\\": \\\"é\\\"}\",\"id\":\"1\"}");

  /* It is JSON, and it says what came, NULs and all. */
  node = aic_json_parse_data (line, -1, NULL);
  g_assert_nonnull (node);
  parsed = json_object_get_string_member (json_node_get_object (node), "data");
  parsed_len = strlen (parsed);
  /* json-glib's own strings still end at the first NUL. */
  g_assert_cmpuint (parsed_len, ==, 1);
  g_assert_cmpstr (parsed, ==, "a");
}

static void
test_chunked_tail (void)
{
  struct { const char *tail; gboolean complete; } cases[] = {
    { "HTTP/1.1 200 OK\r\n\r\nb\r\ndata: one\n\n\r\n0\r\n\r\n", TRUE },
    { "b\r\ndata: one\n\n\r\n0\r\n\r\n", TRUE },
    { "\r\n0\n\n", TRUE },
    { "\r\n000;ext=1\r\n\r\n", TRUE },
    { "\r\n0\r\nX-Checksum: abc\r\nX-More: d\r\n\r\n", TRUE },
    /* Closed between two chunks, or before a chunk's CRLF. */
    { "b\r\ndata: one\n\n\r\n", FALSE },
    { "b\r\ndata: one\r\n\r\n\r\n", FALSE },
    { "b\r\ndata: one\n\n", FALSE },
    { "5\r\ndata:", FALSE },
    { "b\r\ndata: 10\n\n\r\n", FALSE },
    { "\r\n0\r\n", FALSE },
    { "", FALSE },
    { "0\r\n\r\n", FALSE },   /* no whole line before it: cannot tell */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %u", i);
      g_assert_cmpint (aic_http_chunked_tail_is_complete ((const guint8 *) cases[i].tail, strlen (cases[i].tail)),
                       ==, cases[i].complete);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/sse/json", test_sse_json);
  g_test_add_func ("/cli/sse/chunked-tail", test_chunked_tail);

  return g_test_run ();
}
