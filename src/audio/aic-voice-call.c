/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-audio"

#include "config.h"

#include "aic-pcm.h"
#include "aic-voice-call.h"

/* A voice conversation's wiring, shared by the Voice view and the CLI:
 * microphone frames go to the session (while the gate is open, which
 * push-to-talk closes); reply audio goes to playback; when the server
 * hears the user start speaking over a reply, playback is flushed at once
 * and the session is told how many milliseconds were heard, so the reply
 * is cancelled and truncated there. A recording used as the microphone
 * ends with enough silence for the server's VAD to end the last turn. */

#define TRAILING_SILENCE_MS 1200

struct _AicVoiceCall
{
  GObject           parent_instance;

  AicVoiceSession  *session;
  AicAudioCapture  *capture;
  AicAudioPlayback *playback;
  gboolean          gate_open;
  guint64           pushed_ms;      /* reply audio handed to playback, in all */
  guint64           item_start_ms;  /* where the current reply began in it */
  gboolean          new_reply;
  guint             echo_warmup_ms;
};

G_DEFINE_FINAL_TYPE (AicVoiceCall, aic_voice_call, G_TYPE_OBJECT)

enum {
  BARGED_IN,
  INPUT_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
frame_cb (AicAudioCapture *capture,
          GBytes          *frame,
          AicVoiceCall    *self)
{
  if (self->gate_open)
    aic_voice_session_send_audio (self->session, frame);
}

static void
input_finished_cb (AicAudioCapture *capture,
                   AicVoiceCall    *self)
{
  aic_voice_session_send_silence (self->session, TRAILING_SILENCE_MS);
  g_signal_emit (self, signals[INPUT_FINISHED], 0);
}

static void
reply_audio_cb (AicVoiceSession *session,
                GBytes          *pcm,
                AicVoiceCall    *self)
{
  if (self->playback == NULL)
    return;
  /* Playback is one stream for every reply: note where this one starts,
   * so what was heard of it can be told apart from earlier replies. */
  if (self->new_reply)
    {
      self->item_start_ms = MAX (self->pushed_ms, aic_audio_playback_get_played_ms (self->playback));
      self->pushed_ms = self->item_start_ms;
      self->new_reply = FALSE;
      /* While the echo canceller learns this reply's echo, the
       * microphone's frames are held back, and for a while after only
       * speech louder than what is left of the echo goes through
       * (bench-echo measures both). */
      if (self->echo_warmup_ms > 0)
        {
          aic_audio_capture_hold (self->capture, self->echo_warmup_ms);
          aic_audio_capture_quiet_below (self->capture, AIC_VOICE_CALL_SETTLE_MS, AIC_VOICE_CALL_SETTLE_DBFS);
        }
    }
  self->pushed_ms += g_bytes_get_size (pcm) / aic_pcm_bytes_for_ms (1);
  aic_audio_playback_push (self->playback, pcm);
}

static void
response_done_cb (AicVoiceSession *session,
                  const char      *status,
                  AicVoiceCall    *self)
{
  self->new_reply = TRUE;
}

static void
speech_started_cb (AicVoiceSession *session,
                   AicVoiceCall    *self)
{
  aic_voice_call_barge_in (self);
}

static void
aic_voice_call_dispose (GObject *object)
{
  AicVoiceCall *self = AIC_VOICE_CALL (object);

  if (self->capture != NULL)
    g_signal_handlers_disconnect_by_data (self->capture, self);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->capture);
  g_clear_object (&self->session);
  g_clear_object (&self->playback);

  G_OBJECT_CLASS (aic_voice_call_parent_class)->dispose (object);
}

