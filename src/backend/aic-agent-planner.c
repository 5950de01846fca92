/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-agent-planner-private.h"
#include "aic-error.h"
#include "aic-json.h"
#include "aic-source.h"

/* Where an agent run's next move comes from: every engine plugs into the
 * one tool loop here. The openai engine asks the upstream with
 * OpenAI-compatible tool calling (aic-agent-openai.c), the anthropic
 * engine with the Messages API (aic-agent-anthropic.c); the demo engine follows a
 * fixed plan over the workspace (look around, read a file, maybe run a
 * command or ask a question when the goal says so, propose NOTES.md), so
 * that approvals can be tried and tested with no model at all. */

static const char system_prompt[] =
  "You are an agent working inside one folder, the workspace. Use the tools "
  "to look around, read, search, write files and run commands there; paths "
  "are relative to the workspace. The user approves every write and command. "
  "When an action is refused, do not try it again: carry on without it or "
  "finish. Ask the user with ask_user only when you cannot go on without an "
  "answer. When you are done, reply with a short summary of what you did.";

void
aic_tool_call_free (AicToolCall *call)
{
  if (call == NULL)
    return;
  g_free (call->id);
  g_free (call->name);
  g_free (call->arguments);
  g_free (call);
}

void
aic_agent_turn_free (AicAgentTurn *turn)
{
  if (turn == NULL)
    return;
  g_free (turn->content);
  g_clear_pointer (&turn->calls, g_ptr_array_unref);
  g_free (turn);
}

AicAgentTurn *
aic_agent_turn_new (const char *content)
{
  AicAgentTurn *turn = g_new0 (AicAgentTurn, 1);

  turn->content = g_strdup (content);
  turn->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_tool_call_free);
  return turn;
}

void
aic_agent_turn_add_call (AicAgentTurn *turn,
               const char   *id,
               const char   *name,
               const char   *arguments)
{
  AicToolCall *call = g_new0 (AicToolCall, 1);

  call->id = g_strdup (id);
  call->name = g_strdup (name);
  call->arguments = g_strdup (arguments);
  g_ptr_array_add (turn->calls, call);
}

const char *
aic_agent_system_prompt (void)
{
  return system_prompt;
}

G_DEFINE_QUARK (aic-agent-plan-error-quark, aic_agent_plan_error)

/* ---- the demo plan ---- */

typedef struct
{
  const char *goal;
  GHashTable *called;       /* tool name → its last result (JSON text) */
  GHashTable *counts;       /* tool name → how many results it gave */
  guint       n_calls;
} DemoView;

static JsonObject *
result_object (DemoView   *view,
               const char *tool)
{
  const char *text = g_hash_table_lookup (view->called, tool);
  g_autoptr(JsonNode) node = text ? aic_json_parse_mutable (text, -1, NULL) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

/* The text after "PREFIX:" on the @nth such line of the goal, if any. */
static char *
goal_directive (const char *goal,
                const char *prefix,
                guint       nth)
{
  g_auto(GStrv) lines = g_strsplit (goal, "\n", -1);
  gsize len = strlen (prefix);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      while (g_ascii_isspace (*line))
        line++;
      if (g_ascii_strncasecmp (line, prefix, len) == 0 && line[len] == ':' && nth-- == 0)
        return g_strstrip (g_strdup (line + len + 1));
    }
  return NULL;
}

static guint
count_of (DemoView   *view,
          const char *tool)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (view->counts, tool));
}

/* README first, then any other file the notes would not replace. */
static char *
file_to_read (DemoView *view)
{
  g_autoptr(JsonObject) listing = result_object (view, "list_dir");
  JsonArray *entries;
  const char *chosen = NULL;

  if (listing == NULL || !json_object_has_member (listing, "entries"))
    return NULL;
  entries = json_object_get_array_member (listing, "entries");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      const char *name = json_object_get_string_member_with_default (entry, "name", "");
      const char *type = json_object_get_string_member_with_default (entry, "type", "");

      if (strcmp (type, "file") != 0 || strcmp (name, "NOTES.md") == 0)
        continue;
      if (g_ascii_strncasecmp (name, "README", 6) == 0)
        return g_strdup (name);
      if (chosen == NULL)
        chosen = name;
    }
  return g_strdup (chosen);
}

static gboolean
was_refused (DemoView   *view,
             const char *tool)
{
  g_autoptr(JsonObject) result = result_object (view, tool);

  return result != NULL &&
         g_strcmp0 (json_object_get_string_member_with_default (result, "error", NULL), "refused") == 0;
}

