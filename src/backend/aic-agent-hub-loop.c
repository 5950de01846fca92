/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include "aic-agent-hub-private.h"
#include "aic-agent-planner.h"
#include "aic-error.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-source.h"

/* The run loop: one step asks the model for its next move (its text
 * streams to the run's token channel as it comes), queues the tool calls
 * it made and takes them one by one (aic-agent-hub-tools.c); a move with
 * no calls ends the run. Also how a run ends, and its deadline. */

/* Text from the model, in pieces of a word each, as the data plane's
 * token events; kept, so a stream that reconnects misses none. For
 * text that came whole (the demo plan, a reply that was not streamed). */
static void
run_emit_text (Run        *run,
               const char *text)
{
  const char *p = text;

  while (p != NULL && *p != '\0')
    {
      const char *end = p;
      g_autofree char *piece = NULL;
      g_autoptr(JsonObject) event = json_object_new ();

      while (*end != '\0' && g_ascii_isspace (*end))
        end++;
      while (*end != '\0' && !g_ascii_isspace (*end))
        end++;
      piece = g_strndup (p, end - p);
      p = end;

      json_object_set_string_member (event, "type", "token");
      json_object_set_string_member (event, "content", piece);
      aic_agent_hub_run_emit_event (run, event);
    }
}

/* A piece of text as the model streams it: one token event each. */
static void
token_cb (const char *text,
          gpointer    user_data)
{
  Run *run = user_data;
  g_autoptr(JsonObject) event = NULL;

  if (run->ended || text == NULL || text[0] == '\0')
    return;
  event = json_object_new ();
  json_object_set_string_member (event, "type", "token");
  json_object_set_string_member (event, "content", text);
  aic_agent_hub_run_emit_event (run, event);
}

/* The error code a client can map, for a model that gave no move. */
static const char *
plan_error_code (const GError *error)
{
  if (g_error_matches (error, AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_NO_TOOLS))
    return "model_cannot_use_tools";
  if (g_error_matches (error, AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_BUSY) ||
      g_error_matches (error, AIC_ERROR, AIC_ERROR_BUSY))
    return "model_busy";
  return "model_failed";
}

static void
plan_failed (Run          *run,
             const GError *error)
{
  g_autoptr(JsonNode) failure = json_node_init_object (json_node_alloc (), json_object_new ());
  g_autoptr(JsonObject) message = json_object_new ();
  const char *code = plan_error_code (error);
  g_autofree char *text = NULL;

  /* That sentence says all there is; others get their context. */
  if (g_error_matches (error, AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_NO_TOOLS))
    text = g_strdup (error->message);
  else
    text = g_strdup_printf ("The model could not be asked: %s", error->message);

  json_object_set_string_member (message, "code", code);
  json_object_set_string_member (message, "message", text);
  aic_agent_hub_run_send (run, "error", message, TRUE);
  json_object_set_string_member (json_node_get_object (failure), "code", code);
  json_object_set_string_member (json_node_get_object (failure), "message", text);
  aic_agent_hub_run_finish (run, AIC_RUN_STATE_FAILED, failure);
}

static void
plan_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Run) run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicAgentTurn) turn = aic_agent_plan_finish (AIC_ENGINE (object), result, &error);
  g_autoptr(JsonObject) assistant = json_object_new ();
  AicRunMemory *memory = run->record->memory;
  gboolean has_text;

  run->busy = FALSE;
  if (run->ended)
    return;
  if (turn == NULL)
    {
      plan_failed (run, error);
      return;
    }

  json_object_set_string_member (assistant, "role", "assistant");
  if (turn->content != NULL)
    json_object_set_string_member (assistant, "content", turn->content);
  else
    json_object_set_null_member (assistant, "content");
  if (turn->calls->len > 0)
    {
      JsonArray *calls = json_array_new ();

      for (guint i = 0; i < turn->calls->len; i++)
        {
          AicToolCall *call = g_ptr_array_index (turn->calls, i);
          JsonObject *entry = json_object_new ();
          JsonObject *function = json_object_new ();

          json_object_set_string_member (entry, "id", call->id);
          json_object_set_string_member (entry, "type", "function");
          json_object_set_string_member (function, "name", call->name);
          json_object_set_string_member (function, "arguments", call->arguments);
          json_object_set_object_member (entry, "function", function);
          json_array_add_object_element (calls, entry);

          g_ptr_array_add (memory->queue, aic_run_call_new (call->id, call->name, call->arguments));
        }
      json_object_set_array_member (assistant, "tool_calls", calls);
    }
  json_array_add_object_element (memory->messages, g_steal_pointer (&assistant));
  aic_agent_hub_run_save (run);

  has_text = turn->content != NULL && turn->content[0] != '\0';
  if (has_text && !turn->streamed)
    run_emit_text (run, turn->content);
  /* Text before tool calls stands apart from what comes after them. */
  if (has_text && turn->calls->len > 0)
    run_emit_text (run, "\n\n");

  if (turn->calls->len == 0)
    {
      g_autoptr(JsonNode) done = json_node_init_object (json_node_alloc (), json_object_new ());

      json_object_set_string_member (json_node_get_object (done), "summary", turn->content ? turn->content : "");
      aic_agent_hub_run_finish (run, AIC_RUN_STATE_COMPLETED, done);
      return;
    }
  aic_agent_hub_run_advance (run);
}

