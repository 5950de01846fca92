/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-agent-hub.h"
#include "aic-chat-hub.h"
#include "aic-engine.h"
#include "aic-job-hub.h"
#include "aic-voice-hub.h"

G_BEGIN_DECLS

#define AIC_SERVER_DEFAULT_PORT 8765
#define AIC_SERVER_DEFAULT_MAX_UPLOAD (25 * 1024 * 1024)
/* Connections the kernel completes and queues for us before we accept
 * them. A burst past it is dropped and waits out SYN retries (1 s, 3 s,
 * 7 s…): with libsoup's backlog of 10, 1,000 clients at once took a
 * minute. The kernel caps it at net.core.somaxconn (4096 since Linux 5.4,
 * 128 before: raise that sysctl on an older kernel). */
#define AIC_SERVER_LISTEN_BACKLOG 4096
#define AIC_SERVER_DEFAULT_HEADER_TIMEOUT_S 10
/* Bytes a second a request body must average after the header timeout. */
#define AIC_SERVER_MIN_BODY_RATE 1024

#define AIC_TYPE_SERVER (aic_server_get_type ())

G_DECLARE_FINAL_TYPE (AicServer, aic_server, AIC, SERVER, GObject)

AicServer  *aic_server_new                 (AicEngine    *engine,
                                            const char   *token);
void        aic_server_set_allowed_origins (AicServer    *self,
                                            const char * const *origins);
void        aic_server_set_max_upload_bytes (AicServer *self,
                                            gint64     max_bytes);
guint       aic_server_raise_fd_limit      (void);
void        aic_server_set_max_connections (AicServer    *self,
                                            guint         max_connections);
void        aic_server_set_header_timeout  (AicServer    *self,
                                            guint         seconds);
void        aic_server_set_tls_certificate (AicServer    *self,
                                            GTlsCertificate *certificate);
gboolean    aic_server_listen              (AicServer    *self,
                                            const char   *host,
                                            guint         port,
                                            GError      **error);
void        aic_server_disconnect          (AicServer    *self);
guint       aic_server_get_port            (AicServer    *self);
char       *aic_server_dup_url             (AicServer    *self);
AicEngine  *aic_server_get_engine          (AicServer    *self);
AicChatHub *aic_server_get_chat_hub        (AicServer    *self);
gboolean    aic_server_open_jobs           (AicServer    *self,
                                            const char   *data_dir,
                                            GError      **error);
void        aic_server_set_workers         (AicServer    *self,
                                            guint         n_workers);
void        aic_server_set_document_limits (AicServer    *self,
                                            const AicDocumentLimits *limits);
AicJobHub  *aic_server_get_job_hub         (AicServer    *self);
AicVoiceHub *aic_server_get_voice_hub      (AicServer    *self);
gboolean    aic_server_open_runs           (AicServer    *self,
                                            const char   *data_dir,
                                            const char   *workspace,
                                            GError      **error);
AicAgentHub *aic_server_get_agent_hub      (AicServer    *self);

G_END_DECLS
