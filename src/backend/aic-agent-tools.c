/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-agent-tools.h"
#include "aic-json.h"

/* The tools an agent run may use, one row each: what the model is told
 * (name, description, the arguments' schema), how risky the tool is (the
 * hub's policy and approvals go by that), and the code that does the
 * work. The planners build their "tools" lists from this table and the
 * hub finds a call's tool here, so a new tool is one new row. */

static const char * const risk_names[] = {
  [AIC_AGENT_RISK_READ]     = "read",
  [AIC_AGENT_RISK_WRITE]    = "write",
  [AIC_AGENT_RISK_EXECUTE]  = "execute",
  [AIC_AGENT_RISK_QUESTION] = "question",
};

const char *
aic_agent_risk_to_string (AicAgentRisk risk)
{
  g_return_val_if_fail (risk < G_N_ELEMENTS (risk_names), NULL);
  return risk_names[risk];
}

gboolean
aic_agent_risk_from_string (const char   *string,
                            AicAgentRisk *out_risk)
{
  for (guint i = 0; i < G_N_ELEMENTS (risk_names); i++)
    if (g_strcmp0 (string, risk_names[i]) == 0)
      {
        *out_risk = i;
        return TRUE;
      }
  return FALSE;
}

/* ---- outcomes ---- */

void
aic_agent_tool_outcome_free (AicAgentToolOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_clear_pointer (&outcome->content, json_object_unref);
  g_free (outcome->summary);
  g_free (outcome);
}

JsonObject *
aic_agent_tool_error_content (const char *code,
                              const char *text)
{
  JsonObject *content = json_object_new ();

  json_object_set_string_member (content, "error", code);
  json_object_set_string_member (content, "message", text);
  return content;
}

/* The code the model reads in a failed tool's result. */
const char *
aic_agent_tool_error_code (const GError *error)
{
  if (error->domain != AIC_WORKSPACE_ERROR)
    return "failed";
  switch (error->code)
    {
    case AIC_WORKSPACE_ERROR_OUTSIDE:   return "outside_workspace";
    case AIC_WORKSPACE_ERROR_NOT_FOUND: return "not_found";
    case AIC_WORKSPACE_ERROR_NOT_TEXT:  return "not_text";
    case AIC_WORKSPACE_ERROR_TOO_LARGE: return "too_large";
    case AIC_WORKSPACE_ERROR_INVALID:   return "invalid_arguments";
    default:                            return "failed";
    }
}

AicAgentToolOutcome *
aic_agent_tool_outcome_new_error (const GError *error)
{
  AicAgentToolOutcome *outcome = g_new0 (AicAgentToolOutcome, 1);

  outcome->content = aic_agent_tool_error_content (aic_agent_tool_error_code (error), error->message);
  outcome->summary = g_strdup_printf ("Failed: %s", error->message);
  return outcome;
}

const char *
aic_agent_tool_arg_string (JsonObject *args,
                           const char *member,
                           const char *fallback)
{
  JsonNode *node = json_object_get_member (args, member);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (node);
}

/* ---- the file tools, in a worker thread: a search may take a while,
 * and the server's loop must not wait for it ---- */

typedef JsonObject *(*WorkFunc) (AicWorkspace  *workspace,
                                 JsonObject    *args,
                                 char         **summary,
                                 GCancellable  *cancellable,
                                 GError       **error);

typedef struct
{
  AicWorkspace *workspace;
  JsonObject   *args;
  WorkFunc      func;
} Work;

static void
work_free (Work *work)
{
  g_clear_object (&work->workspace);
  g_clear_pointer (&work->args, json_object_unref);
  g_free (work);
}

static void
work_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Work *work = task_data;
  g_autoptr(GError) error = NULL;
  AicAgentToolOutcome *outcome;
  g_autofree char *summary = NULL;
  JsonObject *content = work->func (work->workspace, work->args, &summary, cancellable, &error);

  if (content == NULL)
    outcome = aic_agent_tool_outcome_new_error (error);
  else
    {
      outcome = g_new0 (AicAgentToolOutcome, 1);
      outcome->content = content;
      outcome->summary = g_steal_pointer (&summary);
    }
  g_task_return_pointer (task, outcome, (GDestroyNotify) aic_agent_tool_outcome_free);
}

