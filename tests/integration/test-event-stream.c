/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-event-stream.h"
#include "aic-reply.h"
#include "aic-test-util.h"

/* AicEventStream keeps a stream's events compactly (their text back to
 * back in one buffer, and where each ends) and the chat hub writes a
 * token's data without json-glib. Both must give, byte for byte, what
 * formatting each event through json-glib gives: live, and replayed
 * after every Last-Event-ID. A real SoupServer on 127.0.0.1 serves the
 * stream, a real SoupSession reads it. */

#define RETRY_MS 250

static const char *const texts[] = {
  "The", " quick", "", " \"quoted\"", " back\\slash", "\ttab\nnewline\r\b\f",
  "\x01\x02\x1e\x7f", "é ü “curly” — ✓", "😀 emoji", "</script>", "\xe2\x80\xa8 U+2028",
};

/* What the chat hub sent for a token before: a JsonNode, through
 * json-glib and aic_reply_format_event(). */
static GBytes *
token_event_by_json_glib (guint64     id,
                          const char *text)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, text);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "token");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return aic_reply_format_event (id, "token", root, 0);
}

static JsonNode *
done_data (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "finish_reason");
  json_builder_add_string_value (builder, "stop");
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "done");
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
test_json_string (void)
{
  /* Every ASCII character, and some UTF-8. */
  for (guint c = 1; c < 0x80; c++)
    {
      char text[4] = { 'a', (char) c, 'b', '\0' };
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
      g_autofree char *expected = NULL;
      g_autoptr(GString) out = g_string_new (NULL);

      if (c == 0x1f)
        continue;   /* json-glib 1.6 leaves it bare; we escape it */
      json_node_set_string (node, text);
      expected = json_to_string (node, FALSE);
      aic_reply_append_json_string (out, text);
      g_assert_cmpstr (out->str, ==, expected);
    }
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
      g_autofree char *expected = NULL;
      g_autoptr(GString) out = g_string_new (NULL);

      json_node_set_string (node, texts[i]);
      expected = json_to_string (node, FALSE);
      aic_reply_append_json_string (out, texts[i]);
      g_assert_cmpstr (out->str, ==, expected);
    }
  {
    g_autoptr(GString) out = g_string_new (NULL);

    aic_reply_append_json_string (out, "\x1f");
    g_assert_cmpstr (out->str, ==, "\"\\u001f\"");
  }
}

static void
serve_cb (SoupServer        *server,
          SoupServerMessage *message,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  guint64 after;

  if (aic_event_stream_parse_last_id (message, &after))
    aic_event_stream_subscribe (user_data, message, after);
}

static SoupMessage *
new_get (const char *url,
         guint64     after)
{
  SoupMessage *message = soup_message_new ("GET", url);

  if (after > 0)
    {
      g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, after);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Last-Event-ID", id);
    }
  return message;
}

static GBytes *
finish_get (SoupSession  *session,
            GAsyncResult **slot)
{
  g_autoptr(GError) error = NULL;
  GBytes *body;

  aic_test_wait_result (slot, 10000);
  body = soup_session_send_and_read_finish (session, *slot, &error);
  g_assert_no_error (error);
  g_clear_object (slot);
  return body;
}

static void
assert_bytes (GBytes     *body,
              const char *expected,
              gsize       len)
{
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), expected, len);
}

