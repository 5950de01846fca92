/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-audio"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "aic-audio.h"
#include "aic-audio-playback.h"
#include "aic-error.h"

/* Audio out: the reply's PCM16 mono 24 kHz, pushed as it arrives, played
 * on the speakers (or written to a WAV file at the same pace, for tests
 * and the CLI: an appsink in sync with the clock stands in for the
 * speaker, and what reaches it is what was "heard").
 *
 *   appsrc ! audioconvert ! audioresample ! [48 kHz ! webrtcechoprobe !
 *          audioconvert ! audioresample] ! sink
 *
 * Buffers are stamped one after the other; when the network falls behind
 * and playback has caught up, the next buffer is placed a little ahead of
 * the clock (the jitter buffer) instead of in the past, where a sink would
 * drop it. What was played is worked out from the pipeline's position
 * against the stretches of audio pushed, so gaps do not count; a flush
 * (barge-in) stops the sound at once and says how many milliseconds the
 * listener actually heard. */

#define DEFAULT_PREBUFFER_MS 30

typedef struct
{
  GstClockTime start;
  GstClockTime duration;
} Stretch;

struct _AicAudioPlayback
{
  GObject       parent_instance;

  char         *sink;
  char         *file;             /* write what is played here */
  GMutex        lock;
  GByteArray   *heard;            /* under lock: PCM that reached the file sink */
  gboolean      echo_probe;
  guint         prebuffer_ms;
  GstElement   *pipeline;
  GstElement   *source;
  GArray       *stretches;        /* Stretch, in order */
  GstClockTime  next_pts;
  guint64       played_before_ms; /* from before the last flush */
  GTask        *finish_task;
  guint         bus_watch;
  GstClockTime  base_time;        /* shared with capture, or NONE */
};

G_DEFINE_FINAL_TYPE (AicAudioPlayback, aic_audio_playback, G_TYPE_OBJECT)

