/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-pcm.h"
#include "aic-server.h"
#include "aic-test-util.h"
#include "aic-voice-session.h"

/* The backend's /api/voice with the demo engine, spoken to by the app's
 * own AicVoiceSession: a turn found by the server's VAD, answered with
 * speech (eSpeak NG); barge-in cancels the reply; push-to-talk; the gate
 * (token, Origin); bad messages answered with an error event. */

#define TOKEN "voice-token"

typedef struct
{
  AicServer       *server;
  char            *url;
  AicClient       *client;
  AicVoiceSession *session;
  GString         *user;
  GString         *reply;
  gsize            audio;
  GPtrArray       *done;
  GPtrArray       *errors;
  guint            speech_started;
} Fixture;

static void on_user (AicVoiceSession *s, const char *t, Fixture *f) { g_string_append (f->user, t); }
static void on_reply (AicVoiceSession *s, const char *t, Fixture *f) { g_string_append (f->reply, t); }
static void on_audio (AicVoiceSession *s, GBytes *pcm, Fixture *f) { f->audio += g_bytes_get_size (pcm); }
static void on_done (AicVoiceSession *s, const char *st, Fixture *f) { g_ptr_array_add (f->done, g_strdup (st)); }
static void on_error (AicVoiceSession *s, const char *t, Fixture *f) { g_ptr_array_add (f->errors, g_strdup (t)); }
static void on_speech (AicVoiceSession *s, Fixture *f) { f->speech_started++; }

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  f->server = aic_server_new (engine, TOKEN);
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", 0, &error));
  f->url = aic_server_dup_url (f->server);
  connection = aic_connection_new ("b", "Built-in", AIC_CONNECTION_KIND_CONSOLE, f->url);
  f->client = aic_client_new (connection, TOKEN);
  f->session = aic_voice_session_new (f->client, "/api/voice");
  aic_voice_session_set_reconnect (f->session, 0, 10);
  if (data != NULL)
    aic_voice_session_set_turn_detection (f->session, FALSE, 0, 0, 0);
  f->user = g_string_new (NULL);
  f->reply = g_string_new (NULL);
  f->done = g_ptr_array_new_with_free_func (g_free);
  f->errors = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->session, "user-transcript", G_CALLBACK (on_user), f);
  g_signal_connect (f->session, "reply-transcript", G_CALLBACK (on_reply), f);
  g_signal_connect (f->session, "reply-audio", G_CALLBACK (on_audio), f);
  g_signal_connect (f->session, "response-done", G_CALLBACK (on_done), f);
  g_signal_connect (f->session, "server-error", G_CALLBACK (on_error), f);
  g_signal_connect (f->session, "speech-started", G_CALLBACK (on_speech), f);

  aic_voice_session_connect_async (f->session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (f->session, result, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  g_free (f->url);
  g_string_free (f->user, TRUE);
  g_string_free (f->reply, TRUE);
  g_ptr_array_unref (f->done);
  g_ptr_array_unref (f->errors);
}

/* @dbfs below -100 is silence. */
static void
speak (Fixture *f,
       double   dbfs,
       guint    milliseconds)
{
  static guint64 phase;
  double amplitude = dbfs < -100 ? 0 : 32767.0 * sqrt (2.0) * pow (10.0, dbfs / 20.0);

  for (guint ms = 0; ms < milliseconds; ms += AIC_AUDIO_FRAME_MS)
    {
      gint16 *frame = g_new (gint16, AIC_AUDIO_FRAME_SAMPLES);
      g_autoptr(GBytes) bytes = NULL;

      for (guint i = 0; i < AIC_AUDIO_FRAME_SAMPLES; i++, phase++)
        frame[i] = (gint16) (amplitude * sin (2 * G_PI * 200 * phase / AIC_AUDIO_RATE));
      bytes = g_bytes_new_take (frame, AIC_AUDIO_FRAME_BYTES);
      aic_voice_session_send_audio (f->session, bytes);
    }
}

static gboolean
replied (gpointer data)
{
  return ((Fixture *) data)->done->len > 0;
}

static gboolean
audio_arrived (gpointer data)
{
  return ((Fixture *) data)->audio > 0;
}

static void
test_turn (Fixture       *f,
           gconstpointer  data)
{
  speak (f, -200, 400);
  speak (f, -20, 1000);
  speak (f, -200, 700);
  aic_test_wait_for (replied, f, 20000);

  g_assert_cmpuint (f->speech_started, ==, 1);
  /* Prefix 300 ms + 1 s of speech + 500 ms of silence. */
  g_assert_cmpstr (f->user->str, ==, "speech, 1.8 s — no speech-to-text configured");
  g_assert_true (g_str_has_prefix (f->reply->str, "This is the demo engine. I heard 1.8 seconds of speech."));
  g_assert_cmpstr (g_ptr_array_index (f->done, 0), ==, "completed");
  /* The demo said at the start that it cannot transcribe. */
  g_assert_false (aic_voice_session_get_speech_to_text (f->session));
  /* Four sentences of speech: seconds of audio. */
  g_assert_cmpuint (f->audio, >, aic_pcm_bytes_for_ms (3000));
  g_assert_cmpuint (f->errors->len, ==, 0);
}

static gboolean
ponged (gpointer data)
{
  return aic_voice_session_get_pongs (data) >= 2;
}

/* Keep-alive pings go out and the backend answers them. */
static void
test_pings (void)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicServer) server = aic_server_new (engine, TOKEN);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);
  connection = aic_connection_new ("p", "P", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, TOKEN);
  session = aic_voice_session_new (client, "/api/voice");
  aic_voice_session_set_keepalive (session, 1);
  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (session, result, &error));
  aic_test_wait_for (ponged, session, 10000);
  aic_voice_session_close (session);
}

