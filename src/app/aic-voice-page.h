/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "aic-client.h"

G_BEGIN_DECLS

#define AIC_TYPE_VOICE_PAGE (aic_voice_page_get_type ())

G_DECLARE_FINAL_TYPE (AicVoicePage, aic_voice_page, AIC, VOICE_PAGE, GtkWidget)

void      aic_voice_page_set_client  (AicVoicePage *self,
                                      AicClient    *client,
                                      const char   *path);
gboolean  aic_voice_page_is_active   (AicVoicePage *self);
void      aic_voice_page_stop        (AicVoicePage *self);

G_END_DECLS