/* The loop's one step: a pending request waits, a queued call goes
 * next, and with nothing queued the model is asked again. */
void
aic_agent_hub_run_advance (Run *run)
{
  AicRunMemory *memory = run->record->memory;
  guint steps;

  if (run->ended || run->busy || run->record->pending != NULL)
    return;

  if (memory->queue->len > 0)
    {
      aic_agent_hub_run_next_call (run);
      return;
    }

  steps = memory->steps;
  if (steps >= AIC_AGENT_MAX_STEPS)
    {
      g_autoptr(JsonNode) failure = json_node_init_object (json_node_alloc (), json_object_new ());

      json_object_set_string_member (json_node_get_object (failure), "message",
                                     "The run took too many steps and was stopped.");
      aic_agent_hub_run_finish (run, AIC_RUN_STATE_FAILED, failure);
      return;
    }

  memory->steps = steps + 1;
  run->busy = TRUE;
  aic_agent_hub_run_set_state (run, AIC_RUN_STATE_PLANNING);
  {
    g_autoptr(JsonObject) step = json_object_new ();
    g_autoptr(JsonObject) progress = json_object_new ();
    g_autofree char *name = g_strdup_printf ("Step %u: deciding what to do", steps + 1);
    g_autofree char *text = g_strdup_printf ("Step %u of at most %d", steps + 1, AIC_AGENT_MAX_STEPS);

    json_object_set_string_member (step, "name", name);
    aic_agent_hub_run_send (run, "step", step, TRUE);
    json_object_set_int_member (progress, "pct", steps * 100 / AIC_AGENT_MAX_STEPS);
    json_object_set_string_member (progress, "message", text);
    aic_agent_hub_run_send (run, "progress", progress, TRUE);
  }
  aic_agent_hub_run_save (run);
  /* The token callback's data is the run, held by the callback's ref
   * until the plan finishes. */
  aic_agent_plan_async (run->hub->engine, run->record->model, memory->messages,
                        token_cb, run, run->cancellable, plan_cb, aic_agent_hub_run_ref (run));
}

void
aic_agent_hub_run_finish (Run         *run,
                          AicRunState  state,
                          JsonNode    *result)
{
  AicAgentHub *self = run->hub;
  g_autoptr(JsonObject) message = json_object_new ();
  g_autoptr(JsonObject) done = json_object_new ();

  if (run->ended)
    return;
  run->ended = TRUE;
  g_cancellable_cancel (run->cancellable);
  g_clear_handle_id (&run->deadline_source, aic_source_remove);

  run->record->state = state;
  g_clear_pointer (&run->record->pending, aic_run_pending_free);
  run->record->deadline_at = 0;
  g_clear_pointer (&run->record->result, json_node_unref);
  run->record->result = json_node_copy (result);
  aic_agent_hub_run_save (run);

  json_object_set_string_member (message, "run_id", run->record->id);
  json_object_set_string_member (message, "state", aic_run_state_to_string (state));
  json_object_set_member (message, "result", json_node_copy (result));
  aic_agent_hub_run_send (run, "done", message, TRUE);

  json_object_set_string_member (done, "type", "done");
  json_object_set_string_member (done, "state", aic_run_state_to_string (state));
  aic_agent_hub_run_emit_event (run, done);
  aic_event_stream_end (run->tokens);

  aic_agent_hub_close_sockets (self, run->record->id);
  g_hash_table_remove (self->runs, run->record->id);
}

void
aic_agent_hub_run_cancel (Run *run)
{
  g_autoptr(JsonNode) result = json_node_init_object (json_node_alloc (), json_object_new ());

  json_object_set_string_member (json_node_get_object (result), "reason", "cancelled");
  json_object_set_string_member (json_node_get_object (result), "message", "The run was cancelled.");
  aic_agent_hub_run_finish (run, AIC_RUN_STATE_CANCELLED, result);
}

static gboolean
deadline_cb (gpointer data)
{
  Run *run = data;
  g_autoptr(JsonNode) result = json_node_init_object (json_node_alloc (), json_object_new ());

  run->deadline_source = 0;
  json_object_set_string_member (json_node_get_object (result), "reason", "deadline");
  json_object_set_string_member (json_node_get_object (result), "message",
                                 run->record->pending != NULL
                                 ? "Nobody answered the run’s request before its deadline."
                                 : "No client connected to the run before its deadline.");
  aic_agent_hub_run_finish (run, AIC_RUN_STATE_CANCELLED, result);
  return G_SOURCE_REMOVE;
}

void
aic_agent_hub_run_arm_deadline (Run *run)
{
  gint64 left = run->record->deadline_at - g_get_real_time ();

  g_clear_handle_id (&run->deadline_source, aic_source_remove);
  run->deadline_source = aic_timeout_add (CLAMP (left / 1000, 0, G_MAXUINT), deadline_cb, run);
}

/* The request is answered: nothing waits any more. */
void
aic_agent_hub_run_clear_pending (Run *run)
{
  g_clear_pointer (&run->record->pending, aic_run_pending_free);
  run->record->deadline_at = 0;
  g_clear_handle_id (&run->deadline_source, aic_source_remove);
}
