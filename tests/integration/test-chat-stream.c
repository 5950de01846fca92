/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-chat-stream.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-server.h"
#include "aic-test-util.h"

/* AicChatStream end to end:
 *  - recorded streams of every dialect replayed by a real SoupServer in
 *    small chunks, whole and cut short;
 *  - the real console backend (demo engine and an OpenAI-compatible
 *    upstream), reached directly and through a proxy that drops the first
 *    connection at 50 random byte offsets: the resumed text is identical;
 *  - Stop and abandoned streams stop the upstream request. */

#define EXPECTED_TEXT "The quick brown fox jumps over the lazy dog. Ünïcödé ✓ 😀\n\n```c\nint x;\n```"

/* ---- helpers ---- */

static AicChatStream *
new_stream (const char        *base_url,
            AicConnectionKind  kind,
            const char        *key)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "test", kind, base_url);
  g_autoptr(AicClient) client = aic_client_new (connection, key);
  AicChatStream *stream = aic_chat_stream_new (client);

  aic_chat_stream_add_turn (stream, "system", "Be brief.");
  aic_chat_stream_add_turn (stream, "user", "Hello");
  aic_chat_stream_add_turn (stream, "assistant", "Hi!");
  aic_chat_stream_add_turn (stream, "user", "Tell me about foxes");
  aic_chat_stream_set_model (stream, "test-model");
  return stream;
}

static gboolean
run_stream (AicChatStream  *stream,
            GCancellable   *cancellable,
            GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  aic_chat_stream_run_async (stream, cancellable, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 30000);
  return aic_chat_stream_run_finish (stream, result, error);
}

static void
count_token (AicChatStream *stream,
             const char    *text,
             GString       *seen)
{
  g_string_append (seen, text);
}

/* ---- a server replaying recorded streams ---- */

typedef struct
{
  SoupServer *server;
  char *url;
  char *last_body;
  char *last_api_key;
  char *last_path;
} Replay;

typedef struct
{
  SoupServerMessage *message;
  GBytes *bytes;
  gsize pos;
  gsize chunk;
  gboolean gone;
} Drip;

static void
drip_gone (Drip *drip)
{
  drip->gone = TRUE;
}

static gboolean
drip_cb (gpointer data)
{
  Drip *drip = data;
  gsize len = g_bytes_get_size (drip->bytes);

  if (!drip->gone && drip->pos < len)
    {
      gsize n = MIN (drip->chunk, len - drip->pos);
      soup_message_body_append (soup_server_message_get_response_body (drip->message), SOUP_MEMORY_COPY,
                                (const char *) g_bytes_get_data (drip->bytes, NULL) + drip->pos, n);
      drip->pos += n;
      soup_server_message_unpause (drip->message);
      return G_SOURCE_CONTINUE;
    }

  if (!drip->gone)
    {
      soup_message_body_complete (soup_server_message_get_response_body (drip->message));
      soup_server_message_unpause (drip->message);
    }
  g_signal_handlers_disconnect_by_data (drip->message, drip);
  g_object_unref (drip->message);
  g_bytes_unref (drip->bytes);
  g_free (drip);
  return G_SOURCE_REMOVE;
}

