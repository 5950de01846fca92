/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-engine.h"

G_BEGIN_DECLS

#define AIC_TYPE_VOICE_HUB (aic_voice_hub_get_type ())

G_DECLARE_FINAL_TYPE (AicVoiceHub, aic_voice_hub, AIC, VOICE_HUB, GObject)

AicVoiceHub *aic_voice_hub_new          (AicEngine               *engine);
void         aic_voice_hub_accept       (AicVoiceHub             *self,
                                         SoupWebsocketConnection *connection,
                                         gboolean                 beta);
guint        aic_voice_hub_get_n_sessions (AicVoiceHub           *self);

G_END_DECLS
