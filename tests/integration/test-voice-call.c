/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-audio.h"
#include "aic-json.h"
#include "aic-test-util.h"
#include "aic-voice-call.h"

/* Barge-in end to end on the client: a real capture (a WAV), a real
 * playback (a WAV written at playback pace) and the voice session against
 * a server that starts a long reply and then hears the user again. The
 * playback must stop at once and the server get a truncate with exactly
 * the milliseconds heard of that reply, and a cancel. */

typedef struct
{
  SoupWebsocketConnection *ws;
  gsize                    audio;
  gboolean                 replied;
  char                    *truncated_item;
  gint64                   truncated_ms;
  guint                    truncates;
  guint                    cancels;
} Fake;

static void
server_reply (Fake       *fake,
              const char *item,
              guint       milliseconds)
{
  gsize size = aic_pcm_bytes_for_ms (milliseconds);
  g_autofree guint8 *pcm = g_malloc0 (size);
  g_autofree char *encoded = g_base64_encode (pcm, size);
  g_autofree char *delta = g_strdup_printf ("{\"type\": \"response.output_audio.delta\", \"response_id\": \"r\", "
                                            "\"item_id\": \"%s\", \"delta\": \"%s\"}", item, encoded);

  soup_websocket_connection_send_text (fake->ws, "{\"type\": \"response.created\", \"response\": {\"id\": \"r\"}}");
  soup_websocket_connection_send_text (fake->ws, delta);
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

  if (g_str_equal (kind, "input_audio_buffer.append"))
    {
      gsize length = 0;
      g_autofree guchar *pcm = g_base64_decode (json_object_get_string_member (object, "audio"), &length);

      fake->audio += length;
      if (!fake->replied && fake->audio >= aic_pcm_bytes_for_ms (600))
        {
          fake->replied = TRUE;
          server_reply (fake, "a1", 3000);
        }
    }
  else if (g_str_equal (kind, "conversation.item.truncate"))
    {
      fake->truncates++;
      g_free (fake->truncated_item);
      fake->truncated_item = g_strdup (json_object_get_string_member (object, "item_id"));
      fake->truncated_ms = json_object_get_int_member (object, "audio_end_ms");
    }
  else if (g_str_equal (kind, "response.cancel"))
    {
      fake->cancels++;
      soup_websocket_connection_send_text (ws, "{\"type\": \"response.done\", \"response\": {\"id\": \"r\", \"status\": \"cancelled\"}}");
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
  g_signal_connect (connection, "message", G_CALLBACK (server_message_cb), fake);
}

typedef struct
{
  AicAudioPlayback *playback;
  guint64           at_least;
} PlayedWait;

static gboolean
played (gpointer data)
{
  PlayedWait *wait = data;

  return aic_audio_playback_get_played_ms (wait->playback) >= wait->at_least;
}

static void
barged_cb (AicVoiceCall *call,
           guint64       heard,
           GArray       *barges)
{
  g_array_append_val (barges, heard);
}

static gboolean
truncated (gpointer data)
{
  return ((Fake *) data)->truncates > 0;
}

static gboolean
truncated_twice (gpointer data)
{
  return ((Fake *) data)->truncates > 1;
}

static void
test_barge_in (void)
{
  Fake fake = { 0 };
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autofree char *dir = g_dir_make_tmp ("aic-call-XXXXXX", NULL);
  g_autofree char *input = g_build_filename (dir, "in.wav", NULL);
  g_autofree char *output = g_build_filename (dir, "out.wav", NULL);
  g_autoptr(GBytes) silence = g_bytes_new_take (g_malloc0 (aic_pcm_bytes_for_ms (1000)), aic_pcm_bytes_for_ms (1000));
  g_autoptr(GBytes) wav = aic_pcm_wav_bytes (silence);
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  g_autoptr(AicAudioCapture) capture = NULL;
  g_autoptr(AicAudioPlayback) playback = NULL;
  g_autoptr(AicVoiceCall) call = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) barges = g_array_new (FALSE, FALSE, sizeof (guint64));
  PlayedWait wait;
  guint64 first;

  soup_server_add_websocket_handler (server, "/api/voice", NULL, NULL, websocket_cb, &fake, NULL);
  g_assert_true (g_file_set_contents (input, g_bytes_get_data (wav, NULL), g_bytes_get_size (wav), &error));

  connection = aic_connection_new ("c", "C", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, NULL);
  session = aic_voice_session_new (client, "/api/voice");
  capture = aic_audio_capture_new_file (input, FALSE);
  playback = aic_audio_playback_new_file (output);
  g_assert_true (aic_audio_playback_start (playback, &error));
  call = aic_voice_call_new (session, capture, playback);
  g_signal_connect (call, "barged-in", G_CALLBACK (barged_cb), barges);

  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (session, result, &error));
  g_assert_true (aic_audio_capture_start (capture, &error));

  /* The 3 s reply plays; half a second in, the user speaks again. */
  wait.playback = playback;
  wait.at_least = 500;
  aic_test_wait_for (played, &wait, 10000);
  soup_websocket_connection_send_text (fake.ws, "{\"type\": \"input_audio_buffer.speech_started\", \"audio_start_ms\": 900, \"item_id\": \"u2\"}");
  aic_test_wait_for (truncated, &fake, 5000);

  g_assert_cmpuint (barges->len, ==, 1);
  first = g_array_index (barges, guint64, 0);
  g_assert_cmpuint (first, >=, 500);
  g_assert_cmpuint (first, <, 2500);
  /* Playback stopped at once: what it says it played is what was sent. */
  g_assert_cmpuint (aic_audio_playback_get_played_ms (playback), ==, first);
  g_assert_false (aic_audio_playback_is_playing (playback));
  g_assert_cmpstr (fake.truncated_item, ==, "a1");
  g_assert_cmpint (fake.truncated_ms, ==, (gint64) first);
  g_assert_cmpuint (fake.cancels, ==, 1);

  /* A second reply, interrupted after about 300 ms: only its own audio
   * counts, not the first reply's. */
  server_reply (&fake, "a2", 2000);
  wait.at_least = first + 300;
  aic_test_wait_for (played, &wait, 10000);
  soup_websocket_connection_send_text (fake.ws, "{\"type\": \"input_audio_buffer.speech_started\", \"audio_start_ms\": 2000, \"item_id\": \"u3\"}");
  aic_test_wait_for (truncated_twice, &fake, 5000);
  g_assert_cmpstr (fake.truncated_item, ==, "a2");
  g_assert_cmpint (fake.truncated_ms, >=, 250);
  g_assert_cmpint (fake.truncated_ms, <, 1500);
  g_assert_cmpint (fake.truncated_ms, ==, (gint64) g_array_index (barges, guint64, 1));

  aic_voice_session_close (session);
  aic_audio_capture_stop (capture);
  aic_audio_playback_stop (playback);
  g_clear_object (&fake.ws);
  g_free (fake.truncated_item);
  g_unlink (input);
  g_unlink (output);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (aic_audio_init (&error));

  g_test_add_func ("/voice-call/barge-in", test_barge_in);

  return g_test_run ();
}
