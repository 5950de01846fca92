/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Text from a model or a server, made safe to show on a terminal: escape
 * sequences (CSI, OSC — including OSC 52, which writes the clipboard —,
 * DCS and the like) are removed whole, and every other C0 or C1 control
 * character but \t and \n is dropped. A filter keeps its state between
 * pieces, so a sequence split across streamed tokens is still removed.
 */
typedef struct
{
  guint    state;
  gboolean keep_newlines;   /* else each \n becomes a space */
} AicControlFilter;

void   aic_control_filter_init (AicControlFilter *filter,
                                gboolean          keep_newlines);
void   aic_control_filter_feed (AicControlFilter *filter,
                                const char       *text,
                                GString          *out);
char  *aic_control_strip       (const char       *text,
                                gboolean          keep_newlines);

G_END_DECLS
