/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-json.h"
#include "aic-pcm.h"
#include "aic-test-util.h"
#include "aic-voice-session.h"

/* AicVoiceSession against a real WebSocket on a SoupServer that plays a
 * Realtime server: turns by server VAD and by push-to-talk, a reply
 * with an audio delta over libsoup's 128 KiB default, barge-in, an error
 * event that does not end the session, and a server that goes away. */

#define BIG_AUDIO (200 * 1024)

typedef struct
{
  SoupServer              *server;
  char                    *url;
  SoupWebsocketConnection *ws;       /* the server's side */
  guint                    connections;
  guint                    session_updates;
  gboolean                 last_vad;
  gsize                    audio_bytes;
  guint                    appends;
  gsize                    largest_append;
  guint                    commits;
  guint                    creates;
  guint                    cancels;
  char                    *truncated_item;
  gint64                   truncated_ms;
  gboolean                 replied;
  gboolean                 hold_reply;    /* stop after the first audio delta */
} Fake;

static void
server_send (Fake       *fake,
             const char *json)
{
  soup_websocket_connection_send_text (fake->ws, json);
}

static void
send_reply (Fake *fake)
{
  g_autofree guint8 *pcm = g_malloc0 (BIG_AUDIO);
  g_autofree char *encoded = g_base64_encode (pcm, BIG_AUDIO);
  g_autofree char *delta = g_strdup_printf ("{\"type\": \"response.output_audio.delta\", \"response_id\": \"r1\", "
                                            "\"item_id\": \"a1\", \"delta\": \"%s\"}", encoded);

  server_send (fake, "{\"type\": \"input_audio_buffer.speech_stopped\", \"audio_end_ms\": 1000, \"item_id\": \"u1\"}");
  server_send (fake, "{\"type\": \"conversation.item.input_audio_transcription.completed\", \"item_id\": \"u1\", \"transcript\": \"hello there\"}");
  server_send (fake, "{\"type\": \"response.created\", \"response\": {\"id\": \"r1\"}}");
  server_send (fake, "{\"type\": \"response.output_audio_transcript.delta\", \"response_id\": \"r1\", \"item_id\": \"a1\", \"delta\": \"Hi, \"}");
  server_send (fake, delta);
  if (fake->hold_reply)
    return;
  server_send (fake, "{\"type\": \"response.audio_transcript.delta\", \"response_id\": \"r1\", \"item_id\": \"a1\", \"delta\": \"how are you?\"}");
  server_send (fake, "{\"type\": \"response.output_audio.done\", \"response_id\": \"r1\", \"item_id\": \"a1\"}");
  server_send (fake, "{\"type\": \"response.done\", \"response\": {\"id\": \"r1\", \"status\": \"completed\"}}");
}

static void
server_message_cb (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *message,
                   Fake                    *fake)
{
  g_autoptr(JsonNode) root = aic_json_parse_bytes (message, NULL);
  JsonObject *object = json_node_get_object (root);
  const char *kind = json_object_get_string_member (object, "type");

  if (g_str_equal (kind, "session.update"))
    {
      JsonObject *input = json_object_get_object_member (json_object_get_object_member (
        json_object_get_object_member (object, "session"), "audio"), "input");

      fake->session_updates++;
      fake->last_vad = !json_object_get_null_member (input, "turn_detection");
      server_send (fake, "{\"type\": \"session.updated\", \"session\": {}}");
    }
  else if (g_str_equal (kind, "input_audio_buffer.append"))
    {
      gsize length = 0;
      g_autofree guchar *pcm = g_base64_decode (json_object_get_string_member (object, "audio"), &length);

      fake->appends++;
      fake->audio_bytes += length;
      fake->largest_append = MAX (fake->largest_append, length);
      /* One second of speech: the server's VAD ends the turn. */
      if (fake->last_vad && !fake->replied && fake->audio_bytes >= aic_pcm_bytes_for_ms (1000))
        {
          fake->replied = TRUE;
          server_send (fake, "{\"type\": \"input_audio_buffer.speech_started\", \"audio_start_ms\": 0, \"item_id\": \"u1\"}");
          send_reply (fake);
        }
    }
  else if (g_str_equal (kind, "input_audio_buffer.commit"))
    fake->commits++;
  else if (g_str_equal (kind, "response.create"))
    {
      fake->creates++;
      send_reply (fake);
    }
  else if (g_str_equal (kind, "response.cancel"))
    {
      fake->cancels++;
      server_send (fake, "{\"type\": \"response.done\", \"response\": {\"id\": \"r1\", \"status\": \"cancelled\"}}");
    }
  else if (g_str_equal (kind, "conversation.item.truncate"))
    {
      g_free (fake->truncated_item);
      fake->truncated_item = g_strdup (json_object_get_string_member (object, "item_id"));
      fake->truncated_ms = json_object_get_int_member (object, "audio_end_ms");
    }
}