static void
aic_voice_call_class_init (AicVoiceCallClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = aic_voice_call_dispose;

  /**
   * AicVoiceCall::barged-in:
   * @heard_ms: how much of the interrupted reply had been played
   */
  signals[BARGED_IN] =
    g_signal_new ("barged-in", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
  /* A recording used as the microphone has been sent, and silence after it. */
  signals[INPUT_FINISHED] =
    g_signal_new ("input-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
aic_voice_call_init (AicVoiceCall *self)
{
  self->gate_open = TRUE;
  self->new_reply = TRUE;
}

/**
 * aic_voice_call_new:
 * @playback: (nullable): where replies are played; %NULL to take them
 *   from the session's ::reply-audio yourself
 */
AicVoiceCall *
aic_voice_call_new (AicVoiceSession  *session,
                    AicAudioCapture  *capture,
                    AicAudioPlayback *playback)
{
  AicVoiceCall *self;

  g_return_val_if_fail (AIC_IS_VOICE_SESSION (session), NULL);
  g_return_val_if_fail (AIC_IS_AUDIO_CAPTURE (capture), NULL);

  self = g_object_new (AIC_TYPE_VOICE_CALL, NULL);
  self->session = g_object_ref (session);
  self->capture = g_object_ref (capture);
  self->playback = playback ? g_object_ref (playback) : NULL;
  g_signal_connect (capture, "frame", G_CALLBACK (frame_cb), self);
  g_signal_connect (capture, "finished", G_CALLBACK (input_finished_cb), self);
  g_signal_connect (session, "reply-audio", G_CALLBACK (reply_audio_cb), self);
  g_signal_connect (session, "speech-started", G_CALLBACK (speech_started_cb), self);
  g_signal_connect (session, "response-done", G_CALLBACK (response_done_cb), self);
  return self;
}

AicVoiceSession *
aic_voice_call_get_session (AicVoiceCall *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_CALL (self), NULL);
  return self->session;
}

AicAudioCapture *
aic_voice_call_get_capture (AicVoiceCall *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_CALL (self), NULL);
  return self->capture;
}

AicAudioPlayback *
aic_voice_call_get_playback (AicVoiceCall *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_CALL (self), NULL);
  return self->playback;
}

/* Push-to-talk closes the gate; holding the key opens it. */
void
aic_voice_call_set_gate (AicVoiceCall *self,
                         gboolean      open)
{
  g_return_if_fail (AIC_IS_VOICE_CALL (self));
  self->gate_open = !!open;
}

gboolean
aic_voice_call_is_playing (AicVoiceCall *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_CALL (self), FALSE);
  return self->playback != NULL && aic_audio_playback_is_playing (self->playback);
}

/**
 * aic_voice_call_barge_in:
 * The user speaks over the reply: playback stops at once and the session
 * cancels the reply and truncates it to what was heard of it. Nothing
 * happens when nothing is playing.
 */
void
aic_voice_call_barge_in (AicVoiceCall *self)
{
  guint64 total, heard;

  g_return_if_fail (AIC_IS_VOICE_CALL (self));

  if (!aic_voice_call_is_playing (self))
    return;
  total = aic_audio_playback_flush (self->playback);
  heard = total > self->item_start_ms ? total - self->item_start_ms : 0;
  /* What was queued is gone: the next reply starts where playback is. */
  self->pushed_ms = total;
  self->new_reply = TRUE;
  aic_voice_session_interrupt (self->session, heard);
  g_signal_emit (self, signals[BARGED_IN], 0, heard);
}

/**
 * aic_voice_call_set_echo_warmup:
 * With echo cancellation, the first moments of a reply pass the canceller
 * before it has learnt the echo, enough for a server's VAD to take the
 * reply for the user speaking. The microphone is held for @milliseconds
 * at the start of each reply (0, the default, for none), and until
 * AIC_VOICE_CALL_SETTLE_MS only frames louder than
 * AIC_VOICE_CALL_SETTLE_DBFS go through.
 */
void
aic_voice_call_set_echo_warmup (AicVoiceCall *self,
                                guint         milliseconds)
{
  g_return_if_fail (AIC_IS_VOICE_CALL (self));
  self->echo_warmup_ms = milliseconds;
}
