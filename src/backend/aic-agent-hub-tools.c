/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-agent-hub-private.h"
#include "aic-json.h"
#include "aic-token.h"

/* Tool calls: the first queued call is announced, checked (its
 * arguments, its tool, the policy for its risk, what the user allowed
 * for the run), then run, refused, or put to the user, in which case the
 * run waits for the answer. Whatever happens, the model is told as the
 * call's result and the loop goes on. */

static char *
shorten (const char *text,
         gsize       max_chars)
{
  g_autoptr(GString) out = g_string_new (NULL);
  glong n = g_utf8_strlen (text, -1);

  if ((gsize) n <= max_chars)
    return g_strdup (text);
  g_string_append_len (out, text, g_utf8_offset_to_pointer (text, max_chars - 1) - text);
  g_string_append (out, "…");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The first queued call is over: the model gets @content as its result
 * and the timeline @summary. */
static void
tool_result (Run        *run,
             const char *call_id,
             JsonObject *content,
             const char *summary)
{
  AicRunMemory *memory = run->record->memory;
  /* @call_id may belong to the queued call, which goes first. */
  g_autofree char *id = g_strdup (call_id);
  g_autoptr(JsonObject) tool_message = json_object_new ();
  g_autoptr(JsonObject) message = json_object_new ();
  g_autofree char *raw = aic_agent_hub_object_to_string (content);
  /* What a tool printed goes to the model and into runs.db: no key of
   * the server's goes with it. */
  g_autofree char *text = aic_agent_hub_redact (run->hub, raw);
  g_autofree char *clean_summary = aic_agent_hub_redact (run->hub, summary);

  json_object_set_string_member (tool_message, "role", "tool");
  json_object_set_string_member (tool_message, "tool_call_id", id);
  json_object_set_string_member (tool_message, "content", text);
  json_array_add_object_element (memory->messages, g_steal_pointer (&tool_message));
  if (memory->queue->len > 0)
    g_ptr_array_remove_index (memory->queue, 0);
  aic_agent_hub_run_save (run);

  json_object_set_string_member (message, "call_id", id);
  json_object_set_string_member (message, "summary", clean_summary);
  aic_agent_hub_run_send (run, "tool_result", message, TRUE);
}

/* A call that ends without running: the model is told why (@code,
 * @text), the timeline gets @summary, and the loop goes on. */
static void
skip_call (Run        *run,
           const char *call_id,
           const char *code,
           const char *text,
           const char *summary)
{
  g_autoptr(JsonObject) content = aic_agent_tool_error_content (code, text);

  tool_result (run, call_id, content, summary);
  aic_agent_hub_run_advance (run);
}

typedef struct
{
  Run  *run;
  char *call_id;
} ToolWork;

static void
tool_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  ToolWork *work = user_data;
  g_autoptr(Run) run = work->run;
  g_autofree char *call_id = work->call_id;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicAgentToolOutcome) outcome = aic_agent_tool_run_finish (result, &error);
  g_autofree char *summary = NULL;

  g_free (work);
  run->busy = FALSE;
  if (run->ended)
    return;
  if (outcome == NULL)
    outcome = aic_agent_tool_outcome_new_error (error);
  summary = shorten (outcome->summary, AIC_AGENT_MAX_TOOL_SUMMARY);
  tool_result (run, call_id, outcome->content, summary);
  aic_agent_hub_run_advance (run);
}

static void
tool_execute (Run                *run,
              AicRunCall         *call,
              const AicAgentTool *tool,
              JsonObject         *args)
{
  ToolWork *work = g_new0 (ToolWork, 1);
  AicAgentToolContext context = { run->workspace, run->hub->command_ms, run->hub->command_output };

  /* Marked before it starts: after a restart, a call that was under way
   * is reported as interrupted, never run a second time. */
  call->executing = TRUE;
  aic_agent_hub_run_save (run);

  work->run = aic_agent_hub_run_ref (run);
  work->call_id = g_strdup (call->id);
  run->busy = TRUE;
  aic_agent_hub_run_set_state (run, AIC_RUN_STATE_RUNNING);
  aic_agent_tool_run_async (tool, &context, args, run->cancellable, tool_done_cb, work);
}