static void
test_replay (void)
{
  g_autoptr(AicEventStream) stream = aic_event_stream_new (TRUE, RETRY_MS);
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GAsyncResult) live_result = NULL;
  g_autoptr(SoupMessage) live = NULL;
  g_autoptr(GBytes) live_body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) done = done_data ();
  g_autoptr(GBytes) done_event = NULL;
  g_autofree char *url = NULL;
  g_autofree char *retry = g_strdup_printf ("retry: %u\n", RETRY_MS);
  guint64 id = 0, n_events;
  GSList *uris;

  aic_event_stream_set_keep_alive (stream, 0);
  soup_server_add_handler (server, "/events", serve_cb, stream, NULL);
  g_assert_true (soup_server_listen_local (server, 0, 0, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  url = g_strdup_printf ("http://127.0.0.1:%u/events", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  /* A live subscriber from the first event. */
  live = new_get (url, 0);
  soup_session_send_and_read_async (session, live, G_PRIORITY_DEFAULT, NULL, aic_test_store_result_cb, &live_result);
  while (aic_event_stream_get_n_subscribers (stream) == 0)
    g_main_context_iteration (NULL, TRUE);

  /* Enough tokens to make the kept text grow several times over, written
   * as the chat hub writes them; the expectation through json-glib. */
  for (guint round = 0; round < 40; round++)
    for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        g_autoptr(GBytes) event = token_event_by_json_glib (++id, texts[i]);

        g_string_assign (data, "{\"content\":");
        aic_reply_append_json_string (data, texts[i]);
        g_string_append (data, ",\"type\":\"token\"}");
        aic_event_stream_append_data (stream, 0, "token", data->str, data->len);
        g_string_append_len (expected, g_bytes_get_data (event, NULL), g_bytes_get_size (event));
        g_array_append_val (ends, expected->len);
        if (id % 50 == 0)
          g_main_context_iteration (NULL, FALSE);
      }
  /* And one through a JsonNode, with an id of the caller's. */
  id += 7;
  aic_event_stream_append (stream, id, "done", done);
  done_event = aic_reply_format_event (id, "done", done, 0);
  g_string_append_len (expected, g_bytes_get_data (done_event, NULL), g_bytes_get_size (done_event));
  g_array_append_val (ends, expected->len);
  aic_event_stream_end (stream);
  n_events = ends->len;

  live_body = finish_get (session, &live_result);
  g_assert_cmpuint (soup_message_get_status (live), ==, SOUP_STATUS_OK);
  {
    g_autoptr(GString) whole = g_string_new (retry);

    g_string_append_len (whole, expected->str, expected->len);
    assert_bytes (live_body, whole->str, whole->len);
  }

  /* After every id a client can have: the rest, byte for byte. */
  for (guint k = 0; k < n_events; k++)
    {
      guint64 after = k < n_events - 1 ? k : id - 3;   /* an id between the last two */
      gsize start = k > 0 ? g_array_index (ends, gsize, k - 1) : 0;
      g_autoptr(SoupMessage) message = new_get (url, after);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GString) rest = g_string_new (retry);

      soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL, aic_test_store_result_cb, &result);
      body = finish_get (session, &result);
      g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
      g_string_append_len (rest, expected->str + start, expected->len - start);
      assert_bytes (body, rest->str, rest->len);
    }

  /* Nothing after the last: 204. */
  {
    g_autoptr(SoupMessage) message = new_get (url, id);
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GBytes) body = NULL;

    soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL, aic_test_store_result_cb, &result);
    body = finish_get (session, &result);
    g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_NO_CONTENT);
    g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
  }
}

/* Quiet streams get comments (from one timer for all streams), and
 * only quiet ones. */
static void
test_keep_alive (void)
{
  g_autoptr(AicEventStream) quiet = aic_event_stream_new (TRUE, 0);
  g_autoptr(AicEventStream) busy = aic_event_stream_new (TRUE, 0);
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(GAsyncResult) quiet_result = NULL, busy_result = NULL;
  g_autoptr(SoupMessage) quiet_get = NULL, busy_get = NULL;
  g_autoptr(GBytes) quiet_body = NULL, busy_body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *quiet_url = NULL, *busy_url = NULL;
  g_autofree char *text = NULL;
  gint64 end;
  GSList *uris;

  aic_event_stream_set_keep_alive (quiet, 40);
  aic_event_stream_set_keep_alive (busy, 200);
  soup_server_add_handler (server, "/quiet", serve_cb, quiet, NULL);
  soup_server_add_handler (server, "/busy", serve_cb, busy, NULL);
  g_assert_true (soup_server_listen_local (server, 0, 0, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  quiet_url = g_strdup_printf ("http://127.0.0.1:%u/quiet", g_uri_get_port (uris->data));
  busy_url = g_strdup_printf ("http://127.0.0.1:%u/busy", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  quiet_get = new_get (quiet_url, 0);
  busy_get = new_get (busy_url, 0);
  soup_session_send_and_read_async (session, quiet_get, G_PRIORITY_DEFAULT, NULL, aic_test_store_result_cb, &quiet_result);
  soup_session_send_and_read_async (session, busy_get, G_PRIORITY_DEFAULT, NULL, aic_test_store_result_cb, &busy_result);
  while (aic_event_stream_get_n_subscribers (quiet) == 0 || aic_event_stream_get_n_subscribers (busy) == 0)
    g_main_context_iteration (NULL, TRUE);

  /* 400 ms: ten quiet periods of one, none of the other, which gets an
   * event every 20 ms. */
  end = g_get_monotonic_time () + 400 * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_usleep (20 * 1000);
      aic_event_stream_append_data (busy, 0, "tick", "{}", 2);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  aic_event_stream_end (quiet);
  aic_event_stream_end (busy);
  quiet_body = finish_get (session, &quiet_result);
  busy_body = finish_get (session, &busy_result);

  text = g_strndup (g_bytes_get_data (quiet_body, NULL), g_bytes_get_size (quiet_body));
  g_assert_true (g_str_has_prefix (text, ": keep-alive\n\n: keep-alive\n\n"));
  g_assert_null (g_strstr_len (g_bytes_get_data (busy_body, NULL), g_bytes_get_size (busy_body), "keep-alive"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/event-stream/json-string", test_json_string);
  g_test_add_func ("/event-stream/replay", test_replay);
  g_test_add_func ("/event-stream/keep-alive", test_keep_alive);

  return g_test_run ();
}
