/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define AIC_TYPE_CONVERSATION_ITEM (aic_conversation_item_get_type ())

G_DECLARE_FINAL_TYPE (AicConversationItem, aic_conversation_item, AIC, CONVERSATION_ITEM, GObject)

AicConversationItem *aic_conversation_item_new            (void);
const char          *aic_conversation_item_get_id         (AicConversationItem *self);
const char          *aic_conversation_item_get_title      (AicConversationItem *self);
gint64               aic_conversation_item_get_updated_at (AicConversationItem *self);
void                 aic_conversation_item_update         (AicConversationItem *self,
                                                           const char          *id,
                                                           const char          *title,
                                                           gint64               updated_at);

G_END_DECLS
