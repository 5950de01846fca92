/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the client adds to a voice conversation's latency.
 *
 *   bench-voice-client [SECONDS]
 *
 * A loopback echo server (its own thread) sends every appended frame back
 * as reply audio. The app's own pipeline runs against it: a WAV played in
 * real time as the microphone (AicAudioCapture) → AicVoiceCall →
 * AicVoiceSession → WebSocket → echo → AicAudioPlayback (a sink in time
 * with the clock). Measured, per frame:
 *   send:    the frame leaving the capture pipeline → its append handed to
 *            the WebSocket (includes the 40 ms append batching)
 *   play:    the reply audio arriving from the WebSocket → its first sample
 *            reaching the sink (includes the jitter buffer)
 * with the batching and jitter-buffer settings printed as the reference
 * the design itself adds.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aic-audio.h"
#include "aic-json.h"
#include "aic-voice-call.h"

/* ---- the echo server, on its own thread ---- */

typedef struct
{
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  guint         port;
  GMutex        lock;
  GCond         ready;
} Echo;

static void
echo_message_cb (SoupWebsocketConnection *ws,
                 int                      type,
                 GBytes                  *message,
                 gpointer                 user_data)
{
  g_autoptr(JsonNode) root = aic_json_parse_bytes (message, NULL);
  JsonObject *object;
  g_autofree char *reply = NULL;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  object = json_node_get_object (root);
  if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", ""), "input_audio_buffer.append") != 0)
    return;
  reply = g_strdup_printf ("{\"type\": \"response.output_audio.delta\", \"response_id\": \"r\", \"item_id\": \"e\", "
                           "\"delta\": \"%s\"}", json_object_get_string_member (object, "audio"));
  soup_websocket_connection_send_text (ws, reply);
}

static void
echo_websocket_cb (SoupServer              *server,
                   SoupServerMessage       *message,
                   const char              *path,
                   SoupWebsocketConnection *connection,
                   gpointer                 user_data)
{
  g_object_set_data_full (G_OBJECT (server), "connection", g_object_ref (connection), g_object_unref);
  g_signal_connect (connection, "message", G_CALLBACK (echo_message_cb), NULL);
}

