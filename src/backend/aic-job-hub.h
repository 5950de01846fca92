/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-job-queue.h"

G_BEGIN_DECLS

/* Which shape a route speaks (PROTOCOL.md: analyze, or the plainer tasks). */
typedef enum
{
  AIC_JOB_API_ANALYZE,
  AIC_JOB_API_TASKS,
} AicJobApi;

#define AIC_TYPE_JOB_HUB (aic_job_hub_get_type ())

G_DECLARE_FINAL_TYPE (AicJobHub, aic_job_hub, AIC, JOB_HUB, GObject)

AicJobHub   *aic_job_hub_new          (AicJobQueue       *queue);
AicJobQueue *aic_job_hub_get_queue    (AicJobHub         *self);
void         aic_job_hub_set_max_bytes (AicJobHub        *self,
                                       gint64             max_bytes);
void         aic_job_hub_set_keep_alive (AicJobHub       *self,
                                       guint              milliseconds);
void         aic_job_hub_start        (AicJobHub         *self,
                                       SoupServerMessage *message,
                                       AicJobApi          api);
void         aic_job_hub_status       (AicJobHub         *self,
                                       SoupServerMessage *message,
                                       const char        *job_id,
                                       AicJobApi          api);
void         aic_job_hub_events       (AicJobHub         *self,
                                       SoupServerMessage *message,
                                       const char        *job_id,
                                       AicJobApi          api);
void         aic_job_hub_cancel       (AicJobHub         *self,
                                       SoupServerMessage *message,
                                       const char        *job_id);
void         aic_job_hub_list         (AicJobHub         *self,
                                       SoupServerMessage *message);

G_END_DECLS
