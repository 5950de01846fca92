/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-client.h"
#include "aic-job.h"

G_BEGIN_DECLS

/* How a job is followed. AUTO is what clients use; the others exist for
 * the benchmark's comparison and for tests. */
typedef enum
{
  AIC_JOB_FOLLOW_AUTO,        /* the /events stream, else ETag polling */
  AIC_JOB_FOLLOW_POLL,        /* ETag polling with Retry-After and backoff */
  AIC_JOB_FOLLOW_POLL_PLAIN,  /* a full GET every second, no tags */
} AicJobFollowMode;

#define AIC_TYPE_JOB_CLIENT (aic_job_client_get_type ())

G_DECLARE_FINAL_TYPE (AicJobClient, aic_job_client, AIC, JOB_CLIENT, GObject)

AicJobClient *aic_job_client_new           (AicClient          *client);
AicClient    *aic_job_client_get_client    (AicJobClient       *self);
AicJobShape   aic_job_client_get_shape     (AicJobClient       *self);
void          aic_job_client_set_follow_mode (AicJobClient     *self,
                                            AicJobFollowMode    mode);
void          aic_job_client_set_max_streams (AicJobClient     *self,
                                            guint               max_streams);
void          aic_job_client_set_max_delay (AicJobClient       *self,
                                            guint               milliseconds);
void          aic_job_client_submit_async  (AicJobClient       *self,
                                            AicJob             *job,
                                            GBytes             *document,
                                            const char         *content_type,
                                            const char         *instructions,
                                            GCancellable       *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
void          aic_job_client_submit_text_async (AicJobClient   *self,
                                            AicJob             *job,
                                            const char         *text,
                                            const char         *instructions,
                                            GCancellable       *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
gboolean      aic_job_client_submit_finish (AicJobClient       *self,
                                            GAsyncResult       *result,
                                            GError            **error);
void          aic_job_client_follow_async  (AicJobClient       *self,
                                            AicJob             *job,
                                            GCancellable       *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
gboolean      aic_job_client_follow_finish (AicJobClient       *self,
                                            GAsyncResult       *result,
                                            GError            **error);
void          aic_job_client_cancel_async  (AicJobClient       *self,
                                            AicJob             *job,
                                            GCancellable       *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
gboolean      aic_job_client_cancel_finish (AicJobClient       *self,
                                            GAsyncResult       *result,
                                            GError            **error);

char         *aic_job_guess_content_type   (const char         *filename,
                                            GBytes             *data);

G_END_DECLS
