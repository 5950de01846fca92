/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-agent-hub-private.h"
#include "aic-error.h"
#include "aic-json.h"
#include "aic-reply.h"

/* The REST routes of agent runs: make one, list them, one's state,
 * cancel, and the token stream (SSE) of its text. */

#define MAX_GOAL_BYTES      (16 * 1024)

static void
unknown_run (SoupServerMessage *message,
             const char        *id)
{
  g_autofree char *text = g_strdup_printf ("There is no run %s.", id);

  aic_reply_error (message, SOUP_STATUS_NOT_FOUND, "not_found", text);
}

/**
 * aic_agent_hub_create:
 * Handles POST /api/runs.
 */
void
aic_agent_hub_create (AicAgentHub       *self,
                      SoupServerMessage *message)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(JsonNode) reply_node = NULL;
  g_autofree char *ws_url = NULL, *tokens_url = NULL;
  JsonObject *object = aic_request_json (message, &root);
  const char *goal = NULL, *model = NULL, *workspace = NULL;
  g_autoptr(Run) run = NULL;

  if (object == NULL)
    return;
  if (!aic_json_get_string (object, "goal", TRUE, &goal, &error) ||
      !aic_json_get_string (object, "model", FALSE, &model, &error) ||
      !aic_json_get_string (object, "workspace", FALSE, &workspace, &error))
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", error->message);
      return;
    }
  if (strlen (goal) > MAX_GOAL_BYTES)
    {
      aic_reply_error (message, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_large", "The goal is too long.");
      return;
    }
  if (workspace != NULL && !g_path_is_absolute (workspace))
    {
      aic_reply_error (message, SOUP_STATUS_UNPROCESSABLE_ENTITY, "invalid_workspace",
                       "The workspace must be an absolute path to a folder on the server.");
      return;
    }

  run = aic_agent_hub_run_create (self, NULL, goal, model, workspace, &error);
  if (run == NULL)
    {
      if (g_error_matches (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE))
        aic_reply_error (message, SOUP_STATUS_FORBIDDEN, "workspace_not_allowed", error->message);
      else if (g_error_matches (error, AIC_ERROR, AIC_ERROR_DISK_FULL))
        aic_reply_error (message, SOUP_STATUS_INSUFFICIENT_STORAGE, "disk_full",
                         "The server’s disk is full, so the run could not be saved. "
                         "Free some space on the server and start it again.");
      else if (error->domain == AIC_ERROR)
        aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      else
        aic_reply_error (message, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                         g_error_matches (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID)
                         ? "invalid_request" : "invalid_workspace",
                         error->message);
      return;
    }

  ws_url = g_strdup_printf ("/ws/runs/%s", run->record->id);
  tokens_url = g_strdup_printf ("/api/runs/%s/tokens", run->record->id);
  json_object_set_string_member (reply, "run_id", run->record->id);
  json_object_set_string_member (reply, "ws_url", ws_url);
  json_object_set_string_member (reply, "tokens_url", tokens_url);
  json_object_set_string_member (reply, "state", aic_run_state_to_string (run->record->state));
  json_object_set_string_member (reply, "workspace", run->record->workspace);
  reply_node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_CREATED, reply_node);
  {
    g_autofree char *location = g_strdup_printf ("/api/runs/%s", run->record->id);

    soup_message_headers_replace (soup_server_message_get_response_headers (message), "Location", location);
  }
}

static void
add_time (JsonObject *object,
          const char *member,
          gint64      usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autofree char *text = g_date_time_format_iso8601 (time);

  json_object_set_string_member (object, member, text);
}

static JsonObject *
run_summary (const AicRunRecord *record)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "run_id", record->id);
  json_object_set_string_member (object, "goal", record->goal);
  json_object_set_string_member (object, "state", aic_run_state_to_string (record->state));
  json_object_set_string_member (object, "workspace", record->workspace);
  if (record->model != NULL)
    json_object_set_string_member (object, "model", record->model);
  add_time (object, "created_at", record->created_at);
  add_time (object, "updated_at", record->updated_at);
  return object;
}

/**
 * aic_agent_hub_list:
 * Handles GET /api/runs: the newest hundred.
 */
void
aic_agent_hub_list (AicAgentHub       *self,
                    SoupServerMessage *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = aic_run_store_list (self->store, 100, FALSE, &error);
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  JsonArray *runs;

  if (records == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }
  runs = json_array_new ();
  for (guint i = 0; i < records->len; i++)
    json_array_add_object_element (runs, run_summary (g_ptr_array_index (records, i)));
  json_object_set_array_member (reply, "runs", runs);
  node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_OK, node);
}

