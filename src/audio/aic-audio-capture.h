/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define AIC_TYPE_AUDIO_CAPTURE (aic_audio_capture_get_type ())

G_DECLARE_FINAL_TYPE (AicAudioCapture, aic_audio_capture, AIC, AUDIO_CAPTURE, GObject)

AicAudioCapture *aic_audio_capture_new_microphone (void);
AicAudioCapture *aic_audio_capture_new_file       (const char       *path,
                                                   gboolean          realtime);
AicAudioCapture *aic_audio_capture_new_pipeline   (const char       *source_description);
void             aic_audio_capture_set_echo_cancel (AicAudioCapture *self,
                                                   gboolean          enabled);
gboolean         aic_audio_capture_get_echo_cancel (AicAudioCapture *self);
gboolean         aic_audio_capture_start          (AicAudioCapture  *self,
                                                   GError          **error);
void             aic_audio_capture_stop           (AicAudioCapture  *self);
void             aic_audio_capture_set_muted      (AicAudioCapture  *self,
                                                   gboolean          muted);
gboolean         aic_audio_capture_get_muted      (AicAudioCapture  *self);
double           aic_audio_capture_get_level      (AicAudioCapture  *self);
guint64          aic_audio_capture_get_frames     (AicAudioCapture  *self);
gint64           aic_audio_capture_get_frame_time (AicAudioCapture  *self);
GstElement      *aic_audio_capture_get_pipeline   (AicAudioCapture  *self);
void             aic_audio_capture_set_base_time  (AicAudioCapture  *self,
                                                   GstClockTime      base_time);
void             aic_audio_capture_hold           (AicAudioCapture  *self,
                                                   guint             milliseconds);
void              aic_audio_capture_quiet_below   (AicAudioCapture     *self,
                                                   guint                milliseconds,
                                                   double               dbfs);

G_END_DECLS
