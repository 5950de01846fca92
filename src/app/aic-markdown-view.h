/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define AIC_TYPE_MARKDOWN_VIEW (aic_markdown_view_get_type ())

typedef enum
{
  AIC_LINK_POLICY_OPEN,     /* web and mail: opened at once */
  AIC_LINK_POLICY_ASK,      /* any other scheme: asked about first */
  AIC_LINK_POLICY_REFUSE,   /* no scheme: nowhere to go */
} AicLinkPolicy;

AicLinkPolicy aic_link_policy (const char *uri);

G_DECLARE_FINAL_TYPE (AicMarkdownView, aic_markdown_view, AIC, MARKDOWN_VIEW, GtkWidget)

GtkWidget  *aic_markdown_view_new            (void);
void        aic_markdown_view_set_text       (AicMarkdownView *self,
                                              const char      *text);
void        aic_markdown_view_append         (AicMarkdownView *self,
                                              const char      *text);
void        aic_markdown_view_flush          (AicMarkdownView *self);
const char *aic_markdown_view_get_text       (AicMarkdownView *self);
guint       aic_markdown_view_get_n_blocks   (AicMarkdownView *self);
guint       aic_markdown_view_get_n_renders  (AicMarkdownView *self);
gsize       aic_markdown_view_get_parsed_bytes (AicMarkdownView *self);

void aic_markdown_view_warm_up (void);

G_END_DECLS
