/* SPDX-License-Identifier: GPL-3.0-or-later */
/* How soon the backend answers a spoken turn.
 *
 *   bench-voice SERVER-BINARY [TURNS]
 *
 * Starts the real ai-console-server (demo engine: VAD, then eSpeak NG for
 * the reply), connects the app's own AicVoiceSession, and speaks TURNS
 * turns in real time (20 ms frames every 20 ms): 300 ms of silence, 800 ms
 * of a tone at -20 dBFS, then silence until the reply's first audio
 * arrives. It prints, from the end of speech to the first reply audio,
 * min/p50/p99/max, against the reference floor every server VAD has: the
 * configured 500 ms of silence that ends a turn.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aic-pcm.h"
#include "aic-voice-session.h"

#define SILENCE_MS 500

typedef struct
{
  AicVoiceSession *session;
  GArray          *latencies;     /* ms */
  guint            turns;
  guint            done;
  guint            frame;         /* within the turn */
  gint64           speech_end;    /* µs, 0 = still speaking */
  gboolean         heard;         /* first reply audio seen this turn */
  gboolean         replied;       /* response.done seen this turn */
  guint64          phase;
  GMainLoop       *loop;
} Bench;

static void
send_frame (Bench  *bench,
            double  dbfs)
{
  gint16 *frame = g_new (gint16, AIC_AUDIO_FRAME_SAMPLES);
  double amplitude = dbfs < -100 ? 0 : 32767.0 * sqrt (2.0) * pow (10.0, dbfs / 20.0);
  g_autoptr(GBytes) bytes = NULL;

  for (guint i = 0; i < AIC_AUDIO_FRAME_SAMPLES; i++, bench->phase++)
    frame[i] = (gint16) (amplitude * sin (2 * G_PI * 200 * bench->phase / AIC_AUDIO_RATE));
  bytes = g_bytes_new_take (frame, AIC_AUDIO_FRAME_BYTES);
  aic_voice_session_send_audio (bench->session, bytes);
}

static gboolean
tick_cb (gpointer data)
{
  Bench *bench = data;
  guint ms = bench->frame * AIC_AUDIO_FRAME_MS;

  bench->frame++;
  if (ms < 300)
    send_frame (bench, -200);
  else if (ms < 1100)
    send_frame (bench, -20);
  else
    {
      if (bench->speech_end == 0)
        bench->speech_end = g_get_monotonic_time ();
      send_frame (bench, -200);
    }

  /* Next turn once this one's reply is over. */
  if (bench->replied)
    {
      bench->done++;
      if (bench->done == bench->turns)
        {
          g_main_loop_quit (bench->loop);
          return G_SOURCE_REMOVE;
        }
      bench->frame = 0;
      bench->speech_end = 0;
      bench->heard = FALSE;
      bench->replied = FALSE;
    }
  return G_SOURCE_CONTINUE;
}

static void
audio_cb (AicVoiceSession *session,
          GBytes          *pcm,
          Bench           *bench)
{
  double ms;

  if (bench->heard || bench->speech_end == 0)
    return;
  bench->heard = TRUE;
  ms = (g_get_monotonic_time () - bench->speech_end) / 1000.0;
  g_array_append_val (bench->latencies, ms);
}

static void
done_cb (AicVoiceSession *session,
         const char      *status,
         Bench           *bench)
{
  bench->replied = TRUE;
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Bench *bench = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_voice_session_connect_finish (AIC_VOICE_SESSION (object), result, &error))
    {
      g_printerr ("bench-voice: %s\n", error->message);
      exit (1);
    }
  g_timeout_add (AIC_AUDIO_FRAME_MS, tick_cb, bench);
}

static int
by_value (gconstpointer a,
          gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  Bench bench = { 0 };
  GArray *l;

  if (argc < 2)
    {
      g_printerr ("Usage: bench-voice SERVER-BINARY [TURNS]\n");
      return 2;
    }
  bench.turns = argc > 2 ? atoi (argv[2]) : 10;
  dir = g_dir_make_tmp ("bench-voice-XXXXXX", &error);
  server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                             argv[1], "--port", "0", "--no-auth", "--data-dir", dir, NULL);
  if (server == NULL)
    {
      g_printerr ("bench-voice: %s\n", error->message);
      return 1;
    }
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (line == NULL || !g_str_has_prefix (line, "Listening on "))
    {
      g_printerr ("bench-voice: the server did not start\n");
      return 1;
    }

  connection = aic_connection_new ("bench", "Bench", AIC_CONNECTION_KIND_CONSOLE, line + strlen ("Listening on "));
  client = aic_client_new (connection, NULL);
  session = aic_voice_session_new (client, "/api/voice");
  aic_voice_session_set_turn_detection (session, TRUE, 0.5, 300, SILENCE_MS);
  bench.session = session;
  bench.latencies = g_array_new (FALSE, FALSE, sizeof (double));
  bench.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (session, "reply-audio", G_CALLBACK (audio_cb), &bench);
  g_signal_connect (session, "response-done", G_CALLBACK (done_cb), &bench);
  aic_voice_session_connect_async (session, NULL, connected_cb, &bench);
  g_main_loop_run (bench.loop);

  l = bench.latencies;
  g_array_sort (l, by_value);
  printf ("End of speech to the first reply audio, %u turns spoken in real time (demo engine, eSpeak NG)\n\n", l->len);
  printf ("| measure                                  |     min |     p50 |     p99 |     max |\n");
  printf ("|------------------------------------------|--------:|--------:|--------:|--------:|\n");
  printf ("| reference: the VAD's silence wait        | %7d | %7d | %7d | %7d |\n",
          SILENCE_MS, SILENCE_MS, SILENCE_MS, SILENCE_MS);
  printf ("| measured, ms                             | %7.0f | %7.0f | %7.0f | %7.0f |\n",
          g_array_index (l, double, 0), g_array_index (l, double, l->len / 2),
          g_array_index (l, double, MIN (l->len - 1, l->len * 99 / 100)), g_array_index (l, double, l->len - 1));
  printf ("| beyond the silence wait, ms              | %7.0f | %7.0f | %7.0f | %7.0f |\n",
          g_array_index (l, double, 0) - SILENCE_MS, g_array_index (l, double, l->len / 2) - SILENCE_MS,
          g_array_index (l, double, MIN (l->len - 1, l->len * 99 / 100)) - SILENCE_MS,
          g_array_index (l, double, l->len - 1) - SILENCE_MS);

  aic_voice_session_close (session);
  g_subprocess_send_signal (server, SIGTERM);
  g_subprocess_wait (server, NULL, NULL);
  {
    g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
    const char *name;

    while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_unlink (path);
      }
    g_rmdir (dir);
  }
  return 0;
}
