/* SPDX-License-Identifier: GPL-3.0-or-later */
/* aic-speech: the part of the backend that links libespeak-ng, loaded the
 * first time the voice pipeline speaks without an upstream (aic-tts.c,
 * which holds the lock every call here needs). */

#include <espeak-ng/speak_lib.h>
#include <string.h>

#include "aic-module-api.h"

static int
collect_cb (short        *wav,
            int           n_samples,
            espeak_EVENT *events)
{
  GArray *samples = events != NULL ? events->user_data : NULL;

  if (wav != NULL && n_samples > 0 && samples != NULL)
    g_array_append_vals (samples, wav, n_samples);
  return 0;
}

static int
speech_start (void)
{
  int rate = espeak_Initialize (AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, 0);

  if (rate > 0)
    espeak_SetSynthCallback (collect_cb);
  return rate;
}

static gboolean
speech_set_voice (const char *name)
{
  return espeak_SetVoiceByName (name) == EE_OK;
}

static int
speech_speak (const char *text,
              GArray     *samples)
{
  return espeak_Synth (text, strlen (text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, samples);
}

G_MODULE_EXPORT const AicSpeechModule aic_speech_module = {
  .abi = AIC_MODULE_ABI,
  .start = speech_start,
  .set_voice = speech_set_voice,
  .speak = speech_speak,
};
