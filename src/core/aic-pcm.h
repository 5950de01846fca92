/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The wire format of voice sessions (PROTOCOL.md): PCM16 LE, mono, 24 kHz,
 * sent in 20 ms frames. In core, so the backend knows it without GStreamer. */
#define AIC_AUDIO_RATE          24000
#define AIC_AUDIO_CHANNELS      1
#define AIC_AUDIO_FRAME_MS      20
#define AIC_AUDIO_FRAME_SAMPLES (AIC_AUDIO_RATE / 1000 * AIC_AUDIO_FRAME_MS)
#define AIC_AUDIO_FRAME_BYTES   (AIC_AUDIO_FRAME_SAMPLES * 2 * AIC_AUDIO_CHANNELS)

static inline gsize
aic_pcm_bytes_for_ms (guint milliseconds)
{
  return (gsize) AIC_AUDIO_RATE / 1000 * milliseconds * 2 * AIC_AUDIO_CHANNELS;
}

GBytes *aic_pcm_wav_bytes (GBytes *pcm);

G_END_DECLS
