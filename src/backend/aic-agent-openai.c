/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-agent-planner-private.h"
#include "aic-agent-tools.h"
#include "aic-engine.h"
#include "aic-error.h"
#include "aic-json.h"

/* The tool loop's turn with an OpenAI-compatible upstream: POST
 * /chat/completions with the tools and "stream": true. Text deltas go to
 * the run as they come; tool calls arrive in pieces (id and name first,
 * the arguments in fragments over many chunks), keyed by "index", and are
 * put together here. Servers that refuse streaming together with tools
 * (HTTP 400) are asked once more without streaming, and the engine
 * remembers that for the model. A model that cannot use tools at all
 * ends the run with one sentence that says what to do. */

#define NO_STREAM_KEY "aic-agent-no-stream-models"

typedef struct
{
  gint64   index;
  GString *id;
  GString *name;
  GString *arguments;
} PartialCall;

typedef struct
{
  AicEngine         *engine;
  AicClient         *client;
  char              *model;
  JsonArray         *messages;
  AicAgentTokenFunc  on_token;
  gpointer           token_data;
  gboolean           stream;
  /* what the stream has said so far */
  GString           *content;
  GPtrArray         *calls;      /* PartialCall, in order of first sight */
  gboolean           streamed;   /* some text went to on_token */
  gboolean           done;
} Plan;

static void
partial_call_free (PartialCall *call)
{
  g_string_free (call->id, TRUE);
  g_string_free (call->name, TRUE);
  g_string_free (call->arguments, TRUE);
  g_free (call);
}

static void
plan_free (Plan *plan)
{
  g_clear_object (&plan->engine);
  g_clear_object (&plan->client);
  g_free (plan->model);
  g_clear_pointer (&plan->messages, json_array_unref);
  g_string_free (plan->content, TRUE);
  g_ptr_array_unref (plan->calls);
  g_free (plan);
}

/* ---- remembering servers that refuse stream with tools ---- */

static gboolean
refuses_stream (AicEngine  *engine,
                const char *model)
{
  GHashTable *models = g_object_get_data (G_OBJECT (engine), NO_STREAM_KEY);

  return models != NULL && g_hash_table_contains (models, model);
}

static void
remember_no_stream (AicEngine  *engine,
                    const char *model)
{
  GHashTable *models = g_object_get_data (G_OBJECT (engine), NO_STREAM_KEY);

  if (models == NULL)
    {
      models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_object_set_data_full (G_OBJECT (engine), NO_STREAM_KEY, models, (GDestroyNotify) g_hash_table_unref);
    }
  g_hash_table_add (models, g_strdup (model));
}

/* ---- the streamed answer ---- */

static PartialCall *
find_call (Plan       *plan,
           gint64      index,
           const char *id)
{
  PartialCall *call;

  for (guint i = 0; i < plan->calls->len; i++)
    {
      call = g_ptr_array_index (plan->calls, i);
      if (index >= 0 ? call->index == index : (id != NULL && g_str_equal (call->id->str, id)))
        return call;
    }
  /* No index and no id: the continuation of the last call. */
  if (index < 0 && id == NULL && plan->calls->len > 0)
    return g_ptr_array_index (plan->calls, plan->calls->len - 1);

  call = g_new0 (PartialCall, 1);
  call->index = index >= 0 ? index : (gint64) plan->calls->len;
  call->id = g_string_new (NULL);
  call->name = g_string_new (NULL);
  call->arguments = g_string_new (NULL);
  g_ptr_array_add (plan->calls, call);
  return call;
}

static gboolean
malformed (GError **error)
{
  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                       _("The model’s answer was not a chat completion this agent can read."));
  return FALSE;
}

