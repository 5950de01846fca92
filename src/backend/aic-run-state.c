/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-json.h"
#include "aic-run-state.h"

/* A run's state as the loop works with it: parsed once when a run is
 * loaded, written out as JSON only when it is saved. The JSON keeps the
 * shape earlier servers wrote, so their runs.db still loads. */

static const char * const state_names[] = {
  [AIC_RUN_STATE_PLANNING]  = "planning",
  [AIC_RUN_STATE_RUNNING]   = "running",
  [AIC_RUN_STATE_WAITING]   = "waiting",
  [AIC_RUN_STATE_COMPLETED] = "completed",
  [AIC_RUN_STATE_CANCELLED] = "cancelled",
  [AIC_RUN_STATE_FAILED]    = "failed",
};

const char *
aic_run_state_to_string (AicRunState state)
{
  g_return_val_if_fail (state < G_N_ELEMENTS (state_names), "failed");
  return state_names[state];
}

gboolean
aic_run_state_from_string (const char  *string,
                           AicRunState *out_state)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (string, state_names[i]) == 0)
      {
        *out_state = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
aic_run_state_is_final (AicRunState state)
{
  return state == AIC_RUN_STATE_COMPLETED ||
         state == AIC_RUN_STATE_CANCELLED ||
         state == AIC_RUN_STATE_FAILED;
}

AicRunCall *
aic_run_call_new (const char *id,
                  const char *name,
                  const char *arguments)
{
  AicRunCall *call = g_new0 (AicRunCall, 1);

  call->id = g_strdup (id);
  call->name = g_strdup (name);
  call->arguments = g_strdup (arguments);
  return call;
}

void
aic_run_call_free (AicRunCall *call)
{
  if (call == NULL)
    return;
  g_free (call->id);
  g_free (call->name);
  g_free (call->arguments);
  g_free (call);
}

AicRunMemory *
aic_run_memory_new (void)
{
  AicRunMemory *memory = g_new0 (AicRunMemory, 1);

  memory->messages = json_array_new ();
  memory->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_run_call_free);
  memory->allowed = g_ptr_array_new_with_free_func (g_free);
  return memory;
}

void
aic_run_memory_free (AicRunMemory *memory)
{
  if (memory == NULL)
    return;
  g_clear_pointer (&memory->messages, json_array_unref);
  g_clear_pointer (&memory->queue, g_ptr_array_unref);
  g_clear_pointer (&memory->allowed, g_ptr_array_unref);
  g_free (memory);
}

static JsonObject *
parse_object (const char  *text,
              GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) local_error = NULL;

  /* A mutable tree: the loop goes on adding to the conversation. */
  node = aic_json_parse_mutable (text, -1, &local_error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "Saved run state is not a JSON object%s%s",
                   local_error ? ": " : ".", local_error ? local_error->message : "");
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static gboolean
get_bool (JsonObject  *object,
          const char  *member,
          gboolean    *out_value,
          GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out_value = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "“%s” should be true or false.", member);
      return FALSE;
    }
  *out_value = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
get_array (JsonObject  *object,
           const char  *member,
           JsonArray  **out_value,
           GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out_value = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "“%s” should be an array.", member);
      return FALSE;
    }
  *out_value = json_node_get_array (node);
  return TRUE;
}

static AicRunCall *
read_call (JsonNode  *node,
           GError   **error)
{
  g_autoptr(AicRunCall) call = NULL;
  const char *id = NULL, *name = NULL, *arguments = NULL;
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "A queued call should be an object.");
      return NULL;
    }
  object = json_node_get_object (node);
  if (!aic_json_get_string (object, "id", TRUE, &id, error) ||
      !aic_json_get_string (object, "name", TRUE, &name, error) ||
      !aic_json_get_string (object, "arguments", FALSE, &arguments, error))
    return NULL;
  call = aic_run_call_new (id, name, arguments ? arguments : "{}");
  if (!get_bool (object, "announced", &call->announced, error) ||
      !get_bool (object, "executing", &call->executing, error) ||
      !get_bool (object, "approved", &call->approved, error))
    return NULL;
  return g_steal_pointer (&call);
}

/**
 * aic_run_memory_from_json:
 * Returns: (transfer full) (nullable): the memory, or %NULL with @error
 *   when @text is not one (members of the wrong type included)
 */
