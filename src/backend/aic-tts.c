/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-module-api.h"
#include "aic-pcm.h"
#include "aic-tts.h"

/* Speech for the voice pipeline when no upstream speaks: libespeak-ng,
 * offline, in a module loaded the first time it speaks. eSpeak keeps
 * global state, so one synthesis runs at a time, under a lock, in a
 * worker thread; its 22,050 Hz output is resampled to the wire format's
 * 24 kHz. */

static GMutex espeak_lock;
static const AicSpeechModule *espeak;
static int espeak_rate;   /* 0: not tried; -1: unavailable */

GBytes *
aic_tts_resample (const gint16 *samples,
                  gsize         n_samples,
                  guint         from_rate)
{
  gsize n_out;
  gint16 *out;

  if (from_rate == AIC_AUDIO_RATE || n_samples == 0)
    return g_bytes_new (samples, n_samples * 2);

  /* Linear interpolation: plenty for synthetic speech. */
  n_out = (gsize) ((guint64) n_samples * AIC_AUDIO_RATE / from_rate);
  out = g_new (gint16, MAX (n_out, 1));
  for (gsize i = 0; i < n_out; i++)
    {
      double position = (double) i * from_rate / AIC_AUDIO_RATE;
      gsize left = (gsize) position;
      double fraction = position - left;
      double a = samples[MIN (left, n_samples - 1)];
      double b = samples[MIN (left + 1, n_samples - 1)];

      out[i] = (gint16) (a + (b - a) * fraction);
    }
  return g_bytes_new_take (out, n_out * 2);
}

static guint16
read16 (const guint8 *p)
{
  return (guint16) (p[0] | p[1] << 8);
}

static guint32
read32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

/**
 * aic_tts_is_wav:
 * Returns: whether @data starts like a RIFF WAVE file
 */
gboolean
aic_tts_is_wav (GBytes *data)
{
  gsize size;
  const guint8 *p = g_bytes_get_data (data, &size);

  return size >= 12 && memcmp (p, "RIFF", 4) == 0 && memcmp (p + 8, "WAVE", 4) == 0;
}

/**
 * aic_tts_decode_wav:
 * @wav: a WAV file: 16-bit integer or 32-bit float PCM, any rate, any
 *   number of channels
 *
 * Speech servers answer /audio/speech with WAV when asked for it, and
 * some whatever they were asked. Channels are mixed down and the rate
 * converted to the wire format. A data chunk whose size is unknown (0 or
 * 0xFFFFFFFF, as streamed WAV has it) runs to the end of the file.
 * Returns: (transfer full): PCM16 mono 24 kHz, or %NULL with
 *   %AIC_ERROR_PROTOCOL or %AIC_ERROR_UNSUPPORTED
 */
GBytes *
aic_tts_decode_wav (GBytes  *wav,
                    GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (wav, &size);
  gsize offset = 12;
  guint format = 0, channels = 0, rate = 0, bits = 0;
  gboolean have_format = FALSE;
  g_autofree gint16 *mono = NULL;
  gsize n_frames, frame_bytes;

  if (!aic_tts_is_wav (wav))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "The speech server's answer is not a WAV file.");
      return NULL;
    }

  while (offset + 8 <= size)
    {
      const guint8 *chunk = data + offset;
      guint32 length = read32 (chunk + 4);
      gsize available = size - offset - 8;

      if (memcmp (chunk, "fmt ", 4) == 0 && length >= 16 && length <= available)
        {
          format = read16 (chunk + 8);
          channels = read16 (chunk + 10);
          rate = read32 (chunk + 12);
          bits = read16 (chunk + 22);
          /* WAVE_FORMAT_EXTENSIBLE names the real format in its GUID. */
          if (format == 0xFFFE && length >= 40)
            format = read16 (chunk + 32);
          have_format = TRUE;
        }
      else if (memcmp (chunk, "data", 4) == 0)
        {
          if (!have_format || channels == 0 || rate == 0 ||
              !((format == 1 && bits == 16) || (format == 3 && bits == 32)))
            {
              g_set_error (error, AIC_ERROR, AIC_ERROR_UNSUPPORTED,
                           "The speech server's WAV is in a format that cannot be played "
                           "(format %u, %u bits, %u channels, %u Hz).", format, bits, channels, rate);
              return NULL;
            }
          if (length == 0 || length > available)
            length = available;
          frame_bytes = (gsize) channels * bits / 8;
          n_frames = length / frame_bytes;
          mono = g_new0 (gint16, MAX (n_frames, 1));
          for (gsize i = 0; i < n_frames; i++)
            {
              const guint8 *frame = chunk + 8 + i * frame_bytes;
              double sum = 0;

              for (guint c = 0; c < channels; c++)
                {
                  if (format == 1)
                    sum += (gint16) read16 (frame + 2 * c);
                  else
                    {
                      guint32 raw = read32 (frame + 4 * c);
                      float value;

                      memcpy (&value, &raw, 4);
                      sum += CLAMP (value, -1.0f, 1.0f) * 32767.0;
                    }
                }
              mono[i] = (gint16) (sum / channels);
            }
          return aic_tts_resample (mono, n_frames, rate);
        }
      /* Chunks are padded to an even length. */
      if ((gsize) length + (length & 1) > available)
        break;
      offset += 8 + length + (length & 1);
    }

  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "The speech server's WAV file holds no audio.");
  return NULL;
}

/**
 * aic_tts_espeak:
 * @voice: (nullable): an eSpeak voice name, such as "en-us"
 *
 * Speaks @text with eSpeak NG. Blocking: call it from a worker thread.
 * Returns: (transfer full): PCM16 mono 24 kHz
 */
GBytes *
aic_tts_espeak (const char  *text,
                const char  *voice,
                GError     **error)
{
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (gint16));
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&espeak_lock);
  int result;

  if (espeak == NULL)
    {
      g_autoptr(GError) local_error = NULL;

      espeak = aic_module_get (AIC_SPEECH_MODULE_NAME, AIC_SPEECH_MODULE_SYMBOL, &local_error);
      if (espeak == NULL)
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED, "eSpeak NG cannot speak here. %s", local_error->message);
          return NULL;
        }
    }
  if (espeak_rate == 0)
    {
      espeak_rate = espeak->start ();
      if (espeak_rate <= 0)
        espeak_rate = -1;
    }
  if (espeak_rate < 0)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_FAILED,
                           "eSpeak NG could not be started; is its data (espeak-ng-data) installed?");
      return NULL;
    }

  if (!espeak->set_voice (voice ? voice : "en"))
    espeak->set_voice ("en");
  result = espeak->speak (text, samples);
  if (result != 0)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED, "eSpeak NG could not speak the text (error %d).", result);
      return NULL;
    }
  return aic_tts_resample ((const gint16 *) samples->data, samples->len, espeak_rate);
}

static void
speak_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  char **args = task_data;
  GError *error = NULL;
  GBytes *pcm;

  if (g_task_return_error_if_cancelled (task))
    return;
  pcm = aic_tts_espeak (args[0], args[1], &error);
  if (pcm == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, pcm, (GDestroyNotify) g_bytes_unref);
}

void
aic_tts_espeak_async (const char          *text,
                      const char          *voice,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  char **args = g_new0 (char *, 3);

  args[0] = g_strdup (text);
  args[1] = g_strdup (voice);
  g_task_set_source_tag (task, aic_tts_espeak_async);
  g_task_set_task_data (task, args, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, speak_thread);
}

GBytes *
aic_tts_espeak_finish (GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
