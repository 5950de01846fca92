/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-audio"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-error.h"

/* Audio in: a microphone (or a WAV file, for tests and the CLI) turned
 * into the wire format, PCM16 mono 24 kHz, cut into 20 ms frames.
 *
 *   source ! audioconvert ! audioresample ! [48 kHz ! webrtcdsp ! resample]
 *          ! S16LE/24000/mono ! level ! audiobuffersplit (20 ms) ! appsink
 *
 * Frames and levels reach ::frame and ::level on the main context the
 * object was made in; the streaming thread only hands them over. With
 * echo cancellation on (webrtcdsp, when installed), a playback pipeline
 * with webrtcechoprobe lets it remove the reply coming from the speakers,
 * so the reply does not interrupt itself. A file can be read at real-time
 * pace (as a microphone would deliver it) or as fast as possible. */

struct _AicAudioCapture
{
  GObject       parent_instance;

  char         *source;           /* a gst-launch description */
  gboolean      realtime;
  gboolean      echo_cancel;
  gboolean      muted;
  GstElement   *pipeline;
  GMainContext *context;
  guint         bus_watch;
  double        level;
  guint64       frames;
  gint64        frame_time;       /* when the last frame left the pipeline */
  GstClockTime  base_time;        /* shared with playback, or NONE */
  gint64        held_until;       /* no frames before this (monotonic µs) */
  gint64        quiet_until;      /* frames under quiet_floor go out silent until this */
  double        quiet_floor;      /* mean square, of full scale squared */
  gboolean      running;
};

G_DEFINE_FINAL_TYPE (AicAudioCapture, aic_audio_capture, G_TYPE_OBJECT)