static char *
demo_notes (DemoView *view)
{
  g_autoptr(GString) notes = g_string_new ("# Notes\n\n");
  g_autoptr(JsonObject) listing = result_object (view, "list_dir");
  g_autoptr(JsonObject) reading = result_object (view, "read_file");
  g_autoptr(JsonObject) command = result_object (view, "run_command");
  g_autoptr(JsonObject) answer = result_object (view, "ask_user");
  g_autofree char *first_line = NULL;

  g_string_append_printf (notes, "Goal: %s\n\n", view->goal);
  if (listing != NULL && json_object_has_member (listing, "entries"))
    {
      JsonArray *entries = json_object_get_array_member (listing, "entries");

      g_string_append (notes, "The workspace holds:");
      for (guint i = 0; i < json_array_get_length (entries); i++)
        g_string_append_printf (notes, " %s",
                                json_object_get_string_member_with_default (json_array_get_object_element (entries, i),
                                                                            "name", "?"));
      if (json_array_get_length (entries) == 0)
        g_string_append (notes, " nothing yet");
      g_string_append (notes, ".\n");
    }
  if (reading != NULL && json_object_has_member (reading, "content"))
    {
      const char *content = json_object_get_string_member_with_default (reading, "content", "");
      const char *end = strchr (content, '\n');

      first_line = end ? g_strndup (content, end - content) : g_strdup (content);
      g_string_append_printf (notes, "%s begins: %s\n",
                              json_object_get_string_member_with_default (reading, "path", "?"), first_line);
    }
  if (command != NULL && json_object_has_member (command, "exit_status"))
    g_string_append_printf (notes, "The command exited with status %" G_GINT64_FORMAT ".\n",
                            json_object_get_int_member (command, "exit_status"));
  if (answer != NULL && json_object_has_member (answer, "answer"))
    g_string_append_printf (notes, "You said: %s\n",
                            json_object_get_string_member_with_default (answer, "answer", ""));
  return g_string_free (g_steal_pointer (&notes), FALSE);
}

static char *
json_args (const char *member,
           const char *value,
           const char *member2,
           const char *value2)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, value);
  if (member2 != NULL)
    {
      json_builder_set_member_name (builder, member2);
      json_builder_add_string_value (builder, value2);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return aic_json_to_string (root, FALSE);
}

static AicAgentTurn *
demo_next (DemoView *view)
{
  g_autofree char *id = g_strdup_printf ("call-%u", view->n_calls + 1);
  g_autofree char *command = goal_directive (view->goal, "run", count_of (view, "run_command"));
  g_autofree char *question = goal_directive (view->goal, "ask", 0);
  g_autofree char *args = NULL;
  AicAgentTurn *turn;

  if (!g_hash_table_contains (view->called, "list_dir"))
    {
      turn = aic_agent_turn_new ("I will look at what the workspace holds first.");
      args = json_args ("path", ".", NULL, NULL);
      aic_agent_turn_add_call (turn, id, "list_dir", args);
      return turn;
    }
  if (!g_hash_table_contains (view->called, "read_file"))
    {
      g_autofree char *name = file_to_read (view);

      if (name != NULL)
        {
          g_autofree char *text = g_strdup_printf ("Reading %s to see what this is about.", name);

          turn = aic_agent_turn_new (text);
          args = json_args ("path", name, NULL, NULL);
          aic_agent_turn_add_call (turn, id, "read_file", args);
          return turn;
        }
    }
  if (command != NULL && command[0] != '\0')
    {
      turn = aic_agent_turn_new ("The goal asks for a command; I would like to run it.");
      args = json_args ("command", command, NULL, NULL);
      aic_agent_turn_add_call (turn, id, "run_command", args);
      return turn;
    }
  if (question != NULL && question[0] != '\0' && !g_hash_table_contains (view->called, "ask_user"))
    {
      turn = aic_agent_turn_new ("I need to ask you something first.");
      args = json_args ("question", question, NULL, NULL);
      aic_agent_turn_add_call (turn, id, "ask_user", args);
      return turn;
    }
  if (!g_hash_table_contains (view->called, "write_file"))
    {
      g_autofree char *notes = demo_notes (view);

      turn = aic_agent_turn_new ("I would like to write what I found to NOTES.md.");
      args = json_args ("path", "NOTES.md", "content", notes);
      aic_agent_turn_add_call (turn, id, "write_file", args);
      return turn;
    }
  if (was_refused (view, "write_file"))
    return aic_agent_turn_new ("Writing NOTES.md was refused, so I changed nothing. "
                     "This was the demo engine: connect a model for real work.");
  return aic_agent_turn_new ("I wrote my notes on the workspace to NOTES.md. "
                   "This was the demo engine: connect a model for real work.");
}

