/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-connection.h"

G_BEGIN_DECLS

#define AIC_SETTINGS_KEY_CONNECTIONS        "connections"
#define AIC_SETTINGS_KEY_ACTIVE_CONNECTION  "active-connection"
#define AIC_SETTINGS_KEY_SPEECH_CONNECTION  "speech-connection"
#define AIC_CONNECTION_SCHEMA_ID            BASE_APP_ID ".Connection"

#define AIC_TYPE_CONNECTION_STORE (aic_connection_store_get_type ())

G_DECLARE_FINAL_TYPE (AicConnectionStore, aic_connection_store, AIC, CONNECTION_STORE, GObject)

AicConnectionStore *aic_connection_store_new        (GSettings           *settings);
AicConnection      *aic_connection_store_lookup     (AicConnectionStore  *self,
                                                     const char          *id);
gboolean            aic_connection_store_add        (AicConnectionStore  *self,
                                                     AicConnection       *connection,
                                                     GError             **error);
gboolean            aic_connection_store_save       (AicConnectionStore  *self,
                                                     AicConnection       *connection,
                                                     GError             **error);
gboolean            aic_connection_store_remove     (AicConnectionStore  *self,
                                                     const char          *id);
AicConnection      *aic_connection_store_get_active (AicConnectionStore  *self);
void                aic_connection_store_set_active (AicConnectionStore  *self,
                                                     const char          *id);
AicConnection      *aic_connection_store_get_speech (AicConnectionStore  *self);
void                aic_connection_store_set_speech (AicConnectionStore  *self,
                                                     const char          *id);

G_END_DECLS
