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

/* The tool loop's turn with the Anthropic Messages API: POST
 * /v1/messages with the tools and "stream": true. The loop keeps its
 * conversation in OpenAI's shape; here it becomes Anthropic's (the
 * system prompt apart, tool calls as tool_use blocks, their results as
 * tool_result blocks in one user message). The answer streams as content
 * blocks: text, sent on to the run as it comes, and tool_use, whose
 * input arrives as pieces of JSON to join. */

typedef struct
{
  gint64   index;
  gboolean is_tool;
  gboolean input_given;  /* the input came whole with the block's start */
  GString *id;
  GString *name;
  GString *text;     /* the text, or the tool input's JSON */
} Block;

typedef struct
{
  AicEngine         *engine;
  AicClient         *client;
  char              *model;
  JsonArray         *messages;
  AicAgentTokenFunc  on_token;
  gpointer           token_data;
  GPtrArray         *blocks;     /* Block, in order of their start */
  gboolean           streamed;
  gboolean           stopped;
} Plan;

static void
block_free (Block *block)
{
  g_string_free (block->id, TRUE);
  g_string_free (block->name, TRUE);
  g_string_free (block->text, TRUE);
  g_free (block);
}

static void
plan_free (Plan *plan)
{
  g_clear_object (&plan->engine);
  g_clear_object (&plan->client);
  g_free (plan->model);
  g_clear_pointer (&plan->messages, json_array_unref);
  g_ptr_array_unref (plan->blocks);
  g_free (plan);
}

/* ---- the conversation, converted ---- */

static JsonNode *
parse_input (const char *arguments)
{
  JsonNode *node = arguments ? aic_json_parse_mutable (arguments, -1, NULL) : NULL;

  /* Arguments that do not parse were already answered as invalid. */
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_clear_pointer (&node, json_node_unref);
      node = json_node_init_object (json_node_alloc (), json_object_new ());
    }
  return node;
}

static JsonObject *
assistant_message (JsonObject *message)
{
  JsonArray *blocks = json_array_new ();
  JsonObject *converted = json_object_new ();
  const char *text = json_object_get_string_member_with_default (message, "content", NULL);
  JsonNode *calls = json_object_get_member (message, "tool_calls");

  if (text != NULL && text[0] != '\0')
    {
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "text");
      json_object_set_string_member (block, "text", text);
      json_array_add_object_element (blocks, block);
    }
  for (guint i = 0; calls != NULL && JSON_NODE_HOLDS_ARRAY (calls) && i < json_array_get_length (json_node_get_array (calls)); i++)
    {
      JsonObject *call = json_array_get_object_element (json_node_get_array (calls), i);
      JsonObject *function = json_object_get_object_member (call, "function");
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "tool_use");
      json_object_set_string_member (block, "id", json_object_get_string_member_with_default (call, "id", ""));
      json_object_set_string_member (block, "name", json_object_get_string_member_with_default (function, "name", ""));
      json_object_set_member (block, "input",
                              parse_input (json_object_get_string_member_with_default (function, "arguments", "{}")));
      json_array_add_object_element (blocks, block);
    }
  json_object_set_string_member (converted, "role", "assistant");
  json_object_set_array_member (converted, "content", blocks);
  return converted;
}

/**
 * aic_agent_anthropic_messages:
 * @messages: the loop's conversation, in OpenAI's shape
 * @out_system: (out) (transfer full) (nullable): the system prompt
 *
 * Returns: (transfer full): the "messages" array of a Messages request
 */