enum {
  FRAME,
  LEVEL,
  FINISHED,
  FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
aic_audio_capture_dispose (GObject *object)
{
  AicAudioCapture *self = AIC_AUDIO_CAPTURE (object);

  aic_audio_capture_stop (self);

  G_OBJECT_CLASS (aic_audio_capture_parent_class)->dispose (object);
}

static void
aic_audio_capture_finalize (GObject *object)
{
  AicAudioCapture *self = AIC_AUDIO_CAPTURE (object);

  g_free (self->source);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (aic_audio_capture_parent_class)->finalize (object);
}

static void
aic_audio_capture_class_init (AicAudioCaptureClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_audio_capture_dispose;
  object_class->finalize = aic_audio_capture_finalize;

  /**
   * AicAudioCapture::frame:
   * @frame: 20 ms of PCM16 mono 24 kHz (960 bytes)
   */
  signals[FRAME] =
    g_signal_new ("frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);
  /**
   * AicAudioCapture::level:
   * @level: loudness from 0 (silence) to 1 (full scale), for a meter
   */
  signals[LEVEL] =
    g_signal_new ("level", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  /* A file source has been read to its end. */
  signals[FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * AicAudioCapture::failed:
   * @error: what went wrong, in words
   */
  signals[FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
aic_audio_capture_init (AicAudioCapture *self)
{
  self->base_time = GST_CLOCK_TIME_NONE;
}

/**
 * aic_audio_capture_new_microphone:
 * The default microphone: through PulseAudio (or PipeWire's Pulse
 * service, which is what a Flatpak reaches), else autoaudiosrc.
 */
AicAudioCapture *
aic_audio_capture_new_microphone (void)
{
  g_autoptr(GstElementFactory) pulse = NULL;
  AicAudioCapture *self;

  if (aic_audio_init (NULL))
    pulse = gst_element_factory_find ("pulsesrc");
  self = aic_audio_capture_new_pipeline (pulse ? "pulsesrc" : "autoaudiosrc");

  self->realtime = TRUE;
  return self;
}

/**
 * aic_audio_capture_new_file:
 * @path: a WAV (or any file GStreamer can decode)
 * @realtime: deliver frames at the pace of speech, as a microphone does;
 *   %FALSE reads as fast as possible
 */
AicAudioCapture *
aic_audio_capture_new_file (const char *path,
                            gboolean    realtime)
{
  g_autofree char *quoted = g_strescape (path, NULL);
  g_autofree char *description = g_strdup_printf ("filesrc location=\"%s\" ! decodebin", quoted);
  AicAudioCapture *self = aic_audio_capture_new_pipeline (description);

  self->realtime = realtime;
  return self;
}

/**
 * aic_audio_capture_new_pipeline:
 * @source_description: the source part of a pipeline, in gst-launch syntax,
 *   such as "pulsesrc device=remapped"
 */
AicAudioCapture *
aic_audio_capture_new_pipeline (const char *source_description)
{
  AicAudioCapture *self = g_object_new (AIC_TYPE_AUDIO_CAPTURE, NULL);

  self->source = g_strdup (source_description);
  self->realtime = TRUE;
  return self;
}

/* Cancellation wants the 48 kHz webrtcdsp supports; off when not installed. */
void
aic_audio_capture_set_echo_cancel (AicAudioCapture *self,
                                   gboolean         enabled)
{
  g_autoptr(GstElementFactory) factory = NULL;

  g_return_if_fail (AIC_IS_AUDIO_CAPTURE (self));

  factory = enabled ? gst_element_factory_find ("webrtcdsp") : NULL;
  self->echo_cancel = factory != NULL;
}

gboolean
aic_audio_capture_get_echo_cancel (AicAudioCapture *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), FALSE);
  return self->echo_cancel;
}

typedef struct
{
  AicAudioCapture *self;
  GBytes          *frame;
  gint64           pulled_at;
} Delivery;

static gboolean
deliver_frame (gpointer data)
{
  Delivery *delivery = data;

  gint64 now = g_get_monotonic_time ();

  if (delivery->self->running && !delivery->self->muted && now >= delivery->self->held_until)
    {
      if (now < delivery->self->quiet_until)
        {
          gsize size;
          const gint16 *samples = g_bytes_get_data (delivery->frame, &size);
          double energy = 0;

          for (gsize i = 0; i < size / 2; i++)
            energy += (double) samples[i] * samples[i];
          if (size > 0 && energy / (size / 2) / (32768.0 * 32768.0) < delivery->self->quiet_floor)
            {
              g_bytes_unref (delivery->frame);
              delivery->frame = g_bytes_new_take (g_malloc0 (size), size);
            }
        }
      delivery->self->frames++;
      delivery->self->frame_time = delivery->pulled_at;
      g_signal_emit (delivery->self, signals[FRAME], 0, delivery->frame);
    }
  return G_SOURCE_REMOVE;
}

static void
delivery_free (gpointer data)
{
  Delivery *delivery = data;

  g_object_unref (delivery->self);
  g_bytes_unref (delivery->frame);
  g_free (delivery);
}

/* On the streaming thread: hand the frame to the owner's context. */
static GstFlowReturn
new_sample_cb (GstAppSink *sink,
               gpointer    user_data)
{
  AicAudioCapture *self = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buffer;
  GstMapInfo map;
  Delivery *delivery;

  if (sample == NULL)
    return GST_FLOW_EOS;
  buffer = gst_sample_get_buffer (sample);
  if (buffer == NULL || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;

  delivery = g_new0 (Delivery, 1);
  delivery->self = g_object_ref (self);
  delivery->pulled_at = g_get_monotonic_time ();
  if (map.size < AIC_AUDIO_FRAME_BYTES)
    {
      /* The last frame of a file: filled up with silence. */
      guint8 *padded = g_malloc0 (AIC_AUDIO_FRAME_BYTES);

      memcpy (padded, map.data, map.size);
      delivery->frame = g_bytes_new_take (padded, AIC_AUDIO_FRAME_BYTES);
    }
  else
    delivery->frame = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, deliver_frame, delivery, delivery_free);
  return GST_FLOW_OK;
}

static GError *
describe_error (AicAudioCapture *self,
                GError          *gst_error,
                const char      *debug)
{
  if (g_str_has_prefix (self->source, "autoaudiosrc") || g_str_has_prefix (self->source, "pulsesrc") ||
      gst_error->domain == GST_RESOURCE_ERROR)
    return g_error_new (AIC_ERROR, AIC_ERROR_FAILED,
                        _("No microphone could be opened (%s). Check that one is connected and that AI Console may use it."),
                        gst_error->message);
  if (gst_error->domain == GST_STREAM_ERROR)
    return g_error_new (AIC_ERROR, AIC_ERROR_FAILED,
                        _("The audio could not be read: %s"), gst_error->message);
  return g_error_new (AIC_ERROR, AIC_ERROR_FAILED, _("Audio capture failed: %s"), gst_error->message);
}

static void
fail (AicAudioCapture *self,
      GError          *error)
{
  aic_audio_capture_stop (self);
  g_signal_emit (self, signals[FAILED], 0, error);
}

/* RMS in dB of the loudest channel, as 0–1. The level element posts a
 * GValueArray, a type GLib has deprecated but GStreamer 1.22 still uses. */
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static double
level_from_message (const GstStructure *structure)
{
  const GValue *value = gst_structure_get_value (structure, "rms");
  GValueArray *channels;
  double loudest = -G_MAXDOUBLE;

  if (value == NULL || !G_VALUE_HOLDS (value, g_value_array_get_type ()))
    return 0.0;
  channels = g_value_get_boxed (value);
  for (guint i = 0; channels != NULL && i < channels->n_values; i++)
    loudest = MAX (loudest, g_value_get_double (g_value_array_get_nth (channels, i)));
  if (loudest == -G_MAXDOUBLE)
    return 0.0;
  return CLAMP (pow (10.0, loudest / 20.0), 0.0, 1.0);
}
G_GNUC_END_IGNORE_DEPRECATIONS

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    user_data)
{
  AicAudioCapture *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) gst_error = NULL;
        g_autofree char *debug = NULL;
        g_autoptr(GError) error = NULL;

        gst_message_parse_error (message, &gst_error, &debug);
        g_debug ("Capture error: %s (%s)", gst_error->message, debug ? debug : "");
        error = describe_error (self, gst_error, debug);
        self->bus_watch = 0;
        fail (self, error);
        return G_SOURCE_REMOVE;
      }
    case GST_MESSAGE_EOS:
      /* Frames already handed over arrive first: they are queued on this
       * same context ahead of this call. */
      g_signal_emit (self, signals[FINISHED], 0);
      break;
    case GST_MESSAGE_ELEMENT:
      {
        const GstStructure *structure = gst_message_get_structure (message);

        if (gst_structure_has_name (structure, "level"))
          {
            self->level = self->muted ? 0.0 : level_from_message (structure);
            g_signal_emit (self, signals[LEVEL], 0, self->level);
          }
      }
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static char *
pipeline_description (AicAudioCapture *self)
{
  const char *echo = self->echo_cancel
    ? "audio/x-raw,rate=48000,channels=1 ! webrtcdsp probe=aic-echo-probe echo-cancel=true echo-suppression-level=high noise-suppression=true gain-control=false ! "
      "audioconvert ! audioresample ! "
    : "";

  return g_strdup_printf ("%s ! queue ! audioconvert ! audioresample ! %s"
                          "audio/x-raw,format=S16LE,rate=%d,channels=%d,layout=interleaved ! "
                          "level interval=50000000 post-messages=true ! "
                          "audiobuffersplit output-buffer-duration=%d/1000 ! "
                          "appsink name=frames sync=%s max-buffers=100 drop=false",
                          self->source, echo, AIC_AUDIO_RATE, AIC_AUDIO_CHANNELS, AIC_AUDIO_FRAME_MS,
                          self->realtime ? "true" : "false");
}

/**
 * aic_audio_capture_start:
 * Builds and starts the pipeline. A missing device or file is an error
 * here or, when it shows only once streaming starts, through ::failed.
 */
gboolean
aic_audio_capture_start (AicAudioCapture  *self,
                         GError          **error)
{
  g_autofree char *description = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstBus) bus = NULL;
  GstAppSinkCallbacks callbacks = { .new_sample = new_sample_cb };
  GstStateChangeReturn change;

  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), FALSE);
  g_return_val_if_fail (self->pipeline == NULL, FALSE);

  if (!aic_audio_init (error))
    return FALSE;

  description = pipeline_description (self);
  self->pipeline = gst_parse_launch (description, &parse_error);
  if (self->pipeline == NULL || parse_error != NULL)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   _("The audio pipeline could not be built: %s"), parse_error->message);
      gst_clear_object (&self->pipeline);
      return FALSE;
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  sink = gst_bin_get_by_name (GST_BIN (self->pipeline), "frames");
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, NULL);

  bus = gst_element_get_bus (self->pipeline);
  self->bus_watch = gst_bus_add_watch (bus, bus_cb, self);
  self->running = TRUE;
  aic_audio_use_base_time (self->pipeline, self->base_time);
  self->frames = 0;

  change = gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
  if (change == GST_STATE_CHANGE_FAILURE)
    {
      g_autoptr(GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autoptr(GError) gst_error = NULL;
      g_autofree char *debug = NULL;

      if (message != NULL)
        gst_message_parse_error (message, &gst_error, &debug);
      else
        gst_error = g_error_new_literal (GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE, _("it would not start"));
      g_propagate_error (error, describe_error (self, gst_error, debug));
      aic_audio_capture_stop (self);
      return FALSE;
    }
  return TRUE;
}

