/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "aic-client.h"
#include "aic-connection-store.h"
#include "aic-job-manager.h"
#include "aic-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_APPLICATION (aic_application_get_type ())

G_DECLARE_FINAL_TYPE (AicApplication, aic_application, AIC, APPLICATION, AdwApplication)

/* What serves the views right now. */
typedef enum
{
  AIC_BACKEND_STATE_STARTING,
  AIC_BACKEND_STATE_BUILTIN_DEMO,
  AIC_BACKEND_STATE_BUILTIN_LOCAL,
  AIC_BACKEND_STATE_CONNECTION,
  AIC_BACKEND_STATE_FAILED,
} AicBackendState;

AicApplication     *aic_application_new                  (void);
GSettings          *aic_application_get_settings         (AicApplication *self);
AicConnectionStore *aic_application_get_connections      (AicApplication *self);
AicBackendState     aic_application_get_backend_state    (AicApplication *self);
const char         *aic_application_get_backend_summary  (AicApplication *self);
const char         *aic_application_get_backend_detail   (AicApplication *self);
AicClient          *aic_application_get_client           (AicApplication *self);
const char * const *aic_application_get_models           (AicApplication *self);
AicStore           *aic_application_get_store            (AicApplication *self);
const char         *aic_application_get_store_error      (AicApplication *self);
AicJobManager      *aic_application_get_job_manager      (AicApplication *self);

G_END_DECLS
