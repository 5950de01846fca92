/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-client.h"

G_BEGIN_DECLS

#define AIC_TYPE_CHAT_STREAM (aic_chat_stream_get_type ())

G_DECLARE_FINAL_TYPE (AicChatStream, aic_chat_stream, AIC, CHAT_STREAM, GObject)

AicChatStream *aic_chat_stream_new                 (AicClient            *client);
void           aic_chat_stream_add_turn            (AicChatStream        *self,
                                                    const char           *role,
                                                    const char           *content);
void           aic_chat_stream_set_model           (AicChatStream        *self,
                                                    const char           *model);
void           aic_chat_stream_set_conversation_id (AicChatStream        *self,
                                                    const char           *conversation_id);
void           aic_chat_stream_set_max_resumes     (AicChatStream        *self,
                                                    guint                 max_resumes);
void           aic_chat_stream_run_async           (AicChatStream        *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean       aic_chat_stream_run_finish          (AicChatStream        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
void           aic_chat_stream_stop                (AicChatStream        *self);
const char    *aic_chat_stream_get_text            (AicChatStream        *self);
const char    *aic_chat_stream_get_model           (AicChatStream        *self);
const char    *aic_chat_stream_get_stream_id       (AicChatStream        *self);
const char    *aic_chat_stream_get_finish_reason   (AicChatStream        *self);
gint64         aic_chat_stream_get_prompt_tokens   (AicChatStream        *self);
gint64         aic_chat_stream_get_completion_tokens (AicChatStream      *self);
guint          aic_chat_stream_get_n_tokens        (AicChatStream        *self);
gint64         aic_chat_stream_get_first_token_us  (AicChatStream        *self);
gint64         aic_chat_stream_get_duration_us     (AicChatStream        *self);
guint          aic_chat_stream_get_resumes         (AicChatStream        *self);

G_END_DECLS