static void
test_barge_in (Fixture       *f,
               gconstpointer  data)
{
  speak (f, -20, 1000);
  speak (f, -200, 600);
  aic_test_wait_for (audio_arrived, f, 20000);

  /* The user speaks while the reply is still being made. */
  speak (f, -20, 600);
  aic_test_wait_for (replied, f, 10000);
  g_assert_cmpstr (g_ptr_array_index (f->done, 0), ==, "cancelled");
  g_assert_cmpuint (f->speech_started, ==, 2);
}

static void
test_push_to_talk (Fixture       *f,
                   gconstpointer  data)
{
  speak (f, -20, 500);
  speak (f, -200, 1500);
  /* No server VAD: no turn until the commit. */
  g_assert_cmpuint (f->speech_started, ==, 0);
  aic_voice_session_commit (f->session);
  aic_test_wait_for (replied, f, 20000);
  g_assert_cmpuint (f->speech_started, ==, 0);
  g_assert_cmpstr (f->user->str, ==, "speech, 2.0 s — no speech-to-text configured");
  g_assert_cmpstr (g_ptr_array_index (f->done, 0), ==, "completed");
}

/* ---- the gate and bad messages, with a plain libsoup client ---- */

static SoupWebsocketConnection *
raw_connect (const char  *url,
             const char  *token,
             const char  *origin,
             GError     **error)
{
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autofree char *address = g_strconcat (url, "/api/voice", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", address);
  g_autoptr(GAsyncResult) result = NULL;

  aic_http_set_bearer (message, token);
  soup_session_websocket_connect_async (session, message, origin, NULL, G_PRIORITY_DEFAULT, NULL,
                                        aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  return soup_session_websocket_connect_finish (session, result, error);
}

static void
collect_cb (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *message,
            GPtrArray               *seen)
{
  g_ptr_array_add (seen, g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message)));
}

static gboolean
three_seen (gpointer data)
{
  return ((GPtrArray *) data)->len >= 3;
}

static gboolean
no_sessions (gpointer data)
{
  return aic_voice_hub_get_n_sessions (aic_server_get_voice_hub (data)) == 0;
}

static gboolean
closed (gpointer data)
{
  return soup_websocket_connection_get_state (data) == SOUP_WEBSOCKET_STATE_CLOSED;
}

