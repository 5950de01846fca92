/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-client.h"

G_BEGIN_DECLS

typedef enum
{
  AIC_ENGINE_KIND_DEMO,
  AIC_ENGINE_KIND_OPENAI,
  AIC_ENGINE_KIND_ANTHROPIC,
} AicEngineKind;

#define AIC_TYPE_ENGINE (aic_engine_get_type ())

G_DECLARE_FINAL_TYPE (AicEngine, aic_engine, AIC, ENGINE, GObject)

AicEngine           *aic_engine_new_demo          (void);
AicEngine           *aic_engine_new_openai        (const char           *upstream,
                                                   const char           *provider_name,
                                                   const char           *api_key);
AicEngine           *aic_engine_new_anthropic     (const char           *upstream,
                                                   const char           *api_key);
void                 aic_engine_set_default_model (AicEngine            *self,
                                                   const char           *model);
void                 aic_engine_set_speech        (AicEngine            *self,
                                                   const char           *url,
                                                   const char           *api_key);
gboolean             aic_engine_kind_from_string  (const char           *string,
                                                   AicEngineKind        *out_kind);
AicEngineKind        aic_engine_get_kind          (AicEngine            *self);
const char          *aic_engine_get_kind_string   (AicEngine            *self);
const char          *aic_engine_get_upstream      (AicEngine            *self);
char                *aic_engine_dup_label         (AicEngine            *self);
char               **aic_engine_dup_models        (AicEngine            *self);
void                 aic_engine_refresh_async     (AicEngine            *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean             aic_engine_refresh_finish    (AicEngine            *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
char                *aic_engine_resolve_model     (AicEngine            *self,
                                                   const char           *requested);
void                 aic_engine_resolve_model_async (AicEngine          *self,
                                                   const char           *requested,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
char                *aic_engine_resolve_model_finish (AicEngine         *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void                 aic_engine_set_demo_delay    (AicEngine            *self,
                                                   guint                 milliseconds);
guint                aic_engine_get_demo_delay    (AicEngine            *self);
AicClient           *aic_engine_new_upstream_client (AicEngine          *self);
AicClient           *aic_engine_new_speech_client (AicEngine            *self);

/* One reply. Tokens arrive through @on_token on the caller's context. */
typedef void (*AicEngineTokenFunc) (const char *text,
                                    gpointer    user_data);

typedef struct
{
  char   *model;
  char   *finish_reason;
  gint64  prompt_tokens;       /* -1 when unknown */
  gint64  completion_tokens;
} AicEngineReply;

void                 aic_engine_reply_free        (AicEngineReply       *reply);
void                 aic_engine_chat_async        (AicEngine            *self,
                                                   GPtrArray            *turns,
                                                   const char           *model,
                                                   AicEngineTokenFunc    on_token,
                                                   gpointer              token_data,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
AicEngineReply      *aic_engine_chat_finish       (AicEngine            *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicEngineReply, aic_engine_reply_free)

char      **aic_engine_dup_secrets (AicEngine *self);

G_END_DECLS