static void
websocket_cb (SoupServer              *server,
              SoupServerMessage       *message,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  Fake *fake = user_data;

  g_clear_object (&fake->ws);
  fake->ws = g_object_ref (connection);
  fake->connections++;
  g_signal_connect (connection, "message", G_CALLBACK (server_message_cb), fake);
  server_send (fake, "{\"type\": \"session.created\", \"session\": {\"id\": \"s1\"}}");
}

typedef struct
{
  GString  *user;
  GString  *reply;
  gsize     audio;
  GPtrArray *done;
  GPtrArray *errors;
  guint     speech_started;
  GError   *disconnected;
} Heard;

static void on_user (AicVoiceSession *s, const char *text, Heard *h) { g_string_append (h->user, text); }
static void on_reply (AicVoiceSession *s, const char *text, Heard *h) { g_string_append (h->reply, text); }
static void on_audio (AicVoiceSession *s, GBytes *pcm, Heard *h) { h->audio += g_bytes_get_size (pcm); }
static void on_done (AicVoiceSession *s, const char *status, Heard *h) { g_ptr_array_add (h->done, g_strdup (status)); }
static void on_error (AicVoiceSession *s, const char *text, Heard *h) { g_ptr_array_add (h->errors, g_strdup (text)); }
static void on_speech (AicVoiceSession *s, Heard *h) { h->speech_started++; }
static void on_gone (AicVoiceSession *s, GError *error, Heard *h) { h->disconnected = g_error_copy (error); }

typedef struct
{
  Fake              fake;
  AicClient        *client;
  AicVoiceSession  *session;
  Heard             heard;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  f->fake.server = aic_test_server_new (&f->fake.url);
  soup_server_add_websocket_handler (f->fake.server, "/api/voice", NULL, NULL, websocket_cb, &f->fake, NULL);
  connection = aic_connection_new ("v", "Voice", AIC_CONNECTION_KIND_CONSOLE, f->fake.url);
  f->client = aic_client_new (connection, "token");
  f->session = aic_voice_session_new (f->client, "/api/voice");
  aic_voice_session_set_reconnect (f->session, 2, 20);
  if (data != NULL)
    aic_voice_session_set_turn_detection (f->session, FALSE, 0, 0, 0);

  f->heard.user = g_string_new (NULL);
  f->heard.reply = g_string_new (NULL);
  f->heard.done = g_ptr_array_new_with_free_func (g_free);
  f->heard.errors = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->session, "user-transcript", G_CALLBACK (on_user), &f->heard);
  g_signal_connect (f->session, "reply-transcript", G_CALLBACK (on_reply), &f->heard);
  g_signal_connect (f->session, "reply-audio", G_CALLBACK (on_audio), &f->heard);
  g_signal_connect (f->session, "response-done", G_CALLBACK (on_done), &f->heard);
  g_signal_connect (f->session, "server-error", G_CALLBACK (on_error), &f->heard);
  g_signal_connect (f->session, "speech-started", G_CALLBACK (on_speech), &f->heard);
  g_signal_connect (f->session, "disconnected", G_CALLBACK (on_gone), &f->heard);

  aic_voice_session_connect_async (f->session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (f->session, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (aic_voice_session_get_state (f->session), ==, AIC_VOICE_LISTENING);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->client);
  g_clear_object (&f->fake.ws);
  g_clear_object (&f->fake.server);
  g_free (f->fake.url);
  g_free (f->fake.truncated_item);
  g_string_free (f->heard.user, TRUE);
  g_string_free (f->heard.reply, TRUE);
  g_ptr_array_unref (f->heard.done);
  g_ptr_array_unref (f->heard.errors);
  g_clear_error (&f->heard.disconnected);
}

static void
speak (Fixture *f,
       guint    milliseconds)
{
  static const guint8 silence[AIC_AUDIO_FRAME_BYTES];

  for (guint ms = 0; ms < milliseconds; ms += AIC_AUDIO_FRAME_MS)
    {
      g_autoptr(GBytes) frame = g_bytes_new_static (silence, sizeof silence);
      aic_voice_session_send_audio (f->session, frame);
    }
}

static gboolean
n_done (gpointer data)
{
  Fixture *f = data;

  return f->heard.done->len > 0;
}