static AicAgentTurn *
demo_plan (JsonArray *messages)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  DemoView view = { "", NULL, NULL, 0 };
  guint n = json_array_get_length (messages);

  view.called = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  view.counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);
      const char *role = json_object_get_string_member_with_default (message, "role", "");

      if (strcmp (role, "user") == 0 && view.goal[0] == '\0')
        view.goal = json_object_get_string_member_with_default (message, "content", "");
      else if (strcmp (role, "assistant") == 0 && json_object_has_member (message, "tool_calls"))
        {
          JsonArray *calls = json_object_get_array_member (message, "tool_calls");

          for (guint j = 0; j < json_array_get_length (calls); j++)
            {
              JsonObject *call = json_array_get_object_element (calls, j);
              JsonObject *function = json_object_get_object_member (call, "function");

              g_hash_table_replace (names, g_strdup (json_object_get_string_member (call, "id")),
                                    g_strdup (json_object_get_string_member (function, "name")));
              view.n_calls++;
            }
        }
      else if (strcmp (role, "tool") == 0)
        {
          const char *name = g_hash_table_lookup (names, json_object_get_string_member_with_default (message, "tool_call_id", ""));

          if (name != NULL)
            {
              g_hash_table_replace (view.called, g_strdup (name),
                                    g_strdup (json_object_get_string_member_with_default (message, "content", "")));
              g_hash_table_replace (view.counts, g_strdup (name),
                                    GUINT_TO_POINTER (count_of (&view, name) + 1));
            }
        }
    }

  {
    AicAgentTurn *turn = demo_next (&view);

    g_hash_table_unref (view.called);
    g_hash_table_unref (view.counts);
    return turn;
  }
}

static gboolean
demo_ready_cb (gpointer data)
{
  GTask *task = data;

  g_task_return_pointer (task, demo_plan (g_task_get_task_data (task)), (GDestroyNotify) aic_agent_turn_free);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

/* What a plan needs until its model is known. */
typedef struct
{
  JsonArray         *messages;
  AicAgentTokenFunc  on_token;
  gpointer           token_data;
} Pending;

static void
pending_free (Pending *pending)
{
  json_array_unref (pending->messages);
  g_free (pending);
}

static void
model_resolved_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicEngine *engine = AIC_ENGINE (object);
  Pending *pending = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *model = aic_engine_resolve_model_finish (engine, result, &error);
  g_autoptr(JsonArray) messages = NULL;
  AicAgentTokenFunc on_token;
  gpointer token_data;

  if (model == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (model == NULL && g_error_matches (error, AIC_ERROR, AIC_ERROR_UNREACHABLE))
    {
      g_task_return_new_error (task, AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_UPSTREAM,
                               "%s", error->message);
      return;
    }
  /* A server with no model list (or an empty one) may still answer a
   * request that names none: let it decide, as before the listing. */
  if (model == NULL)
    model = g_strdup ("");

  /* The engine's plan takes the task over, task data included. */
  messages = json_array_ref (pending->messages);
  on_token = pending->on_token;
  token_data = pending->token_data;
  g_task_set_task_data (task, NULL, NULL);
  if (aic_engine_get_kind (engine) == AIC_ENGINE_KIND_ANTHROPIC)
    aic_agent_anthropic_plan (engine, model, messages, on_token, token_data, g_steal_pointer (&task));
  else
    aic_agent_openai_plan (engine, model, messages, on_token, token_data, g_steal_pointer (&task));
}

/**
 * aic_agent_plan_async:
 * @messages: the conversation so far, in OpenAI's shape
 *
 * Asks for the model's next move. With no model named, the upstream's
 * models are listed first when none is known yet (a backend started
 * before its upstream).
 */
void
aic_agent_plan_async (AicEngine           *engine,
                      const char          *model,
                      JsonArray           *messages,
                      AicAgentTokenFunc    on_token,
                      gpointer             token_data,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (AIC_IS_ENGINE (engine));

  task = g_task_new (engine, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_agent_plan_async);

  switch (aic_engine_get_kind (engine))
    {
    case AIC_ENGINE_KIND_DEMO:
      g_task_set_task_data (task, json_array_ref (messages), (GDestroyNotify) json_array_unref);
      /* A pause, so that a run unfolds at a pace people can follow. */
      aic_timeout_add (aic_engine_get_demo_delay (engine) * 5, demo_ready_cb, g_steal_pointer (&task));
      break;
    case AIC_ENGINE_KIND_ANTHROPIC:
    case AIC_ENGINE_KIND_OPENAI:
    default:
      {
        Pending *pending = g_new0 (Pending, 1);

        pending->messages = json_array_ref (messages);
        pending->on_token = on_token;
        pending->token_data = token_data;
        g_task_set_task_data (task, pending, (GDestroyNotify) pending_free);
        aic_engine_resolve_model_async (engine, model, cancellable, model_resolved_cb, g_steal_pointer (&task));
      }
      break;
    }
}

AicAgentTurn *
aic_agent_plan_finish (AicEngine     *engine,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, engine), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