static void
test_gate_and_bad_messages (void)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicServer) server = aic_server_new (engine, TOKEN);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);

  ws = raw_connect (url, "wrong", NULL, &error);
  g_assert_null (ws);
  g_clear_error (&error);
  ws = raw_connect (url, TOKEN, "https://evil.example", &error);
  g_assert_null (ws);
  g_clear_error (&error);

  ws = raw_connect (url, TOKEN, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (ws, "message", G_CALLBACK (collect_cb), seen);
  soup_websocket_connection_send_text (ws, "not json at all");
  soup_websocket_connection_send_text (ws, "{\"type\": \"input_audio_buffer.append\", \"audio\": 12}");
  aic_test_wait_for (three_seen, seen, 5000);
  g_assert_nonnull (strstr (g_ptr_array_index (seen, 0), "session.created"));
  g_assert_nonnull (strstr (g_ptr_array_index (seen, 1), "\"type\": \"error\""));
  g_assert_nonnull (strstr (g_ptr_array_index (seen, 2), "invalid_audio"));
  /* Still open. */
  g_assert_cmpint (soup_websocket_connection_get_state (ws), ==, SOUP_WEBSOCKET_STATE_OPEN);

  /* A message over the server's 1 MiB limit ends the connection: libsoup
   * sends close code 1009 and drops the connection while the client may
   * still be writing, so the client sees 1009 or an abnormal close. */
  {
    gsize size = 2 * 1024 * 1024;
    g_autofree char *huge = g_malloc (size + 1);

    memset (huge, 'a', size);
    huge[size] = '\0';
    soup_websocket_connection_send_text (ws, huge);
    aic_test_wait_for (closed, ws, 10000);
    g_assert_true (soup_websocket_connection_get_close_code (ws) == SOUP_WEBSOCKET_CLOSE_TOO_BIG ||
                   soup_websocket_connection_get_close_code (ws) == 0 ||
                   soup_websocket_connection_get_close_code (ws) == SOUP_WEBSOCKET_CLOSE_ABNORMAL);
    aic_test_wait_for (no_sessions, server, 5000);
  }
}

/* ---- Realtime conformance, with a plain libsoup client ---- */

typedef struct
{
  GPtrArray *events;    /* JsonNode * */
} Seen;

static void
seen_cb (SoupWebsocketConnection *ws,
         int                      type,
         GBytes                  *message,
         Seen                    *seen)
{
  JsonNode *root = aic_json_parse_bytes (message, NULL);

  g_assert_nonnull (root);
  g_ptr_array_add (seen->events, root);
}

static const char *
type_of (JsonNode *event)
{
  return json_object_get_string_member (json_node_get_object (event), "type");
}

/* The index of the first event of @type from @from on, or -1. */
static int
find_event (Seen       *seen,
            const char *type,
            guint       from)
{
  for (guint i = from; i < seen->events->len; i++)
    if (g_str_equal (type_of (g_ptr_array_index (seen->events, i)), type))
      return (int) i;
  return -1;
}

typedef struct
{
  Seen       *seen;
  const char *type;
  guint       from;
} Awaited;

static gboolean
arrived (gpointer data)
{
  Awaited *awaited = data;

  return find_event (awaited->seen, awaited->type, awaited->from) >= 0;
}

static JsonObject *
await_event (Seen       *seen,
             const char *type,
             guint       from)
{
  Awaited awaited = { seen, type, from };

  aic_test_wait_for (arrived, &awaited, 20000);
  return json_node_get_object (g_ptr_array_index (seen->events, find_event (seen, type, from)));
}

