/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GBytes   *aic_tts_espeak                 (const char          *text,
                                          const char          *voice,
                                          GError             **error);
void      aic_tts_espeak_async           (const char          *text,
                                          const char          *voice,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
GBytes   *aic_tts_espeak_finish          (GAsyncResult        *result,
                                          GError             **error);
gboolean  aic_tts_is_wav                 (GBytes              *data);
GBytes   *aic_tts_decode_wav             (GBytes              *wav,
                                          GError             **error);
GBytes   *aic_tts_resample               (const gint16        *samples,
                                          gsize                n_samples,
                                          guint                from_rate);

G_END_DECLS