enum {
  FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
aic_audio_playback_dispose (GObject *object)
{
  aic_audio_playback_stop (AIC_AUDIO_PLAYBACK (object));

  G_OBJECT_CLASS (aic_audio_playback_parent_class)->dispose (object);
}

static void
aic_audio_playback_finalize (GObject *object)
{
  AicAudioPlayback *self = AIC_AUDIO_PLAYBACK (object);

  g_free (self->sink);
  g_free (self->file);
  g_byte_array_unref (self->heard);
  g_mutex_clear (&self->lock);
  g_array_unref (self->stretches);

  G_OBJECT_CLASS (aic_audio_playback_parent_class)->finalize (object);
}

static void
aic_audio_playback_class_init (AicAudioPlaybackClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_audio_playback_dispose;
  object_class->finalize = aic_audio_playback_finalize;

  /**
   * AicAudioPlayback::failed:
   * @error: what went wrong, in words
   */
  signals[FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
aic_audio_playback_init (AicAudioPlayback *self)
{
  self->stretches = g_array_new (FALSE, FALSE, sizeof (Stretch));
  self->heard = g_byte_array_new ();
  g_mutex_init (&self->lock);
  self->base_time = GST_CLOCK_TIME_NONE;
  self->prebuffer_ms = DEFAULT_PREBUFFER_MS;
}

AicAudioPlayback *
aic_audio_playback_new_speaker (void)
{
  return aic_audio_playback_new_pipeline ("autoaudiosink");
}

/**
 * aic_audio_playback_new_file:
 * A WAV file written at the pace of playback, as a speaker would play it.
 */
AicAudioPlayback *
aic_audio_playback_new_file (const char *path)
{
  g_autofree char *description = g_strdup_printf ("audio/x-raw,format=S16LE,rate=%d,channels=%d ! "
                                                  "appsink name=heard sync=true max-buffers=0",
                                                  AIC_AUDIO_RATE, AIC_AUDIO_CHANNELS);
  AicAudioPlayback *self = aic_audio_playback_new_pipeline (description);

  self->file = g_strdup (path);
  return self;
}

/* On the streaming thread, in time with the clock. */
static GstFlowReturn
heard_cb (GstAppSink *sink,
          gpointer    user_data)
{
  AicAudioPlayback *self = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buffer = sample ? gst_sample_get_buffer (sample) : NULL;
  GstMapInfo map;

  if (buffer == NULL || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  g_mutex_lock (&self->lock);
  g_byte_array_append (self->heard, map.data, map.size);
  g_mutex_unlock (&self->lock);
  gst_buffer_unmap (buffer, &map);
  return GST_FLOW_OK;
}

static gboolean
write_file (AicAudioPlayback  *self,
            GError           **error)
{
  g_autoptr(GBytes) pcm = NULL;
  g_autoptr(GBytes) wav = NULL;

  if (self->file == NULL)
    return TRUE;
  g_mutex_lock (&self->lock);
  pcm = g_bytes_new (self->heard->data, self->heard->len);
  g_mutex_unlock (&self->lock);
  wav = aic_pcm_wav_bytes (pcm);
  return g_file_set_contents (self->file, g_bytes_get_data (wav, NULL), g_bytes_get_size (wav), error);
}

/**
 * aic_audio_playback_new_pipeline:
 * @sink_description: the sink part of a pipeline, in gst-launch syntax
 */
AicAudioPlayback *
aic_audio_playback_new_pipeline (const char *sink_description)
{
  AicAudioPlayback *self = g_object_new (AIC_TYPE_AUDIO_PLAYBACK, NULL);

  self->sink = g_strdup (sink_description);
  return self;
}

/* Feeds what is played to a capture's webrtcdsp; off when not installed. */
void
aic_audio_playback_set_echo_probe (AicAudioPlayback *self,
                                   gboolean          enabled)
{
  g_autoptr(GstElementFactory) factory = NULL;

  g_return_if_fail (AIC_IS_AUDIO_PLAYBACK (self));

  factory = enabled ? gst_element_factory_find ("webrtcechoprobe") : NULL;
  self->echo_probe = factory != NULL;
}

/* How far ahead of the clock audio is placed after an underrun (30 ms). */
void
aic_audio_playback_set_prebuffer (AicAudioPlayback *self,
                                  guint             milliseconds)
{
  g_return_if_fail (AIC_IS_AUDIO_PLAYBACK (self));
  self->prebuffer_ms = milliseconds;
}

/**
 * aic_audio_playback_set_base_time:
 * See aic_audio_capture_set_base_time(): with both on one base time, the
 * echo canceller can line up what is played with what is heard. Set
 * before starting.
 */
void
aic_audio_playback_set_base_time (AicAudioPlayback *self,
                                  GstClockTime      base_time)
{
  g_return_if_fail (AIC_IS_AUDIO_PLAYBACK (self));
  self->base_time = base_time;
}

static GstClockTime
position (AicAudioPlayback *self)
{
  gint64 value = 0;

  if (self->pipeline == NULL || !gst_element_query_position (self->pipeline, GST_FORMAT_TIME, &value) || value < 0)
    return 0;
  return value;
}

/* Running time now, or 0 before the clock runs. With a shared base time
 * it is known even before the pipeline has prerolled its first buffer. */
static GstClockTime
running_time (AicAudioPlayback *self)
{
  g_autoptr(GstClock) clock = NULL;
  GstClockTime now, base;

  if (GST_CLOCK_TIME_IS_VALID (self->base_time))
    {
      clock = gst_system_clock_obtain ();
      base = self->base_time;
    }
  else
    {
      clock = self->pipeline ? gst_element_get_clock (self->pipeline) : NULL;
      if (clock == NULL)
        return 0;
      base = gst_element_get_base_time (self->pipeline);
    }
  now = gst_clock_get_time (clock);
  return now > base ? now - base : 0;
}

/* Whether running_time() means something: with a shared base time it
 * always does; otherwise only once the pipeline plays (before, its base
 * time is not set yet). */
static gboolean
clock_runs (AicAudioPlayback *self)
{
  GstState state = GST_STATE_VOID_PENDING, pending = GST_STATE_VOID_PENDING;

  if (GST_CLOCK_TIME_IS_VALID (self->base_time))
    return TRUE;
  if (self->pipeline == NULL)
    return FALSE;
  gst_element_get_state (self->pipeline, &state, &pending, 0);
  return state == GST_STATE_PLAYING && pending == GST_STATE_VOID_PENDING;
}

static guint64
played_since_flush_ms (AicAudioPlayback *self)
{
  GstClockTime at = position (self);
  GstClockTime played = 0;

  /* A sink that has run dry reports a position short of the end of what
   * it played (by up to one buffer); once the clock is well past the end,
   * all of it has been played. */
  if (self->stretches->len > 0)
    {
      Stretch *last = &g_array_index (self->stretches, Stretch, self->stretches->len - 1);

      if (clock_runs (self) && running_time (self) > last->start + last->duration + 100 * GST_MSECOND)
        at = G_MAXUINT64;
    }

  for (guint i = 0; i < self->stretches->len; i++)
    {
      Stretch *stretch = &g_array_index (self->stretches, Stretch, i);

      if (at <= stretch->start)
        break;
      played += MIN (at - stretch->start, stretch->duration);
    }
  return played / GST_MSECOND;
}

guint64
aic_audio_playback_get_played_ms (AicAudioPlayback *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_PLAYBACK (self), 0);
  return self->played_before_ms + played_since_flush_ms (self);
}

/* Pushed and not played yet. */
guint64
aic_audio_playback_get_queued_ms (AicAudioPlayback *self)
{
  GstClockTime total = 0;

  g_return_val_if_fail (AIC_IS_AUDIO_PLAYBACK (self), 0);

  for (guint i = 0; i < self->stretches->len; i++)
    total += g_array_index (self->stretches, Stretch, i).duration;
  return total / GST_MSECOND - MIN (total / GST_MSECOND, played_since_flush_ms (self));
}

gboolean
aic_audio_playback_is_playing (AicAudioPlayback *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_PLAYBACK (self), FALSE);
  return aic_audio_playback_get_queued_ms (self) > 0;
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    user_data)
{
  AicAudioPlayback *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) gst_error = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;

        gst_message_parse_error (message, &gst_error, &debug);
        g_debug ("Playback error: %s (%s)", gst_error->message, debug ? debug : "");
        error = g_error_new (AIC_ERROR, AIC_ERROR_FAILED, _("The reply could not be played: %s"), gst_error->message);
        if (self->finish_task != NULL)
          {
            GTask *task = g_steal_pointer (&self->finish_task);
            g_task_return_error (task, g_error_copy (error));
            g_object_unref (task);
          }
        g_signal_emit (self, signals[FAILED], 0, error);
      }
      break;
    case GST_MESSAGE_EOS:
      if (self->finish_task != NULL)
        {
          GTask *task = g_steal_pointer (&self->finish_task);
          GError *error = NULL;

          if (write_file (self, &error))
            g_task_return_boolean (task, TRUE);
          else
            g_task_return_error (task, error);
          g_object_unref (task);
        }
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

gboolean
aic_audio_playback_start (AicAudioPlayback  *self,
                          GError           **error)
{
  g_autofree char *description = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GstBus) bus = NULL;
  const char *probe = "";