void
aic_audio_capture_stop (AicAudioCapture *self)
{
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstBus) bus = NULL;
  GstAppSinkCallbacks none = { NULL };

  g_return_if_fail (AIC_IS_AUDIO_CAPTURE (self));

  self->running = FALSE;
  self->level = 0.0;
  if (self->pipeline == NULL)
    return;

  bus = gst_element_get_bus (self->pipeline);
  if (self->bus_watch != 0)
    gst_bus_remove_watch (bus);
  self->bus_watch = 0;
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  sink = gst_bin_get_by_name (GST_BIN (self->pipeline), "frames");
  if (sink != NULL)
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &none, NULL, NULL);
  gst_clear_object (&self->pipeline);
}

/* Muted: no frames are sent and the meter shows silence; capture goes on,
 * so unmuting is immediate. */
void
aic_audio_capture_set_muted (AicAudioCapture *self,
                             gboolean         muted)
{
  g_return_if_fail (AIC_IS_AUDIO_CAPTURE (self));
  self->muted = !!muted;
}

gboolean
aic_audio_capture_get_muted (AicAudioCapture *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), FALSE);
  return self->muted;
}

double
aic_audio_capture_get_level (AicAudioCapture *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), 0.0);
  return self->level;
}

/* Frames delivered since the start. */
guint64
aic_audio_capture_get_frames (AicAudioCapture *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), 0);
  return self->frames;
}