/* Puts the run on hold until the user answers. */
static void
ask (Run                *run,
     AicRunCall         *call,
     const AicAgentTool *tool,
     JsonObject         *args,
     const char         *diff)
{
  g_autoptr(JsonObject) message = json_object_new ();
  g_autofree char *token = aic_token_generate ();

  json_object_set_string_member (message, "run_id", run->record->id);
  json_object_set_string_member (message, "resume_token", token);
  if (tool->risk == AIC_AGENT_RISK_QUESTION)
    {
      json_object_set_string_member (message, "kind", "question");
      json_object_set_string_member (message, "prompt",
                                     aic_agent_tool_arg_string (args, "question", "The agent has a question."));
    }
  else
    {
      JsonObject *about = json_object_new ();
      g_autofree char *prompt = aic_agent_tool_describe (tool, args);
      g_autofree char *scope = aic_agent_tool_scope (tool, args);

      json_object_set_string_member (message, "kind", "approval");
      json_object_set_string_member (message, "prompt", prompt);
      json_object_set_string_member (about, "name", tool->name);
      json_object_set_object_member (about, "args", json_object_ref (args));
      json_object_set_object_member (message, "tool", about);
      json_object_set_string_member (message, "risk", aic_agent_risk_to_string (tool->risk));
      if (diff != NULL)
        json_object_set_string_member (message, "diff", diff);
      /* What "allow_run" would cover, so the dialog can say so. */
      if (scope != NULL)
        json_object_set_string_member (message, "allow_run_scope", scope);
    }
  json_object_set_string_member (message, "call_id", call->id);

  /* Kept and numbered first: asked again after a reconnection, the
   * request keeps its number. Saved before anyone is told. */
  aic_agent_hub_run_keep (run, "need_input", message);
  aic_run_pending_free (run->record->pending);
  run->record->pending = aic_run_pending_new (message, call->id);
  run->record->deadline_at = g_get_real_time () + (gint64) run->hub->deadline_ms * 1000;
  run->record->state = AIC_RUN_STATE_WAITING;
  aic_agent_hub_run_save (run);
  aic_agent_hub_run_arm_deadline (run);
  aic_agent_hub_run_send_status (run);
  aic_agent_hub_run_broadcast (run, message);
}

/* Takes the first of the tool calls still to do. */
void
aic_agent_hub_run_next_call (Run *run)
{
  AicRunCall *call = g_ptr_array_index (run->record->memory->queue, 0);
  const AicAgentTool *tool = aic_agent_tools_lookup (call->name);
  g_autoptr(JsonObject) args = aic_agent_hub_parse_object (call->arguments);
  AicAgentToolContext context = { run->workspace, run->hub->command_ms, run->hub->command_output };
  g_autofree char *allow_key = NULL;
  AicAgentPolicy policy;

  if (!call->announced)
    {
      g_autoptr(JsonObject) announce = json_object_new ();

      json_object_set_string_member (announce, "call_id", call->id);
      json_object_set_string_member (announce, "name", call->name);
      json_object_set_object_member (announce, "args", args ? json_object_ref (args) : json_object_new ());
      call->announced = TRUE;
      aic_agent_hub_run_save (run);
      aic_agent_hub_run_send (run, "tool_call", announce, TRUE);
    }

  if (call->executing)
    {
      skip_call (run, call->id, "interrupted",
                 "The server stopped while this ran; it may or may not have finished. Check before trying again.",
                 "Interrupted by a server restart");
      return;
    }
  if (args == NULL)
    {
      skip_call (run, call->id, "invalid_arguments", "The arguments were not a JSON object.",
                 "Failed: the arguments were not a JSON object");
      return;
    }
  if (tool == NULL)
    {
      g_autofree char *text = g_strdup_printf ("There is no tool called %s.", call->name);

      skip_call (run, call->id, "unknown_tool", text, "Failed: no such tool");
      return;
    }
  if (tool->risk == AIC_AGENT_RISK_QUESTION)
    {
      ask (run, call, tool, args, NULL);
      return;
    }

  policy = run->hub->policy[tool->risk];
  allow_key = aic_agent_tool_allow_key (tool, args);
  if (call->approved || aic_run_memory_allows (run->record->memory, allow_key))
    policy = AIC_AGENT_POLICY_ALLOW;

  if (policy == AIC_AGENT_POLICY_DENY)
    {
      skip_call (run, call->id, "refused", "This server’s policy does not allow this action.",
                 "Refused by the server’s policy");
      return;
    }
  if (policy == AIC_AGENT_POLICY_ASK)
    {
      g_autofree char *diff = NULL;

      if (tool->preview != NULL)
        {
          g_autoptr(GError) error = NULL;

          /* A write that could never happen is refused without asking. */
          diff = tool->preview (&context, args, &error);
          if (diff == NULL)
            {
              g_autofree char *summary = g_strdup_printf ("Failed: %s", error->message);

              skip_call (run, call->id, aic_agent_tool_error_code (error), error->message, summary);
              return;
            }
        }
      ask (run, call, tool, args, diff);
      return;
    }
  tool_execute (run, call, tool, args);
}