  g_return_val_if_fail (AIC_IS_AUDIO_PLAYBACK (self), FALSE);
  g_return_val_if_fail (self->pipeline == NULL, FALSE);

  if (!aic_audio_init (error))
    return FALSE;

  if (self->echo_probe)
    probe = "audio/x-raw,rate=48000,channels=1 ! webrtcechoprobe name=aic-echo-probe ! audioconvert ! audioresample ! ";
  description = g_strdup_printf ("appsrc name=reply format=time is-live=false block=false "
                                 "caps=audio/x-raw,format=S16LE,rate=%d,channels=%d,layout=interleaved ! "
                                 "audioconvert ! audioresample ! %s%s",
                                 AIC_AUDIO_RATE, AIC_AUDIO_CHANNELS, probe, self->sink);
  self->pipeline = gst_parse_launch (description, &parse_error);
  if (self->pipeline == NULL || parse_error != NULL)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   _("The audio pipeline could not be built: %s"), parse_error->message);
      gst_clear_object (&self->pipeline);
      return FALSE;
    }
  self->source = gst_bin_get_by_name (GST_BIN (self->pipeline), "reply");
  if (self->file != NULL)
    {
      g_autoptr(GstElement) heard = gst_bin_get_by_name (GST_BIN (self->pipeline), "heard");
      GstAppSinkCallbacks callbacks = { .new_sample = heard_cb };

      gst_app_sink_set_callbacks (GST_APP_SINK (heard), &callbacks, self, NULL);
    }

  bus = gst_element_get_bus (self->pipeline);
  self->bus_watch = gst_bus_add_watch (bus, bus_cb, self);
  aic_audio_use_base_time (self->pipeline, self->base_time);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   _("No speaker or audio output could be opened."));
      aic_audio_playback_stop (self);
      return FALSE;
    }
  return TRUE;
}

/**
 * aic_audio_playback_push:
 * @pcm: PCM16 mono 24 kHz, any length
 */