/* Streams @bytes in @chunk-byte pieces, one piece per main loop turn. */
static void
drip_bytes (SoupServerMessage *message,
            GBytes            *bytes,
            gsize              chunk,
            guint              interval_ms)
{
  Drip *drip = g_new0 (Drip, 1);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  soup_server_message_set_status (message, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_server_message_pause (message);

  drip->message = g_object_ref (message);
  drip->bytes = g_bytes_ref (bytes);
  drip->chunk = chunk;
  g_signal_connect_swapped (message, "finished", G_CALLBACK (drip_gone), drip);
  g_signal_connect_swapped (message, "disconnected", G_CALLBACK (drip_gone), drip);
  if (interval_ms > 0)
    g_timeout_add (interval_ms, drip_cb, drip);
  else
    g_idle_add (drip_cb, drip);
}

/* /FIXTURE/… serves tests/data/chat/FIXTURE; /cut-N/FIXTURE/… only its
 * first N bytes. */
static void
replay_handler (SoupServer        *server,
                SoupServerMessage *message,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Replay *r = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  g_auto(GStrv) parts = g_strsplit (path + 1, "/", 3);
  g_autofree char *file = NULL;
  g_autofree char *contents = NULL;
  gsize len, cut = G_MAXSIZE;
  const char *fixture = parts[0];

  g_free (r->last_body);
  r->last_body = g_strndup (body->data, body->length);
  g_free (r->last_api_key);
  r->last_api_key = g_strdup (soup_message_headers_get_one (headers, "x-api-key"));
  g_free (r->last_path);
  r->last_path = g_strdup (path);

  if (g_str_has_prefix (fixture, "cut-") && parts[1] != NULL)
    {
      cut = g_ascii_strtoull (fixture + 4, NULL, 10);
      fixture = parts[1];
    }

  file = g_test_build_filename (G_TEST_DIST, "data", "chat", fixture, NULL);
  if (!g_file_get_contents (file, &contents, &len, NULL))
    {
      aic_test_reply (message, 404, "application/json", "{\"error\": {\"message\": \"no such fixture\"}}");
      return;
    }
  {
    g_autoptr(GBytes) bytes = g_bytes_new (contents, MIN (len, cut));
    drip_bytes (message, bytes, 13, 0);
  }
}

static void
replay_setup (Replay        *r,
              gconstpointer  data)
{
  r->server = aic_test_server_new (&r->url);
  soup_server_add_handler (r->server, NULL, replay_handler, r, NULL);
}

static void
replay_teardown (Replay        *r,
                 gconstpointer  data)
{
  soup_server_disconnect (r->server);
  g_clear_object (&r->server);
  g_free (r->url);
  g_free (r->last_body);
  g_free (r->last_api_key);
  g_free (r->last_path);
}

static const struct
{
  const char *fixture;
  AicConnectionKind kind;
  const char *finish_reason;
  gint64 completion_tokens;
} replays[] = {
  { "console-full.sse",       AIC_CONNECTION_KIND_CONSOLE,   "stop",     14 },
  { "console-data-only.sse",  AIC_CONNECTION_KIND_CONSOLE,   NULL,       -1 },
  { "console-event-only.sse", AIC_CONNECTION_KIND_CONSOLE,   "stop",     -1 },
  { "openai.sse",             AIC_CONNECTION_KIND_OPENAI,    "stop",     14 },
  { "ollama.sse",             AIC_CONNECTION_KIND_OPENAI,    "stop",     -1 },
  { "llamacpp.sse",           AIC_CONNECTION_KIND_OPENAI,    "stop",     -1 },
  { "vllm.sse",               AIC_CONNECTION_KIND_OPENAI,    "length",   14 },
  { "anthropic.sse",          AIC_CONNECTION_KIND_ANTHROPIC, "end_turn", 15 },
};

static void
test_replays (Replay        *r,
              gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (replays); i++)
    {
      g_autofree char *base = g_strdup_printf ("%s/%s", r->url, replays[i].fixture);
      g_autoptr(AicChatStream) stream = new_stream (base, replays[i].kind, "k-1");
      g_autoptr(GString) seen = g_string_new (NULL);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", replays[i].fixture);
      g_signal_connect (stream, "token", G_CALLBACK (count_token), seen);
      g_assert_true (run_stream (stream, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (aic_chat_stream_get_text (stream), ==, EXPECTED_TEXT);
      g_assert_cmpstr (seen->str, ==, EXPECTED_TEXT);
      g_assert_cmpstr (aic_chat_stream_get_finish_reason (stream), ==, replays[i].finish_reason);
      g_assert_cmpint (aic_chat_stream_get_completion_tokens (stream), ==, replays[i].completion_tokens);
      g_assert_cmpint (aic_chat_stream_get_first_token_us (stream), >, 0);
      g_assert_cmpuint (aic_chat_stream_get_n_tokens (stream), >=, 14);
    }
}

/* What each dialect's request looks like on the wire. */
static void
test_request_shapes (Replay        *r,
                     gconstpointer  data)
{
  for (guint kind = AIC_CONNECTION_KIND_CONSOLE; kind <= AIC_CONNECTION_KIND_ANTHROPIC; kind++)
    {
      const char *fixture = kind == AIC_CONNECTION_KIND_CONSOLE ? "console-full.sse"
                          : kind == AIC_CONNECTION_KIND_OPENAI ? "openai.sse" : "anthropic.sse";
      g_autofree char *base = g_strdup_printf ("%s/%s", r->url, fixture);
      g_autoptr(AicChatStream) stream = new_stream (base, kind, "k-secret");
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      JsonObject *body;

      g_assert_true (run_stream (stream, NULL, &error));
      g_assert_true (json_parser_load_from_data (parser, r->last_body, -1, &error));
      body = json_node_get_object (json_parser_get_root (parser));

      switch (kind)
        {
        case AIC_CONNECTION_KIND_CONSOLE:
          g_assert_cmpstr (r->last_path, ==, "/console-full.sse/api/chat/stream");
          /* Both forms: the conversation, and the last user turn alone. */
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body, "messages")), ==, 4);
          g_assert_cmpstr (json_object_get_string_member (body, "message"), ==, "Tell me about foxes");
          g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "test-model");
          break;
        case AIC_CONNECTION_KIND_OPENAI:
          g_assert_cmpstr (r->last_path, ==, "/openai.sse/chat/completions");
          g_assert_true (json_object_get_boolean_member (body, "stream"));
          g_assert_true (json_object_get_boolean_member (json_object_get_object_member (body, "stream_options"), "include_usage"));
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body, "messages")), ==, 4);
          break;
        case AIC_CONNECTION_KIND_ANTHROPIC:
          g_assert_cmpstr (r->last_path, ==, "/anthropic.sse/v1/messages");
          g_assert_cmpstr (r->last_api_key, ==, "k-secret");
          /* The system prompt goes apart; messages are user/assistant only. */
          g_assert_cmpstr (json_object_get_string_member (body, "system"), ==, "Be brief.");
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body, "messages")), ==, 3);
          g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), >, 0);
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