static SoupWebsocketConnection *
realtime_connect (const char  *url,
                  const char  *path,
                  const char  *token,
                  gboolean     beta,
                  GError     **error)
{
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autofree char *address = g_strconcat (url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", address);
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *key = g_strconcat ("openai-insecure-api-key.", token, NULL);
  const char *protocols[] = { "realtime", key, NULL };

  if (beta)
    soup_message_headers_append (soup_message_get_request_headers (message), "OpenAI-Beta", "realtime=v1");
  soup_session_websocket_connect_async (session, message, NULL, (char **) protocols, G_PRIORITY_DEFAULT, NULL,
                                        aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  return soup_session_websocket_connect_finish (session, result, error);
}

static void
send_pcm (SoupWebsocketConnection *ws,
          gboolean                 loud,
          guint                    milliseconds)
{
  g_autofree gint16 *samples = g_new0 (gint16, milliseconds * 24);
  g_autofree char *encoded = NULL;
  g_autofree char *text = NULL;

  for (guint i = 0; loud && i < milliseconds * 24; i++)
    samples[i] = (gint16) (8000 * sin (2 * G_PI * 200 * i / AIC_AUDIO_RATE));
  encoded = g_base64_encode ((guchar *) samples, milliseconds * 24 * 2);
  text = g_strdup_printf ("{\"type\": \"input_audio_buffer.append\", \"audio\": \"%s\"}", encoded);
  soup_websocket_connection_send_text (ws, text);
}

static void
assert_event_ids (Seen *seen)
{
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < seen->events->len; i++)
    {
      JsonObject *event = json_node_get_object (g_ptr_array_index (seen->events, i));
      const char *id = json_object_get_string_member_with_default (event, "event_id", NULL);

      g_assert_nonnull (id);
      g_assert_false (g_hash_table_contains (ids, id));
      g_hash_table_add (ids, (gpointer) id);
    }
}

/* Each type comes, the first of each after the one before. */
static void
assert_in_order (Seen               *seen,
                 const char * const *types)
{
  int last = -1;

  for (guint i = 0; types[i] != NULL; i++)
    {
      int at = find_event (seen, types[i], 0);

      if (at < 0 || at <= last)
        g_error ("%s came %s", types[i], at < 0 ? "not at all" : "out of order");
      last = at;
    }
}

static void
test_realtime_events (void)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicServer) server = aic_server_new (engine, TOKEN);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  Seen seen = { events };
  JsonObject *event, *response;
  const char *reply_item;
  guint mark;
  static const char * const turn[] = {
    "session.created", "session.updated", "input_audio_buffer.committed", "conversation.item.added",
    "conversation.item.done", "conversation.item.input_audio_transcription.completed", "response.created",
    "response.output_item.added", "response.content_part.added", "response.output_audio_transcript.delta",
    "response.output_audio.delta", "response.output_audio.done", "response.output_audio_transcript.done",
    "response.content_part.done", "response.output_item.done", "response.done", NULL
  };

  aic_engine_set_demo_delay (engine, 1);
  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);
  /* The key as a subprotocol, at the path OpenAI's SDKs use. */
  ws = realtime_connect (url, "/v1/realtime?model=gpt-realtime", TOKEN, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (ws), ==, "realtime");
  g_signal_connect (ws, "message", G_CALLBACK (seen_cb), &seen);

  soup_websocket_connection_send_text (ws, "{\"type\": \"session.update\", \"session\": {\"type\": \"realtime\", "
                                           "\"instructions\": \"Be brief.\", \"audio\": {\"input\": {\"turn_detection\": null}, "
                                           "\"output\": {\"voice\": \"cedar\"}}}}");
  event = await_event (&seen, "session.updated", 0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "session"), "instructions"), ==, "Be brief.");
  {
    JsonObject *audio = json_object_get_object_member (json_object_get_object_member (event, "session"), "audio");
    g_assert_true (json_object_get_null_member (json_object_get_object_member (audio, "input"), "turn_detection"));
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (audio, "output"), "voice"), ==, "cedar");
  }

  /* Bad base64, a cancel with nothing in flight, clear. */
  soup_websocket_connection_send_text (ws, "{\"type\": \"input_audio_buffer.append\", \"audio\": \"a*b=\"}");
  event = await_event (&seen, "error", 0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "error"), "code"), ==, "invalid_base64");
  mark = seen.events->len;
  soup_websocket_connection_send_text (ws, "{\"type\": \"response.cancel\"}");
  event = await_event (&seen, "error", mark);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "error"), "code"), ==,
                   "response_cancel_not_active");
  send_pcm (ws, TRUE, 500);
  soup_websocket_connection_send_text (ws, "{\"type\": \"input_audio_buffer.clear\"}");
  await_event (&seen, "input_audio_buffer.cleared", 0);
  mark = seen.events->len;
  soup_websocket_connection_send_text (ws, "{\"type\": \"input_audio_buffer.commit\"}");
  event = await_event (&seen, "error", mark);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "error"), "code"), ==,
                   "input_audio_buffer_commit_empty");

  /* Push-to-talk: committed at the commit, the reply at response.create. */
  send_pcm (ws, TRUE, 1000);
  soup_websocket_connection_send_text (ws, "{\"type\": \"input_audio_buffer.commit\"}");
  event = await_event (&seen, "conversation.item.done", 0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "item"), "role"), ==, "user");
  g_assert_cmpint (find_event (&seen, "response.created", 0), <, 0);
  soup_websocket_connection_send_text (ws, "{\"type\": \"response.create\"}");
  event = await_event (&seen, "response.done", 0);
  assert_in_order (&seen, turn);
  response = json_object_get_object_member (event, "response");
  g_assert_cmpstr (json_object_get_string_member (response, "status"), ==, "completed");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (response, "output")), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (response, "usage"), "total_tokens"), >, 0);
  reply_item = json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (response, "output"), 0), "id");
  event = await_event (&seen, "response.output_audio_transcript.done", 0);
  g_assert_nonnull (strstr (json_object_get_string_member (event, "transcript"), "demo engine"));

  /* A text turn, cancelled and truncated once its audio comes. */
  mark = seen.events->len;
  soup_websocket_connection_send_text (ws, "{\"type\": \"conversation.item.create\", \"item\": {\"type\": \"message\", "
                                           "\"role\": \"user\", \"content\": [{\"type\": \"input_text\", \"text\": \"Hello\"}]}}");
  event = await_event (&seen, "conversation.item.added", mark);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (json_object_get_object_member (event, "item"), "content"), 0), "text"), ==, "Hello");
  soup_websocket_connection_send_text (ws, "{\"type\": \"response.create\"}");
  event = await_event (&seen, "response.output_audio.delta", mark);
  {
    g_autofree char *truncate = g_strdup_printf ("{\"type\": \"conversation.item.truncate\", \"item_id\": \"%s\", "
                                                 "\"content_index\": 0, \"audio_end_ms\": 50}",
                                                 json_object_get_string_member (event, "item_id"));
    soup_websocket_connection_send_text (ws, "{\"type\": \"response.cancel\"}");
    soup_websocket_connection_send_text (ws, truncate);
  }
  event = await_event (&seen, "response.done", mark);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "response"), "status"), ==, "cancelled");
  event = await_event (&seen, "conversation.item.truncated", mark);
  g_assert_cmpint (json_object_get_int_member (event, "audio_end_ms"), ==, 50);
  /* The earlier reply is known too; an unknown item is not. */
  mark = seen.events->len;
  soup_websocket_connection_send_text (ws, "{\"type\": \"conversation.item.truncate\", \"item_id\": \"nope\", "
                                           "\"content_index\": 0, \"audio_end_ms\": 0}");
  event = await_event (&seen, "error", mark);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "error"), "code"), ==,
                   "item_truncate_invalid_item_id");
  g_assert_nonnull (reply_item);

  assert_event_ids (&seen);
  soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  aic_test_wait_for (no_sessions, server, 5000);
}

