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

/* The model's next move: some text, and tool calls (none: it is done).
 * @streamed: the text already went out piece by piece through the token
 * callback as the model wrote it. */
typedef struct
{
  char      *content;
  GPtrArray *calls;     /* (element-type AicToolCall) */
  gboolean   streamed;
} AicAgentTurn;

/* Why the model gave no move; the message is a sentence for people. */
typedef enum
{
  AIC_AGENT_PLAN_ERROR_NO_TOOLS,    /* the model cannot call tools */
  AIC_AGENT_PLAN_ERROR_UPSTREAM,    /* the provider reported an error mid-stream */
  AIC_AGENT_PLAN_ERROR_BUSY,        /* the provider is overloaded */
} AicAgentPlanError;

#define AIC_AGENT_PLAN_ERROR (aic_agent_plan_error_quark ())

/* Text as the model writes it, on the caller's main context. */
typedef void (*AicAgentTokenFunc) (const char *text,
                                   gpointer    user_data);

void          aic_tool_call_free         (AicToolCall   *call);
void          aic_agent_turn_free        (AicAgentTurn  *turn);

GQuark        aic_agent_plan_error_quark (void);
const char   *aic_agent_system_prompt    (void);

void          aic_agent_plan_async       (AicEngine           *engine,
                                          const char          *model,
                                          JsonArray           *messages,
                                          AicAgentTokenFunc    on_token,
                                          gpointer             token_data,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
AicAgentTurn *aic_agent_plan_finish      (AicEngine           *engine,
                                          GAsyncResult        *result,
                                          GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicAgentTurn, aic_agent_turn_free)

G_END_DECLS
