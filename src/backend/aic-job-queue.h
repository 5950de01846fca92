/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-document.h"
#include "aic-engine.h"
#include "aic-job-store.h"

G_BEGIN_DECLS

#define AIC_JOB_QUEUE_DEFAULT_WORKERS 2
#define AIC_JOB_QUEUE_MAX_ATTEMPTS 3

#define AIC_TYPE_JOB_QUEUE (aic_job_queue_get_type ())

G_DECLARE_FINAL_TYPE (AicJobQueue, aic_job_queue, AIC, JOB_QUEUE, GObject)

AicJobQueue  *aic_job_queue_new            (AicJobStore         *store,
                                            AicEngine           *engine,
                                            guint                n_workers);
gboolean      aic_job_queue_start          (AicJobQueue         *self,
                                            GError             **error);
AicJobStore  *aic_job_queue_get_store      (AicJobQueue         *self);
AicJobRecord *aic_job_queue_submit         (AicJobQueue         *self,
                                            const AicJobRecord  *record,
                                            GBytes              *document,
                                            gboolean            *out_existing,
                                            GError             **error);
AicJobRecord *aic_job_queue_get            (AicJobQueue         *self,
                                            const char          *id,
                                            GError             **error);
AicJobRecord *aic_job_queue_cancel         (AicJobQueue         *self,
                                            const char          *id,
                                            GError             **error);
guint         aic_job_queue_get_n_running  (AicJobQueue         *self);
void          aic_job_queue_set_step_delay (AicJobQueue         *self,
                                            guint                milliseconds);
void          aic_job_queue_set_document_limits (AicJobQueue             *self,
                                                 const AicDocumentLimits *limits);
void          aic_job_queue_set_part_size  (AicJobQueue         *self,
                                            gsize                max_chars);
void          aic_job_queue_set_upstream_wait (AicJobQueue      *self,
                                            guint                max_ms,
                                            guint                first_retry_ms);

G_END_DECLS