/* A beta client: the OpenAI-Beta header, a beta-shaped session with
 * turn_detection null (push-to-talk), and the beta names back. */
static void
test_realtime_beta (void)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicServer) server = aic_server_new (engine, TOKEN);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  Seen seen = { events };
  JsonObject *event;
  static const char * const turn[] = {
    "input_audio_buffer.committed", "conversation.item.created", "response.created", "response.output_item.added",
    "response.content_part.added", "response.audio_transcript.delta", "response.audio.delta", "response.audio.done",
    "response.audio_transcript.done", "response.content_part.done", "response.output_item.done", "response.done", NULL
  };
  static const char * const ga_only[] = {
    "response.output_audio.delta", "response.output_audio_transcript.delta", "conversation.item.added",
    "conversation.item.done", "error", NULL
  };

  aic_engine_set_demo_delay (engine, 1);
  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);
  ws = realtime_connect (url, "/realtime", TOKEN, TRUE, &error);
  g_assert_no_error (error);
  g_signal_connect (ws, "message", G_CALLBACK (seen_cb), &seen);

  event = await_event (&seen, "session.created", 0);
  g_assert_false (json_object_has_member (json_object_get_object_member (event, "session"), "type"));
  soup_websocket_connection_send_text (ws, "{\"type\": \"session.update\", \"session\": {\"voice\": \"alloy\", "
                                           "\"input_audio_format\": \"pcm16\", \"turn_detection\": null}}");
  event = await_event (&seen, "session.updated", 0);
  g_assert_true (json_object_get_null_member (json_object_get_object_member (event, "session"), "turn_detection"));

  /* Speech, a pause longer than any VAD's, speech: still one turn. */
  send_pcm (ws, TRUE, 600);
  send_pcm (ws, FALSE, 1500);
  send_pcm (ws, TRUE, 600);
  soup_websocket_connection_send_text (ws, "{\"type\": \"input_audio_buffer.commit\"}");
  soup_websocket_connection_send_text (ws, "{\"type\": \"response.create\"}");
  await_event (&seen, "response.done", 0);
  assert_in_order (&seen, turn);
  for (guint i = 0; ga_only[i] != NULL; i++)
    g_assert_cmpint (find_event (&seen, ga_only[i], 0), <, 0);
  g_assert_cmpint (find_event (&seen, "input_audio_buffer.speech_started", 0), <, 0);
  event = await_event (&seen, "conversation.item.input_audio_transcription.completed", 0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (event, "transcript"), "speech, 2.7 s"));
  assert_event_ids (&seen);

  soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  aic_test_wait_for (no_sessions, server, 5000);
}