static void
test_errors (Replay        *r,
             gconstpointer  data)
{
  struct { const char *fixture; AicConnectionKind kind; const char *text; const char *said; } cases[] = {
    { "console-error.sse",   AIC_CONNECTION_KIND_CONSOLE,   "Partial", "The upstream closed the connection" },
    { "openai-error.sse",    AIC_CONNECTION_KIND_OPENAI,    "Hel",     "Rate limit reached" },
    { "anthropic-error.sse", AIC_CONNECTION_KIND_ANTHROPIC, "Partial", "Overloaded" },
    { "no-such-fixture",     AIC_CONNECTION_KIND_OPENAI,    "",        "no such fixture" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *base = g_strdup_printf ("%s/%s", r->url, cases[i].fixture);
      g_autoptr(AicChatStream) stream = new_stream (base, cases[i].kind, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_false (run_stream (stream, NULL, &error));
      g_assert_nonnull (strstr (error->message, cases[i].said));
      /* What was shown before the error is kept. */
      g_assert_cmpstr (aic_chat_stream_get_text (stream), ==, cases[i].text);
    }
}

/* A provider stream cut short is an error, with the text so far. */
static void
test_provider_cuts (Replay        *r,
                    gconstpointer  data)
{
  const guint cuts[] = { 0, 100, 777, 1500 };

  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    for (guint k = AIC_CONNECTION_KIND_OPENAI; k <= AIC_CONNECTION_KIND_ANTHROPIC; k++)
      {
        const char *fixture = k == AIC_CONNECTION_KIND_OPENAI ? "openai.sse" : "anthropic.sse";
        g_autofree char *base = g_strdup_printf ("%s/cut-%u/%s", r->url, cuts[i], fixture);
        g_autoptr(AicChatStream) stream = new_stream (base, k, NULL);
        g_autoptr(GError) error = NULL;

        g_assert_false (run_stream (stream, NULL, &error));
        g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
        g_assert_true (g_str_has_prefix (EXPECTED_TEXT, aic_chat_stream_get_text (stream)));
      }
}

static void
test_needs_model (void)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "x", AIC_CONNECTION_KIND_OPENAI, "http://127.0.0.1:9/v1");
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(AicChatStream) stream = aic_chat_stream_new (client);
  g_autoptr(GError) error = NULL;

  aic_chat_stream_add_turn (stream, "user", "hi");
  g_assert_false (run_stream (stream, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
}

/* ---- the real backend ---- */

typedef struct
{
  AicServer *server;
  char *url;
  char *token;
  /* the dropping proxy */
  SoupServer *proxy;
  char *proxy_url;
  SoupSession *session;
  gssize cut_at;             /* the first POST is cut after this many bytes */
  guint posts;
  guint resumes;
} Backend;

static void
backend_setup (Backend       *b,
               gconstpointer  data)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GError) error = NULL;

  aic_engine_set_demo_delay (engine, 1);
  b->token = g_strdup ("backend-token");
  b->server = aic_server_new (engine, b->token);
  aic_chat_hub_set_timings (aic_server_get_chat_hub (b->server), 100, 2000, 60000);
  g_assert_true (aic_server_listen (b->server, "127.0.0.1", 0, &error));
  b->url = aic_server_dup_url (b->server);
  b->session = aic_http_session_new (0);
}