JsonNode *
aic_agent_anthropic_messages (JsonArray  *messages,
                              char      **out_system)
{
  g_autoptr(GString) system = g_string_new (NULL);
  JsonArray *converted = json_array_new ();
  JsonArray *results = NULL;   /* the tool_result blocks of the user message being built */

  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);
      const char *role = json_object_get_string_member_with_default (message, "role", "");
      const char *content = json_object_get_string_member_with_default (message, "content", NULL);

      if (strcmp (role, "tool") == 0)
        {
          JsonObject *block = json_object_new ();

          if (results == NULL)
            {
              JsonObject *user = json_object_new ();

              results = json_array_new ();
              json_object_set_string_member (user, "role", "user");
              json_object_set_array_member (user, "content", results);
              json_array_add_object_element (converted, user);
            }
          json_object_set_string_member (block, "type", "tool_result");
          json_object_set_string_member (block, "tool_use_id",
                                         json_object_get_string_member_with_default (message, "tool_call_id", ""));
          json_object_set_string_member (block, "content", content ? content : "");
          if (content != NULL && g_str_has_prefix (content, "{\"error\""))
            json_object_set_boolean_member (block, "is_error", TRUE);
          json_array_add_object_element (results, block);
          continue;
        }
      results = NULL;

      if (strcmp (role, "system") == 0)
        {
          if (content != NULL)
            g_string_append_printf (system, "%s%s", system->len > 0 ? "\n\n" : "", content);
        }
      else if (strcmp (role, "assistant") == 0)
        {
          JsonObject *assistant = assistant_message (message);

          /* Anthropic refuses an assistant turn with nothing in it. */
          if (json_array_get_length (json_object_get_array_member (assistant, "content")) > 0)
            json_array_add_object_element (converted, assistant);
          else
            json_object_unref (assistant);
        }
      else
        {
          JsonObject *user = json_object_new ();

          json_object_set_string_member (user, "role", "user");
          json_object_set_string_member (user, "content", content ? content : "");
          json_array_add_object_element (converted, user);
        }
    }
  *out_system = system->len > 0 ? g_strdup (system->str) : NULL;
  return json_node_init_array (json_node_alloc (), converted);
}

/* ---- the streamed answer ---- */

static gboolean
malformed (GError **error)
{
  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                       _("The model’s answer was not a Messages API answer this agent can read."));
  return FALSE;
}

/* An error the API reports, in the stream or as an error body. */
static GError *
api_error (JsonObject *object)
{
  JsonObject *inner = NULL;
  const char *type = NULL, *text = NULL;
  JsonNode *node = json_object_get_member (object, "error");

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      inner = json_node_get_object (node);
      type = json_object_get_string_member_with_default (inner, "type", NULL);
      text = json_object_get_string_member_with_default (inner, "message", NULL);
    }
  if (g_strcmp0 (type, "overloaded_error") == 0)
    return g_error_new (AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_BUSY,
                        /* Translators: %s is the provider's own message, such as "Overloaded" */
                        _("Anthropic is overloaded at the moment (“%s”). Try again in a little while."),
                        text ? text : type);
  return g_error_new (AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_UPSTREAM,
                      /* Translators: %s is the provider's own message */
                      _("The model stopped with an error: %s"),
                      text ? text : type ? type : "?");
}

static Block *
find_block (Plan   *plan,
            gint64  index)
{
  for (guint i = 0; i < plan->blocks->len; i++)
    {
      Block *block = g_ptr_array_index (plan->blocks, i);

      if (block->index == index)
        return block;
    }
  return NULL;
}

static Block *
add_block (Plan   *plan,
           gint64  index)
{
  Block *block = g_new0 (Block, 1);

  block->index = index;
  block->id = g_string_new (NULL);
  block->name = g_string_new (NULL);
  block->text = g_string_new (NULL);
  g_ptr_array_add (plan->blocks, block);
  return block;
}