/* ---- the openai engine: transcription, reply and speech upstream ---- */

typedef struct
{
  GPtrArray *spoken;            /* what /audio/speech was asked to say */
  guint      transcriptions;
  gboolean   has_speech;
  gint64     second_sentence_at;
  gint64     first_audio_at;
} Upstream;

typedef struct
{
  SoupServerMessage *message;
  Upstream          *upstream;
} Streaming;

static gboolean
second_sentence_cb (gpointer data)
{
  Streaming *streaming = data;
  static const char rest[] =
    "data: {\"choices\": [{\"delta\": {\"content\": \"Take a hat.\"}}]}\n\n"
    "data: {\"choices\": [{\"delta\": {}, \"finish_reason\": \"stop\"}]}\n\n"
    "data: [DONE]\n\n";
  SoupMessageBody *body = soup_server_message_get_response_body (streaming->message);

  streaming->upstream->second_sentence_at = g_get_monotonic_time ();
  soup_message_body_append (body, SOUP_MEMORY_STATIC, rest, strlen (rest));
  soup_message_body_complete (body);
  soup_server_message_unpause (streaming->message);
  g_object_unref (streaming->message);
  g_free (streaming);
  return G_SOURCE_REMOVE;
}

static void
upstream_cb (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  Upstream *upstream = user_data;

  if (g_str_equal (path, "/v1/models"))
    aic_test_reply (message, 200, "application/json", "{\"data\": [{\"id\": \"m\"}]}");
  else if (g_str_equal (path, "/v1/audio/transcriptions"))
    {
      g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));

      /* Turns upload speech.wav; the hub's first question has no file. */
      if (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "speech.wav") != NULL)
        upstream->transcriptions++;
      aic_test_reply (message, 200, "application/json", "{\"text\": \"what is the weather\"}");
    }
  else if (g_str_equal (path, "/v1/audio/speech") && upstream->has_speech)
    {
      g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));
      g_autoptr(JsonNode) root = aic_json_parse_bytes (body, NULL);

      g_ptr_array_add (upstream->spoken, g_strdup (json_object_get_string_member (json_node_get_object (root), "input")));
      soup_server_message_set_status (message, 200, NULL);
      soup_server_message_set_response (message, "audio/pcm", SOUP_MEMORY_TAKE,
                                        g_malloc0 (24000), 24000);   /* half a second */
    }
  else if (g_str_equal (path, "/v1/chat/completions"))
    {
      static const char first[] = "data: {\"choices\": [{\"delta\": {\"content\": \"It is sunny. \"}}]}\n\n";
      Streaming *streaming = g_new0 (Streaming, 1);
      SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

      soup_server_message_set_status (message, 200, NULL);
      soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      soup_message_body_append (soup_server_message_get_response_body (message), SOUP_MEMORY_STATIC, first, strlen (first));
      streaming->message = g_object_ref (message);
      streaming->upstream = upstream;
      g_timeout_add (800, second_sentence_cb, streaming);
    }
  else
    aic_test_reply (message, 404, "application/json", "{\"error\": {\"message\": \"no\"}}");
}

static void
first_audio_cb (AicVoiceSession *session,
                GBytes          *pcm,
                Upstream        *upstream)
{
  if (upstream->first_audio_at == 0)
    upstream->first_audio_at = g_get_monotonic_time ();
}

