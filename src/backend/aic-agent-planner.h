/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "aic-engine.h"

G_BEGIN_DECLS

/* One tool call the model asked for. @arguments is the JSON text as the
 * model wrote it: it may not parse, and the loop says so to the model. */
typedef struct
{
  char *id;
  char *name;
  char *arguments;
} AicToolCall;

/* The model's next move: some text, and tool calls (none: it is done). */
typedef struct
{
  char      *content;
  GPtrArray *calls;     /* (element-type AicToolCall) */
} AicAgentTurn;

void          aic_tool_call_free         (AicToolCall   *call);
void          aic_agent_turn_free        (AicAgentTurn  *turn);

const char   *aic_agent_system_prompt    (void);
JsonNode     *aic_agent_tools_schema     (void);
const char   *aic_agent_tool_risk        (const char    *name);

void          aic_agent_plan_async       (AicEngine           *engine,
                                          const char          *model,
                                          JsonArray           *messages,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
AicAgentTurn *aic_agent_plan_finish      (AicEngine           *engine,
                                          GAsyncResult        *result,
                                          GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicAgentTurn, aic_agent_turn_free)

G_END_DECLS
