/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-sse-client.h"
#include "aic-test-util.h"

/* AicSseClient against a real SoupServer on 127.0.0.1 that streams, pauses,
 * drops, resumes, refuses and stays silent. */

typedef struct
{
  SoupServer *server;
  char *url;
  SoupSession *session;
  GString *log;
  GPtrArray *last_event_ids;   /* the Last-Event-ID of every request */
  GPtrArray *bodies;           /* the body of every request */
  GPtrArray *methods;          /* the method and path of every request */
  guint requests;
  gboolean stop_on_done;
  AicSseClient *client;
} Fixture;

typedef struct
{
  SoupServerMessage *message;
  char **chunks;
  guint next;
  guint interval_ms;
  gboolean gone;      /* the client went away */
} Drip;

static void
start_stream (SoupServerMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  soup_server_message_set_status (message, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
}

static void
append (SoupServerMessage *message,
        const char        *text)
{
  soup_message_body_append (soup_server_message_get_response_body (message),
                            SOUP_MEMORY_COPY, text, strlen (text));
}

static void
drip_gone_cb (Drip *drip)
{
  drip->gone = TRUE;
}

static gboolean
drip_cb (gpointer data)
{
  Drip *drip = data;

  if (drip->gone || drip->chunks[drip->next] == NULL)
    {
      if (!drip->gone)
        {
          soup_message_body_complete (soup_server_message_get_response_body (drip->message));
          soup_server_message_unpause (drip->message);
        }
      g_signal_handlers_disconnect_by_data (drip->message, drip);
      g_object_unref (drip->message);
      g_strfreev (drip->chunks);
      g_free (drip);
      return G_SOURCE_REMOVE;
    }
  append (drip->message, drip->chunks[drip->next++]);
  soup_server_message_unpause (drip->message);
  return G_SOURCE_CONTINUE;
}

/* Sends @chunks one every @interval_ms, then ends the body. */
static void
drip (SoupServerMessage  *message,
      guint               interval_ms,
      const char * const *chunks)
{
  Drip *d = g_new0 (Drip, 1);

  start_stream (message);
  soup_server_message_pause (message);
  d->message = g_object_ref (message);
  d->chunks = g_strdupv ((char **) chunks);
  d->interval_ms = interval_ms;
  g_signal_connect_swapped (message, "disconnected", G_CALLBACK (drip_gone_cb), d);
  g_signal_connect_swapped (message, "finished", G_CALLBACK (drip_gone_cb), d);
  g_timeout_add (interval_ms, drip_cb, d);
}

static void
handler (SoupServer        *server,
         SoupServerMessage *message,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  Fixture *f = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *last_id = soup_message_headers_get_one (headers, "Last-Event-ID");
  SoupMessageBody *body = soup_server_message_get_request_body (message);

  f->requests++;
  g_ptr_array_add (f->last_event_ids, g_strdup (last_id ? last_id : ""));
  g_ptr_array_add (f->bodies, g_strndup (body->data ? body->data : "", body->length));
  g_ptr_array_add (f->methods, g_strdup_printf ("%s %s", soup_server_message_get_method (message), path));
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Accept"), ==, "text/event-stream");

  if (g_str_equal (path, "/simple"))
    {
      start_stream (message);
      append (message, "data: one\n\nevent: two\ndata: 2\nid: 2\n\n: comment\n\ndata: three\n\n");
      soup_message_body_complete (soup_server_message_get_response_body (message));
    }
  else if (g_str_equal (path, "/resumable") || g_str_equal (path, "/resumable-here") ||
           g_str_equal (path, "/resumable-nowhere"))
    {
      /* First connection: events 1 and 2, then the connection ends early.
       * Later ones continue after Last-Event-ID. */
      start_stream (message);
      /* Where a POST stream is resumed with GET. */
      if (g_str_equal (path, "/resumable-here"))
        soup_message_headers_replace (soup_server_message_get_response_headers (message), "Location", "/resumable");
      if (last_id == NULL)
        append (message, "retry: 50\nid: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: never comp");
      else if (g_str_equal (last_id, "2"))
        append (message, "id: 3\ndata: c\n\nid: 4\nevent: done\ndata: end\n\n");
      else
        append (message, "event: error\ndata: wrong Last-Event-ID\n\n");
      soup_message_body_complete (soup_server_message_get_response_body (message));
    }
  else if (g_str_equal (path, "/no-content"))
    soup_server_message_set_status (message, 204, NULL);
  else if (g_str_equal (path, "/json-error"))
    aic_test_reply (message, 500, "application/json", "{\"error\": {\"code\": \"engine_down\", \"message\": \"The upstream is down\"}}");
  else if (g_str_equal (path, "/html"))
    aic_test_reply (message, 200, "text/html", "<html></html>");
  else if (g_str_equal (path, "/silent"))
    {
      start_stream (message);
      soup_server_message_pause (message);
    }
  else if (g_str_equal (path, "/silent-body"))
    {
      const char *chunks[] = { ": hello\n\n", NULL };
      drip (message, 60000, chunks);
    }
  else if (g_str_equal (path, "/keep-alive"))
    {
      const char *chunks[] = { ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n",
                               ": keep-alive\n\n", ": keep-alive\n\n", "event: done\ndata: ok\n\n", NULL };
      drip (message, 400, chunks);
    }
  else if (g_str_equal (path, "/slow"))
    {
      const char *chunks[] = { "data: a\n\n", "data: b\n\n", "data: c\n\n", "data: d\n\n", NULL };
      drip (message, 200, chunks);
    }
  else if (g_str_equal (path, "/split"))
    {
      /* CR at the end of one chunk, LF at the start of the next. */
      const char *chunks[] = { "data: a\r", "\n\r", "\ndata: b\r\n\r\n", NULL };
      drip (message, 50, chunks);
    }
  else if (g_str_equal (path, "/huge-line"))
    {
      g_autofree char *line = g_strnfill (4096, 'x');
      start_stream (message);
      append (message, "data: ");
      append (message, line);
      append (message, "\n\n");
      soup_message_body_complete (soup_server_message_get_response_body (message));
    }
  else
    aic_test_reply (message, 404, "application/json", "{}");
}

static void
on_event (AicSseClient *client,
          const char   *type,
          const char   *data,
          const char   *id,
          Fixture      *f)
{
  g_string_append_printf (f->log, "[%s|%s|%s]", type, data, id);
  if (f->stop_on_done && g_str_equal (type, "done"))
    aic_sse_client_stop (client);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->server = aic_test_server_new (&f->url);
  soup_server_add_handler (f->server, NULL, handler, f, NULL);
  f->session = aic_http_session_new (0);
  f->log = g_string_new (NULL);
  f->last_event_ids = g_ptr_array_new_with_free_func (g_free);
  f->bodies = g_ptr_array_new_with_free_func (g_free);
  f->methods = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->client);
  g_clear_object (&f->session);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_free (f->url);
  g_string_free (f->log, TRUE);
  g_ptr_array_unref (f->last_event_ids);
  g_ptr_array_unref (f->bodies);
  g_ptr_array_unref (f->methods);
}

