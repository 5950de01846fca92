/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "aic-client.h"
#include "aic-conversation.h"
#include "aic-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_CHAT_PAGE (aic_chat_page_get_type ())

G_DECLARE_FINAL_TYPE (AicChatPage, aic_chat_page, AIC, CHAT_PAGE, GtkWidget)

void             aic_chat_page_set_store        (AicChatPage        *self,
                                                 AicStore           *store);
void             aic_chat_page_set_client       (AicChatPage        *self,
                                                 AicClient          *client);
void             aic_chat_page_set_models       (AicChatPage        *self,
                                                 const char * const *models);
AicConversation *aic_chat_page_get_conversation (AicChatPage        *self);
void             aic_chat_page_open             (AicChatPage        *self,
                                                 const char         *conversation_id);

G_END_DECLS