static void
run_in_thread (WorkFunc                   func,
               const AicAgentToolContext *context,
               JsonObject                *args,
               GCancellable              *cancellable,
               GAsyncReadyCallback        callback,
               gpointer                   user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Work *work = g_new0 (Work, 1);

  g_task_set_source_tag (task, aic_agent_tool_run_async);
  work->workspace = g_object_ref (context->workspace);
  work->args = json_object_ref (args);
  work->func = func;
  g_task_set_task_data (task, work, (GDestroyNotify) work_free);
  g_task_run_in_thread (task, work_thread);
}

static JsonObject *
list_dir_work (AicWorkspace  *workspace,
               JsonObject    *args,
               char         **summary,
               GCancellable  *cancellable,
               GError       **error)
{
  const char *path = aic_agent_tool_arg_string (args, "path", ".");
  g_autoptr(JsonNode) node = aic_workspace_list_dir (workspace, path, error);
  guint n;

  if (node == NULL)
    return NULL;
  n = json_array_get_length (json_object_get_array_member (json_node_get_object (node), "entries"));
  *summary = g_strdup_printf ("%u %s in %s", n, n == 1 ? "entry" : "entries", path);
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
read_file_work (AicWorkspace  *workspace,
                JsonObject    *args,
                char         **summary,
                GCancellable  *cancellable,
                GError       **error)
{
  const char *path = aic_agent_tool_arg_string (args, "path", ".");
  g_autofree char *text = aic_workspace_read_file (workspace, path, error);
  JsonObject *content;

  if (text == NULL)
    return NULL;
  content = json_object_new ();
  json_object_set_string_member (content, "path", path);
  json_object_set_string_member (content, "content", text);
  *summary = g_strdup_printf ("Read %s (%" G_GSIZE_FORMAT " bytes)", path, strlen (text));
  return content;
}

static JsonObject *
search_text_work (AicWorkspace  *workspace,
                  JsonObject    *args,
                  char         **summary,
                  GCancellable  *cancellable,
                  GError       **error)
{
  const char *path = aic_agent_tool_arg_string (args, "path", ".");
  const char *query = aic_agent_tool_arg_string (args, "query", NULL);
  g_autoptr(JsonNode) node = NULL;
  guint n;

  if (query == NULL || query[0] == '\0')
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "search_text needs a query.");
      return NULL;
    }
  node = aic_workspace_search_text (workspace, query, path, error);
  if (node == NULL)
    return NULL;
  n = json_array_get_length (json_object_get_array_member (json_node_get_object (node), "matches"));
  *summary = g_strdup_printf ("%u %s for “%s”", n, n == 1 ? "match" : "matches", query);
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
write_file_work (AicWorkspace  *workspace,
                 JsonObject    *args,
                 char         **summary,
                 GCancellable  *cancellable,
                 GError       **error)
{
  const char *path = aic_agent_tool_arg_string (args, "path", ".");
  const char *text = aic_agent_tool_arg_string (args, "content", NULL);
  JsonObject *content;

  /* A run cancelled while the write waited for its thread writes nothing. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (text == NULL)
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "write_file needs a content string.");
      return NULL;
    }
  if (!aic_workspace_write_file (workspace, path, text, error))
    return NULL;
  content = json_object_new ();
  json_object_set_string_member (content, "path", path);
  json_object_set_int_member (content, "bytes", strlen (text));
  *summary = g_strdup_printf ("Wrote %s", path);
  return content;
}

#define FILE_TOOL_RUN(work)                                                   \
  static void                                                                 \
  work##_run (const AicAgentTool        *tool,                                \
              const AicAgentToolContext *context,                             \
              JsonObject                *args,                                \
              GCancellable              *cancellable,                         \
              GAsyncReadyCallback        callback,                            \
              gpointer                   user_data)                           \
  {                                                                           \
    run_in_thread (work##_work, context, args, cancellable, callback, user_data); \
  }

FILE_TOOL_RUN (list_dir)
FILE_TOOL_RUN (read_file)
FILE_TOOL_RUN (search_text)
FILE_TOOL_RUN (write_file)

static char *
write_file_preview (const AicAgentToolContext  *context,
                    JsonObject                 *args,
                    GError                    **error)
{
  const char *content = aic_agent_tool_arg_string (args, "content", NULL);

  if (content == NULL)
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "write_file needs a content string.");
      return NULL;
    }
  return aic_workspace_preview_write (context->workspace, aic_agent_tool_arg_string (args, "path", ""),
                                      content, error);
}

static char *
write_file_describe (const AicAgentTool *tool,
                     JsonObject         *args)
{
  return g_strdup_printf ("The agent wants to write %s.", aic_agent_tool_arg_string (args, "path", "a file"));
}

/* ---- run_command: a child process, watched on the main context ---- */

static void
command_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicCommandResult) command = aic_workspace_run_command_finish (AIC_WORKSPACE (object), result, &error);
  AicAgentToolOutcome *outcome;

  if (command == NULL)
    outcome = aic_agent_tool_outcome_new_error (error);
  else
    {
      outcome = g_new0 (AicAgentToolOutcome, 1);
      outcome->content = json_object_new ();
      json_object_set_int_member (outcome->content, "exit_status", command->exit_status);
      json_object_set_boolean_member (outcome->content, "timed_out", command->timed_out);
      json_object_set_boolean_member (outcome->content, "truncated", command->truncated);
      json_object_set_string_member (outcome->content, "output", command->output);
      if (command->timed_out)
        outcome->summary = g_strdup ("Stopped: it ran past the time limit");
      else
        outcome->summary = g_strdup_printf ("Exit status %d%s", command->exit_status,
                                            command->truncated ? ", output cut short" : "");
    }
  g_task_return_pointer (task, outcome, (GDestroyNotify) aic_agent_tool_outcome_free);
}