static AicSseClient *
new_client (Fixture    *f,
            const char *method,
            const char *path)
{
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (method, url);

  g_clear_object (&f->client);
  f->client = aic_sse_client_new (f->session, message);
  g_signal_connect (f->client, "event", G_CALLBACK (on_event), f);
  return f->client;
}

static gboolean
run (Fixture       *f,
     GCancellable  *cancellable,
     GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  aic_sse_client_run_async (f->client, cancellable, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  return aic_sse_client_run_finish (f->client, result, error);
}

static void
test_simple (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/simple");
  g_assert_true (run (f, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (f->log->str, ==, "[message|one|][two|2|2][message|three|2]");
  g_assert_cmpuint (f->requests, ==, 1);
}

static void
test_reconnect_with_last_event_id (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"q\": 1}", 8);
  gint64 start = g_get_monotonic_time ();

  new_client (f, "POST", "/resumable-here");
  aic_sse_client_set_request_body (f->client, "application/json", body);
  aic_sse_client_set_reconnect (f->client, 3, NULL, NULL, NULL);
  f->stop_on_done = TRUE;
  g_assert_true (run (f, NULL, &error));
  g_assert_no_error (error);

  /* Nothing lost, nothing doubled; the half event of the first connection
   * is dropped and sent again whole. */
  g_assert_cmpstr (f->log->str, ==, "[message|a|1][message|b|2][message|c|3][done|end|4]");
  g_assert_cmpuint (f->requests, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->last_event_ids, 0), ==, "");
  g_assert_cmpstr (g_ptr_array_index (f->last_event_ids, 1), ==, "2");
  /* The POST is never sent again: the stream is resumed with GET at the
   * address its response named. */
  g_assert_cmpstr (g_ptr_array_index (f->methods, 0), ==, "POST /resumable-here");
  g_assert_cmpstr (g_ptr_array_index (f->methods, 1), ==, "GET /resumable");
  g_assert_cmpstr (g_ptr_array_index (f->bodies, 1), ==, "");
  /* retry: 50 was honoured (the default is 2 s). */
  g_assert_cmpuint (aic_sse_client_get_retry_ms (f->client), ==, 50);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1500 * 1000);
  g_assert_cmpuint (aic_sse_client_get_reconnects (f->client), ==, 1);
}

/* A POST whose response named no place to resume is not sent again:
 * that could pay for a second generation. The cut is reported. */
static void
test_post_not_sent_again (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"q\": 1}", 8);

  new_client (f, "POST", "/resumable-nowhere");
  aic_sse_client_set_request_body (f->client, "application/json", body);
  aic_sse_client_set_reconnect (f->client, 3, NULL, NULL, NULL);
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNREACHABLE);
  g_assert_cmpstr (f->log->str, ==, "[message|a|1][message|b|2]");
  g_assert_cmpuint (f->requests, ==, 1);
}