static const char *
optional_string (JsonObject *object,
                 const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
read_tool_call_delta (Plan      *plan,
                      JsonNode  *node,
                      GError   **error)
{
  JsonObject *delta, *function = NULL;
  JsonNode *index_node;
  const char *id, *name, *arguments;
  PartialCall *call;
  gint64 index = -1;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return malformed (error);
  delta = json_node_get_object (node);
  index_node = json_object_get_member (delta, "index");
  if (index_node != NULL && JSON_NODE_HOLDS_VALUE (index_node) &&
      json_node_get_value_type (index_node) == G_TYPE_INT64)
    index = json_node_get_int (index_node);
  if (json_object_has_member (delta, "function") &&
      !aic_json_get_object (delta, "function", FALSE, &function, error))
    return FALSE;

  id = optional_string (delta, "id");
  name = optional_string (function, "name");
  arguments = optional_string (function, "arguments");

  call = find_call (plan, index, id);
  if (id != NULL && id[0] != '\0' && call->id->len == 0)
    g_string_assign (call->id, id);
  if (name != NULL && call->name->len == 0)
    g_string_assign (call->name, name);
  if (arguments != NULL)
    g_string_append (call->arguments, arguments);
  return TRUE;
}

static gboolean
openai_event (const AicSseEvent  *event,
              gpointer            user_data,
              GError            **error)
{
  Plan *plan = user_data;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonObject *object, *choice, *delta;
  JsonNode *choices, *node;

  if (plan->done || event->data_len == 0)
    return TRUE;
  if (g_str_equal (event->data, "[DONE]"))
    {
      plan->done = TRUE;
      return TRUE;
    }
  root = aic_json_parse_mutable (event->data, -1, &parse_error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return malformed (error);
  object = json_node_get_object (root);

  /* An error inside the stream, sometimes with HTTP 200. */
  if (json_object_has_member (object, "error"))
    {
      const char *said = aic_agent_upstream_said (root);

      g_set_error (error, AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_UPSTREAM,
                   /* Translators: %s is the provider's own message */
                   _("The model stopped with an error: %s"), said ? said : event->data);
      return FALSE;
    }

  choices = json_object_get_member (object, "choices");
  /* The usage chunk has no choices, or an empty array, or null. */
  if (choices == NULL || JSON_NODE_HOLDS_NULL (choices))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (choices))
    return malformed (error);
  if (json_array_get_length (json_node_get_array (choices)) == 0)
    return TRUE;
  node = json_array_get_element (json_node_get_array (choices), 0);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return malformed (error);
  choice = json_node_get_object (node);
  node = json_object_get_member (choice, "delta");
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return malformed (error);
  delta = json_node_get_object (node);

  node = json_object_get_member (delta, "content");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      const char *text;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return malformed (error);
      text = json_node_get_string (node);
      if (text[0] != '\0')
        {
          g_string_append (plan->content, text);
          plan->streamed = TRUE;
          if (plan->on_token != NULL)
            plan->on_token (text, plan->token_data);
        }
    }

  node = json_object_get_member (delta, "tool_calls");
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *calls = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (calls); i++)
        if (!read_tool_call_delta (plan, json_array_get_element (calls, i), error))
          return FALSE;
    }
  else if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    return malformed (error);
  return TRUE;
}

static AicAgentTurn *
streamed_turn (Plan *plan)
{
  AicAgentTurn *turn = aic_agent_turn_new (plan->content->len > 0 || plan->calls->len == 0
                                           ? plan->content->str : NULL);

  turn->streamed = plan->streamed;
  for (guint i = 0; i < plan->calls->len; i++)
    {
      PartialCall *call = g_ptr_array_index (plan->calls, i);
      g_autofree char *fallback = g_strdup_printf ("call-%u", i + 1);

      aic_agent_turn_add_call (turn, call->id->len > 0 ? call->id->str : fallback, call->name->str,
                               call->arguments->len > 0 ? call->arguments->str : "{}");
    }
  return turn;
}

/* ---- a whole answer ---- */

static gboolean
read_turn (JsonNode      *root,
           AicAgentTurn **out_turn,
           GError       **error)
{
  g_autoptr(AicAgentTurn) turn = NULL;
  JsonObject *object, *choice, *message;
  JsonArray *choices;
  JsonNode *content, *calls;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return malformed (error);
  object = json_node_get_object (root);
  if (!json_object_has_member (object, "choices") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "choices")))
    return malformed (error);
  choices = json_object_get_array_member (object, "choices");
  if (json_array_get_length (choices) == 0 ||
      !JSON_NODE_HOLDS_OBJECT (json_array_get_element (choices, 0)))
    return malformed (error);
  choice = json_array_get_object_element (choices, 0);
  if (!json_object_has_member (choice, "message") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (choice, "message")))
    return malformed (error);
  message = json_object_get_object_member (choice, "message");

  content = json_object_get_member (message, "content");
  if (content != NULL && !JSON_NODE_HOLDS_NULL (content) &&
      json_node_get_value_type (content) != G_TYPE_STRING)
    return malformed (error);
  turn = aic_agent_turn_new (content && !JSON_NODE_HOLDS_NULL (content) ? json_node_get_string (content) : NULL);

  calls = json_object_get_member (message, "tool_calls");
  if (calls != NULL && JSON_NODE_HOLDS_ARRAY (calls))
    {
      JsonArray *array = json_node_get_array (calls);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *node = json_array_get_element (array, i);
          JsonObject *call, *function;
          const char *id = NULL, *name = NULL, *arguments = NULL;
          g_autofree char *fallback = g_strdup_printf ("call-%u", i + 1);

          if (!JSON_NODE_HOLDS_OBJECT (node))
            return malformed (error);
          call = json_node_get_object (node);
          if (!aic_json_get_string (call, "id", FALSE, &id, NULL) ||
              !aic_json_get_object (call, "function", TRUE, &function, NULL) ||
              !aic_json_get_string (function, "name", TRUE, &name, NULL) ||
              !aic_json_get_string (function, "arguments", FALSE, &arguments, NULL))
            return malformed (error);
          aic_agent_turn_add_call (turn, id ? id : fallback, name, arguments ? arguments : "{}");
        }
    }
  else if (calls != NULL && !JSON_NODE_HOLDS_NULL (calls))
    return malformed (error);

  *out_turn = g_steal_pointer (&turn);
  return TRUE;
}

