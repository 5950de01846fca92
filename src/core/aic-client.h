/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-connection.h"
#include "aic-service-info.h"

G_BEGIN_DECLS

#define AIC_TYPE_CLIENT (aic_client_get_type ())

G_DECLARE_FINAL_TYPE (AicClient, aic_client, AIC, CLIENT, GObject)

AicClient      *aic_client_new             (AicConnection        *connection,
                                            const char           *key);
AicConnection  *aic_client_get_connection  (AicClient            *self);
SoupSession    *aic_client_get_session     (AicClient            *self);
SoupSession    *aic_client_get_stream_session (AicClient         *self);
void            aic_client_set_max_streams (AicClient            *self,
                                            guint                 max_streams);
const char     *aic_client_get_key         (AicClient            *self);
void            aic_client_set_timeout     (AicClient            *self,
                                            guint                 seconds);
SoupMessage    *aic_client_new_message     (AicClient            *self,
                                            const char           *method,
                                            const char           *path);
void            aic_client_check_async     (AicClient            *self,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
AicServiceInfo *aic_client_check_finish    (AicClient            *self,
                                            GAsyncResult         *result,
                                            GError              **error);
char           *aic_service_info_describe  (const AicServiceInfo *info);

G_END_DECLS
