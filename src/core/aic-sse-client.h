/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-sse-parser.h"

G_BEGIN_DECLS

#define AIC_TYPE_SSE_CLIENT (aic_sse_client_get_type ())

G_DECLARE_FINAL_TYPE (AicSseClient, aic_sse_client, AIC, SSE_CLIENT, GObject)

/* Builds the request for a reconnection; @last_event_id is "" when none. */
typedef SoupMessage *(*AicSseReconnectFunc) (AicSseClient *client,
                                             const char   *last_event_id,
                                             gpointer      user_data);

AicSseClient *aic_sse_client_new                (SoupSession          *session,
                                                 SoupMessage          *message);
void          aic_sse_client_set_request_body   (AicSseClient         *self,
                                                 const char           *content_type,
                                                 GBytes               *body);
void          aic_sse_client_set_keep_complete  (AicSseClient         *self,
                                                 gboolean              keep_complete);
void          aic_sse_client_set_reconnect      (AicSseClient         *self,
                                                 guint                 max_attempts,
                                                 AicSseReconnectFunc   func,
                                                 gpointer              user_data,
                                                 GDestroyNotify        destroy);
void          aic_sse_client_set_resume_at_end  (AicSseClient         *self,
                                                 gboolean              resume_at_end);
void          aic_sse_client_set_idle_timeout   (AicSseClient         *self,
                                                 guint                 seconds);
void          aic_sse_client_set_limits         (AicSseClient         *self,
                                                 gsize                 max_line,
                                                 gsize                 max_event);
guint         aic_sse_client_get_retry_ms       (AicSseClient         *self);
const char   *aic_sse_client_get_last_event_id  (AicSseClient         *self);
guint         aic_sse_client_get_reconnects     (AicSseClient         *self);
gsize         aic_sse_client_get_event_data_length (AicSseClient      *self);
void          aic_sse_client_stop               (AicSseClient         *self);
void          aic_sse_client_run_async          (AicSseClient         *self,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
gboolean      aic_sse_client_run_finish         (AicSseClient         *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);

G_END_DECLS
