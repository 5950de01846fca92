/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "aic-agent-planner.h"
#include "aic-client.h"
#include "aic-sse-parser.h"

G_BEGIN_DECLS

/* The planner spans files, one engine dialect each:
 *   aic-agent-planner.c    the entry point, turns, the demo plan
 *   aic-agent-upstream.c   one request to a provider, streamed or not
 *   aic-agent-openai.c     OpenAI-compatible chat completions with tools
 *   aic-agent-anthropic.c  the Anthropic Messages API with tools */

#define AIC_AGENT_MAX_TOKENS 4096

AicAgentTurn *aic_agent_turn_new        (const char          *content);
void          aic_agent_turn_add_call   (AicAgentTurn        *turn,
                                         const char          *id,
                                         const char          *name,
                                         const char          *arguments);

/* One event of a streamed answer; %FALSE with @error ends the request. */
typedef gboolean (*AicAgentEventFunc)   (const AicSseEvent   *event,
                                         gpointer             user_data,
                                         GError             **error);

void          aic_agent_upstream_send_async  (AicClient           *client,
                                              SoupMessage         *message,
                                              GBytes              *body,
                                              AicAgentEventFunc    on_event,
                                              gpointer             event_data,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean      aic_agent_upstream_send_finish (GAsyncResult        *result,
                                              guint               *out_status,
                                              JsonNode           **out_body,
                                              GError             **error);
const char   *aic_agent_upstream_said        (JsonNode            *body);
GError       *aic_agent_no_tools_error       (const char          *model);
GBytes       *aic_agent_json_bytes           (JsonBuilder         *builder);

void          aic_agent_openai_plan          (AicEngine           *engine,
                                              const char          *model,
                                              JsonArray           *messages,
                                              AicAgentTokenFunc    on_token,
                                              gpointer             token_data,
                                              GTask               *task);
void          aic_agent_anthropic_plan       (AicEngine           *engine,
                                              const char          *model,
                                              JsonArray           *messages,
                                              AicAgentTokenFunc    on_token,
                                              gpointer             token_data,
                                              GTask               *task);
JsonNode     *aic_agent_anthropic_messages   (JsonArray           *messages,
                                              char               **out_system);

G_END_DECLS
