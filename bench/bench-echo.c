/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Does echo cancellation keep a reply from interrupting itself?
 *
 *   bench-echo
 *
 * No loudspeaker or microphone is needed: what AicAudioPlayback renders
 * (with webrtcechoprobe) is fed back, halved, into AicAudioCapture's
 * source (with webrtcdsp), as a room carries the reply from the speakers
 * into the microphone. Ten seconds of eSpeak NG speech are played; the
 * table gives the echo's level in the captured frames after the first two
 * seconds, and how many turns the server's VAD (threshold 0.5) would have
 * started, i.e. how often the reply would have interrupted itself. The
 * reference is the same room without cancellation. Two cases: both
 * pipelines start with the reply, and the reply comes after half a second
 * in which both ran idle (as in a conversation).
 */
#include "config.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-tts.h"
#include "aic-vad.h"

typedef struct
{
  GstAppSrc *mic;
  gboolean   caps_set;
} Room;

static GstFlowReturn
rendered_cb (GstAppSink *speaker,
             gpointer    user_data)
{
  Room *room = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (speaker);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstBuffer *echo;
  GstMapInfo in, out;

  if (!room->caps_set)
    {
      gst_app_src_set_caps (room->mic, gst_sample_get_caps (sample));
      room->caps_set = TRUE;
    }
  gst_buffer_map (buffer, &in, GST_MAP_READ);
  echo = gst_buffer_new_allocate (NULL, in.size, NULL);
  gst_buffer_map (echo, &out, GST_MAP_WRITE);
  for (gsize i = 0; i + 1 < in.size; i += 2)
    ((gint16 *) out.data)[i / 2] = ((const gint16 *) in.data)[i / 2] / 2;
  gst_buffer_unmap (echo, &out);
  gst_buffer_unmap (buffer, &in);
  gst_app_src_push_buffer (room->mic, echo);
  return GST_FLOW_OK;
}

typedef struct
{
  AicVad *vad;
  guint   turns;
  guint   frames;
  double  energy;
  guint   counted;
} Heard;

static void
frame_cb (AicAudioCapture *capture,
          GBytes          *frame,
          Heard           *heard)
{
  gsize size;
  const gint16 *samples = g_bytes_get_data (frame, &size);

  if (aic_vad_feed (heard->vad, samples, size / 2) == AIC_VAD_SPEECH_STARTED)
    heard->turns++;
  if (++heard->frames > 100)
    {
      for (gsize i = 0; i < size / 2; i++)
        heard->energy += (double) samples[i] * samples[i];
      heard->counted += size / 2;
    }
}

static gboolean
done_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_for (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
run_room (GBytes     *speech,
          gboolean    cancel,
          gboolean    shared,
          guint       idle_ms,
          guint       warmup_ms,
          const char *name)
{
  g_autoptr(AicAudioPlayback) playback = aic_audio_playback_new_pipeline ("appsink name=speaker sync=true");
  g_autoptr(AicAudioCapture) capture =
    aic_audio_capture_new_pipeline ("appsrc name=mic is-live=true format=time do-timestamp=true");
  g_autoptr(GstElement) speaker = NULL;
  g_autoptr(GstElement) mic = NULL;
  g_autoptr(GError) error = NULL;
  GstAppSinkCallbacks callbacks = { .new_sample = rendered_cb };
  GstAppSinkCallbacks none = { NULL };
  Room room = { 0 };
  Heard heard = { 0 };
  double level;

  heard.vad = aic_vad_new (0.5, 300, 500);
  aic_audio_playback_set_echo_probe (playback, cancel);
  aic_audio_capture_set_echo_cancel (capture, cancel);
  if (shared)
    {
      g_autoptr(GstClock) clock = gst_system_clock_obtain ();
      GstClockTime base = gst_clock_get_time (clock);

      aic_audio_playback_set_base_time (playback, base);
      aic_audio_capture_set_base_time (capture, base);
    }
  if (!aic_audio_playback_start (playback, &error) || !aic_audio_capture_start (capture, &error))
    g_error ("bench-echo: %s", error->message);
  speaker = gst_bin_get_by_name (GST_BIN (aic_audio_playback_get_pipeline (playback)), "speaker");
  mic = gst_bin_get_by_name (GST_BIN (aic_audio_capture_get_pipeline (capture)), "mic");
  room.mic = GST_APP_SRC (mic);
  gst_app_sink_set_callbacks (GST_APP_SINK (speaker), &callbacks, &room, NULL);
  g_signal_connect (capture, "frame", G_CALLBACK (frame_cb), &heard);

  if (idle_ms > 0)
    run_for (idle_ms);
  if (warmup_ms > 0)
    aic_audio_capture_hold (capture, warmup_ms);
  aic_audio_playback_push (playback, speech);
  run_for (6500);

  gst_app_sink_set_callbacks (GST_APP_SINK (speaker), &none, NULL, NULL);
  aic_audio_capture_stop (capture);
  aic_audio_playback_stop (playback);
  aic_vad_free (heard.vad);

  level = 10.0 * log10 (heard.energy / MAX (heard.counted, 1) / (32768.0 * 32768.0) + 1e-12);
  printf ("| %-28s | %-12s | %-12s | %7u | %10.1f | %5u |\n", name, cancel ? "webrtcdsp" : "none (ref.)",
          shared ? "shared" : "each its own", warmup_ms, level, heard.turns);
  fflush (stdout);
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) speech = NULL;

  if (!aic_audio_init (&error))
    g_error ("bench-echo: %s", error->message);
  speech = aic_tts_espeak ("The weather today is sunny and warm, with a light breeze from the west. "
                           "Tomorrow clouds will come in from the sea, and rain is likely by the evening. "
                           "The weekend looks dry again, with temperatures around twenty degrees.", NULL, &error);
  if (speech == NULL)
    g_error ("bench-echo: %s", error->message);

  printf ("The reply's echo in the microphone (played speech fed back at half level)\n\n");
  printf ("| case                         | cancellation | base time    | hold ms | echo dBFS  | turns |\n");
  printf ("|------------------------------|--------------|--------------|--------:|-----------:|------:|\n");
  run_room (speech, FALSE, FALSE, 0, 0, "pipelines start with reply");
  run_room (speech, TRUE, FALSE, 0, 0, "pipelines start with reply");
  run_room (speech, FALSE, FALSE, 500, 0, "reply after 500 ms idle");
  run_room (speech, TRUE, FALSE, 500, 0, "reply after 500 ms idle");
  run_room (speech, TRUE, TRUE, 500, 0, "reply after 500 ms idle");
  run_room (speech, TRUE, TRUE, 500, 300, "reply after 500 ms idle");
  run_room (speech, TRUE, TRUE, 500, 600, "reply after 500 ms idle");
  run_room (speech, FALSE, TRUE, 500, 600, "reply after 500 ms idle");
  return 0;
}
