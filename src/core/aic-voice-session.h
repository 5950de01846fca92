/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-client.h"
#include "aic-realtime.h"

G_BEGIN_DECLS

typedef enum
{
  AIC_VOICE_DISCONNECTED,
  AIC_VOICE_CONNECTING,
  AIC_VOICE_LISTENING,       /* waiting for the user */
  AIC_VOICE_USER_SPEAKING,
  AIC_VOICE_THINKING,        /* turn ended, no reply audio yet */
  AIC_VOICE_SPEAKING,        /* reply audio arriving */
} AicVoiceState;

#define AIC_TYPE_VOICE_SESSION (aic_voice_session_get_type ())

G_DECLARE_FINAL_TYPE (AicVoiceSession, aic_voice_session, AIC, VOICE_SESSION, GObject)

AicVoiceSession *aic_voice_session_new            (AicClient        *client,
                                                   const char       *path);
void             aic_voice_session_set_turn_detection (AicVoiceSession *self,
                                                   gboolean          server_vad,
                                                   double            threshold,
                                                   guint             prefix_padding_ms,
                                                   guint             silence_duration_ms);
void             aic_voice_session_set_instructions (AicVoiceSession *self,
                                                   const char       *instructions);
void             aic_voice_session_set_reconnect  (AicVoiceSession  *self,
                                                   guint             max_attempts,
                                                   guint             first_delay_ms);
AicVoiceState    aic_voice_session_get_state      (AicVoiceSession  *self);
void             aic_voice_session_connect_async  (AicVoiceSession  *self,
                                                   GCancellable     *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer          user_data);
gboolean         aic_voice_session_connect_finish (AicVoiceSession  *self,
                                                   GAsyncResult     *result,
                                                   GError          **error);
void             aic_voice_session_send_audio     (AicVoiceSession  *self,
                                                   GBytes           *pcm);
void             aic_voice_session_send_silence   (AicVoiceSession  *self,
                                                   guint             milliseconds);
void             aic_voice_session_commit         (AicVoiceSession  *self);
void             aic_voice_session_interrupt      (AicVoiceSession  *self,
                                                   guint64           heard_ms);
void             aic_voice_session_close          (AicVoiceSession  *self);
guint            aic_voice_session_get_reconnects (AicVoiceSession  *self);
void             aic_voice_session_set_keepalive  (AicVoiceSession  *self,
                                                   guint             seconds);
guint            aic_voice_session_get_pongs      (AicVoiceSession  *self);
guint64          aic_voice_session_get_sent_audio_ms (AicVoiceSession *self);
gboolean         aic_voice_session_get_speech_to_text (AicVoiceSession *self);
const char      *aic_voice_session_get_error_code (AicVoiceSession  *self);

G_END_DECLS