static void
backend_teardown (Backend       *b,
                  gconstpointer  data)
{
  if (b->proxy)
    soup_server_disconnect (b->proxy);
  g_clear_object (&b->proxy);
  g_clear_object (&b->session);
  g_clear_object (&b->server);
  g_free (b->url);
  g_free (b->proxy_url);
  g_free (b->token);
}

static void
test_backend_demo (Backend       *b,
                   gconstpointer  data)
{
  g_autoptr(AicChatStream) stream = new_stream (b->url, AIC_CONNECTION_KIND_CONSOLE, b->token);
  g_autoptr(GError) error = NULL;

  g_assert_true (run_stream (stream, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (aic_chat_stream_get_text (stream), "**This is the demo engine**"));
  g_assert_nonnull (strstr (aic_chat_stream_get_text (stream), "You wrote: “Tell me about foxes”"));
  g_assert_cmpstr (aic_chat_stream_get_finish_reason (stream), ==, "stop");
  g_assert_cmpstr (aic_chat_stream_get_model (stream), ==, "demo");
  g_assert_true (g_str_has_prefix (aic_chat_stream_get_stream_id (stream), "s-"));
  g_assert_cmpint (aic_chat_stream_get_completion_tokens (stream), ==, aic_chat_stream_get_n_tokens (stream));
  g_assert_cmpuint (aic_chat_stream_get_resumes (stream), ==, 0);
}

/* The server closes a stream's connection after it (and says so,
 * Keep-Alive: timeout=0). Our client keeps connections too: its next
 * request must not go out on the one being closed. 40 streams, each
 * followed at once by another request on the same client. */
static void
test_backend_request_after_stream (Backend       *b,
                                   gconstpointer  data)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "test", AIC_CONNECTION_KIND_CONSOLE, b->url);
  g_autoptr(AicClient) client = aic_client_new (connection, b->token);

  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(AicChatStream) stream = aic_chat_stream_new (client);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(AicServiceInfo) info = NULL;

      aic_chat_stream_add_turn (stream, "user", "Hello");
      g_assert_true (run_stream (stream, NULL, &error));
      g_assert_no_error (error);
      aic_client_check_async (client, NULL, aic_test_store_result_cb, &result);
      aic_test_wait_result (&result, 10000);
      info = aic_client_check_finish (client, result, &error);
      g_assert_no_error (error);
      g_assert_nonnull (info);
    }
}