static gboolean
session_updated (gpointer data)
{
  return ((Fixture *) data)->fake.session_updates > 0;
}

static void
test_server_vad (Fixture       *f,
                 gconstpointer  data)
{
  aic_test_wait_for (session_updated, f, 5000);
  g_assert_true (f->fake.last_vad);

  speak (f, 1200);
  aic_test_wait_for (n_done, f, 10000);

  g_assert_cmpuint (f->heard.speech_started, ==, 1);
  g_assert_cmpstr (f->heard.user->str, ==, "hello there");
  /* GA and beta names in one reply. */
  g_assert_cmpstr (f->heard.reply->str, ==, "Hi, how are you?");
  /* One audio delta over libsoup's default frame limit arrived whole. */
  g_assert_cmpuint (f->heard.audio, ==, BIG_AUDIO);
  g_assert_cmpstr (g_ptr_array_index (f->heard.done, 0), ==, "completed");
  g_assert_cmpint (aic_voice_session_get_state (f->session), ==, AIC_VOICE_LISTENING);
  /* Audio went up in 40 ms appends. */
  g_assert_cmpuint (f->fake.largest_append, ==, aic_pcm_bytes_for_ms (40));
  g_assert_cmpuint (aic_voice_session_get_sent_audio_ms (f->session), ==, 1200);
}

static void
test_push_to_talk (Fixture       *f,
                   gconstpointer  data)
{
  aic_test_wait_for (session_updated, f, 5000);
  g_assert_false (f->fake.last_vad);

  speak (f, 500);
  aic_voice_session_commit (f->session);
  g_assert_cmpint (aic_voice_session_get_state (f->session), ==, AIC_VOICE_THINKING);
  aic_test_wait_for (n_done, f, 10000);
  g_assert_cmpuint (f->fake.commits, ==, 1);
  g_assert_cmpuint (f->fake.creates, ==, 1);
  g_assert_cmpuint (f->fake.audio_bytes, ==, aic_pcm_bytes_for_ms (500));
  g_assert_cmpstr (f->heard.reply->str, ==, "Hi, how are you?");
}

static gboolean
reply_audio_arrived (gpointer data)
{
  return ((Fixture *) data)->heard.audio > 0;
}

static gboolean
truncated (gpointer data)
{
  return ((Fixture *) data)->fake.truncated_item != NULL;
}

static void
test_barge_in (Fixture       *f,
               gconstpointer  data)
{
  f->fake.hold_reply = TRUE;
  speak (f, 1200);
  aic_test_wait_for (reply_audio_arrived, f, 10000);
  g_assert_cmpint (aic_voice_session_get_state (f->session), ==, AIC_VOICE_SPEAKING);

  /* The user speaks over the reply; playback had played 730 ms. */
  aic_voice_session_interrupt (f->session, 730);
  aic_test_wait_for (truncated, f, 5000);
  aic_test_wait_for (n_done, f, 5000);
  g_assert_cmpuint (f->fake.cancels, ==, 1);
  g_assert_cmpstr (f->fake.truncated_item, ==, "a1");
  g_assert_cmpint (f->fake.truncated_ms, ==, 730);
  g_assert_cmpstr (g_ptr_array_index (f->heard.done, 0), ==, "cancelled");
}

static gboolean
error_seen (gpointer data)
{
  return ((Fixture *) data)->heard.errors->len >= 2;
}

static void
test_error_event (Fixture       *f,
                  gconstpointer  data)
{
  aic_test_wait_for (session_updated, f, 5000);
  server_send (&f->fake, "{\"type\": \"error\", \"error\": {\"type\": \"invalid_request_error\", \"message\": \"Audio too short.\"}}");
  server_send (&f->fake, "{\"type\": \"response.output_audio.delta\", \"delta\": 42}");
  aic_test_wait_for (error_seen, f, 5000);
  g_assert_cmpstr (g_ptr_array_index (f->heard.errors, 0), ==, "Audio too short.");
  g_assert_nonnull (strstr (g_ptr_array_index (f->heard.errors, 1), "unexpected"));

  /* The session goes on. */
  speak (f, 1200);
  aic_test_wait_for (n_done, f, 10000);
  g_assert_cmpstr (f->heard.user->str, ==, "hello there");
}

static gboolean
reconnected (gpointer data)
{
  Fixture *f = data;

  return aic_voice_session_get_reconnects (f->session) == 1 && f->fake.session_updates == 2;
}

static gboolean
gone (gpointer data)
{
  return ((Fixture *) data)->heard.disconnected != NULL;
}

