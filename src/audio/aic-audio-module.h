/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-module.h"

G_BEGIN_DECLS

/* aic-audio: capture and playback on GStreamer, for the Voice view and
 * `ai-console-cli voice`. GStreamer with its libdw, libunwind and
 * libbz2 is about 0.8 MiB of RSS mapped at start, and most starts never
 * speak: the app and the CLI link aic-audio-client.c, whose functions of
 * the same names as those of aic-audio.h, aic-audio-capture.h and
 * aic-audio-playback.h load this module on first use (aic_audio_init)
 * and call through this table. Tests and benches link the code itself. */
#define AIC_AUDIO_MODULE_NAME   "aic-audio"
#define AIC_AUDIO_MODULE_SYMBOL "aic_audio_module"

typedef struct
{
  guint              abi;

  gboolean         (*init)                    (GError          **error);
  GstClockTime     (*clock_now)               (void);

  GType            (*capture_get_type)        (void);
  AicAudioCapture *(*capture_new_microphone)  (void);
  AicAudioCapture *(*capture_new_file)        (const char       *path,
                                               gboolean          realtime);
  AicAudioCapture *(*capture_new_pipeline)    (const char       *source_description);
  void             (*capture_set_echo_cancel) (AicAudioCapture  *self,
                                               gboolean          enabled);
  gboolean         (*capture_get_echo_cancel) (AicAudioCapture  *self);
  gboolean         (*capture_start)           (AicAudioCapture  *self,
                                               GError          **error);
  void             (*capture_stop)            (AicAudioCapture  *self);
  void             (*capture_set_muted)       (AicAudioCapture  *self,
                                               gboolean          muted);
  gboolean         (*capture_get_muted)       (AicAudioCapture  *self);
  double           (*capture_get_level)       (AicAudioCapture  *self);
  guint64          (*capture_get_frames)      (AicAudioCapture  *self);
  gint64           (*capture_get_frame_time)  (AicAudioCapture  *self);
  void             (*capture_set_base_time)   (AicAudioCapture  *self,
                                               GstClockTime      base_time);
  void             (*capture_hold)            (AicAudioCapture  *self,
                                               guint             milliseconds);
  void             (*capture_quiet_below)     (AicAudioCapture  *self,
                                               guint             milliseconds,
                                               double            dbfs);

  GType             (*playback_get_type)       (void);
  AicAudioPlayback *(*playback_new_speaker)    (void);
  AicAudioPlayback *(*playback_new_file)       (const char        *path);
  AicAudioPlayback *(*playback_new_pipeline)   (const char        *sink_description);
  void              (*playback_set_echo_probe) (AicAudioPlayback  *self,
                                                gboolean           enabled);
  void              (*playback_set_prebuffer)  (AicAudioPlayback  *self,
                                                guint              milliseconds);
  gboolean          (*playback_start)          (AicAudioPlayback  *self,
                                                GError           **error);
  void              (*playback_push)           (AicAudioPlayback  *self,
                                                GBytes            *pcm);
  guint64           (*playback_flush)          (AicAudioPlayback  *self);
  guint64           (*playback_get_played_ms)  (AicAudioPlayback  *self);
  guint64           (*playback_get_queued_ms)  (AicAudioPlayback  *self);
  gboolean          (*playback_is_playing)     (AicAudioPlayback  *self);
  void              (*playback_finish_async)   (AicAudioPlayback  *self,
                                                GCancellable      *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer           user_data);
  gboolean          (*playback_finish_finish)  (AicAudioPlayback  *self,
                                                GAsyncResult      *result,
                                                GError           **error);
  void              (*playback_stop)           (AicAudioPlayback  *self);
  void              (*playback_set_base_time)  (AicAudioPlayback  *self,
                                                GstClockTime       base_time);
} AicAudioModule;

G_END_DECLS