/* A stream that ends cleanly is over, even with reconnection allowed;
 * one that ends inside an event was cut. */
static void
test_clean_end_is_final (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/simple");
  aic_sse_client_set_reconnect (f->client, 3, NULL, NULL, NULL);
  g_assert_true (run (f, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->requests, ==, 1);
  g_assert_cmpuint (aic_sse_client_get_reconnects (f->client), ==, 0);
}

static void
test_no_reconnect_by_default (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/resumable");
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNREACHABLE);
  g_assert_cmpstr (f->log->str, ==, "[message|a|1][message|b|2]");
  g_assert_cmpuint (f->requests, ==, 1);
}

static void
test_keep_complete (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/resumable");
  aic_sse_client_set_keep_complete (f->client, TRUE);
  g_assert_true (run (f, NULL, &error));
  g_assert_cmpstr (f->log->str, ==, "[message|a|1][message|b|2][message|never comp|3]");
}

static void
test_no_content_stops (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/no-content");
  aic_sse_client_set_reconnect (f->client, 5, NULL, NULL, NULL);
  g_assert_true (run (f, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->requests, ==, 1);
}

static void
test_http_error (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "POST", "/json-error");
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "The upstream is down"));
}

static void
test_wrong_content_type (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/html");
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER);
  g_assert_nonnull (strstr (error->message, "text/html"));
}

static void
test_idle_timeout (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* Silent before the headers, and after them. */
  new_client (f, "GET", "/silent");
  aic_sse_client_set_idle_timeout (f->client, 1);
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TIMEOUT);
  g_clear_error (&error);

  new_client (f, "GET", "/silent-body");
  aic_sse_client_set_idle_timeout (f->client, 1);
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TIMEOUT);
}

static void
test_keep_alive_keeps_it_open (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* 2.4 s of keep-alive comments against a 1 s idle timeout. */
  new_client (f, "GET", "/keep-alive");
  aic_sse_client_set_idle_timeout (f->client, 1);
  f->stop_on_done = TRUE;
  g_assert_true (run (f, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (f->log->str, ==, "[done|ok|]");
}

static void
test_chunk_boundaries (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/split");
  g_assert_true (run (f, NULL, &error));
  g_assert_cmpstr (f->log->str, ==, "[message|a|][message|b|]");
}

static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/huge-line");
  aic_sse_client_set_limits (f->client, 1024, 1024);
  g_assert_false (run (f, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TOO_LARGE);
}

static void
cancel_on_second (AicSseClient *client,
                  const char   *type,
                  const char   *data,
                  const char   *id,
                  GCancellable *cancellable)
{
  if (g_str_equal (data, "b"))
    g_cancellable_cancel (cancellable);
}

static void
test_cancel_mid_stream (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  new_client (f, "GET", "/slow");
  aic_sse_client_set_reconnect (f->client, 5, NULL, NULL, NULL);
  g_signal_connect (f->client, "event", G_CALLBACK (cancel_on_second), cancellable);
  g_assert_false (run (f, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (f->log->str, ==, "[message|a|][message|b|]");
  g_assert_cmpuint (f->requests, ==, 1);
}

static void
test_unreachable (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/x", aic_test_free_port ());
  g_autoptr(SoupSession) session = aic_http_session_new (0);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(AicSseClient) client = aic_sse_client_new (session, message);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* Reconnection is for streams that were open; a first connection that
   * fails says why at once. */
  aic_sse_client_set_reconnect (client, 5, NULL, NULL, NULL);
  aic_sse_client_run_async (client, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_false (aic_sse_client_run_finish (client, result, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNREACHABLE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/sse-client/simple", test_simple);
  ADD ("/sse-client/reconnect", test_reconnect_with_last_event_id);
  ADD ("/sse-client/no-reconnect", test_no_reconnect_by_default);
  ADD ("/sse-client/post-not-sent-again", test_post_not_sent_again);
  ADD ("/sse-client/clean-end-is-final", test_clean_end_is_final);
  ADD ("/sse-client/keep-complete", test_keep_complete);
  ADD ("/sse-client/204", test_no_content_stops);
  ADD ("/sse-client/http-error", test_http_error);
  ADD ("/sse-client/wrong-content-type", test_wrong_content_type);
  ADD ("/sse-client/idle-timeout", test_idle_timeout);
  ADD ("/sse-client/keep-alive", test_keep_alive_keeps_it_open);
  ADD ("/sse-client/chunk-boundaries", test_chunk_boundaries);
  ADD ("/sse-client/limits", test_limits);
  ADD ("/sse-client/cancel", test_cancel_mid_stream);
#undef ADD
  g_test_add_func ("/sse-client/unreachable", test_unreachable);

  return g_test_run ();
}
