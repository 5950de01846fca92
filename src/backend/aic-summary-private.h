/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One part of a text: where it starts and how long it is, in bytes. */
typedef struct
{
  gsize offset;
  gsize length;
} AicSummaryPart;

GArray *aic_summary_find_parts            (const char *text,
                                           gsize       max_chars);
gsize   aic_summary_debug_get_bytes_read  (void);

G_END_DECLS
