/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <math.h>

#include "aic-audio.h"
#include "aic-echo-room.h"
#include "aic-vad.h"

#define ROOM_RATE    48000
#define ROOM_PERIOD  (ROOM_RATE / 100)   /* 10 ms */
#define ROOM_DELAY   (ROOM_RATE / 500)   /* 2 ms from speaker to microphone */

struct _AicEchoRoom
{
  AicAudioPlayback *playback;
  AicAudioCapture  *capture;
  GstElement       *speaker;
  GstElement       *mic;
  GThread          *thread;
  gint              quit;

  /* The microphone's timeline: sample n was heard at clock time
   * mic_start + n / ROOM_RATE. What the speaker renders is added to
   * `ahead` where it will be heard, ROOM_DELAY later. */
  GMutex            lock;
  GstClockTime      mic_start;
  guint64           mic_next;    /* the next sample to deliver */
  GArray           *ahead;       /* gint32, from mic_next on */
  guint32           noise;       /* a small LCG: the same floor on every run */

  AicVad           *vad;
  guint             turns;
  gint64            first_turn;  /* monotonic µs, 0 before any */
  gint64            level_from;  /* monotonic µs */
  double            energy;
  guint64           samples;
};

static GstFlowReturn
rendered_cb (GstAppSink *speaker,
             gpointer    user_data)
{
  AicEchoRoom *room = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (speaker);
  GstBuffer *buffer = sample ? gst_sample_get_buffer (sample) : NULL;
  GstSegment *segment = sample ? gst_sample_get_segment (sample) : NULL;
  GstClockTime at;
  GstMapInfo map;
  gint64 index;

  if (buffer == NULL || !GST_BUFFER_PTS_IS_VALID (buffer) || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  at = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer)) +
       gst_element_get_base_time (GST_ELEMENT (speaker));

  g_mutex_lock (&room->lock);
  index = (gint64) gst_util_uint64_scale (at - MIN (at, room->mic_start), ROOM_RATE, GST_SECOND) -
          (gint64) room->mic_next + ROOM_DELAY;
  for (gsize i = 0; i < map.size / 2; i++, index++)
    {
      if (index < 0)
        continue;   /* too late to be heard: the microphone has moved on */
      if ((guint) index >= room->ahead->len)
        g_array_set_size (room->ahead, index + 1);
      g_array_index (room->ahead, gint32, index) += ((const gint16 *) map.data)[i] / 2;
    }
  g_mutex_unlock (&room->lock);
  gst_buffer_unmap (buffer, &map);
  return GST_FLOW_OK;
}

/* The microphone: 10 ms at a time, delivered 20 ms after they end (as a
 * sound card's period), each stamped with when it was heard. */
static gpointer
room_thread (gpointer data)
{
  AicEchoRoom *room = data;
  g_autoptr(GstClock) clock = gst_system_clock_obtain ();
  GstClockTime base = gst_element_get_base_time (room->mic);

  while (!g_atomic_int_get (&room->quit))
    {
      GstClockTime begin = room->mic_start + gst_util_uint64_scale (room->mic_next, GST_SECOND, ROOM_RATE);
      GstClockID id = gst_clock_new_single_shot_id (clock, begin + 30 * GST_MSECOND);
      GstBuffer *buffer = gst_buffer_new_allocate (NULL, ROOM_PERIOD * 2, NULL);
      GstMapInfo map;
      gint16 *out;
      guint echoed;

      gst_clock_id_wait (id, NULL);
      gst_clock_id_unref (id);

      gst_buffer_map (buffer, &map, GST_MAP_WRITE);
      out = (gint16 *) map.data;
      g_mutex_lock (&room->lock);
      echoed = MIN (room->ahead->len, ROOM_PERIOD);
      for (guint i = 0; i < ROOM_PERIOD; i++)
        {
          gint32 value;

          room->noise = room->noise * 1664525u + 1013904223u;
          value = (gint32) ((room->noise >> 16) % 33) - 16;   /* about -66 dBFS */
          if (i < echoed)
            value += g_array_index (room->ahead, gint32, i);
          out[i] = CLAMP (value, G_MININT16, G_MAXINT16);
        }
      g_array_remove_range (room->ahead, 0, echoed);
      room->mic_next += ROOM_PERIOD;
      g_mutex_unlock (&room->lock);
      gst_buffer_unmap (buffer, &map);
      GST_BUFFER_PTS (buffer) = begin - MIN (begin, base);
      GST_BUFFER_DURATION (buffer) = 10 * GST_MSECOND;
      gst_app_src_push_buffer (GST_APP_SRC (room->mic), buffer);
    }
  return NULL;
}

static void
frame_cb (AicAudioCapture *capture,
          GBytes          *frame,
          AicEchoRoom     *room)
{
  gsize size;
  const gint16 *samples = g_bytes_get_data (frame, &size);

  if (aic_vad_feed (room->vad, samples, size / 2) == AIC_VAD_SPEECH_STARTED)
    {
      if (room->turns++ == 0)
        room->first_turn = g_get_monotonic_time ();
    }
  if (g_get_monotonic_time () >= room->level_from)
    {
      for (gsize i = 0; i < size / 2; i++)
        room->energy += (double) samples[i] * samples[i];
      room->samples += size / 2;
    }
}

