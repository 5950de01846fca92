/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "aic-workspace.h"

G_BEGIN_DECLS

/* What a tool may do; the hub's policy answers per risk. */
typedef enum
{
  AIC_AGENT_RISK_READ,
  AIC_AGENT_RISK_WRITE,
  AIC_AGENT_RISK_EXECUTE,
  AIC_AGENT_RISK_QUESTION,   /* asks the user; never runs by itself */
} AicAgentRisk;

/* How a tool's work went: what the model is told and the line the
 * timeline shows. A failure is an outcome too (@content holds "error"). */
typedef struct
{
  JsonObject *content;
  char       *summary;
} AicAgentToolOutcome;

typedef struct
{
  AicWorkspace *workspace;
  guint         command_ms;
  gsize         command_output;
} AicAgentToolContext;

typedef struct _AicAgentTool AicAgentTool;

/* Runs the tool in the GTask shape; the task returns an
 * AicAgentToolOutcome (see aic_agent_tool_run_finish()). */
typedef void  (*AicAgentToolRunFunc)      (const AicAgentTool        *tool,
                                           const AicAgentToolContext *context,
                                           JsonObject                *args,
                                           GCancellable              *cancellable,
                                           GAsyncReadyCallback        callback,
                                           gpointer                   user_data);
/* The diff shown before a write is approved; %NULL and @error when the
 * write could never happen, which is then refused without asking. */
typedef char *(*AicAgentToolPreviewFunc)  (const AicAgentToolContext *context,
                                           JsonObject                *args,
                                           GError                   **error);
/* The approval's prompt, one sentence. */
typedef char *(*AicAgentToolDescribeFunc) (const AicAgentTool        *tool,
                                           JsonObject                *args);

/* What "Allow for this run" covers beyond the tool itself, such as the
 * program a command runs; %NULL when it covers every call of the tool. */
typedef char *(*AicAgentToolScopeFunc)    (JsonObject                *args);

/* One row of the tool table. Built-in tools are rows; tools from MCP
 * servers will be rows too. */
struct _AicAgentTool
{
  const char               *name;
  const char               *description;
  const char               *parameters;   /* JSON Schema of the arguments, as text */
  AicAgentRisk              risk;
  AicAgentToolRunFunc       run;          /* NULL for questions: the hub asks */
  AicAgentToolPreviewFunc   preview;      /* optional */
  AicAgentToolDescribeFunc  describe;     /* optional */
  AicAgentToolScopeFunc     scope;        /* optional */
};

const char          *aic_agent_risk_to_string       (AicAgentRisk               risk);
gboolean             aic_agent_risk_from_string     (const char                *string,
                                                     AicAgentRisk              *out_risk);

const AicAgentTool  *aic_agent_tools_lookup         (const char                *name);
guint                aic_agent_tools_get_n          (void);
const AicAgentTool  *aic_agent_tools_get_nth        (guint                      index);
JsonNode            *aic_agent_tools_openai_schema  (void);
JsonNode            *aic_agent_tools_anthropic_schema (void);

char                *aic_agent_tool_describe        (const AicAgentTool        *tool,
                                                     JsonObject                *args);
char                *aic_agent_tool_scope           (const AicAgentTool        *tool,
                                                     JsonObject                *args);
char                *aic_agent_tool_allow_key       (const AicAgentTool        *tool,
                                                     JsonObject                *args);
void                 aic_agent_tool_run_async       (const AicAgentTool        *tool,
                                                     const AicAgentToolContext *context,
                                                     JsonObject                *args,
                                                     GCancellable              *cancellable,
                                                     GAsyncReadyCallback        callback,
                                                     gpointer                   user_data);
AicAgentToolOutcome *aic_agent_tool_run_finish      (GAsyncResult              *result,
                                                     GError                   **error);

void                 aic_agent_tool_outcome_free    (AicAgentToolOutcome       *outcome);
AicAgentToolOutcome *aic_agent_tool_outcome_new_error (const GError            *error);
JsonObject          *aic_agent_tool_error_content   (const char                *code,
                                                     const char                *text);
const char          *aic_agent_tool_error_code      (const GError              *error);
const char          *aic_agent_tool_arg_string      (JsonObject                *args,
                                                     const char                *member,
                                                     const char                *fallback);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicAgentToolOutcome, aic_agent_tool_outcome_free)

G_END_DECLS
