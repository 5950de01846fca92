/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-pcm.h"

/**
 * aic_pcm_wav_bytes:
 * @pcm: PCM16 mono 24 kHz samples
 * Returns: (transfer full): a WAV file holding them
 */
GBytes *
aic_pcm_wav_bytes (GBytes *pcm)
{
  gsize size = g_bytes_get_size (pcm);
  GByteArray *wav = g_byte_array_sized_new (44 + size);
  guint32 u32;
  guint16 u16;

#define PUT(bytes, n) g_byte_array_append (wav, (const guint8 *) (bytes), n)
#define PUT32(value) (u32 = GUINT32_TO_LE (value), PUT (&u32, 4))
#define PUT16(value) (u16 = GUINT16_TO_LE (value), PUT (&u16, 2))
  PUT ("RIFF", 4);
  PUT32 (36 + size);
  PUT ("WAVEfmt ", 8);
  PUT32 (16);
  PUT16 (1);                                     /* PCM */
  PUT16 (AIC_AUDIO_CHANNELS);
  PUT32 (AIC_AUDIO_RATE);
  PUT32 (AIC_AUDIO_RATE * 2 * AIC_AUDIO_CHANNELS); /* bytes per second */
  PUT16 (2 * AIC_AUDIO_CHANNELS);                /* block align */
  PUT16 (16);                                    /* bits per sample */
  PUT ("data", 4);
  PUT32 (size);
  PUT (g_bytes_get_data (pcm, NULL), size);
#undef PUT
#undef PUT32
#undef PUT16

  return g_byte_array_free_to_bytes (wav);
}
