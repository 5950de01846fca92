/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What one fed frame changed. */
typedef enum
{
  AIC_VAD_NOTHING,
  AIC_VAD_SPEECH_STARTED,
  AIC_VAD_SPEECH_STOPPED,
} AicVadEvent;

typedef struct _AicVad AicVad;

AicVad      *aic_vad_new                (double         threshold,
                                         guint          prefix_padding_ms,
                                         guint          silence_duration_ms);
void         aic_vad_free               (AicVad        *vad);
void         aic_vad_reset              (AicVad        *vad);
AicVadEvent  aic_vad_feed               (AicVad        *vad,
                                         const gint16  *samples,
                                         gsize          n_samples);
gboolean     aic_vad_in_speech          (AicVad        *vad);
guint64      aic_vad_get_position_ms    (AicVad        *vad);
guint64      aic_vad_get_start_ms       (AicVad        *vad);
guint64      aic_vad_get_end_ms         (AicVad        *vad);
GBytes      *aic_vad_take_utterance     (AicVad        *vad);
double       aic_vad_threshold_db       (double         threshold);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicVad, aic_vad_free)

G_END_DECLS
