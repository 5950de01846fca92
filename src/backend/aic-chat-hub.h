/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-engine.h"

G_BEGIN_DECLS

#define AIC_TYPE_CHAT_HUB (aic_chat_hub_get_type ())

G_DECLARE_FINAL_TYPE (AicChatHub, aic_chat_hub, AIC, CHAT_HUB, GObject)

AicChatHub *aic_chat_hub_new          (AicEngine         *engine);
void        aic_chat_hub_set_timings  (AicChatHub        *self,
                                       guint              keep_alive_ms,
                                       guint              orphan_ms,
                                       guint              retention_ms);
void        aic_chat_hub_start        (AicChatHub        *self,
                                       SoupServerMessage *message);
void        aic_chat_hub_resume       (AicChatHub        *self,
                                       SoupServerMessage *message,
                                       const char        *stream_id);
void        aic_chat_hub_cancel       (AicChatHub        *self,
                                       SoupServerMessage *message,
                                       const char        *stream_id);
guint       aic_chat_hub_get_n_active (AicChatHub        *self);

G_END_DECLS
