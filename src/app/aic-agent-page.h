/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "aic-client.h"

G_BEGIN_DECLS

#define AIC_TYPE_AGENT_PAGE (aic_agent_page_get_type ())

G_DECLARE_FINAL_TYPE (AicAgentPage, aic_agent_page, AIC, AGENT_PAGE, GtkWidget)

void      aic_agent_page_set_client    (AicAgentPage *self,
                                        AicClient    *client);
void      aic_agent_page_set_settings  (AicAgentPage *self,
                                        GSettings    *settings);
gboolean  aic_agent_page_is_running    (AicAgentPage *self);

G_END_DECLS
