/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define AIC_TYPE_AUDIO_PLAYBACK (aic_audio_playback_get_type ())

G_DECLARE_FINAL_TYPE (AicAudioPlayback, aic_audio_playback, AIC, AUDIO_PLAYBACK, GObject)

AicAudioPlayback *aic_audio_playback_new_speaker   (void);
AicAudioPlayback *aic_audio_playback_new_file      (const char        *path);
AicAudioPlayback *aic_audio_playback_new_pipeline  (const char        *sink_description);
void              aic_audio_playback_set_echo_probe (AicAudioPlayback *self,
                                                    gboolean           enabled);
void              aic_audio_playback_set_prebuffer (AicAudioPlayback  *self,
                                                    guint              milliseconds);
gboolean          aic_audio_playback_start         (AicAudioPlayback  *self,
                                                    GError           **error);
void              aic_audio_playback_push          (AicAudioPlayback  *self,
                                                    GBytes            *pcm);
guint64           aic_audio_playback_flush         (AicAudioPlayback  *self);
guint64           aic_audio_playback_get_played_ms (AicAudioPlayback  *self);
guint64           aic_audio_playback_get_queued_ms (AicAudioPlayback  *self);
gboolean          aic_audio_playback_is_playing    (AicAudioPlayback  *self);
void              aic_audio_playback_finish_async  (AicAudioPlayback  *self,
                                                    GCancellable      *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer           user_data);
gboolean          aic_audio_playback_finish_finish (AicAudioPlayback  *self,
                                                    GAsyncResult      *result,
                                                    GError           **error);
void              aic_audio_playback_stop          (AicAudioPlayback  *self);
GstElement       *aic_audio_playback_get_pipeline  (AicAudioPlayback  *self);
void              aic_audio_playback_set_base_time (AicAudioPlayback  *self,
                                                    GstClockTime       base_time);

G_END_DECLS
