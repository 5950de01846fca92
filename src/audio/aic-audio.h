/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "aic-pcm.h"

G_BEGIN_DECLS


gboolean aic_audio_init             (GError     **error);
gboolean aic_audio_check_elements   (const char * const *names,
                                     GError     **error);
gsize    aic_audio_bytes_for_ms     (guint        milliseconds);

G_END_DECLS
