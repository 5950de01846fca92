/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-client.h"
#include "aic-job-client.h"
#include "aic-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_JOB_MANAGER (aic_job_manager_get_type ())

G_DECLARE_FINAL_TYPE (AicJobManager, aic_job_manager, AIC, JOB_MANAGER, GObject)

AicJobManager *aic_job_manager_new           (AicStore        *store,
                                              const char      *owner);
void           aic_job_manager_set_client    (AicJobManager   *self,
                                              AicClient       *client);
AicJobClient  *aic_job_manager_get_job_client (AicJobManager  *self);
GListModel    *aic_job_manager_get_jobs      (AicJobManager   *self);
gboolean       aic_job_manager_load          (AicJobManager   *self,
                                              gboolean         unfinished_only,
                                              GError         **error);
AicJob        *aic_job_manager_submit_file   (AicJobManager   *self,
                                              GFile           *file,
                                              const char      *instructions);
void           aic_job_manager_cancel        (AicJobManager   *self,
                                              AicJob          *job);
gboolean       aic_job_manager_remove        (AicJobManager   *self,
                                              AicJob          *job,
                                              GError         **error);
guint          aic_job_manager_get_n_active  (AicJobManager   *self);
gboolean       aic_job_manager_read_result   (AicJobManager   *self,
                                              AicJob          *job,
                                              GError         **error);

G_END_DECLS
