/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <gst/gst.h>

#include "aic-pcm.h"

G_BEGIN_DECLS


gboolean aic_audio_init             (GError     **error);
GstClockTime aic_audio_clock_now    (void);
gboolean aic_audio_check_elements   (const char * const *names,
                                     GError     **error);
gsize    aic_audio_bytes_for_ms     (guint        milliseconds);
void     aic_audio_use_base_time    (GstElement  *pipeline,
                                     GstClockTime base_time);

G_END_DECLS
