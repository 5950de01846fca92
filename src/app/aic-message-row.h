/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "aic-chat-message.h"

G_BEGIN_DECLS

#define AIC_TYPE_MESSAGE_ROW (aic_message_row_get_type ())

G_DECLARE_FINAL_TYPE (AicMessageRow, aic_message_row, AIC, MESSAGE_ROW, GtkWidget)

GtkWidget *aic_message_row_new         (void);
void       aic_message_row_set_message (AicMessageRow  *self,
                                        AicChatMessage *message);
void       aic_message_row_set_deferred  (AicMessageRow  *self,
                                          gboolean        may_defer);
gboolean   aic_message_row_is_deferred   (AicMessageRow  *self);
void       aic_message_row_show_content  (AicMessageRow  *self);
gboolean   aic_message_row_move_focus  (AicMessageRow    *self,
                                        GtkWidget        *focus,
                                        GtkDirectionType  direction);

G_END_DECLS
