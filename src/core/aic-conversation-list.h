/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-conversation-item.h"
#include "aic-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_CONVERSATION_LIST (aic_conversation_list_get_type ())

G_DECLARE_FINAL_TYPE (AicConversationList, aic_conversation_list, AIC, CONVERSATION_LIST, GObject)

AicConversationList *aic_conversation_list_new        (AicStore            *store);
const char          *aic_conversation_list_get_search (AicConversationList *self);
gboolean             aic_conversation_list_set_search (AicConversationList *self,
                                                       const char          *search,
                                                       GError             **error);
gboolean             aic_conversation_list_refresh    (AicConversationList *self,
                                                       GError             **error);
guint                aic_conversation_list_find       (AicConversationList *self,
                                                       const char          *conversation_id);
guint                aic_conversation_list_get_n_made (AicConversationList *self);

G_END_DECLS
