/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "aic-connection-store.h"
#include "aic-session.h"

G_BEGIN_DECLS

#define AIC_TYPE_APPLICATION (aic_application_get_type ())

G_DECLARE_FINAL_TYPE (AicApplication, aic_application, AIC, APPLICATION, AdwApplication)

AicApplication     *aic_application_new                  (void);
GSettings          *aic_application_get_settings         (AicApplication *self);
AicConnectionStore *aic_application_get_connections      (AicApplication *self);
AicSession         *aic_application_get_session          (AicApplication *self);

G_END_DECLS
