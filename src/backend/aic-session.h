/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-client.h"
#include "aic-connection-store.h"
#include "aic-job-manager.h"
#include "aic-store.h"

G_BEGIN_DECLS

/* Who answers the views right now. */
typedef enum
{
  AIC_SESSION_STATE_STARTING,
  AIC_SESSION_STATE_BUILTIN_DEMO,    /* nothing connected: the demo engine */
  AIC_SESSION_STATE_BUILTIN_LOCAL,   /* nothing connected: a model server found here */
  AIC_SESSION_STATE_PROVIDER,        /* the user's provider, through the built-in backend */
  AIC_SESSION_STATE_SERVER,          /* a remote AI Console server */
  AIC_SESSION_STATE_FAILED,
} AicSessionState;

#define AIC_TYPE_SESSION (aic_session_get_type ())

G_DECLARE_FINAL_TYPE (AicSession, aic_session, AIC, SESSION, GObject)

AicSession         *aic_session_new                (const char           *data_dir);
void                aic_session_set_probe_local    (AicSession           *self,
                                                    gboolean              probe_local);
gboolean            aic_session_open_history       (AicSession           *self,
                                                    const char           *path,
                                                    const char           *owner,
                                                    GError              **error);
AicStore           *aic_session_get_store          (AicSession           *self);
AicJobManager      *aic_session_get_job_manager    (AicSession           *self);
void                aic_session_follow             (AicSession           *self,
                                                    AicConnectionStore   *store);
void                aic_session_use                (AicSession           *self,
                                                    AicConnection        *connection,
                                                    const char           *key,
                                                    AicConnection        *speech,
                                                    const char           *speech_key);
void                aic_session_shutdown           (AicSession           *self);
AicSessionState     aic_session_get_state          (AicSession           *self);
const char         *aic_session_get_summary        (AicSession           *self);
const char         *aic_session_get_detail         (AicSession           *self);
AicConnection      *aic_session_get_connection     (AicSession           *self);
AicClient          *aic_session_get_chat_client    (AicSession           *self);
AicClient          *aic_session_get_backend_client (AicSession           *self);
AicClient          *aic_session_get_voice_client   (AicSession           *self);
const char         *aic_session_get_voice_path     (AicSession           *self);
const char * const *aic_session_get_models         (AicSession           *self);
void                aic_session_wait_async         (AicSession           *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean            aic_session_wait_finish        (AicSession           *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

G_END_DECLS
