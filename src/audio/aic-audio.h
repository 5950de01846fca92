/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The wire format of voice sessions (PROTOCOL.md): PCM16 LE, mono, 24 kHz,
 * sent in 20 ms frames. */
#define AIC_AUDIO_RATE          24000
#define AIC_AUDIO_CHANNELS      1
#define AIC_AUDIO_FRAME_MS      20
#define AIC_AUDIO_FRAME_SAMPLES (AIC_AUDIO_RATE / 1000 * AIC_AUDIO_FRAME_MS)
#define AIC_AUDIO_FRAME_BYTES   (AIC_AUDIO_FRAME_SAMPLES * 2 * AIC_AUDIO_CHANNELS)

gboolean aic_audio_init             (GError     **error);
gboolean aic_audio_check_elements   (const char * const *names,
                                     GError     **error);
gsize    aic_audio_bytes_for_ms     (guint        milliseconds);
GBytes  *aic_audio_wav_bytes        (GBytes      *pcm);

G_END_DECLS
