/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the app and the CLI link instead of the audio code itself: the
 * functions of aic-audio.h, aic-audio-capture.h and aic-audio-playback.h
 * that they use, each calling the same function in the aic-audio module
 * (aic-audio-module.h says why). aic_audio_init() loads it, and says why
 * when it cannot; every program calls it before making a capture or a
 * playback. */
#define G_LOG_DOMAIN "aic-audio"

#include "config.h"

#include "aic-audio.h"
#include "aic-audio-module.h"

/* aic_module_get() keeps the table once loaded. */
static const AicAudioModule *
load (GError **error)
{
  return aic_module_get (AIC_AUDIO_MODULE_NAME, AIC_AUDIO_MODULE_SYMBOL, error);
}

/* Only ever reached after aic_audio_init() succeeded, or with a capture
 * or playback in hand, which only the module makes. */
static const AicAudioModule *
module (void)
{
  g_autoptr(GError) error = NULL;
  const AicAudioModule *table = load (&error);

  if (table == NULL)
    g_error ("Audio used before aic_audio_init(): %s", error->message);
  return table;
}

gboolean
aic_audio_init (GError **error)
{
  const AicAudioModule *table = load (error);

  return table != NULL && table->init (error);
}

GstClockTime
aic_audio_clock_now (void)
{
  return module ()->clock_now ();
}

GType
aic_audio_capture_get_type (void)
{
  return module ()->capture_get_type ();
}

AicAudioCapture *
aic_audio_capture_new_microphone (void)
{
  return module ()->capture_new_microphone ();
}

AicAudioCapture *
aic_audio_capture_new_file (const char *path,
                            gboolean    realtime)
{
  return module ()->capture_new_file (path, realtime);
}

AicAudioCapture *
aic_audio_capture_new_pipeline (const char *source_description)
{
  return module ()->capture_new_pipeline (source_description);
}

void
aic_audio_capture_set_echo_cancel (AicAudioCapture *self,
                                   gboolean         enabled)
{
  module ()->capture_set_echo_cancel (self, enabled);
}

gboolean
aic_audio_capture_get_echo_cancel (AicAudioCapture *self)
{
  return module ()->capture_get_echo_cancel (self);
}

gboolean
aic_audio_capture_start (AicAudioCapture  *self,
                         GError          **error)
{
  return module ()->capture_start (self, error);
}

void
aic_audio_capture_stop (AicAudioCapture *self)
{
  module ()->capture_stop (self);
}

void
aic_audio_capture_set_muted (AicAudioCapture *self,
                             gboolean         muted)
{
  module ()->capture_set_muted (self, muted);
}

gboolean
aic_audio_capture_get_muted (AicAudioCapture *self)
{
  return module ()->capture_get_muted (self);
}

double
aic_audio_capture_get_level (AicAudioCapture *self)
{
  return module ()->capture_get_level (self);
}

guint64
aic_audio_capture_get_frames (AicAudioCapture *self)
{
  return module ()->capture_get_frames (self);
}

gint64
aic_audio_capture_get_frame_time (AicAudioCapture *self)
{
  return module ()->capture_get_frame_time (self);
}

void
aic_audio_capture_set_base_time (AicAudioCapture *self,
                                 GstClockTime     base_time)
{
  module ()->capture_set_base_time (self, base_time);
}

void
aic_audio_capture_hold (AicAudioCapture *self,
                        guint            milliseconds)
{
  module ()->capture_hold (self, milliseconds);
}

void
aic_audio_capture_quiet_below (AicAudioCapture *self,
                               guint            milliseconds,
                               double           dbfs)
{
  module ()->capture_quiet_below (self, milliseconds, dbfs);
}

GType
aic_audio_playback_get_type (void)
{
  return module ()->playback_get_type ();
}

AicAudioPlayback *
aic_audio_playback_new_speaker (void)
{
  return module ()->playback_new_speaker ();
}

AicAudioPlayback *
aic_audio_playback_new_file (const char *path)
{
  return module ()->playback_new_file (path);
}

AicAudioPlayback *
aic_audio_playback_new_pipeline (const char *sink_description)
{
  return module ()->playback_new_pipeline (sink_description);
}

void
aic_audio_playback_set_echo_probe (AicAudioPlayback *self,
                                   gboolean          enabled)
{
  module ()->playback_set_echo_probe (self, enabled);
}

void
aic_audio_playback_set_prebuffer (AicAudioPlayback *self,
                                  guint             milliseconds)
{
  module ()->playback_set_prebuffer (self, milliseconds);
}

gboolean
aic_audio_playback_start (AicAudioPlayback  *self,
                          GError           **error)
{
  return module ()->playback_start (self, error);
}

void
aic_audio_playback_push (AicAudioPlayback *self,
                         GBytes           *pcm)
{
  module ()->playback_push (self, pcm);
}

guint64
aic_audio_playback_flush (AicAudioPlayback *self)
{
  return module ()->playback_flush (self);
}

guint64
aic_audio_playback_get_played_ms (AicAudioPlayback *self)
{
  return module ()->playback_get_played_ms (self);
}

guint64
aic_audio_playback_get_queued_ms (AicAudioPlayback *self)
{
  return module ()->playback_get_queued_ms (self);
}

gboolean
aic_audio_playback_is_playing (AicAudioPlayback *self)
{
  return module ()->playback_is_playing (self);
}

void
aic_audio_playback_finish_async (AicAudioPlayback    *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  module ()->playback_finish_async (self, cancellable, callback, user_data);
}

gboolean
aic_audio_playback_finish_finish (AicAudioPlayback  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  return module ()->playback_finish_finish (self, result, error);
}

void
aic_audio_playback_stop (AicAudioPlayback *self)
{
  module ()->playback_stop (self);
}

void
aic_audio_playback_set_base_time (AicAudioPlayback *self,
                                  GstClockTime      base_time)
{
  module ()->playback_set_base_time (self, base_time);
}
