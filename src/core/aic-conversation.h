/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-chat-message.h"
#include "aic-client.h"
#include "aic-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_CONVERSATION (aic_conversation_get_type ())

G_DECLARE_FINAL_TYPE (AicConversation, aic_conversation, AIC, CONVERSATION, GObject)

AicConversation *aic_conversation_new            (AicStore         *store,
                                                  const char       *conversation_id,
                                                  GError          **error);
const char      *aic_conversation_get_id         (AicConversation  *self);
const char      *aic_conversation_get_title      (AicConversation  *self);
GListModel      *aic_conversation_get_messages   (AicConversation  *self);
gboolean         aic_conversation_get_busy       (AicConversation  *self);
void             aic_conversation_set_client     (AicConversation  *self,
                                                  AicClient        *client);
const char      *aic_conversation_get_model      (AicConversation  *self);
void             aic_conversation_set_model      (AicConversation  *self,
                                                  const char       *model);
gboolean         aic_conversation_send           (AicConversation  *self,
                                                  const char       *text,
                                                  GError          **error);
void             aic_conversation_stop           (AicConversation  *self);
gboolean         aic_conversation_regenerate     (AicConversation  *self,
                                                  GError          **error);
gboolean         aic_conversation_edit_last      (AicConversation  *self,
                                                  const char       *text,
                                                  GError          **error);
gboolean         aic_conversation_can_regenerate (AicConversation  *self);
AicChatMessage  *aic_conversation_get_last_user  (AicConversation  *self);

G_END_DECLS