AicRunMemory *
aic_run_memory_from_json (const char  *text,
                          GError     **error)
{
  g_autoptr(JsonObject) object = parse_object (text ? text : "{}", error);
  g_autoptr(AicRunMemory) memory = NULL;
  JsonArray *messages, *queue, *allowed;
  gint64 steps = 0;

  if (object == NULL)
    return NULL;
  memory = aic_run_memory_new ();
  if (!get_array (object, "messages", &messages, error) ||
      !get_array (object, "queue", &queue, error) ||
      !get_array (object, "allowed", &allowed, error) ||
      !aic_json_get_int (object, "steps", FALSE, &steps, error) ||
      !get_bool (object, "started", &memory->started, error))
    return NULL;
  memory->steps = CLAMP (steps, 0, G_MAXUINT);

  if (messages != NULL)
    {
      json_array_unref (memory->messages);
      memory->messages = json_array_ref (messages);
    }
  for (guint i = 0; queue != NULL && i < json_array_get_length (queue); i++)
    {
      AicRunCall *call = read_call (json_array_get_element (queue, i), error);

      if (call == NULL)
        return NULL;
      g_ptr_array_add (memory->queue, call);
    }
  for (guint i = 0; allowed != NULL && i < json_array_get_length (allowed); i++)
    {
      JsonNode *node = json_array_get_element (allowed, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "“allowed” should hold strings.");
          return NULL;
        }
      g_ptr_array_add (memory->allowed, g_strdup (json_node_get_string (node)));
    }
  return g_steal_pointer (&memory);
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return aic_json_to_string (node, FALSE);
}

char *
aic_run_memory_to_json (const AicRunMemory *memory)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonArray *queue = json_array_new ();
  JsonArray *allowed = json_array_new ();

  g_return_val_if_fail (memory != NULL, NULL);

  for (guint i = 0; i < memory->queue->len; i++)
    {
      AicRunCall *call = g_ptr_array_index (memory->queue, i);
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "id", call->id);
      json_object_set_string_member (entry, "name", call->name);
      json_object_set_string_member (entry, "arguments", call->arguments);
      /* Only what is true, as before. */
      if (call->announced)
        json_object_set_boolean_member (entry, "announced", TRUE);
      if (call->executing)
        json_object_set_boolean_member (entry, "executing", TRUE);
      if (call->approved)
        json_object_set_boolean_member (entry, "approved", TRUE);
      json_array_add_object_element (queue, entry);
    }
  for (guint i = 0; i < memory->allowed->len; i++)
    json_array_add_string_element (allowed, g_ptr_array_index (memory->allowed, i));

  json_object_set_array_member (object, "messages", json_array_ref (memory->messages));
  json_object_set_array_member (object, "queue", queue);
  json_object_set_array_member (object, "allowed", allowed);
  json_object_set_int_member (object, "steps", memory->steps);
  if (memory->started)
    json_object_set_boolean_member (object, "started", TRUE);
  return object_to_string (object);
}

/* Whether the user allowed @name at @risk for the rest of the run. */
gboolean
aic_run_memory_allows (const AicRunMemory *memory,
                       const char         *key)
{
  if (key == NULL)
    return FALSE;
  for (guint i = 0; i < memory->allowed->len; i++)
    if (g_strcmp0 (g_ptr_array_index (memory->allowed, i), key) == 0)
      return TRUE;
  return FALSE;
}

AicRunPending *
aic_run_pending_new (JsonObject *message,
                     const char *call_id)
{
  AicRunPending *pending = g_new0 (AicRunPending, 1);

  pending->message = json_object_ref (message);
  pending->call_id = g_strdup (call_id);
  return pending;
}

void
aic_run_pending_free (AicRunPending *pending)
{
  if (pending == NULL)
    return;
  g_clear_pointer (&pending->message, json_object_unref);
  g_free (pending->call_id);
  g_free (pending);
}

/**
 * aic_run_pending_from_json:
 * Returns: (transfer full) (nullable): the request, or %NULL with @error
 */
AicRunPending *
aic_run_pending_from_json (const char  *text,
                           GError     **error)
{
  g_autoptr(JsonObject) object = parse_object (text, error);
  JsonObject *message = NULL;
  const char *call_id = NULL, *token = NULL;

  if (object == NULL ||
      !aic_json_get_object (object, "message", TRUE, &message, error) ||
      !aic_json_get_string (object, "call_id", TRUE, &call_id, error) ||
      !aic_json_get_string (message, "resume_token", TRUE, &token, error))
    return NULL;
  return aic_run_pending_new (message, call_id);
}

char *
aic_run_pending_to_json (const AicRunPending *pending)
{
  g_autoptr(JsonObject) object = json_object_new ();

  g_return_val_if_fail (pending != NULL, NULL);

  json_object_set_object_member (object, "message", json_object_ref (pending->message));
  json_object_set_string_member (object, "call_id", pending->call_id);
  return object_to_string (object);
}

const char *
aic_run_pending_get_token (const AicRunPending *pending)
{
  return json_object_get_string_member_with_default (pending->message, "resume_token", "");
}