/* ---- the request ---- */

/* Whether a 400 says the model cannot use tools: Ollama's "… does not
 * support tools", or, after the plain retry, any refusal about tools. */
static gboolean
says_no_tools (JsonNode *body,
               gboolean  any_mention)
{
  const char *said = aic_agent_upstream_said (body);
  g_autofree char *lower = NULL;

  if (said == NULL)
    return FALSE;
  lower = g_ascii_strdown (said, -1);
  if (strstr (lower, "does not support tools") != NULL)
    return TRUE;
  return any_mention && strstr (lower, "tool") != NULL;
}

static void send_request (GTask *task);

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Plan *plan = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) body = NULL;
  AicAgentTurn *turn = NULL;
  guint status = 0;

  if (!aic_agent_upstream_send_finish (result, &status, &body, &error))
    {
      gboolean refused = status == SOUP_STATUS_BAD_REQUEST;

      if (refused && says_no_tools (body, !plan->stream))
        {
          g_task_return_error (task, aic_agent_no_tools_error (plan->model));
          return;
        }
      if (refused && plan->stream)
        {
          /* Perhaps only streaming with tools is refused: once more
           * without, and remembered if that works. */
          g_debug ("%s refused a streamed request with tools; asking without streaming", plan->model);
          plan->stream = FALSE;
          send_request (g_steal_pointer (&task));
          return;
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (body == NULL)
    turn = streamed_turn (plan);
  else if (!read_turn (body, &turn, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!plan->stream && !refuses_stream (plan->engine, plan->model))
    remember_no_stream (plan->engine, plan->model);
  g_task_return_pointer (task, turn, (GDestroyNotify) aic_agent_turn_free);
}

static void
send_request (GTask *task)
{
  Plan *plan = g_task_get_task_data (task);
  g_autoptr(SoupMessage) message = aic_client_new_message (plan->client, "POST", "/chat/completions");
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GBytes) body = NULL;

  if (message == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not a web address."), aic_engine_get_upstream (plan->engine));
      g_object_unref (task);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, plan->model);
  json_builder_set_member_name (builder, "messages");
  json_builder_add_value (builder, json_node_init_array (json_node_alloc (), plan->messages));
  json_builder_set_member_name (builder, "tools");
  json_builder_add_value (builder, aic_agent_tools_openai_schema ());
  json_builder_set_member_name (builder, "tool_choice");
  json_builder_add_string_value (builder, "auto");
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, plan->stream);
  json_builder_end_object (builder);
  body = aic_agent_json_bytes (builder);

  /* A fresh start for each attempt. */
  g_string_truncate (plan->content, 0);
  g_ptr_array_set_size (plan->calls, 0);
  plan->streamed = FALSE;
  plan->done = FALSE;

  aic_agent_upstream_send_async (plan->client, message, body, openai_event, plan,
                                 g_task_get_cancellable (task), sent_cb, task);
}

void
aic_agent_openai_plan (AicEngine         *engine,
                       const char        *model,
                       JsonArray         *messages,
                       AicAgentTokenFunc  on_token,
                       gpointer           token_data,
                       GTask             *task)
{
  Plan *plan = g_new0 (Plan, 1);

  plan->engine = g_object_ref (engine);
  plan->client = aic_engine_new_upstream_client (engine);
  plan->model = aic_engine_resolve_model (engine, model);
  plan->messages = json_array_ref (messages);
  plan->on_token = on_token;
  plan->token_data = token_data;
  plan->stream = !refuses_stream (engine, plan->model);
  plan->content = g_string_new (NULL);
  plan->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) partial_call_free);
  g_task_set_task_data (task, plan, (GDestroyNotify) plan_free);
  send_request (task);
}