static AicRunRecord *
lookup_record (AicAgentHub       *self,
               SoupServerMessage *message,
               const char        *id)
{
  g_autoptr(GError) error = NULL;
  AicRunRecord *record;

  record = aic_run_store_get (self->store, id, &error);
  if (record == NULL && error != NULL)
    aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
  else if (record == NULL)
    unknown_run (message, id);
  return record;
}

/**
 * aic_agent_hub_status:
 * Handles GET /api/runs/{id}: the run, its steps so far, its pending
 * request and its result.
 */
void
aic_agent_hub_status (AicAgentHub       *self,
                      SoupServerMessage *message,
                      const char        *run_id)
{
  g_autoptr(AicRunRecord) record = lookup_record (self, message, run_id);
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *steps;

  if (record == NULL)
    return;
  reply = run_summary (record);
  events = aic_run_store_events (self->store, run_id, "control", 0, &error);
  steps = json_array_new ();
  for (guint i = 0; events != NULL && i < events->len; i++)
    {
      AicRunEvent *event = g_ptr_array_index (events, i);
      JsonObject *step = aic_agent_hub_parse_object (event->body);

      if (step != NULL)
        json_array_add_object_element (steps, step);
    }
  json_object_set_array_member (reply, "steps", steps);
  if (record->pending != NULL)
    json_object_set_object_member (reply, "pending", json_object_ref (record->pending->message));
  else
    json_object_set_null_member (reply, "pending");
  if (record->result != NULL)
    json_object_set_member (reply, "result", json_node_copy (record->result));
  else
    json_object_set_null_member (reply, "result");
  node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_OK, node);
}

/**
 * aic_agent_hub_cancel:
 * Handles POST /api/runs/{id}/cancel; cancelling an ended run is not an
 * error, it answers with the run as it ended.
 */
void
aic_agent_hub_cancel (AicAgentHub       *self,
                      SoupServerMessage *message,
                      const char        *run_id)
{
  Run *run = aic_agent_hub_find_live (self, run_id);
  g_autoptr(AicRunRecord) record = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (run != NULL)
    {
      g_autoptr(Run) hold = aic_agent_hub_run_ref (run);

      aic_agent_hub_run_cancel (hold);
    }
  record = lookup_record (self, message, run_id);
  if (record == NULL)
    return;
  reply = run_summary (record);
  node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_OK, node);
}

/**
 * aic_agent_hub_tokens:
 * Handles GET /api/runs/{id}/tokens: the text so far after
 * Last-Event-ID, then as it comes, until the run ends.
 */
void
aic_agent_hub_tokens (AicAgentHub       *self,
                      SoupServerMessage *message,
                      const char        *run_id)
{
  g_autoptr(AicRunRecord) record = lookup_record (self, message, run_id);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(AicEventStream) finished = NULL;
  g_autoptr(GError) error = NULL;
  AicEventStream *stream;
  guint64 after = 0;
  Run *run;

  if (record == NULL || !aic_event_stream_parse_last_id (message, &after))
    return;
  events = aic_run_store_events (self->store, run_id, "token", after, &error);
  if (events == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }

  /* A live run's stream goes on after the backlog; an ended run's is
   * only the backlog, and nothing at all (204) when the client has it. */
  run = aic_agent_hub_find_live (self, run_id);
  if (run != NULL)
    {
      stream = run->tokens;
    }
  else
    {
      if (events->len == 0)
        {
          aic_event_stream_reply_over (message);
          return;
        }
      stream = finished = aic_event_stream_new (FALSE, AIC_AGENT_TOKEN_RETRY_MS);
    }

  aic_event_stream_subscribe (stream, message, after);
  for (guint i = 0; i < events->len; i++)
    {
      AicRunEvent *event = g_ptr_array_index (events, i);
      g_autoptr(JsonObject) object = aic_agent_hub_parse_object (event->body);
      g_autoptr(JsonNode) root = NULL;

      if (object == NULL)
        continue;
      root = json_node_init_object (json_node_alloc (), object);
      aic_event_stream_send_to (stream, message, (guint64) event->seq,
                                json_object_get_string_member_with_default (object, "type", "token"), root);
    }
  if (finished != NULL)
    aic_event_stream_end (finished);
}