static gboolean
block_start (Plan        *plan,
             JsonObject  *object,
             GError     **error)
{
  JsonObject *start = NULL;
  const char *type = NULL;
  gint64 index = 0;
  Block *block;

  if (!aic_json_get_int (object, "index", TRUE, &index, error) ||
      !aic_json_get_object (object, "content_block", TRUE, &start, error) ||
      !aic_json_get_string (start, "type", TRUE, &type, error))
    return FALSE;
  block = find_block (plan, index);
  if (block == NULL)
    block = add_block (plan, index);
  if (strcmp (type, "tool_use") == 0)
    {
      const char *id = NULL, *name = NULL;
      JsonNode *input = json_object_get_member (start, "input");

      if (!aic_json_get_string (start, "id", TRUE, &id, error) ||
          !aic_json_get_string (start, "name", TRUE, &name, error))
        return FALSE;
      block->is_tool = TRUE;
      g_string_assign (block->id, id);
      g_string_assign (block->name, name);
      /* Streamed input starts empty ({}) and comes in pieces; an input
       * given whole is kept unless pieces follow. */
      if (input != NULL && JSON_NODE_HOLDS_OBJECT (input) && json_object_get_size (json_node_get_object (input)) > 0)
        {
          g_autofree char *text = aic_json_to_string (input, FALSE);

          g_string_assign (block->text, text);
          block->input_given = TRUE;
        }
    }
  else if (strcmp (type, "text") == 0)
    {
      const char *text = json_object_get_string_member_with_default (start, "text", "");

      if (text[0] != '\0')
        {
          g_string_append (block->text, text);
          plan->streamed = TRUE;
          if (plan->on_token != NULL)
            plan->on_token (text, plan->token_data);
        }
    }
  return TRUE;
}

static gboolean
block_delta (Plan        *plan,
             JsonObject  *object,
             GError     **error)
{
  JsonObject *delta = NULL;
  const char *type = NULL;
  gint64 index = 0;
  Block *block;

  if (!aic_json_get_int (object, "index", TRUE, &index, error) ||
      !aic_json_get_object (object, "delta", TRUE, &delta, error) ||
      !aic_json_get_string (delta, "type", TRUE, &type, error))
    return FALSE;
  block = find_block (plan, index);
  if (block == NULL)
    return malformed (error);

  if (strcmp (type, "text_delta") == 0 && !block->is_tool)
    {
      const char *text = NULL;

      if (!aic_json_get_string (delta, "text", TRUE, &text, error))
        return FALSE;
      g_string_append (block->text, text);
      if (text[0] != '\0')
        {
          plan->streamed = TRUE;
          if (plan->on_token != NULL)
            plan->on_token (text, plan->token_data);
        }
    }
  else if (strcmp (type, "input_json_delta") == 0 && block->is_tool)
    {
      const char *piece = NULL;

      if (!aic_json_get_string (delta, "partial_json", TRUE, &piece, error))
        return FALSE;
      if (block->input_given)
        {
          g_string_truncate (block->text, 0);
          block->input_given = FALSE;
        }
      g_string_append (block->text, piece);
    }
  /* thinking_delta, signature_delta and what comes later: not ours. */
  return TRUE;
}