static void
test_backend_wrong_token (Backend       *b,
                          gconstpointer  data)
{
  g_autoptr(AicChatStream) stream = new_stream (b->url, AIC_CONNECTION_KIND_CONSOLE, "nope");
  g_autoptr(GError) error = NULL;

  g_assert_false (run_stream (stream, NULL, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_AUTH);
}

/* The proxy: relays requests to the backend, and cuts the first POST's
 * answer after cut_at bytes by ending the body (the client sees the
 * connection end mid-stream). */
typedef struct
{
  Backend *b;
  SoupServerMessage *downstream;
  GInputStream *upstream;
  GCancellable *cancellable;
  gssize budget;             /* bytes left before the cut; -1 none */
  gboolean gone;
} Relay;

static void
relay_finish (Relay *relay)
{
  if (!relay->gone)
    {
      soup_message_body_complete (soup_server_message_get_response_body (relay->downstream));
      soup_server_message_unpause (relay->downstream);
    }
  g_cancellable_cancel (relay->cancellable);
  g_signal_handlers_disconnect_by_data (relay->downstream, relay);
  g_object_unref (relay->downstream);
  g_clear_object (&relay->upstream);
  g_object_unref (relay->cancellable);
  g_free (relay);
}

static void
relay_gone (Relay *relay)
{
  relay->gone = TRUE;
  g_cancellable_cancel (relay->cancellable);
}

static void
relay_read_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  gsize n;

  if (chunk == NULL || g_bytes_get_size (chunk) == 0 || relay->gone)
    {
      relay_finish (relay);
      return;
    }

  n = g_bytes_get_size (chunk);
  if (relay->budget >= 0 && (gssize) n >= relay->budget)
    {
      soup_message_body_append (soup_server_message_get_response_body (relay->downstream), SOUP_MEMORY_COPY,
                                g_bytes_get_data (chunk, NULL), relay->budget);
      soup_server_message_unpause (relay->downstream);
      relay_finish (relay);   /* the cut: the rest never arrives */
      return;
    }
  if (relay->budget >= 0)
    relay->budget -= n;

  soup_message_body_append_bytes (soup_server_message_get_response_body (relay->downstream), chunk);
  soup_server_message_unpause (relay->downstream);
  g_input_stream_read_bytes_async (relay->upstream, 4096, G_PRIORITY_DEFAULT, relay->cancellable,
                                   relay_read_cb, relay);
}

static void
relay_sent_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Relay *relay = user_data;
  SoupMessage *upstream_message = soup_session_get_async_result_message (SOUP_SESSION (object), result);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (relay->downstream);

  relay->upstream = soup_session_send_finish (SOUP_SESSION (object), result, NULL);
  if (relay->upstream == NULL)
    {
      relay_finish (relay);
      return;
    }
  soup_server_message_set_status (relay->downstream, soup_message_get_status (upstream_message), NULL);
  soup_message_headers_set_content_type (headers,
    soup_message_headers_get_content_type (soup_message_get_response_headers (upstream_message), NULL), NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  g_input_stream_read_bytes_async (relay->upstream, 4096, G_PRIORITY_DEFAULT, relay->cancellable,
                                   relay_read_cb, relay);
}

static void
proxy_handler (SoupServer        *server,
               SoupServerMessage *message,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  Backend *b = user_data;
  g_autofree char *url = g_strconcat (b->url, path, NULL);
  g_autoptr(SoupMessage) upstream = soup_message_new (soup_server_message_get_method (message), url);
  SoupMessageHeaders *in = soup_server_message_get_request_headers (message);
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  Relay *relay = g_new0 (Relay, 1);
  const char *value;

  relay->b = b;
  relay->downstream = g_object_ref (message);
  relay->cancellable = g_cancellable_new ();
  relay->budget = -1;
  if (soup_server_message_get_method (message) == SOUP_METHOD_POST && g_str_equal (path, "/api/chat/stream"))
    {
      if (b->posts++ == 0)
        relay->budget = b->cut_at;
    }
  else if (g_str_has_prefix (path, "/api/chat/streams/"))
    b->resumes++;

  if ((value = soup_message_headers_get_one (in, "Authorization")))
    soup_message_headers_replace (soup_message_get_request_headers (upstream), "Authorization", value);
  if ((value = soup_message_headers_get_one (in, "Last-Event-ID")))
    soup_message_headers_replace (soup_message_get_request_headers (upstream), "Last-Event-ID", value);
  if (body->length > 0)
    {
      g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
      soup_message_set_request_body_from_bytes (upstream, "application/json", bytes);
    }

  g_signal_connect_swapped (message, "finished", G_CALLBACK (relay_gone), relay);
  g_signal_connect_swapped (message, "disconnected", G_CALLBACK (relay_gone), relay);
  soup_server_message_pause (message);
  soup_session_send_async (b->session, upstream, G_PRIORITY_DEFAULT, relay->cancellable,
                           relay_sent_cb, relay);
}

