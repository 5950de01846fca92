/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <math.h>
#include <string.h>

#include "aic-pcm.h"
#include "aic-vad.h"

/* Server-side turn detection by energy, with the knobs of the Realtime
 * API's server_vad (PROTOCOL.md "Voice"): threshold, prefix_padding_ms,
 * silence_duration_ms.
 *
 * A frame is speech when its RMS level is above a line set by threshold
 * (0 → −60 dBFS, very sensitive; 0.5 → −35 dBFS; 1 → −10 dBFS, only
 * loud speech). Speech starts after two speech frames in a row, so a
 * click does not start a turn, and stops once silence has lasted
 * silence_duration_ms. The utterance handed on keeps prefix_padding_ms of
 * audio from before the start, so the first syllable is not clipped.
 * Times are milliseconds of audio fed since the start or the last reset. */

#define START_FRAMES 2

struct _AicVad
{
  double      threshold_db;
  guint       prefix_ms;
  guint       silence_ms;

  guint64     position_samples;
  GByteArray *before;            /* the last prefix_ms of audio, while silent */
  GByteArray *utterance;         /* prefix + speech, while speaking */
  guint       speech_run;        /* speech frames in a row */
  guint64     silence_samples;   /* silence in a row, while speaking */
  gboolean    speaking;
  guint64     start_ms;
  guint64     end_ms;
};

double
aic_vad_threshold_db (double threshold)
{
  return -60.0 + 50.0 * CLAMP (threshold, 0.0, 1.0);
}

AicVad *
aic_vad_new (double threshold,
             guint  prefix_padding_ms,
             guint  silence_duration_ms)
{
  AicVad *vad = g_new0 (AicVad, 1);

  vad->threshold_db = aic_vad_threshold_db (threshold);
  vad->prefix_ms = prefix_padding_ms;
  vad->silence_ms = MAX (silence_duration_ms, AIC_AUDIO_FRAME_MS);
  vad->before = g_byte_array_new ();
  vad->utterance = g_byte_array_new ();
  return vad;
}

void
aic_vad_free (AicVad *vad)
{
  if (vad == NULL)
    return;
  g_byte_array_unref (vad->before);
  g_byte_array_unref (vad->utterance);
  g_free (vad);
}

/* Forgets everything, as after input_audio_buffer.clear. */
void
aic_vad_reset (AicVad *vad)
{
  vad->position_samples = 0;
  g_byte_array_set_size (vad->before, 0);
  g_byte_array_set_size (vad->utterance, 0);
  vad->speech_run = 0;
  vad->silence_samples = 0;
  vad->speaking = FALSE;
  vad->start_ms = vad->end_ms = 0;
}

static double
level_db (const gint16 *samples,
          gsize         n)
{
  double sum = 0;

  if (n == 0)
    return -120.0;
  for (gsize i = 0; i < n; i++)
    sum += (double) samples[i] * samples[i];
  sum = sqrt (sum / n) / 32768.0;
  return sum > 1e-6 ? 20.0 * log10 (sum) : -120.0;
}

static guint64
samples_to_ms (guint64 samples)
{
  return samples * 1000 / AIC_AUDIO_RATE;
}

/* Keeps prefix_ms of audio before the speech frames seen so far. */
static void
keep_prefix (AicVad *vad,
             gsize   speech_bytes)
{
  gsize keep = aic_pcm_bytes_for_ms (vad->prefix_ms) + speech_bytes;

  if (vad->before->len > keep)
    g_byte_array_remove_range (vad->before, 0, vad->before->len - keep);
}

/**
 * aic_vad_feed:
 * @samples: PCM16 mono 24 kHz, best a 20 ms frame at a time
 */
AicVadEvent
aic_vad_feed (AicVad       *vad,
              const gint16 *samples,
              gsize         n_samples)
{
  gboolean speech = level_db (samples, n_samples) > vad->threshold_db;
  AicVadEvent event = AIC_VAD_NOTHING;
  guint64 frame_start = vad->position_samples;

  vad->position_samples += n_samples;

  if (!vad->speaking)
    {
      g_byte_array_append (vad->before, (const guint8 *) samples, n_samples * 2);
      vad->speech_run = speech ? vad->speech_run + 1 : 0;
      if (vad->speech_run >= START_FRAMES)
        {
          /* The turn began with the first of the speech frames. */
          guint64 first = frame_start - (guint64) (vad->speech_run - 1) * n_samples;
          keep_prefix (vad, (gsize) vad->speech_run * n_samples * 2);
          g_byte_array_set_size (vad->utterance, 0);
          g_byte_array_append (vad->utterance, vad->before->data, vad->before->len);
          g_byte_array_set_size (vad->before, 0);
          vad->speaking = TRUE;
          vad->silence_samples = 0;
          vad->start_ms = samples_to_ms (first);
          event = AIC_VAD_SPEECH_STARTED;
        }
      else
        keep_prefix (vad, (gsize) vad->speech_run * n_samples * 2);
      return event;
    }

  g_byte_array_append (vad->utterance, (const guint8 *) samples, n_samples * 2);
  vad->silence_samples = speech ? 0 : vad->silence_samples + n_samples;
  if (samples_to_ms (vad->silence_samples) >= vad->silence_ms)
    {
      vad->speaking = FALSE;
      vad->speech_run = 0;
      vad->end_ms = samples_to_ms (vad->position_samples);
      event = AIC_VAD_SPEECH_STOPPED;
    }
  return event;
}

gboolean
aic_vad_in_speech (AicVad *vad)
{
  return vad->speaking;
}

guint64
aic_vad_get_position_ms (AicVad *vad)
{
  return samples_to_ms (vad->position_samples);
}

guint64
aic_vad_get_start_ms (AicVad *vad)
{
  return vad->start_ms;
}

/* When the silence that ended the turn had lasted long enough. */
guint64
aic_vad_get_end_ms (AicVad *vad)
{
  return vad->end_ms;
}

/**
 * aic_vad_take_utterance:
 * Returns: (transfer full): the last turn's audio, prefix padding
 *   included; the VAD keeps none of it
 */
GBytes *
aic_vad_take_utterance (AicVad *vad)
{
  GBytes *bytes = g_bytes_new (vad->utterance->data, vad->utterance->len);

  g_byte_array_set_size (vad->utterance, 0);
  return bytes;
}
