/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-voice-session.h"

G_BEGIN_DECLS

/* After a reply starts, the canceller takes a moment to settle: until
 * then, quieter frames (its leftovers) are sent as silence. */
#define AIC_VOICE_CALL_SETTLE_MS    2000
#define AIC_VOICE_CALL_SETTLE_DBFS  (-32.0)

#define AIC_TYPE_VOICE_CALL (aic_voice_call_get_type ())

G_DECLARE_FINAL_TYPE (AicVoiceCall, aic_voice_call, AIC, VOICE_CALL, GObject)

AicVoiceCall     *aic_voice_call_new          (AicVoiceSession  *session,
                                               AicAudioCapture  *capture,
                                               AicAudioPlayback *playback);
AicVoiceSession  *aic_voice_call_get_session  (AicVoiceCall     *self);
AicAudioCapture  *aic_voice_call_get_capture  (AicVoiceCall     *self);
AicAudioPlayback *aic_voice_call_get_playback (AicVoiceCall     *self);
void              aic_voice_call_set_gate     (AicVoiceCall     *self,
                                               gboolean          open);
gboolean          aic_voice_call_is_playing   (AicVoiceCall     *self);
void              aic_voice_call_barge_in     (AicVoiceCall     *self);
void              aic_voice_call_set_echo_warmup (AicVoiceCall  *self,
                                               guint             milliseconds);

G_END_DECLS