static char *
uncut_text (Backend *b)
{
  g_autoptr(AicChatStream) stream = new_stream (b->url, AIC_CONNECTION_KIND_CONSOLE, b->token);
  g_autoptr(GError) error = NULL;

  g_assert_true (run_stream (stream, NULL, &error));
  return g_strdup (aic_chat_stream_get_text (stream));
}

/* Cut at 50 random offsets of the first connection: each time the client
 * resumes with Last-Event-ID and ends with exactly the uncut text. */
static void
test_backend_resume (Backend       *b,
                     gconstpointer  data)
{
  g_autofree char *expected = uncut_text (b);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261121);

  b->proxy = aic_test_server_new (&b->proxy_url);
  soup_server_add_handler (b->proxy, NULL, proxy_handler, b, NULL);

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(AicChatStream) stream = new_stream (b->proxy_url, AIC_CONNECTION_KIND_CONSOLE, b->token);
      g_autoptr(GError) error = NULL;

      /* The start event is about 90 bytes: cuts before it cannot be
       * resumed (no stream id yet) and are tested apart. */
      b->cut_at = g_rand_int_range (rand, 120, 2400);
      b->posts = 0;
      b->resumes = 0;
      g_test_message ("cut after %zd bytes", b->cut_at);
      g_assert_true (run_stream (stream, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (aic_chat_stream_get_text (stream), ==, expected);
      g_assert_cmpuint (b->posts, ==, 1);
      g_assert_cmpuint (b->resumes, >=, 1);
      g_assert_cmpuint (aic_chat_stream_get_resumes (stream), >=, 1);
    }
}

