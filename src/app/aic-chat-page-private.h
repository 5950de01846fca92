/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-chat-page.h"

G_BEGIN_DECLS

guint       aic_chat_page_get_n_conversation_rows (AicChatPage *self);
guint       aic_chat_page_get_n_message_rows      (AicChatPage *self);
GListModel *aic_chat_page_get_conversation_model  (AicChatPage *self);
GtkWidget  *aic_chat_page_get_search_entry        (AicChatPage *self);
GtkWidget  *aic_chat_page_get_message_view        (AicChatPage *self);
void        aic_chat_page_note_person_scrolled    (AicChatPage *self);

G_END_DECLS