static void
test_server_gone (Fixture       *f,
                  gconstpointer  data)
{
  aic_test_wait_for (session_updated, f, 5000);

  /* The connection drops: the session connects again and says its
   * settings again. */
  soup_websocket_connection_close (f->fake.ws, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "restarting");
  aic_test_wait_for (reconnected, f, 10000);
  g_assert_cmpuint (f->fake.connections, ==, 2);
  g_assert_cmpint (aic_voice_session_get_state (f->session), ==, AIC_VOICE_LISTENING);

  /* The server is gone for good: after its tries, the session says so. */
  soup_server_disconnect (f->fake.server);
  soup_websocket_connection_close (f->fake.ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  aic_test_wait_for (gone, f, 10000);
  g_assert_error (f->heard.disconnected, AIC_ERROR, AIC_ERROR_UNREACHABLE);
  g_assert_cmpint (aic_voice_session_get_state (f->session), ==, AIC_VOICE_DISCONNECTED);
}

/* Recorded sequences with the GA names and with the beta names, replayed
 * by a server as they were recorded. */
static void
replay_cb (SoupServer              *server,
           SoupServerMessage       *message,
           const char              *path,
           SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  const char *files[] = { "ga.jsonl", "beta.jsonl" };

  g_object_set_data_full (G_OBJECT (server), "connection", g_object_ref (connection), g_object_unref);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *file = g_test_build_filename (G_TEST_DIST, "data", "voice", files[i], NULL);
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
      lines = g_strsplit (contents, "\n", -1);
      for (guint j = 0; lines[j] != NULL; j++)
        if (lines[j][0] != '\0')
          soup_websocket_connection_send_text (connection, lines[j]);
    }
}

static gboolean
two_replies (gpointer data)
{
  return ((Heard *) data)->done->len == 2;
}

static void
test_recorded (void)
{
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autoptr(AicConnection) connection = aic_connection_new ("v", "Voice", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(AicVoiceSession) session = aic_voice_session_new (client, "/api/voice");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Heard heard = { g_string_new (NULL), g_string_new (NULL), 0,
                  g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free), 0, NULL };

  soup_server_add_websocket_handler (server, "/api/voice", NULL, NULL, replay_cb, NULL, NULL);
  g_signal_connect (session, "user-transcript", G_CALLBACK (on_user), &heard);
  g_signal_connect (session, "reply-transcript", G_CALLBACK (on_reply), &heard);
  g_signal_connect (session, "reply-audio", G_CALLBACK (on_audio), &heard);
  g_signal_connect (session, "response-done", G_CALLBACK (on_done), &heard);
  g_signal_connect (session, "server-error", G_CALLBACK (on_error), &heard);
  g_signal_connect (session, "speech-started", G_CALLBACK (on_speech), &heard);
  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (session, result, &error));
  aic_test_wait_for (two_replies, &heard, 10000);

  /* Both recordings read the same. */
  g_assert_cmpuint (heard.speech_started, ==, 2);
  g_assert_cmpstr (heard.user->str, ==, "What is the weather like?What is the weather like?");
  g_assert_cmpstr (heard.reply->str, ==, "It is sunny.It is sunny.");
  g_assert_cmpuint (heard.audio, ==, 2 * 12);
  g_assert_cmpuint (heard.errors->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (heard.errors, 0), ==, "Unknown parameter: 'session.foo'.");
  g_assert_cmpint (aic_voice_session_get_state (session), !=, AIC_VOICE_DISCONNECTED);

  g_string_free (heard.user, TRUE);
  g_string_free (heard.reply, TRUE);
  g_ptr_array_unref (heard.done);
  g_ptr_array_unref (heard.errors);
}

static void
test_refused (void)
{
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autoptr(AicConnection) connection = aic_connection_new ("v", "Voice", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(AicVoiceSession) session = aic_voice_session_new (client, "/api/voice");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* No WebSocket there: an error in words, not a hang. */
  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_false (aic_voice_session_connect_finish (session, result, &error));
  g_assert_nonnull (error);
  g_assert_cmpint (aic_voice_session_get_state (session), ==, AIC_VOICE_DISCONNECTED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("/voice-session/server-vad", test_server_vad, NULL);
  ADD ("/voice-session/push-to-talk", test_push_to_talk, "ptt");
  ADD ("/voice-session/barge-in", test_barge_in, NULL);
  ADD ("/voice-session/error-event", test_error_event, NULL);
  ADD ("/voice-session/server-gone", test_server_gone, NULL);
  g_test_add_func ("/voice-session/refused", test_refused);
  g_test_add_func ("/voice-session/recorded", test_recorded);

  return g_test_run ();
}
