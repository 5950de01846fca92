/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-job.h"

G_BEGIN_DECLS

/* One row of the backend's job table. */
typedef struct
{
  char         *id;
  char         *api;              /* "analyze" or "tasks": how it came */
  char         *filename;
  char         *mime;             /* what the document was found to be */
  char         *instructions;
  char         *model;
  char         *idempotency_key;
  AicJobStatus  status;
  int           progress;
  char         *stage;
  char         *message;
  char         *result;           /* JSON object text, or NULL */
  char         *error_code;
  char         *error_message;
  gint64        version;          /* grows with every change: the ETag */
  int           attempts;         /* starts, counting restarts */
  gint64        created_at;       /* µs since the epoch */
  gint64        updated_at;
} AicJobRecord;

void          aic_job_record_free   (AicJobRecord *record);
AicJobRecord *aic_job_record_copy   (const AicJobRecord *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicJobRecord, aic_job_record_free)

#define AIC_TYPE_JOB_STORE (aic_job_store_get_type ())

G_DECLARE_FINAL_TYPE (AicJobStore, aic_job_store, AIC, JOB_STORE, GObject)

AicJobStore  *aic_job_store_open          (const char    *path,
                                           GError       **error);
AicJobRecord *aic_job_store_insert        (AicJobStore   *self,
                                           const AicJobRecord *record,
                                           GBytes        *document,
                                           gboolean      *out_existing,
                                           GError       **error);
AicJobRecord *aic_job_store_get           (AicJobStore   *self,
                                           const char    *id,
                                           GError       **error);
GPtrArray    *aic_job_store_list          (AicJobStore   *self,
                                           guint          limit,
                                           GError       **error);
GBytes       *aic_job_store_get_document  (AicJobStore   *self,
                                           const char    *id,
                                           GError       **error);
gboolean      aic_job_store_save          (AicJobStore   *self,
                                           AicJobRecord  *record,
                                           GError       **error);
GPtrArray    *aic_job_store_recover       (AicJobStore   *self,
                                           int            max_attempts,
                                           GError       **error);

G_END_DECLS