static void
run_command_run (const AicAgentTool        *tool,
                 const AicAgentToolContext *context,
                 JsonObject                *args,
                 GCancellable              *cancellable,
                 GAsyncReadyCallback        callback,
                 gpointer                   user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, aic_agent_tool_run_async);
  aic_workspace_run_command_async (context->workspace, aic_agent_tool_arg_string (args, "command", ""),
                                   context->command_ms, context->command_output,
                                   cancellable, command_cb, task);
}

static char *
run_command_describe (const AicAgentTool *tool,
                      JsonObject         *args)
{
  return g_strdup_printf ("The agent wants to run “%s”.", aic_agent_tool_arg_string (args, "command", ""));
}

/* "Allow for this run" on a command allows that program again, with
 * any arguments, and nothing else: "true" is not "rm". */
static char *
run_command_scope (JsonObject *args)
{
  g_auto(GStrv) argv = NULL;

  if (!g_shell_parse_argv (aic_agent_tool_arg_string (args, "command", ""), NULL, &argv, NULL) ||
      argv[0] == NULL)
    return NULL;
  return g_strdup (argv[0]);
}

/* ---- the table ---- */

static const AicAgentTool builtin_tools[] = {
  {
    "list_dir",
    "List a folder of the workspace.",
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
    "\"description\":\"A folder relative to the workspace; . for its top.\"}},\"required\":[\"path\"]}",
    AIC_AGENT_RISK_READ, list_dir_run, NULL, NULL,
  },
  {
    "read_file",
    "Read a text file of the workspace.",
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},\"required\":[\"path\"]}",
    AIC_AGENT_RISK_READ, read_file_run, NULL, NULL,
  },
  {
    "search_text",
    "Find lines containing some text, ignoring case, in the files under a folder.",
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"},"
    "\"path\":{\"type\":\"string\",\"description\":\"Where to look; . for everywhere.\"}},\"required\":[\"query\"]}",
    AIC_AGENT_RISK_READ, search_text_run, NULL, NULL,
  },
  {
    "write_file",
    "Create or replace a text file of the workspace. The user sees the change first.",
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
    "\"content\":{\"type\":\"string\"}},\"required\":[\"path\",\"content\"]}",
    AIC_AGENT_RISK_WRITE, write_file_run, write_file_preview, write_file_describe,
  },
  {
    "run_command",
    "Run a program in the workspace (no shell: no pipes or redirections) and get its output.",
    "{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"}},\"required\":[\"command\"]}",
    AIC_AGENT_RISK_EXECUTE, run_command_run, NULL, run_command_describe, run_command_scope,
  },
  {
    "ask_user",
    "Ask the user a question and wait for the answer.",
    "{\"type\":\"object\",\"properties\":{\"question\":{\"type\":\"string\"}},\"required\":[\"question\"]}",
    AIC_AGENT_RISK_QUESTION, NULL, NULL, NULL,
  },
};