void
aic_audio_playback_push (AicAudioPlayback *self,
                         GBytes           *pcm)
{
  gsize size = g_bytes_get_size (pcm);
  GstClockTime duration, now;
  GstBuffer *buffer;
  Stretch stretch;

  g_return_if_fail (AIC_IS_AUDIO_PLAYBACK (self));

  if (self->source == NULL || size < 2)
    return;

  duration = gst_util_uint64_scale (size / 2, GST_SECOND, AIC_AUDIO_RATE);
  now = running_time (self);
  if (self->next_pts < now && self->echo_probe && self->stretches->len > 0)
    {
      /* Everything pushed has been played. Once playback has run dry,
       * webrtcdsp stops cancelling what comes next (test-echo and
       * bench-echo: the echo stays at -27 dBFS, as without cancellation),
       * while after a flush it cancels again; so a new stretch of audio
       * starts on a fresh pipeline, as after a flush. Why the canceller
       * loses track is not understood: the probe's timestamps line up. */
      aic_audio_playback_flush (self);
      now = running_time (self);
    }
  /* Behind the clock: place it a little ahead instead of in the past. */
  if (self->next_pts < now)
    self->next_pts = now + self->prebuffer_ms * GST_MSECOND;

  buffer = gst_buffer_new_wrapped_bytes (pcm);
  GST_BUFFER_PTS (buffer) = self->next_pts;
  GST_BUFFER_DURATION (buffer) = duration;

  stretch.start = self->next_pts;
  stretch.duration = duration;
  if (self->stretches->len > 0)
    {
      Stretch *last = &g_array_index (self->stretches, Stretch, self->stretches->len - 1);

      if (last->start + last->duration == stretch.start)
        last->duration += duration;
      else
        g_array_append_val (self->stretches, stretch);
    }
  else
    g_array_append_val (self->stretches, stretch);

  self->next_pts += duration;
  gst_app_src_push_buffer (GST_APP_SRC (self->source), buffer);
}

/**
 * aic_audio_playback_flush:
 * Stops the sound at once and drops what is queued (barge-in).
 * Returns: milliseconds played in all, including before this flush
 */
guint64
aic_audio_playback_flush (AicAudioPlayback *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_PLAYBACK (self), 0);

  if (self->pipeline == NULL)
    return self->played_before_ms;

  self->played_before_ms += played_since_flush_ms (self);
  /* READY drops every buffer on the way; PLAYING again starts a new
   * running time at 0. */
  gst_element_set_state (self->pipeline, GST_STATE_READY);
  g_array_set_size (self->stretches, 0);
  self->next_pts = 0;
  aic_audio_use_base_time (self->pipeline, self->base_time);
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
  return self->played_before_ms;
}

/**
 * aic_audio_playback_finish_async:
 * Plays what is queued to its end and closes the output (a WAV file gets
 * its header); completes when the last sample has been played.
 */
void
aic_audio_playback_finish_async (AicAudioPlayback    *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (AIC_IS_AUDIO_PLAYBACK (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_audio_playback_finish_async);
  if (self->source == NULL || self->finish_task != NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_FAILED, _("Playback is not running."));
      return;
    }
  self->finish_task = g_steal_pointer (&task);
  gst_app_src_end_of_stream (GST_APP_SRC (self->source));
}

gboolean
aic_audio_playback_finish_finish (AicAudioPlayback  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
aic_audio_playback_stop (AicAudioPlayback *self)
{
  g_return_if_fail (AIC_IS_AUDIO_PLAYBACK (self));

  if (self->pipeline != NULL)
    {
      g_autoptr(GstBus) bus = gst_element_get_bus (self->pipeline);

      self->played_before_ms += played_since_flush_ms (self);
      if (self->bus_watch != 0)
        gst_bus_remove_watch (bus);
      self->bus_watch = 0;
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      if (self->finish_task == NULL)
        write_file (self, NULL);
      gst_clear_object (&self->source);
      gst_clear_object (&self->pipeline);
    }
  g_array_set_size (self->stretches, 0);
  self->next_pts = 0;
  if (self->finish_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->finish_task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Playback was stopped."));
      g_object_unref (task);
    }
}

/**
 * aic_audio_playback_get_pipeline:
 * Returns: (transfer none) (nullable): the running pipeline, for setups
 *   and tests that take its output themselves
 */
GstElement *
aic_audio_playback_get_pipeline (AicAudioPlayback *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_PLAYBACK (self), NULL);
  return self->pipeline;
}