static void
test_backend_cut_before_start (Backend       *b,
                               gconstpointer  data)
{
  g_autoptr(AicChatStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  b->proxy = aic_test_server_new (&b->proxy_url);
  soup_server_add_handler (b->proxy, NULL, proxy_handler, b, NULL);
  b->cut_at = 10;
  stream = new_stream (b->proxy_url, AIC_CONNECTION_KIND_CONSOLE, b->token);
  g_assert_false (run_stream (stream, NULL, &error));
  g_assert_nonnull (error);
  g_assert_cmpstr (aic_chat_stream_get_text (stream), ==, "");
}

/* ---- Stop reaches the upstream ---- */

typedef struct
{
  SoupServer *server;
  char *url;
  gboolean upstream_closed;
  guint requests;
} SlowUpstream;

static void
slow_upstream_closed (SlowUpstream *u)
{
  u->upstream_closed = TRUE;
}

static void
slow_models_or_chat (SoupServer        *server,
                     SoupServerMessage *message,
                     const char        *path,
                     GHashTable        *query,
                     gpointer           user_data)
{
  SlowUpstream *u = user_data;

  if (g_str_equal (path, "/v1/models"))
    {
      aic_test_reply (message, 200, "application/json", "{\"data\": [{\"id\": \"slow\"}]}");
      return;
    }

  /* A long, slow OpenAI-style reply: a token every 50 ms. */
  {
    g_autoptr(GString) text = g_string_new (NULL);
    g_autoptr(GBytes) bytes = NULL;

    for (guint i = 0; i < 200; i++)
      g_string_append_printf (text, "data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"w%u \"}}]}\n\n", i);
    g_string_append (text, "data: [DONE]\n\n");
    bytes = g_string_free_to_bytes (g_steal_pointer (&text));
    u->requests++;
    g_signal_connect_swapped (message, "finished", G_CALLBACK (slow_upstream_closed), u);
    g_signal_connect_swapped (message, "disconnected", G_CALLBACK (slow_upstream_closed), u);
    drip_bytes (message, bytes, 64, 50);
  }
}

static gboolean
upstream_closed (gpointer data)
{
  return ((SlowUpstream *) data)->upstream_closed;
}

static gboolean
has_text (gpointer data)
{
  return strlen (aic_chat_stream_get_text (data)) > 20;
}

static void
test_stop_reaches_upstream (void)
{
  SlowUpstream u = { 0 };
  g_autofree char *upstream_base = NULL;
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(AicServer) server = NULL;
  g_autoptr(AicChatStream) stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  u.server = aic_test_server_new (&u.url);
  soup_server_add_handler (u.server, NULL, slow_models_or_chat, &u, NULL);
  upstream_base = g_strconcat (u.url, "/v1", NULL);
  engine = aic_engine_new_openai (upstream_base, "Slow", NULL);
  server = aic_server_new (engine, NULL);
  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);

  stream = new_stream (url, AIC_CONNECTION_KIND_CONSOLE, NULL);
  aic_chat_stream_set_model (stream, "slow");
  aic_chat_stream_run_async (stream, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_for (has_text, stream, 10000);
  g_assert_false (u.upstream_closed);

  aic_chat_stream_stop (stream);
  aic_test_wait_result (&result, 10000);
  g_assert_false (aic_chat_stream_run_finish (stream, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (aic_chat_stream_get_text (stream), "w0 w1 "));

  /* The backend stopped its own request upstream, long before the 10 s
   * the reply would have taken. */
  aic_test_wait_for (upstream_closed, &u, 3000);
  g_assert_cmpuint (aic_chat_hub_get_n_active (aic_server_get_chat_hub (server)), ==, 0);

  soup_server_disconnect (u.server);
  g_object_unref (u.server);
  g_free (u.url);
}

/* A client that goes away without Stop: after the orphan delay the
 * backend stops the upstream too. */
static void
test_abandoned_stream_stops (void)
{
  SlowUpstream u = { 0 };
  g_autofree char *upstream_base = NULL;
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(AicServer) server = NULL;
  g_autoptr(AicChatStream) stream = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  u.server = aic_test_server_new (&u.url);
  soup_server_add_handler (u.server, NULL, slow_models_or_chat, &u, NULL);
  upstream_base = g_strconcat (u.url, "/v1", NULL);
  engine = aic_engine_new_openai (upstream_base, "Slow", NULL);
  server = aic_server_new (engine, NULL);
  aic_chat_hub_set_timings (aic_server_get_chat_hub (server), 15000, 300, 60000);
  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);

  stream = new_stream (url, AIC_CONNECTION_KIND_CONSOLE, NULL);
  aic_chat_stream_set_model (stream, "slow");
  aic_chat_stream_run_async (stream, cancellable, aic_test_store_result_cb, &result);
  aic_test_wait_for (has_text, stream, 10000);

  /* Cancelling only our side closes the connection; no cancel request. */
  g_cancellable_cancel (cancellable);
  aic_test_wait_result (&result, 10000);
  g_assert_false (u.upstream_closed);
  aic_test_wait_for (upstream_closed, &u, 3000);

  soup_server_disconnect (u.server);
  g_object_unref (u.server);
  g_free (u.url);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/chat-stream/replays", Replay, NULL, replay_setup, test_replays, replay_teardown);
  g_test_add ("/chat-stream/request-shapes", Replay, NULL, replay_setup, test_request_shapes, replay_teardown);
  g_test_add ("/chat-stream/errors", Replay, NULL, replay_setup, test_errors, replay_teardown);
  g_test_add ("/chat-stream/provider-cuts", Replay, NULL, replay_setup, test_provider_cuts, replay_teardown);
  g_test_add_func ("/chat-stream/needs-model", test_needs_model);
  g_test_add ("/chat-stream/backend/demo", Backend, NULL, backend_setup, test_backend_demo, backend_teardown);
  g_test_add ("/chat-stream/backend/request-after-stream", Backend, NULL, backend_setup, test_backend_request_after_stream, backend_teardown);
  g_test_add ("/chat-stream/backend/wrong-token", Backend, NULL, backend_setup, test_backend_wrong_token, backend_teardown);
  g_test_add ("/chat-stream/backend/resume", Backend, NULL, backend_setup, test_backend_resume, backend_teardown);
  g_test_add ("/chat-stream/backend/cut-before-start", Backend, NULL, backend_setup, test_backend_cut_before_start, backend_teardown);
  g_test_add_func ("/chat-stream/stop-reaches-upstream", test_stop_reaches_upstream);
  g_test_add_func ("/chat-stream/abandoned-stream-stops", test_abandoned_stream_stops);

  return g_test_run ();
}