/**
 * aic_audio_capture_get_frame_time:
 * Returns: when the frame being delivered left the pipeline (monotonic
 *   µs), for measuring what the app adds on top
 */
gint64
aic_audio_capture_get_frame_time (AicAudioCapture *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), 0);
  return self->frame_time;
}

/**
 * aic_audio_capture_hold:
 * Delivers no frames for @milliseconds from now, while capture (and echo
 * cancellation) go on: the canceller learns a new reply's echo in that
 * time, before anything reaches the server's VAD.
 */
void
aic_audio_capture_hold (AicAudioCapture *self,
                        guint            milliseconds)
{
  g_return_if_fail (AIC_IS_AUDIO_CAPTURE (self));
  self->held_until = MAX (self->held_until, g_get_monotonic_time () + (gint64) milliseconds * 1000);
}

/**
 * aic_audio_capture_quiet_below:
 * @dbfs: a frame's RMS level, such as -32
 *
 * For @milliseconds from now, frames quieter than @dbfs are delivered as
 * silence. While a canceller is still settling on a new reply, what is
 * left of the echo comes in short bursts that a server's VAD would take
 * for the user; someone speaking to the microphone is louder and passes.
 */
void
aic_audio_capture_quiet_below (AicAudioCapture *self,
                               guint            milliseconds,
                               double           dbfs)
{
  g_return_if_fail (AIC_IS_AUDIO_CAPTURE (self));
  self->quiet_until = MAX (self->quiet_until, g_get_monotonic_time () + (gint64) milliseconds * 1000);
  self->quiet_floor = pow (10.0, dbfs / 10.0);
}

/**
 * aic_audio_capture_set_base_time:
 * Runs the pipeline on the system clock with this base time, so that its
 * running time is the playback's: the echo canceller lines up what was
 * played with what is heard by running time. Set before starting.
 */
void
aic_audio_capture_set_base_time (AicAudioCapture *self,
                                 GstClockTime     base_time)
{
  g_return_if_fail (AIC_IS_AUDIO_CAPTURE (self));
  self->base_time = base_time;
}

/**
 * aic_audio_capture_get_pipeline:
 * Returns: (transfer none) (nullable): the running pipeline, for setups
 *   and benchmarks that feed its source themselves
 */
GstElement *
aic_audio_capture_get_pipeline (AicAudioCapture *self)
{
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (self), NULL);
  return self->pipeline;
}
