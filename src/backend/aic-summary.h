/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The result of a document analysis (PROTOCOL.md "Document analysis"). */
typedef struct
{
  char  *title;
  char  *summary;
  char **key_points;
} AicSummary;

void        aic_summary_free             (AicSummary   *summary);
GPtrArray  *aic_summary_split_sentences  (const char   *text);
GPtrArray  *aic_summary_split_parts      (const char   *text,
                                          gsize         max_chars);
char       *aic_summary_guess_title      (const char   *text,
                                          const char   *filename);
GPtrArray  *aic_summary_pick_sentences   (GPtrArray    *sentences,
                                          guint         n);
AicSummary *aic_summary_combine          (GPtrArray    *candidates,
                                          const char   *title);
AicSummary *aic_summary_parse_reply      (const char   *reply,
                                          const char   *fallback_title);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicSummary, aic_summary_free)

G_END_DECLS
