/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Where a document job is (PROTOCOL.md "Document analysis"), plus the
 * client's own first step: a job the server has not accepted yet. */
typedef enum
{
  AIC_JOB_SUBMITTING,
  AIC_JOB_QUEUED,
  AIC_JOB_RUNNING,
  AIC_JOB_DONE,
  AIC_JOB_FAILED,
  AIC_JOB_CANCELLED,
} AicJobStatus;

/* How the server takes jobs: the console's analyze routes, or the plainer
 * tasks shape (PROTOCOL.md "Compatibility"). */
typedef enum
{
  AIC_JOB_SHAPE_UNKNOWN,
  AIC_JOB_SHAPE_ANALYZE,
  AIC_JOB_SHAPE_TASKS,
} AicJobShape;

#define AIC_TYPE_JOB_STATUS (aic_job_status_get_type ())
GType        aic_job_status_get_type    (void) G_GNUC_CONST;
const char  *aic_job_status_to_string   (AicJobStatus  status);
gboolean     aic_job_status_from_string (const char   *string,
                                         AicJobStatus *out_status);
gboolean     aic_job_status_is_final    (AicJobStatus  status);
const char  *aic_job_shape_to_string    (AicJobShape   shape);
AicJobShape  aic_job_shape_from_string  (const char   *string);

#define AIC_TYPE_JOB (aic_job_get_type ())

G_DECLARE_FINAL_TYPE (AicJob, aic_job, AIC, JOB, GObject)

AicJob       *aic_job_new                (const char    *filename);
const char   *aic_job_get_id             (AicJob        *self);
const char   *aic_job_get_filename       (AicJob        *self);
const char   *aic_job_get_idempotency_key (AicJob       *self);
const char   *aic_job_get_source_path    (AicJob        *self);
void          aic_job_set_source_path    (AicJob        *self,
                                          const char    *path);
const char   *aic_job_get_instructions   (AicJob        *self);
void          aic_job_set_instructions   (AicJob        *self,
                                          const char    *instructions);
const char   *aic_job_get_owner          (AicJob        *self);
void          aic_job_set_owner          (AicJob        *self,
                                          const char    *owner);
const char   *aic_job_get_connection_id  (AicJob        *self);
void          aic_job_set_connection_id  (AicJob        *self,
                                          const char    *connection_id);
const char   *aic_job_get_remote_id      (AicJob        *self);
AicJobShape   aic_job_get_shape          (AicJob        *self);
void          aic_job_set_remote         (AicJob        *self,
                                          const char    *remote_id,
                                          AicJobShape    shape);
AicJobStatus  aic_job_get_status         (AicJob        *self);
gboolean      aic_job_is_finished        (AicJob        *self);
int           aic_job_get_progress       (AicJob        *self);
const char   *aic_job_get_stage          (AicJob        *self);
const char   *aic_job_get_message        (AicJob        *self);
const char   *aic_job_get_error          (AicJob        *self);
const char   *aic_job_get_title          (AicJob        *self);
const char   *aic_job_get_summary        (AicJob        *self);
const char   *aic_job_get_note           (AicJob        *self);
const char * const *aic_job_get_key_points (AicJob      *self);
gboolean      aic_job_get_paused         (AicJob        *self);
const char   *aic_job_get_pause_reason   (AicJob        *self);
void          aic_job_set_paused         (AicJob        *self,
                                          const char    *reason);
gint64        aic_job_get_created_at     (AicJob        *self);
gint64        aic_job_get_updated_at     (AicJob        *self);
void          aic_job_fail               (AicJob        *self,
                                          const char    *error);
void          aic_job_set_cancelled      (AicJob        *self);
gboolean      aic_job_update_from_json   (AicJob        *self,
                                          JsonObject    *object,
                                          GError       **error);
char         *aic_job_dup_result_json    (AicJob        *self);
gboolean      aic_job_set_result_json    (AicJob        *self,
                                          const char    *json,
                                          GError       **error);
char         *aic_job_dup_markdown       (AicJob        *self);
gboolean      aic_job_get_result_unread  (AicJob        *self);

/* For the store: a job exactly as it was saved, and one whose result is
 * kept there until asked for (aic_job_set_result_json() reads it in). */
void          aic_job_set_result_unread  (AicJob        *self,
                                          const char    *title);
AicJob       *aic_job_restore            (const char    *id,
                                          const char    *filename,
                                          const char    *idempotency_key,
                                          AicJobStatus   status,
                                          int            progress,
                                          const char    *stage,
                                          const char    *message,
                                          const char    *error,
                                          gint64         created_at,
                                          gint64         updated_at);

G_END_DECLS
