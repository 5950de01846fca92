/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "aic-connection-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_PREFERENCES_WINDOW (aic_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (AicPreferencesWindow, aic_preferences_window, AIC, PREFERENCES_WINDOW, AdwPreferencesWindow)

AicPreferencesWindow *aic_preferences_window_new            (AicConnectionStore   *store);
void                  aic_preferences_window_add_connection (AicPreferencesWindow *self);

G_END_DECLS
