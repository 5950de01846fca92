/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define AIC_HTTP_DEFAULT_MAX_BODY (4 * 1024 * 1024)

SoupSession *aic_http_session_new          (guint                 timeout_seconds);
SoupSession *aic_http_session_new_full     (guint                 timeout_seconds,
                                            guint                 max_per_host);
void         aic_http_set_bearer           (SoupMessage          *message,
                                            const char           *token);
void         aic_http_get_json_async       (SoupSession          *session,
                                            SoupMessage          *message,
                                            gsize                 max_body,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
JsonNode    *aic_http_get_json_finish      (GAsyncResult         *result,
                                            GError              **error);
GError      *aic_http_error_from_transport (const GError         *error,
                                            GUri                 *uri);
GError      *aic_http_error_from_status    (SoupMessage          *message,
                                            JsonNode             *body);
char        *aic_http_describe_uri         (GUri                 *uri);
gboolean     aic_http_chunked_tail_is_complete (const guint8     *tail,
                                                gsize             len);

G_END_DECLS
