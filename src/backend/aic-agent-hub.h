/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-engine.h"
#include "aic-run-store.h"

G_BEGIN_DECLS

/* What happens to a tool call of some risk before it runs. */
typedef enum
{
  AIC_AGENT_POLICY_ALLOW,
  AIC_AGENT_POLICY_ASK,
  AIC_AGENT_POLICY_DENY,
} AicAgentPolicy;

#define AIC_AGENT_DEFAULT_DEADLINE_S     (30 * 60)
#define AIC_AGENT_DEFAULT_COMMAND_MS     (60 * 1000)
#define AIC_AGENT_MAX_STEPS              25

#define AIC_TYPE_AGENT_HUB (aic_agent_hub_get_type ())
G_DECLARE_FINAL_TYPE (AicAgentHub, aic_agent_hub, AIC, AGENT_HUB, GObject)

AicAgentHub *aic_agent_hub_new            (AicEngine          *engine,
                                           AicRunStore        *store,
                                           const char         *default_workspace);
gboolean     aic_agent_hub_set_policy_string (AicAgentHub     *self,
                                           const char         *spec,
                                           GError            **error);
void         aic_agent_hub_set_policy     (AicAgentHub        *self,
                                           const char         *risk,
                                           AicAgentPolicy      policy);
void         aic_agent_hub_set_deadline   (AicAgentHub        *self,
                                           guint               milliseconds);
void         aic_agent_hub_set_workspace_roots (AicAgentHub   *self,
                                           const char * const *roots);
void         aic_agent_hub_set_command_limits (AicAgentHub    *self,
                                           guint               timeout_ms,
                                           gsize               max_output);
void         aic_agent_hub_add_secret      (AicAgentHub       *self,
                                            const char        *secret);
char        *aic_agent_hub_redact          (AicAgentHub       *self,
                                            const char        *text);
void         aic_agent_hub_set_command_env (AicAgentHub       *self,
                                           const char * const *names);
void         aic_agent_hub_resume         (AicAgentHub        *self);
gboolean     aic_agent_hub_knows          (AicAgentHub        *self,
                                           const char         *run_id);

void         aic_agent_hub_create         (AicAgentHub        *self,
                                           SoupServerMessage  *message);
void         aic_agent_hub_list           (AicAgentHub        *self,
                                           SoupServerMessage  *message);
void         aic_agent_hub_status         (AicAgentHub        *self,
                                           SoupServerMessage  *message,
                                           const char         *run_id);
void         aic_agent_hub_cancel         (AicAgentHub        *self,
                                           SoupServerMessage  *message,
                                           const char         *run_id);
void         aic_agent_hub_tokens         (AicAgentHub        *self,
                                           SoupServerMessage  *message,
                                           const char         *run_id);
void         aic_agent_hub_accept         (AicAgentHub        *self,
                                           SoupWebsocketConnection *connection,
                                           const char         *run_id,
                                           gboolean            plain,
                                           GHashTable         *query);

G_END_DECLS
