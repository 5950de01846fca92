/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-job.h"

G_BEGIN_DECLS

typedef enum
{
  AIC_MESSAGE_COMPLETE,
  AIC_MESSAGE_STREAMING,     /* being written; found so at start = interrupted */
  AIC_MESSAGE_INTERRUPTED,   /* stopped, or the app ended mid-reply */
  AIC_MESSAGE_FAILED,        /* an error ended it; error holds the sentence */
} AicMessageState;

typedef struct
{
  gint64           id;
  char            *conversation_id;
  char            *role;
  char            *content;
  AicMessageState  state;
  char            *error;
  char            *model;
  gint64           created_at;     /* µs since the epoch */
  gint64           first_token_ms; /* -1 when unknown */
  gint64           duration_ms;
  gint64           tokens;
} AicStoredMessage;

typedef struct
{
  char   *id;
  char   *title;
  char   *model;
  gint64  created_at;
  gint64  updated_at;
} AicConversationInfo;

void aic_stored_message_free     (AicStoredMessage    *message);
void aic_conversation_info_free  (AicConversationInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicStoredMessage, aic_stored_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicConversationInfo, aic_conversation_info_free)

#define AIC_TYPE_STORE (aic_store_get_type ())

G_DECLARE_FINAL_TYPE (AicStore, aic_store, AIC, STORE, GObject)

typedef enum
{
  AIC_STORE_OPEN_DEFAULT     = 0,
  AIC_STORE_OPEN_CHECK_LATER = 1 << 0,
} AicStoreOpenFlags;

AicStore            *aic_store_open                 (const char        *path,
                                                     GError           **error);
AicStore            *aic_store_open_full            (const char        *path,
                                                     AicStoreOpenFlags  flags,
                                                     GError           **error);
void                 aic_store_check_async          (AicStore          *self,
                                                     GCancellable      *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer           user_data);
gboolean             aic_store_check_finish         (AicStore          *self,
                                                     GAsyncResult      *result,
                                                     GError           **error);
char                *aic_store_default_path         (void);
char                *aic_store_create_conversation  (AicStore          *self,
                                                     const char        *title,
                                                     const char        *model,
                                                     GError           **error);
gboolean             aic_store_rename_conversation  (AicStore          *self,
                                                     const char        *conversation_id,
                                                     const char        *title,
                                                     GError           **error);
gboolean             aic_store_set_conversation_model (AicStore        *self,
                                                     const char        *conversation_id,
                                                     const char        *model,
                                                     GError           **error);
gboolean             aic_store_delete_conversation  (AicStore          *self,
                                                     const char        *conversation_id,
                                                     GError           **error);
GPtrArray           *aic_store_list_conversations   (AicStore          *self,
                                                     const char        *search,
                                                     GError           **error);
AicConversationInfo *aic_store_get_conversation     (AicStore          *self,
                                                     const char        *conversation_id,
                                                     GError           **error);
gint64               aic_store_add_message          (AicStore          *self,
                                                     const char        *conversation_id,
                                                     const char        *role,
                                                     const char        *content,
                                                     AicMessageState    state,
                                                     GError           **error);
gboolean             aic_store_append_message_text  (AicStore          *self,
                                                     gint64             message_id,
                                                     const char        *text,
                                                     GError           **error);
gboolean             aic_store_update_message       (AicStore          *self,
                                                     gint64             message_id,
                                                     const char        *content,
                                                     AicMessageState    state,
                                                     const char        *error_text,
                                                     GError           **error);
gboolean             aic_store_set_message_stats    (AicStore          *self,
                                                     gint64             message_id,
                                                     const char        *model,
                                                     gint64             first_token_ms,
                                                     gint64             duration_ms,
                                                     gint64             tokens,
                                                     GError           **error);
gboolean             aic_store_delete_messages_from (AicStore          *self,
                                                     const char        *conversation_id,
                                                     gint64             first_message_id,
                                                     GError           **error);
GPtrArray           *aic_store_list_messages        (AicStore          *self,
                                                     const char        *conversation_id,
                                                     GError           **error);
guint                aic_store_recover_interrupted  (AicStore          *self,
                                                     GError           **error);
char                *aic_store_export_markdown      (AicStore          *self,
                                                     const char        *conversation_id,
                                                     GError           **error);

gboolean             aic_store_save_job             (AicStore          *self,
                                                     AicJob            *job,
                                                     GError           **error);
GPtrArray           *aic_store_list_jobs            (AicStore          *self,
                                                     const char        *owner,
                                                     gboolean           unfinished_only,
                                                     GError           **error);
char                *aic_store_dup_job_result       (AicStore          *self,
                                                     const char        *job_id,
                                                     GError           **error);
gboolean             aic_store_read_job_result      (AicStore          *self,
                                                     AicJob            *job,
                                                     GError           **error);
gboolean             aic_store_delete_job           (AicStore          *self,
                                                     const char        *job_id,
                                                     GError           **error);

G_END_DECLS