guint
aic_agent_tools_get_n (void)
{
  return G_N_ELEMENTS (builtin_tools);
}

const AicAgentTool *
aic_agent_tools_get_nth (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (builtin_tools), NULL);
  return &builtin_tools[index];
}

/**
 * aic_agent_tools_lookup:
 * Returns: (nullable): the row of the tool called @name
 */
const AicAgentTool *
aic_agent_tools_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (builtin_tools); i++)
    if (g_strcmp0 (builtin_tools[i].name, name) == 0)
      return &builtin_tools[i];
  return NULL;
}

static JsonNode *
parameters_node (const AicAgentTool *tool)
{
  JsonNode *node = aic_json_parse_mutable (tool->parameters, -1, NULL);

  /* The table is ours: a schema that does not parse is a bug here. */
  g_assert (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

/**
 * aic_agent_tools_openai_schema:
 * Returns: (transfer full): the "tools" array of an OpenAI chat
 *   completion request
 */
JsonNode *
aic_agent_tools_openai_schema (void)
{
  JsonArray *tools = json_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (builtin_tools); i++)
    {
      const AicAgentTool *tool = &builtin_tools[i];
      JsonObject *entry = json_object_new ();
      JsonObject *function = json_object_new ();

      json_object_set_string_member (function, "name", tool->name);
      json_object_set_string_member (function, "description", tool->description);
      json_object_set_member (function, "parameters", parameters_node (tool));
      json_object_set_string_member (entry, "type", "function");
      json_object_set_object_member (entry, "function", function);
      json_array_add_object_element (tools, entry);
    }
  return json_node_init_array (json_node_alloc (), tools);
}

/**
 * aic_agent_tools_anthropic_schema:
 * Returns: (transfer full): the "tools" array of an Anthropic Messages
 *   request
 */
JsonNode *
aic_agent_tools_anthropic_schema (void)
{
  JsonArray *tools = json_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (builtin_tools); i++)
    {
      const AicAgentTool *tool = &builtin_tools[i];
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "name", tool->name);
      json_object_set_string_member (entry, "description", tool->description);
      json_object_set_member (entry, "input_schema", parameters_node (tool));
      json_array_add_object_element (tools, entry);
    }
  return json_node_init_array (json_node_alloc (), tools);
}

char *
aic_agent_tool_describe (const AicAgentTool *tool,
                         JsonObject         *args)
{
  if (tool->describe != NULL)
    return tool->describe (tool, args);
  return g_strdup_printf ("The agent wants to use %s.", tool->name);
}

char *
aic_agent_tool_scope (const AicAgentTool *tool,
                      JsonObject         *args)
{
  return tool->scope != NULL ? tool->scope (args) : NULL;
}

/* The key kept in a run's memory when the user allows a call for the
 * rest of the run: "tool:risk", or "tool:risk:scope" for a tool with a
 * scope. A call of a scoped tool whose scope cannot be read matches
 * nothing, and is asked about. */
char *
aic_agent_tool_allow_key (const AicAgentTool *tool,
                          JsonObject         *args)
{
  g_autofree char *scope = NULL;

  if (tool->scope == NULL)
    return g_strdup_printf ("%s:%s", tool->name, aic_agent_risk_to_string (tool->risk));
  scope = tool->scope (args);
  if (scope == NULL)
    return NULL;
  return g_strdup_printf ("%s:%s:%s", tool->name, aic_agent_risk_to_string (tool->risk), scope);
}

void
aic_agent_tool_run_async (const AicAgentTool        *tool,
                          const AicAgentToolContext *context,
                          JsonObject                *args,
                          GCancellable              *cancellable,
                          GAsyncReadyCallback        callback,
                          gpointer                   user_data)
{
  g_return_if_fail (tool != NULL && tool->run != NULL);
  g_return_if_fail (AIC_IS_WORKSPACE (context->workspace));

  tool->run (tool, context, args, cancellable, callback, user_data);
}

/**
 * aic_agent_tool_run_finish:
 * Returns: (transfer full): the outcome; %NULL only when cancelled
 */
AicAgentToolOutcome *
aic_agent_tool_run_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