static gpointer
echo_thread (gpointer data)
{
  Echo *echo = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (echo->context);
  echo->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (echo->server, "/api/voice", NULL, NULL, echo_websocket_cb, echo, NULL);
  if (!soup_server_listen_local (echo->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("echo server: %s", error->message);
  uris = soup_server_get_uris (echo->server);
  g_mutex_lock (&echo->lock);
  echo->port = g_uri_get_port (uris->data);
  g_cond_signal (&echo->ready);
  g_mutex_unlock (&echo->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_main_loop_run (echo->loop);
  soup_server_disconnect (echo->server);
  g_clear_object (&echo->server);
  g_main_context_pop_thread_default (echo->context);
  return NULL;
}

/* ---- measuring ---- */

typedef struct
{
  AicVoiceSession  *session;
  AicAudioCapture  *capture;
  AicAudioPlayback *playback;
  GArray           *waiting;        /* gint64: frames not yet sent, when they left the pipeline */
  guint64           sent_ms;
  GArray           *send;           /* double ms */
  GQueue            arrivals;       /* Arrival * */
  guint64           received_ms;    /* reply audio received so far */
  GArray           *play;           /* double ms */
  GMainLoop        *loop;
} Bench;

typedef struct
{
  gint64  at;
  guint64 offset_ms;
} Arrival;

/* After the call's handler: if an append went out, the waiting frames
 * went with it. */
static void
frame_cb (AicAudioCapture *capture,
          GBytes          *frame,
          Bench           *bench)
{
  gint64 pulled = aic_audio_capture_get_frame_time (capture);
  guint64 sent = aic_voice_session_get_sent_audio_ms (bench->session);

  g_array_append_val (bench->waiting, pulled);
  if (sent == bench->sent_ms)
    return;
  bench->sent_ms = sent;
  for (guint i = 0; i < bench->waiting->len; i++)
    {
      double ms = (g_get_monotonic_time () - g_array_index (bench->waiting, gint64, i)) / 1000.0;
      g_array_append_val (bench->send, ms);
    }
  g_array_set_size (bench->waiting, 0);
}

/* Before the call's handler: when the reply audio arrived. */
static void
reply_cb (AicVoiceSession *session,
          GBytes          *pcm,
          Bench           *bench)
{
  Arrival *arrival = g_new (Arrival, 1);

  arrival->at = g_get_monotonic_time ();
  arrival->offset_ms = bench->received_ms;
  g_queue_push_tail (&bench->arrivals, arrival);
  bench->received_ms += g_bytes_get_size (pcm) / aic_pcm_bytes_for_ms (1);
}

static gboolean
watch_cb (gpointer data)
{
  Bench *bench = data;
  guint64 played = aic_audio_playback_get_played_ms (bench->playback);
  Arrival *arrival;

  while ((arrival = g_queue_peek_head (&bench->arrivals)) != NULL && played > arrival->offset_ms)
    {
      double ms = (g_get_monotonic_time () - arrival->at) / 1000.0;

      g_array_append_val (bench->play, ms);
      g_free (g_queue_pop_head (&bench->arrivals));
    }
  return G_SOURCE_CONTINUE;
}

static void
finished_cb (AicVoiceCall *call,
             Bench        *bench)
{
  g_main_loop_quit (bench->loop);
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Bench *bench = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_voice_session_connect_finish (AIC_VOICE_SESSION (object), result, &error) ||
      !aic_audio_capture_start (bench->capture, &error))
    g_error ("bench-voice-client: %s", error->message);
}

static int
by_value (gconstpointer a,
          gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
print_row (const char *name,
           GArray     *values,
           const char *reference,
           double      target)
{
  double p50, p99;

  g_array_sort (values, by_value);
  p50 = g_array_index (values, double, values->len / 2);
  p99 = g_array_index (values, double, MIN (values->len - 1, values->len * 99 / 100));
  printf ("| %-5s | %6u | %7.1f | %7.1f | %7.1f | %-40s | < %2.0f ms |\n",
          name, values->len, g_array_index (values, double, 0), p50, p99, reference, target);
}

int
main (int   argc,
      char *argv[])
{
  guint seconds = argc > 1 ? atoi (argv[1]) : 10;
  Echo echo = { 0 };
  Bench bench = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bench-voice-client-XXXXXX", NULL);
  g_autofree char *input = g_build_filename (dir, "in.wav", NULL);
  g_autofree char *output = g_build_filename (dir, "out.wav", NULL);
  g_autofree char *url = NULL;
  gsize size = aic_pcm_bytes_for_ms (seconds * 1000);
  g_autoptr(GBytes) silence = g_bytes_new_take (g_malloc0 (size), size);
  g_autoptr(GBytes) wav = aic_pcm_wav_bytes (silence);
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicVoiceCall) call = NULL;
  GThread *thread;

  if (!aic_audio_init (&error) ||
      !g_file_set_contents (input, g_bytes_get_data (wav, NULL), g_bytes_get_size (wav), &error))
    g_error ("bench-voice-client: %s", error->message);

  echo.context = g_main_context_new ();
  echo.loop = g_main_loop_new (echo.context, FALSE);
  g_mutex_init (&echo.lock);
  g_cond_init (&echo.ready);
  g_mutex_lock (&echo.lock);
  thread = g_thread_new ("echo", echo_thread, &echo);
  while (echo.port == 0)
    g_cond_wait (&echo.ready, &echo.lock);
  g_mutex_unlock (&echo.lock);

  url = g_strdup_printf ("http://127.0.0.1:%u", echo.port);
  connection = aic_connection_new ("echo", "Echo", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, NULL);
  bench.session = aic_voice_session_new (client, "/api/voice");
  bench.capture = aic_audio_capture_new_file (input, TRUE);
  bench.playback = aic_audio_playback_new_file (output);
  if (!aic_audio_playback_start (bench.playback, &error))
    g_error ("bench-voice-client: %s", error->message);
  bench.waiting = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.send = g_array_new (FALSE, FALSE, sizeof (double));
  bench.play = g_array_new (FALSE, FALSE, sizeof (double));
  bench.loop = g_main_loop_new (NULL, FALSE);
  g_queue_init (&bench.arrivals);

  g_signal_connect (bench.session, "reply-audio", G_CALLBACK (reply_cb), &bench);
  call = aic_voice_call_new (bench.session, bench.capture, bench.playback);
  g_signal_connect (bench.capture, "frame", G_CALLBACK (frame_cb), &bench);
  g_signal_connect (call, "input-finished", G_CALLBACK (finished_cb), &bench);
  g_timeout_add (1, watch_cb, &bench);
  aic_voice_session_connect_async (bench.session, NULL, connected_cb, &bench);
  g_main_loop_run (bench.loop);

  printf ("Client-added latency, %u s of 20 ms frames in real time against a loopback echo server\n\n", seconds);
  printf ("| path  | frames |  min ms |  p50 ms |  p99 ms | what the design itself adds              | target   |\n");
  printf ("|-------|-------:|--------:|--------:|--------:|------------------------------------------|----------|\n");
  print_row ("send", bench.send, "0 or 20 ms: 40 ms appends", 30);
  print_row ("play", bench.play, "30 ms jitter buffer, set after underruns", 50);

  aic_voice_session_close (bench.session);
  aic_audio_capture_stop (bench.capture);
  aic_audio_playback_stop (bench.playback);
  g_main_loop_quit (echo.loop);
  g_thread_join (thread);
  g_unlink (input);
  g_unlink (output);
  g_rmdir (dir);
  return 0;
}