AicEchoRoom *
aic_echo_room_new (gboolean   cancel,
                   gboolean   shared_base_time,
                   GError   **error)
{
  g_autoptr(AicAudioPlayback) playback = aic_audio_playback_new_pipeline (AIC_ECHO_ROOM_SPEAKER);
  g_autoptr(AicAudioCapture) capture = aic_audio_capture_new_pipeline (AIC_ECHO_ROOM_MICROPHONE);
  g_autoptr(GstClock) clock = gst_system_clock_obtain ();
  GstAppSinkCallbacks callbacks = { .new_sample = rendered_cb };
  AicEchoRoom *room;

  aic_audio_playback_set_echo_probe (playback, cancel);
  aic_audio_capture_set_echo_cancel (capture, cancel);
  if (shared_base_time)
    {
      GstClockTime base = gst_clock_get_time (clock);

      aic_audio_playback_set_base_time (playback, base);
      aic_audio_capture_set_base_time (capture, base);
    }
  if (!aic_audio_playback_start (playback, error))
    return NULL;
  if (!aic_audio_capture_start (capture, error))
    {
      aic_audio_playback_stop (playback);
      return NULL;
    }

  room = g_new0 (AicEchoRoom, 1);
  room->playback = g_steal_pointer (&playback);
  room->capture = g_steal_pointer (&capture);
  room->speaker = gst_bin_get_by_name (GST_BIN (aic_audio_playback_get_pipeline (room->playback)), "speaker");
  room->mic = gst_bin_get_by_name (GST_BIN (aic_audio_capture_get_pipeline (room->capture)), "mic");
  g_assert (room->speaker != NULL && room->mic != NULL);
  g_mutex_init (&room->lock);
  room->ahead = g_array_new (FALSE, TRUE, sizeof (gint32));
  room->noise = 1;
  room->mic_start = gst_clock_get_time (clock);
  room->vad = aic_vad_new (0.5, 300, 500);

  gst_app_sink_set_callbacks (GST_APP_SINK (room->speaker), &callbacks, room, NULL);
  g_signal_connect (room->capture, "frame", G_CALLBACK (frame_cb), room);
  room->thread = g_thread_new ("echo-room", room_thread, room);
  return room;
}

AicAudioPlayback *
aic_echo_room_get_playback (AicEchoRoom *room)
{
  return room->playback;
}

AicAudioCapture *
aic_echo_room_get_capture (AicEchoRoom *room)
{
  return room->capture;
}

void
aic_echo_room_free (AicEchoRoom *room)
{
  GstAppSinkCallbacks none = { NULL };

  g_atomic_int_set (&room->quit, TRUE);
  g_thread_join (room->thread);
  gst_app_sink_set_callbacks (GST_APP_SINK (room->speaker), &none, NULL, NULL);
  g_signal_handlers_disconnect_by_data (room->capture, room);
  gst_object_unref (room->speaker);
  gst_object_unref (room->mic);
  aic_audio_capture_stop (room->capture);
  aic_audio_playback_stop (room->playback);
  g_object_unref (room->playback);
  g_object_unref (room->capture);
  aic_vad_free (room->vad);
  g_array_unref (room->ahead);
  g_mutex_clear (&room->lock);
  g_free (room);
}

void
aic_echo_room_play (AicEchoRoom *room,
                    GBytes      *speech)
{
  gsize size = g_bytes_get_size (speech);
  gsize piece = AIC_AUDIO_RATE / 25 * 2;   /* 40 ms of PCM16 */

  for (gsize offset = 0; offset < size; offset += piece)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_from_bytes (speech, offset, MIN (piece, size - offset));

      aic_audio_playback_push (room->playback, bytes);
    }
}

/**
 * aic_echo_room_speak:
 * @speech: PCM16 mono at AIC_AUDIO_RATE: the user, close to the microphone
 * @after_ms: when they start, from now
 *
 * Adds someone speaking to what the microphone hears, at full level, on
 * top of any echo: double talk, as when the user interrupts a reply.
 */
void
aic_echo_room_speak (AicEchoRoom *room,
                     GBytes      *speech,
                     guint        after_ms)
{
  g_autoptr(GstClock) clock = gst_system_clock_obtain ();
  gsize size;
  const gint16 *samples = g_bytes_get_data (speech, &size);
  guint factor = ROOM_RATE / AIC_AUDIO_RATE;
  GstClockTime at = gst_clock_get_time (clock) + (GstClockTime) after_ms * GST_MSECOND;
  gint64 index;

  g_mutex_lock (&room->lock);
  index = (gint64) gst_util_uint64_scale (at - MIN (at, room->mic_start), ROOM_RATE, GST_SECOND) -
          (gint64) room->mic_next;
  for (gsize i = 0; i < size / 2; i++)
    for (guint j = 0; j < factor; j++, index++)
      {
        if (index < 0)
          continue;
        if ((guint) index >= room->ahead->len)
          g_array_set_size (room->ahead, index + 1);
        g_array_index (room->ahead, gint32, index) += samples[i];
      }
  g_mutex_unlock (&room->lock);
}

void
aic_echo_room_listen (AicEchoRoom *room,
                      guint        settle_ms)
{
  aic_vad_free (room->vad);
  room->vad = aic_vad_new (0.5, 300, 500);
  room->turns = 0;
  room->first_turn = 0;
  room->energy = 0;
  room->samples = 0;
  room->level_from = g_get_monotonic_time () + (gint64) settle_ms * 1000;
}

double
aic_echo_room_get_level (AicEchoRoom *room)
{
  return 10.0 * log10 (room->energy / MAX (room->samples, 1) / (32768.0 * 32768.0) + 1e-12);
}

guint
aic_echo_room_get_turns (AicEchoRoom *room)
{
  return room->turns;
}

/* When the first turn since aic_echo_room_listen() started (monotonic
 * µs), or 0. */
gint64
aic_echo_room_get_first_turn (AicEchoRoom *room)
{
  return room->first_turn;
}

static gboolean
done_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
aic_echo_room_wait (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}