/* ---- answers ---- */

static gboolean
text_means (const char         *text,
            const char * const *words)
{
  g_autofree char *clean = g_strstrip (g_ascii_strdown (text ? text : "", -1));

  return g_strv_contains (words, clean);
}

void
aic_agent_hub_run_reply (Run        *run,
                         Socket     *socket,
                         JsonObject *object)
{
  static const char * const yes[] = { "yes", "y", "allow", "ok", "approve", NULL };
  static const char * const no[] = { "no", "n", "deny", "refuse", NULL };
  AicRunPending *pending = run->record->pending;
  const char *token = NULL, *text = NULL, *decision = NULL;
  g_autofree char *call_id = NULL;
  const char *kind;
  const AicAgentTool *tool;
  AicRunCall *call;
  g_autoptr(JsonObject) args = NULL;

  if (!aic_json_get_string (object, "resume_token", FALSE, &token, NULL) ||
      !aic_json_get_string (object, "text", FALSE, &text, NULL) ||
      !aic_json_get_string (object, "decision", FALSE, &decision, NULL))
    {
      aic_agent_hub_socket_send_error (socket, "invalid_message", "resume_token, text and decision must be strings.");
      return;
    }
  if (pending == NULL || token == NULL || !aic_token_equal (aic_run_pending_get_token (pending), token))
    {
      aic_agent_hub_socket_send_error (socket, "stale_resume_token",
                                       "That request was already answered or is no longer waiting; the answer was not used.");
      return;
    }

  call_id = g_strdup (pending->call_id);
  kind = json_object_get_string_member_with_default (pending->message, "kind", "approval");
  call = g_ptr_array_index (run->record->memory->queue, 0);
  tool = aic_agent_tools_lookup (call->name);
  args = aic_agent_hub_parse_object (call->arguments);

  if (strcmp (kind, "question") == 0)
    {
      g_autoptr(JsonObject) content = json_object_new ();
      g_autofree char *summary = NULL;

      if (text == NULL || text[0] == '\0')
        {
          aic_agent_hub_socket_send_error (socket, "invalid_message", "An answer to a question needs some text.");
          return;
        }
      json_object_set_string_member (content, "answer", text);
      summary = g_strdup_printf ("Answered: %s", text);
      aic_agent_hub_run_clear_pending (run);
      tool_result (run, call_id, content, summary);
      aic_agent_hub_run_set_state (run, AIC_RUN_STATE_RUNNING);
      aic_agent_hub_run_advance (run);
      return;
    }

  if (decision == NULL)
    {
      /* The plainer shape: just "yes" or "no". */
      if (text_means (text, yes))
        decision = "allow_once";
      else if (text_means (text, no))
        decision = "deny";
      else
        {
          aic_agent_hub_socket_send_error (socket, "invalid_message", "Answer an approval with “yes” or “no”.");
          return;
        }
    }
  if (strcmp (decision, "deny") != 0 && strcmp (decision, "allow_once") != 0 &&
      strcmp (decision, "allow_run") != 0)
    {
      aic_agent_hub_socket_send_error (socket, "invalid_message", "decision must be allow_once, allow_run or deny.");
      return;
    }

  aic_agent_hub_run_clear_pending (run);

  if (strcmp (decision, "deny") == 0 || tool == NULL)
    {
      g_autoptr(JsonObject) content = aic_agent_tool_error_content ("refused", "The user refused this action. Do not try it again.");

      tool_result (run, call_id, content, "Refused by the user");
      aic_agent_hub_run_set_state (run, AIC_RUN_STATE_RUNNING);
      aic_agent_hub_run_advance (run);
      return;
    }

  if (args == NULL)
    args = json_object_new ();
  if (strcmp (decision, "allow_run") == 0)
    {
      char *key = aic_agent_tool_allow_key (tool, args);

      /* A command that cannot be read is allowed once, whatever was said. */
      if (key != NULL)
        g_ptr_array_add (run->record->memory->allowed, key);
    }
  call->approved = TRUE;
  aic_agent_hub_run_save (run);
  tool_execute (run, call, tool, args);
}