static void
run_upstream_turn (gboolean has_speech)
{
  Upstream upstream = { g_ptr_array_new_with_free_func (g_free), 0, has_speech, 0, 0 };
  g_autofree char *upstream_url = NULL;
  g_autoptr(SoupServer) fake = aic_test_server_new (&upstream_url);
  g_autofree char *base = g_strconcat (upstream_url, "/v1", NULL);
  g_autoptr(AicEngine) engine = aic_engine_new_openai (base, "Fake", NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Fixture fixture = { 0 }, *f = &fixture;
  g_autoptr(AicConnection) connection = NULL;

  soup_server_add_handler (fake, NULL, upstream_cb, &upstream, NULL);
  aic_engine_refresh_async (engine, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_engine_refresh_finish (engine, result, &error));
  g_clear_object (&result);

  f->server = aic_server_new (engine, TOKEN);
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", 0, &error));
  f->url = aic_server_dup_url (f->server);
  connection = aic_connection_new ("b", "B", AIC_CONNECTION_KIND_CONSOLE, f->url);
  f->client = aic_client_new (connection, TOKEN);
  f->session = aic_voice_session_new (f->client, "/api/voice");
  f->user = g_string_new (NULL);
  f->reply = g_string_new (NULL);
  f->done = g_ptr_array_new_with_free_func (g_free);
  f->errors = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->session, "user-transcript", G_CALLBACK (on_user), f);
  g_signal_connect (f->session, "reply-transcript", G_CALLBACK (on_reply), f);
  g_signal_connect (f->session, "reply-audio", G_CALLBACK (on_audio), f);
  g_signal_connect (f->session, "reply-audio", G_CALLBACK (first_audio_cb), &upstream);
  g_signal_connect (f->session, "response-done", G_CALLBACK (on_done), f);
  g_signal_connect (f->session, "server-error", G_CALLBACK (on_error), f);
  aic_voice_session_connect_async (f->session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (f->session, result, &error));

  speak (f, -20, 1000);
  speak (f, -200, 600);
  aic_test_wait_for (replied, f, 20000);

  g_assert_cmpuint (upstream.transcriptions, ==, 1);
  g_assert_true (aic_voice_session_get_speech_to_text (f->session));
  g_assert_cmpstr (f->user->str, ==, "what is the weather");
  g_assert_cmpstr (f->reply->str, ==, "It is sunny. Take a hat.");
  g_assert_cmpstr (g_ptr_array_index (f->done, 0), ==, "completed");
  g_assert_cmpuint (f->errors->len, ==, 0);
  /* The first sentence was spoken before the model had written the
   * second. */
  g_assert_cmpint (upstream.first_audio_at, >, 0);
  g_assert_cmpint (upstream.first_audio_at, <, upstream.second_sentence_at);
  if (has_speech)
    {
      g_assert_cmpuint (upstream.spoken->len, ==, 2);
      g_assert_cmpstr (g_ptr_array_index (upstream.spoken, 0), ==, "It is sunny.");
      g_assert_cmpuint (f->audio, ==, 2 * 24000);
    }
  else
    g_assert_cmpuint (f->audio, >, aic_pcm_bytes_for_ms (500));   /* eSpeak NG stood in */

  fixture_teardown (f, NULL);
  g_ptr_array_unref (upstream.spoken);
}

static void
test_upstream (void)
{
  run_upstream_turn (TRUE);
}

static void
test_upstream_without_speech (void)
{
  run_upstream_turn (FALSE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("/voice-backend/turn", test_turn, NULL);
  ADD ("/voice-backend/barge-in", test_barge_in, NULL);
  ADD ("/voice-backend/push-to-talk", test_push_to_talk, "ptt");
  g_test_add_func ("/voice-backend/gate-and-bad-messages", test_gate_and_bad_messages);
  g_test_add_func ("/voice-backend/upstream", test_upstream);
  g_test_add_func ("/voice-backend/pings", test_pings);
  g_test_add_func ("/voice-backend/upstream-without-speech", test_upstream_without_speech);
  g_test_add_func ("/voice-backend/realtime-events", test_realtime_events);
  g_test_add_func ("/voice-backend/realtime-beta", test_realtime_beta);

  return g_test_run ();
}
