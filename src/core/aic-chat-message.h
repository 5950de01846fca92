/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "aic-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_MESSAGE_STATE (aic_message_state_get_type ())
GType aic_message_state_get_type (void) G_GNUC_CONST;

#define AIC_TYPE_CHAT_MESSAGE (aic_chat_message_get_type ())

G_DECLARE_FINAL_TYPE (AicChatMessage, aic_chat_message, AIC, CHAT_MESSAGE, GObject)

AicChatMessage  *aic_chat_message_new             (gint64               id,
                                                   const char          *role,
                                                   const char          *text,
                                                   AicMessageState      state);
AicChatMessage  *aic_chat_message_new_from_stored (const AicStoredMessage *stored);
gint64           aic_chat_message_get_id          (AicChatMessage      *self);
const char      *aic_chat_message_get_role        (AicChatMessage      *self);
gboolean         aic_chat_message_is_user         (AicChatMessage      *self);
const char      *aic_chat_message_get_text        (AicChatMessage      *self);
void             aic_chat_message_append          (AicChatMessage      *self,
                                                   const char          *text);
AicMessageState  aic_chat_message_get_state       (AicChatMessage      *self);
void             aic_chat_message_set_state       (AicChatMessage      *self,
                                                   AicMessageState      state,
                                                   const char          *error);
const char      *aic_chat_message_get_error       (AicChatMessage      *self);
void             aic_chat_message_set_stats       (AicChatMessage      *self,
                                                   const char          *model,
                                                   gint64               first_token_ms,
                                                   gint64               duration_ms,
                                                   gint64               tokens);
const char      *aic_chat_message_get_model       (AicChatMessage      *self);
char            *aic_chat_message_dup_stats_text  (AicChatMessage      *self);

G_END_DECLS