static gboolean
anthropic_event (const AicSseEvent  *event,
                 gpointer            user_data,
                 GError            **error)
{
  Plan *plan = user_data;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  const char *type;

  if (plan->stopped || event->data_len == 0)
    return TRUE;
  root = aic_json_parse_mutable (event->data, -1, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return malformed (error);
  object = json_node_get_object (root);
  type = json_object_get_string_member_with_default (object, "type", event->type);

  if (strcmp (type, "error") == 0)
    {
      *error = api_error (object);
      return FALSE;
    }
  if (strcmp (type, "content_block_start") == 0)
    return block_start (plan, object, error);
  if (strcmp (type, "content_block_delta") == 0)
    return block_delta (plan, object, error);
  if (strcmp (type, "message_stop") == 0)
    plan->stopped = TRUE;
  /* message_start, content_block_stop, message_delta, ping: nothing to
   * keep; the blocks say all the loop needs. */
  return TRUE;
}

static AicAgentTurn *
blocks_turn (Plan *plan)
{
  g_autoptr(GString) content = g_string_new (NULL);
  g_autoptr(GPtrArray) tools = g_ptr_array_new ();
  AicAgentTurn *turn;

  for (guint i = 0; i < plan->blocks->len; i++)
    {
      Block *block = g_ptr_array_index (plan->blocks, i);

      if (block->is_tool)
        g_ptr_array_add (tools, block);
      else
        g_string_append (content, block->text->str);
    }
  turn = aic_agent_turn_new (content->len > 0 || tools->len == 0 ? content->str : NULL);
  turn->streamed = plan->streamed;
  for (guint i = 0; i < tools->len; i++)
    {
      Block *block = g_ptr_array_index (tools, i);
      const char *input = block->text->str;

      aic_agent_turn_add_call (turn, block->id->str, block->name->str, input[0] != '\0' ? input : "{}");
    }
  return turn;
}

/* A whole answer, from a server that did not stream: the same blocks. */
static gboolean
read_message (Plan      *plan,
              JsonNode  *root,
              GError   **error)
{
  JsonNode *content;
  JsonArray *blocks;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return malformed (error);
  content = json_object_get_member (json_node_get_object (root), "content");
  if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content))
    return malformed (error);
  blocks = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      g_autoptr(JsonObject) start = json_object_new ();
      JsonNode *node = json_array_get_element (blocks, i);

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return malformed (error);
      json_object_set_int_member (start, "index", i);
      json_object_set_member (start, "content_block", json_node_ref (node));
      if (!block_start (plan, start, error))
        return FALSE;
    }
  /* That text was not streamed: the hub sends it on. */
  plan->streamed = FALSE;
  return TRUE;
}

/* ---- the request ---- */

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Plan *plan = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) body = NULL;
  guint status = 0;

  if (!aic_agent_upstream_send_finish (result, &status, &body, &error))
    {
      /* 529 and friends say it best in their own body. */
      if (body != NULL && JSON_NODE_HOLDS_OBJECT (body) &&
          json_object_has_member (json_node_get_object (body), "error"))
        {
          g_autoptr(GError) said = api_error (json_node_get_object (body));

          if (g_error_matches (said, AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_BUSY))
            {
              g_task_return_error (task, g_steal_pointer (&said));
              return;
            }
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (body != NULL && !read_message (plan, body, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, blocks_turn (plan), (GDestroyNotify) aic_agent_turn_free);
}

void
aic_agent_anthropic_plan (AicEngine         *engine,
                          const char        *model,
                          JsonArray         *messages,
                          AicAgentTokenFunc  on_token,
                          gpointer           token_data,
                          GTask             *task)
{
  Plan *plan = g_new0 (Plan, 1);
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GBytes) body = NULL;
  g_autofree char *system = NULL;
  JsonNode *converted;

  plan->engine = g_object_ref (engine);
  plan->client = aic_engine_new_upstream_client (engine);
  plan->model = aic_engine_resolve_model (engine, model);
  plan->messages = json_array_ref (messages);
  plan->on_token = on_token;
  plan->token_data = token_data;
  plan->blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
  g_task_set_task_data (task, plan, (GDestroyNotify) plan_free);

  message = aic_client_new_message (plan->client, "POST", "/v1/messages");
  if (message == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not a web address."), aic_engine_get_upstream (engine));
      g_object_unref (task);
      return;
    }

  converted = aic_agent_anthropic_messages (messages, &system);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, plan->model);
  json_builder_set_member_name (builder, "max_tokens");
  json_builder_add_int_value (builder, AIC_AGENT_MAX_TOKENS);
  if (system != NULL)
    {
      json_builder_set_member_name (builder, "system");
      json_builder_add_string_value (builder, system);
    }
  json_builder_set_member_name (builder, "messages");
  json_builder_add_value (builder, converted);
  json_builder_set_member_name (builder, "tools");
  json_builder_add_value (builder, aic_agent_tools_anthropic_schema ());
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);
  body = aic_agent_json_bytes (builder);

  aic_agent_upstream_send_async (plan->client, message, body, anthropic_event, plan,
                                 g_task_get_cancellable (task), sent_cb, task);
}
