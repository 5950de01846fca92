/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "aic-ws-guard.h"
#include "aic-agent-run.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-source.h"
#include "aic-sse-client.h"

/* One agent run, seen from the client (PROTOCOL.md, "Agent runs"): made
 * with POST /api/runs, steered over its control WebSocket, its text read
 * from the SSE token stream.
 *
 * Also the plainer shapes: a server with no REST for runs (the client
 * names the run, connects to /ws/agent/{id} and says its goal in the
 * first message; approvals are a bare "yes" or "no", so "allow for this
 * run" is remembered here), and one whose POST answers with the run id
 * alone.
 *
 * A dropped control connection is opened again, asking for the messages
 * missed; the server then repeats its pending request, which is shown
 * once: a request already on screen is not announced again, and an
 * answer that may have been lost with the connection is sent again. */

#define MAX_FRAME          (16 * 1024 * 1024)
#define KEEPALIVE_S        20
#define MAX_RECONNECTS     8
#define TOKEN_IDLE_S       90
#define STALE_CODE         "stale_resume_token"
#define GAP_WAIT_MS        400

struct _AicAgentRun
{
  GObject                  parent_instance;

  AicClient               *client;
  char                    *goal;
  char                    *workspace;
  char                    *model;
  char                    *run_id;
  char                    *ws_path;
  char                    *tokens_path;
  char                    *state;
  char                    *summary;
  gboolean                 plain;           /* /ws/agent/{id}, no REST */
  gboolean                 started;         /* the plain run's goal was sent */
  gboolean                 replay;          /* asks for the run's history */

  GCancellable            *cancellable;
  GTask                   *start_task;
  SoupWebsocketConnection *ws;
  AicSseClient            *tokens;
  guint                    retry_source;
  guint                    attempts;
  guint                    reconnects;
  gint64                   last_seq;
  /* The console backend numbers control messages and tokens in one
   * sequence; they come by two connections, and are put back in order
   * here so that text and tool calls show as they happened. */
  GTree                   *held;            /* seq → Held */
  GHashTable              *seen;            /* every seq taken */
  gboolean                 numbered;        /* a console backend: order by seq */
  gboolean                 done_held;       /* the end has come, its text may lag */
  gint64                   released;        /* every seq up to this one is out */
  guint                    gap_source;

  AicAgentRequest         *pending;
  char                    *last_reply;      /* the JSON sent for... */
  char                    *last_reply_token;/* ...this request */
  GHashTable              *allowed_here;    /* "tool:risk", plain servers */
  gboolean                 finished;
};

G_DEFINE_FINAL_TYPE (AicAgentRun, aic_agent_run, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (AicAgentRequest, aic_agent_request, aic_agent_request_copy, aic_agent_request_free)

enum { PROP_0, PROP_STATE, PROP_CONNECTED, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { STEP, TOOL_CALL, TOOL_RESULT, PROGRESS, NEED_INPUT, TOKEN, PROBLEM, DONE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void open_control (AicAgentRun *self);
static void handle_message (AicAgentRun *self, JsonObject *object);
static const char *member_string (JsonObject *object, const char *member);

typedef struct
{
  JsonObject *control;   /* or */
  char       *text;      /* a token; NULL with no control: the stream's end */
} Held;

static void
held_free (Held *held)
{
  g_clear_pointer (&held->control, json_object_unref);
  g_free (held->text);
  g_free (held);
}

static gint
compare_seq (gconstpointer a,
             gconstpointer b,
             gpointer      data)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void release_held (AicAgentRun *self);

static void
deliver (AicAgentRun *self,
         JsonObject  *control,
         const char  *text)
{
  if (control != NULL)
    handle_message (self, control);
  else if (text != NULL)
    g_signal_emit (self, signals[TOKEN], 0, text);
}

/* Gives up waiting for what is missing before the first held item. */
static void
skip_gap (AicAgentRun *self)
{
  GTreeNode *first = g_tree_node_first (self->held);

  if (first != NULL)
    self->released = *(gint64 *) g_tree_node_key (first) - 1;
}

static gboolean
gap_cb (gpointer data)
{
  AicAgentRun *self = data;

  self->gap_source = 0;
  /* While the control line is down, what is missing may still come with
   * the messages it asks for again: wait. */
  if (self->ws == NULL && !self->finished && !self->done_held && g_tree_nnodes (self->held) > 0)
    {
      self->gap_source = aic_timeout_add (GAP_WAIT_MS, gap_cb, self);
      return G_SOURCE_REMOVE;
    }
  /* What was missing is not coming: go on past it. */
  skip_gap (self);
  release_held (self);
  return G_SOURCE_REMOVE;
}

static void
release_held (AicAgentRun *self)
{
  g_autoptr(AicAgentRun) hold = g_object_ref (self);
  GTreeNode *first;

  while ((first = g_tree_node_first (self->held)) != NULL &&
         *(gint64 *) g_tree_node_key (first) == self->released + 1)
    {
      gint64 *key = (gint64 *) g_tree_node_key (first);
      gint64 seq = *key;
      Held *held = g_tree_node_value (first);

      g_tree_steal (self->held, key);
      g_free (key);

      self->released = seq;
      deliver (self, held->control, held->text);
      held_free (held);
      if (self->held == NULL)
        return;
    }
  if (self->held == NULL)
    return;
  /* One wait per gap, not one per arrival. */
  if (g_tree_nnodes (self->held) == 0)
    g_clear_handle_id (&self->gap_source, aic_source_remove);
  else if (self->gap_source == 0)
    self->gap_source = aic_timeout_add (GAP_WAIT_MS, gap_cb, self);
}

static void
flush_held (AicAgentRun *self)
{
  while (self->held != NULL && g_tree_nnodes (self->held) > 0)
    {
      skip_gap (self);
      release_held (self);
    }
  g_clear_handle_id (&self->gap_source, aic_source_remove);
}

/* Takes a numbered message or token in its turn; FALSE when @seq has
 * been seen already. One that comes after its turn was given up on is
 * delivered at once: late, but not lost. */
static gboolean
hold_in_order (AicAgentRun *self,
               gint64       seq,
               JsonObject  *control,
               const char  *text)
{
  Held *held;

  if (g_hash_table_contains (self->seen, &seq))
    return FALSE;
  g_hash_table_add (self->seen, g_memdup2 (&seq, sizeof seq));
  if (seq <= self->released)
    {
      g_autoptr(AicAgentRun) hold = g_object_ref (self);

      deliver (self, control, text);
      return TRUE;
    }
  if (control != NULL && g_strcmp0 (member_string (control, "type"), "done") == 0)
    self->done_held = TRUE;
  held = g_new0 (Held, 1);
  held->control = control ? json_object_ref (control) : NULL;
  held->text = g_strdup (text);
  g_tree_insert (self->held, g_memdup2 (&seq, sizeof seq), held);
  release_held (self);
  return TRUE;
}

AicAgentRequest *
aic_agent_request_copy (const AicAgentRequest *request)
{
  AicAgentRequest *copy = g_new0 (AicAgentRequest, 1);

  copy->resume_token = g_strdup (request->resume_token);
  copy->kind = g_strdup (request->kind);
  copy->prompt = g_strdup (request->prompt);
  copy->tool_name = g_strdup (request->tool_name);
  copy->args = g_strdup (request->args);
  copy->risk = g_strdup (request->risk);
  copy->diff = g_strdup (request->diff);
  copy->command = g_strdup (request->command);
  copy->scope = g_strdup (request->scope);
  return copy;
}

void
aic_agent_request_free (AicAgentRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->resume_token);
  g_free (request->kind);
  g_free (request->prompt);
  g_free (request->tool_name);
  g_free (request->args);
  g_free (request->risk);
  g_free (request->diff);
  g_free (request->command);
  g_free (request->scope);
  g_free (request);
}

gboolean
aic_agent_request_is_question (const AicAgentRequest *request)
{
  return g_strcmp0 (request->kind, "question") == 0;
}

static gboolean
state_is_final (const char *state)
{
  return g_strcmp0 (state, "completed") == 0 ||
         g_strcmp0 (state, "cancelled") == 0 ||
         g_strcmp0 (state, "failed") == 0;
}

static void
set_state (AicAgentRun *self,
           const char  *state)
{
  if (g_strcmp0 (self->state, state) == 0)
    return;
  g_free (self->state);
  self->state = g_strdup (state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
problem (AicAgentRun *self,
         const char  *text)
{
  g_signal_emit (self, signals[PROBLEM], 0, text);
}

static void
finish_start (AicAgentRun *self,
              GError      *error)
{
  GTask *task = g_steal_pointer (&self->start_task);

  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
close_control (AicAgentRun *self)
{
  if (self->ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->ws, self);
  if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->ws);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

/* The run is over: @state is how it ended, @summary what it says. */
static void
finish (AicAgentRun *self,
        const char  *state,
        const char  *summary)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_clear_handle_id (&self->retry_source, aic_source_remove);
  g_clear_pointer (&self->pending, aic_agent_request_free);
  g_free (self->summary);
  self->summary = g_strdup (summary ? summary : "");
  set_state (self, state);
  close_control (self);
  /* The token stream ends by itself with its own "done"; a stream that
   * lags is given no more than that. */
  g_signal_emit (self, signals[DONE], 0, state, self->summary);
  finish_start (self, NULL);
}

static gboolean
send_json (AicAgentRun *self,
           const char  *text)
{
  if (self->ws == NULL || soup_websocket_connection_get_state (self->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  return aic_ws_guard_send_text (self->ws, text);
}

static char *
object_text (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return aic_json_to_string (node, FALSE);
}

static const char *
member_string (JsonObject *object,
               const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* ---- answers ---- */

static void
send_reply (AicAgentRun *self,
            const char  *resume_token,
            const char  *text,
            const char  *decision)
{
  g_autoptr(JsonObject) reply = json_object_new ();

  json_object_set_string_member (reply, "type", "user_reply");
  json_object_set_string_member (reply, "resume_token", resume_token);
  json_object_set_string_member (reply, "text", text);
  if (decision != NULL && !self->plain)
    json_object_set_string_member (reply, "decision", decision);

  g_free (self->last_reply);
  self->last_reply = object_text (reply);
  g_free (self->last_reply_token);
  self->last_reply_token = g_strdup (resume_token);
  /* Not connected now: the server asks again on reconnection, and the
   * answer goes then. */
  send_json (self, self->last_reply);
}

static char *
allow_key (const AicAgentRequest *request)
{
  return g_strdup_printf ("%s:%s:%s", request->tool_name ? request->tool_name : "",
                          request->risk ? request->risk : "",
                          request->scope ? request->scope : "");
}

/**
 * aic_agent_run_reply:
 * @text: (nullable): for a question, the answer
 *
 * Answers the request with @resume_token.
 */
void
aic_agent_run_reply (AicAgentRun      *self,
                     const char       *resume_token,
                     AicAgentDecision  decision,
                     const char       *text)
{
  static const char * const decisions[] = { "deny", "allow_once", "allow_run" };
  gboolean question;

  g_return_if_fail (AIC_IS_AGENT_RUN (self));
  g_return_if_fail (resume_token != NULL);

  question = self->pending != NULL && aic_agent_request_is_question (self->pending);
  if (self->pending != NULL && g_strcmp0 (self->pending->resume_token, resume_token) == 0)
    {
      /* A plainer server only hears "yes": the client remembers the rest
       * of the answer, for a tool and risk it was told. */
      if (self->plain && decision == AIC_AGENT_DECISION_ALLOW_RUN &&
          self->pending->tool_name != NULL && self->pending->risk != NULL)
        g_hash_table_add (self->allowed_here, allow_key (self->pending));
      g_clear_pointer (&self->pending, aic_agent_request_free);
    }

  if (question)
    send_reply (self, resume_token, text ? text : "", NULL);
  else
    send_reply (self, resume_token, decision == AIC_AGENT_DECISION_DENY ? "no" : "yes", decisions[decision]);
}

/* ---- messages from the server ---- */

static AicAgentRequest *
read_request (JsonObject *object)
{
  AicAgentRequest *request = g_new0 (AicAgentRequest, 1);
  JsonNode *tool = json_object_get_member (object, "tool");

  request->resume_token = g_strdup (member_string (object, "resume_token"));
  request->kind = g_strdup (member_string (object, "kind") ? member_string (object, "kind") : "approval");
  request->prompt = g_strdup (member_string (object, "prompt") ? member_string (object, "prompt") : "");
  request->risk = g_strdup (member_string (object, "risk"));
  request->diff = g_strdup (member_string (object, "diff"));
  if (tool != NULL && JSON_NODE_HOLDS_OBJECT (tool))
    {
      JsonObject *tool_object = json_node_get_object (tool);
      JsonNode *args = json_object_get_member (tool_object, "args");

      request->tool_name = g_strdup (member_string (tool_object, "name"));
      if (args != NULL && JSON_NODE_HOLDS_OBJECT (args))
        {
          request->args = aic_json_to_string (args, TRUE);
          request->command = g_strdup (member_string (json_node_get_object (args), "command"));
        }
    }
  request->scope = g_strdup (member_string (object, "allow_run_scope"));
  if (request->scope == NULL && request->command != NULL)
    {
      g_auto(GStrv) argv = NULL;

      /* A plainer server says nothing of it: a command is allowed again
       * only for the same program, as ours does. */
      if (g_shell_parse_argv (request->command, NULL, &argv, NULL) && argv[0] != NULL)
        request->scope = g_strdup (argv[0]);
    }
  return request;
}

static void
handle_need_input (AicAgentRun *self,
                   JsonObject  *object)
{
  g_autoptr(AicAgentRequest) request = read_request (object);
  g_autofree char *key = NULL;

  if (request->resume_token == NULL)
    {
      problem (self, _("The server asked something without a way to answer it."));
      return;
    }
  set_state (self, "waiting");

  /* Shown once: the same request again after a reconnection is the one
   * already on screen, or one answered while the line was down. */
  if (self->pending != NULL && g_strcmp0 (self->pending->resume_token, request->resume_token) == 0)
    return;
  if (g_strcmp0 (self->last_reply_token, request->resume_token) == 0)
    {
      send_json (self, self->last_reply);
      return;
    }

  key = allow_key (request);
  if (self->plain && !aic_agent_request_is_question (request) &&
      request->tool_name != NULL && request->risk != NULL &&
      g_hash_table_contains (self->allowed_here, key))
    {
      send_reply (self, request->resume_token, "yes", NULL);
      return;
    }

  g_clear_pointer (&self->pending, aic_agent_request_free);
  self->pending = aic_agent_request_copy (request);
  g_signal_emit (self, signals[NEED_INPUT], 0, request);
}

static char *
result_summary (JsonNode *result)
{
  JsonObject *object;

  if (result == NULL || JSON_NODE_HOLDS_NULL (result))
    return g_strdup ("");
  if (json_node_get_value_type (result) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (result));
  if (JSON_NODE_HOLDS_OBJECT (result))
    {
      object = json_node_get_object (result);
      if (member_string (object, "summary") != NULL)
        return g_strdup (member_string (object, "summary"));
      if (member_string (object, "message") != NULL)
        return g_strdup (member_string (object, "message"));
    }
  return aic_json_to_string (result, FALSE);
}

static void
handle_message (AicAgentRun *self,
                JsonObject  *object)
{
  const char *type = member_string (object, "type");

  if (g_strcmp0 (type, "status") == 0)
    {
      const char *state = member_string (object, "state");

      if (member_string (object, "goal") != NULL && self->goal[0] == '\0')
        {
          g_free (self->goal);
          self->goal = g_strdup (member_string (object, "goal"));
        }
      if (state == NULL || strcmp (state, "connected") == 0 || state_is_final (state))
        return;
      set_state (self, state);
      /* The request on screen was answered elsewhere. */
      if (strcmp (state, "waiting") != 0)
        g_clear_pointer (&self->pending, aic_agent_request_free);
    }
  else if (g_strcmp0 (type, "step") == 0)
    g_signal_emit (self, signals[STEP], 0, member_string (object, "name") ? member_string (object, "name") : "");
  else if (g_strcmp0 (type, "tool_call") == 0)
    {
      JsonNode *args = json_object_get_member (object, "args");
      g_autofree char *args_text = args ? aic_json_to_string (args, TRUE) : g_strdup ("{}");

      g_signal_emit (self, signals[TOOL_CALL], 0,
                     member_string (object, "call_id") ? member_string (object, "call_id") : "",
                     member_string (object, "name") ? member_string (object, "name") : "",
                     args_text);
    }
  else if (g_strcmp0 (type, "tool_result") == 0)
    g_signal_emit (self, signals[TOOL_RESULT], 0,
                   member_string (object, "call_id") ? member_string (object, "call_id") : "",
                   member_string (object, "summary") ? member_string (object, "summary") : "");
  else if (g_strcmp0 (type, "progress") == 0)
    {
      JsonNode *pct = json_object_get_member (object, "pct");
      int value = -1;

      if (pct != NULL && JSON_NODE_HOLDS_VALUE (pct) &&
          (json_node_get_value_type (pct) == G_TYPE_INT64 || json_node_get_value_type (pct) == G_TYPE_DOUBLE))
        value = CLAMP ((int) json_node_get_double (pct), 0, 100);
      g_signal_emit (self, signals[PROGRESS], 0, value,
                     member_string (object, "message") ? member_string (object, "message") : "");
    }
  else if (g_strcmp0 (type, "need_input") == 0)
    handle_need_input (self, object);
  else if (g_strcmp0 (type, "token") == 0)
    {
      /* Plainer servers send the text on the control channel. */
      if (member_string (object, "content") != NULL)
        g_signal_emit (self, signals[TOKEN], 0, member_string (object, "content"));
    }
  else if (g_strcmp0 (type, "error") == 0)
    {
      const char *code = member_string (object, "code");

      if (g_strcmp0 (code, STALE_CODE) == 0)
        problem (self, _("That request had already been answered or was no longer waiting, so the answer was not used."));
      else if (code != NULL && g_str_has_prefix (code, "model_"))
        /* The model's failure ends the run, and the run's end says it in
         * the same words: once is enough. */
        g_debug ("The run ends: %s", member_string (object, "message"));
      else
        problem (self, member_string (object, "message") ? member_string (object, "message")
                                                          : _("The server reported a problem with the run."));
    }
  else if (g_strcmp0 (type, "done") == 0)
    {
      const char *state = member_string (object, "state");
      g_autofree char *summary = result_summary (json_object_get_member (object, "result"));

      if (!state_is_final (state))
        state = "completed";
      finish (self, state, summary);
    }
}

static void
message_cb (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *bytes,
            AicAgentRun             *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(AicAgentRun) hold = g_object_ref (self);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  root = aic_json_parse_bytes (bytes, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_debug ("Run %s: a control message that is not a JSON object", self->run_id);
      return;
    }
  {
    JsonObject *object = json_node_get_object (root);
    JsonNode *seq = json_object_get_member (object, "seq");
    gboolean numbered = seq != NULL && json_node_get_value_type (seq) == G_TYPE_INT64;

    /* A reconnection asks for what came after the newest one seen. */
    if (numbered)
      self->last_seq = MAX (self->last_seq, json_node_get_int (seq));
    /* In order with the text, when both come numbered from a console
     * backend. A pending request sent again after a reconnection is
     * handled even though its number was seen: that is how an answer
     * lost with the line gets sent again. */
    if (numbered && self->numbered && self->held != NULL)
      {
        if (!hold_in_order (self, json_node_get_int (seq), object, NULL) &&
            g_strcmp0 (member_string (object, "type"), "need_input") == 0)
          handle_message (self, object);
        return;
      }
    /* An end without a number comes after everything numbered. */
    if (g_strcmp0 (member_string (object, "type"), "done") == 0)
      flush_held (self);
    handle_message (self, object);
  }
}

/* ---- the control connection ---- */

static gboolean
retry_cb (gpointer data)
{
  AicAgentRun *self = data;

  self->retry_source = 0;
  open_control (self);
  return G_SOURCE_REMOVE;
}

static void
lost (AicAgentRun *self,
      GError      *error)
{
  g_autoptr(GError) owned = error;
  guint delay_ms;

  close_control (self);
  if (self->finished || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (self->start_task != NULL)
    {
      finish_start (self, g_steal_pointer (&owned));
      return;
    }
  if (self->attempts >= MAX_RECONNECTS)
    {
      g_autofree char *text = g_strdup_printf (_("The connection to the run was lost: %s"),
                                               owned ? owned->message : _("the server closed it"));

      problem (self, text);
      finish (self, "failed", text);
      return;
    }
  delay_ms = MIN (500u << self->attempts, 8000u);
  self->attempts++;
  self->retry_source = aic_timeout_add (delay_ms, retry_cb, self);
}

static void
closed_cb (SoupWebsocketConnection *ws,
           AicAgentRun             *self)
{
  g_autoptr(AicAgentRun) hold = g_object_ref (self);
  gushort code = soup_websocket_connection_get_close_code (ws);

  /* The server said goodbye after "done", which waits for its text. */
  if (self->finished || self->done_held)
    {
      close_control (self);
      return;
    }
  if (code == 4404)
    {
      g_autofree char *text = g_strdup_printf (_("The server does not know the run %s."), self->run_id);

      close_control (self);
      if (self->start_task != NULL)
        {
          finish_start (self, g_error_new_literal (AIC_ERROR, AIC_ERROR_NOT_FOUND, text));
          return;
        }
      problem (self, text);
      finish (self, "failed", text);
      return;
    }
  lost (self, NULL);
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(AicAgentRun) self = user_data;
  g_autoptr(GError) error = NULL;
  SoupMessage *message = g_object_get_data (G_OBJECT (self), "aic-connect-message");
  SoupWebsocketConnection *ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &error);

  if (ws == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          finish_start (self, g_steal_pointer (&error));
          return;
        }
      if (soup_message_get_status (message) >= 400)
        lost (self, aic_http_error_from_status (message, NULL));
      else
        lost (self, aic_http_error_from_transport (error, soup_message_get_uri (message)));
      return;
    }

  self->ws = ws;
  if (self->attempts > 0)
    self->reconnects++;
  self->attempts = 0;
  /* A message, however fragmented, not only each frame. */
  aic_ws_guard_attach (ws, MAX_FRAME, 4 * 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (ws, KEEPALIVE_S);
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), self);
  g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);

  if (self->plain && !self->started)
    {
      g_autoptr(JsonObject) start = json_object_new ();
      g_autofree char *text = NULL;

      json_object_set_string_member (start, "type", "start");
      json_object_set_string_member (start, "run_id", self->run_id);
      json_object_set_string_member (start, "goal", self->goal);
      if (self->workspace != NULL)
        json_object_set_string_member (start, "workspace", self->workspace);
      if (self->model != NULL)
        json_object_set_string_member (start, "model", self->model);
      text = object_text (start);
      send_json (self, text);
      self->started = TRUE;
    }
  finish_start (self, NULL);
}

static void
open_control (AicAgentRun *self)
{
  g_autofree char *path = NULL;
  g_autoptr(SoupMessage) message = NULL;

  if (self->finished)
    return;
  /* Only the console backend numbers its messages and can send the ones
   * a reconnection missed. */
  if ((self->replay || self->last_seq > 0) && !self->plain)
    path = g_strdup_printf ("%s%safter=%" G_GINT64_FORMAT, self->ws_path,
                            strchr (self->ws_path, '?') ? "&" : "?", self->last_seq);
  else
    path = g_strdup (self->ws_path);
  message = aic_client_new_message (self->client, "GET", path);
  if (message == NULL)
    {
      lost (self, g_error_new (AIC_ERROR, AIC_ERROR_PROTOCOL, _("“%s” is not a path this app can connect to."), path));
      return;
    }
  g_object_set_data_full (G_OBJECT (self), "aic-connect-message", g_object_ref (message), g_object_unref);
  soup_session_websocket_connect_async (aic_client_get_stream_session (self->client), message, NULL, NULL,
                                        G_PRIORITY_DEFAULT, self->cancellable, connected_cb, g_object_ref (self));
}

/* ---- the token stream ---- */

static void
token_event_cb (AicSseClient *sse,
                const char   *type,
                const char   *data,
                const char   *id,
                AicAgentRun  *self)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, strlen (data));
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);
  JsonObject *object = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  const char *kind = type;
  guint64 seq = 0;
  gboolean numbered = id != NULL && g_ascii_string_to_unsigned (id, 10, 1, G_MAXINT64, &seq, NULL);
  const char *text = NULL;

  if (object == NULL)
    return;
  if (g_strcmp0 (type, "message") == 0 && member_string (object, "type") != NULL)
    kind = member_string (object, "type");
  if ((g_strcmp0 (kind, "token") == 0 || g_strcmp0 (kind, "message") == 0))
    text = member_string (object, "content");

  /* Text is never dropped: a number seen twice (a server that repeats
   * its last id) just goes out unordered. */
  if (!(numbered && self->numbered && self->held != NULL && hold_in_order (self, (gint64) seq, NULL, text)) &&
      text != NULL)
    g_signal_emit (self, signals[TOKEN], 0, text);
  if (g_strcmp0 (kind, "done") == 0)
    aic_sse_client_stop (sse);
}

static void
tokens_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(AicAgentRun) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_sse_client_run_finish (AIC_SSE_CLIENT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    /* The text is a nicety; the run goes on without it. */
    g_debug ("Run %s: no token stream: %s", self->run_id, error->message);
  g_signal_handlers_disconnect_by_data (object, self);
  if (self->tokens == AIC_SSE_CLIENT (object))
    g_clear_object (&self->tokens);
  /* No more text is coming: nothing waits for it. */
  if (self->held != NULL && g_tree_nnodes (self->held) > 0 && !self->gap_source)
    self->gap_source = aic_timeout_add (GAP_WAIT_MS, gap_cb, self);
}

static void
open_tokens (AicAgentRun *self)
{
  g_autoptr(SoupMessage) message = NULL;

  if (self->tokens_path == NULL)
    return;
  message = aic_client_new_message (self->client, "GET", self->tokens_path);
  if (message == NULL)
    return;
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "text/event-stream");
  self->tokens = aic_sse_client_new (aic_client_get_stream_session (self->client), message);
  aic_sse_client_set_idle_timeout (self->tokens, TOKEN_IDLE_S);
  aic_sse_client_set_reconnect (self->tokens, MAX_RECONNECTS, NULL, NULL, NULL);
  aic_sse_client_set_resume_at_end (self->tokens, TRUE);
  g_signal_connect (self->tokens, "event", G_CALLBACK (token_event_cb), self);
  aic_sse_client_run_async (self->tokens, self->cancellable, tokens_done_cb, g_object_ref (self));
}

/* ---- starting ---- */

static char *
derived_path (JsonObject *reply,
              const char *member,
              const char *fallback)
{
  const char *value = member_string (reply, member);

  if (value != NULL && value[0] == '/')
    return g_strdup (value);
  return g_strdup (fallback);
}

static void
use_run_id (AicAgentRun *self,
            const char  *run_id,
            JsonObject  *reply)
{
  g_autofree char *escaped = g_uri_escape_string (run_id, NULL, FALSE);
  g_autofree char *ws = g_strdup_printf ("/ws/runs/%s", escaped);
  g_autofree char *tokens = g_strdup_printf ("/api/runs/%s/tokens", escaped);

  if (run_id != self->run_id)
    {
      g_free (self->run_id);
      self->run_id = g_strdup (run_id);
    }
  g_free (self->ws_path);
  g_free (self->tokens_path);
  self->ws_path = derived_path (reply, "ws_url", ws);
  self->tokens_path = derived_path (reply, "tokens_url", tokens);
}

static void
go_plain (AicAgentRun *self)
{
  g_autofree char *random = g_uuid_string_random ();
  g_autofree char *path = NULL;

  self->plain = TRUE;
  g_free (self->run_id);
  self->run_id = g_strdup_printf ("r-%s", random);
  path = g_strdup_printf ("/ws/agent/%s", self->run_id);
  g_free (self->ws_path);
  self->ws_path = g_steal_pointer (&path);
  g_clear_pointer (&self->tokens_path, g_free);
}

static void
created_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(AicAgentRun) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);
  SoupMessage *message = g_object_get_data (G_OBJECT (self), "aic-create-message");
  guint status = soup_message_get_status (message);
  JsonObject *reply;
  const char *run_id;

  if (root == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          finish_start (self, g_steal_pointer (&error));
          return;
        }
      /* No REST for runs here: the plainer WebSocket-only shape. */
      if (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_METHOD_NOT_ALLOWED)
        {
          go_plain (self);
          open_control (self);
          return;
        }
      finish_start (self, g_steal_pointer (&error));
      return;
    }

  reply = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  run_id = member_string (reply, "run_id");
  if (run_id == NULL || run_id[0] == '\0')
    {
      finish_start (self, g_error_new_literal (AIC_ERROR, AIC_ERROR_WRONG_SERVER,
                                               _("The server accepted the run but did not say its id.")));
      return;
    }
  use_run_id (self, run_id, reply);
  /* The console backend names its stream; plainer servers do not, and
   * their numbers, if any, mean nothing across the two channels. */
  self->numbered = member_string (reply, "tokens_url") != NULL;
  open_control (self);
  open_tokens (self);
}

/**
 * aic_agent_run_start_async:
 * Makes the run (or, for one made with aic_agent_run_new_for_id(), finds
 * it again) and opens its control connection; finishes once connected.
 * Everything after that comes as signals, and #AicAgentRun::done last.
 */
void
aic_agent_run_start_async (AicAgentRun         *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (AIC_IS_AGENT_RUN (self));
  g_return_if_fail (self->start_task == NULL);

  self->start_task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->start_task, aic_agent_run_start_async);
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                             self->cancellable, G_CONNECT_SWAPPED);
  set_state (self, "connecting");

  if (self->run_id != NULL)
    {
      /* Only the console backend lists runs to open again. */
      self->numbered = TRUE;
      use_run_id (self, self->run_id, NULL);
      open_control (self);
      open_tokens (self);
      return;
    }

  {
    g_autoptr(SoupMessage) message = aic_client_new_message (self->client, "POST", "/api/runs");
    g_autoptr(JsonObject) body = json_object_new ();
    g_autofree char *text = NULL;
    g_autoptr(GBytes) bytes = NULL;
    gsize length;

    json_object_set_string_member (body, "goal", self->goal);
    if (self->workspace != NULL)
      json_object_set_string_member (body, "workspace", self->workspace);
    if (self->model != NULL)
      json_object_set_string_member (body, "model", self->model);
    text = object_text (body);
    length = strlen (text);
    bytes = g_bytes_new_take (g_steal_pointer (&text), length);
    soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    g_object_set_data_full (G_OBJECT (self), "aic-create-message", g_object_ref (message), g_object_unref);
    aic_http_get_json_async (aic_client_get_session (self->client), message, 0, self->cancellable,
                             created_cb, g_object_ref (self));
  }
}

gboolean
aic_agent_run_start_finish (AicAgentRun   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cancel_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(AicAgentRun) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);
  const char *state;

  if (root == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The run could not be cancelled: %s"), error->message);

      problem (self, text);
      return;
    }
  /* It may have ended by itself first. */
  state = JSON_NODE_HOLDS_OBJECT (root) ? member_string (json_node_get_object (root), "state") : NULL;
  if (state_is_final (state) && g_strcmp0 (state, "cancelled") != 0)
    finish (self, state, "");
  else
    finish (self, "cancelled", _("The run was cancelled."));
}

/**
 * aic_agent_run_cancel:
 * Asks the server to stop the run; #AicAgentRun::done follows.
 */
void
aic_agent_run_cancel (AicAgentRun *self)
{
  g_autoptr(JsonObject) cancel = json_object_new ();
  g_autofree char *text = NULL;

  g_return_if_fail (AIC_IS_AGENT_RUN (self));

  if (self->finished)
    return;
  json_object_set_string_member (cancel, "type", "cancel");
  text = object_text (cancel);
  if (send_json (self, text))
    return;
  if (self->plain || self->run_id == NULL)
    {
      finish (self, "cancelled", _("The run was cancelled."));
      return;
    }
  {
    g_autofree char *path = g_strdup_printf ("/api/runs/%s/cancel", self->run_id);
    g_autoptr(SoupMessage) message = aic_client_new_message (self->client, "POST", path);

    soup_message_set_request_body_from_bytes (message, "application/json", g_bytes_new_static ("{}", 2));
    aic_http_get_json_async (aic_client_get_session (self->client), message, 0, NULL,
                             cancel_cb, g_object_ref (self));
  }
}

/**
 * aic_agent_run_reconnect:
 * Drops the control connection and opens it again at once, as after a
 * network change.
 */
void
aic_agent_run_reconnect (AicAgentRun *self)
{
  g_return_if_fail (AIC_IS_AGENT_RUN (self));

  if (self->finished || self->ws == NULL)
    return;
  close_control (self);
  self->attempts = 1;
  g_clear_handle_id (&self->retry_source, aic_source_remove);
  open_control (self);
}

/**
 * aic_agent_run_close:
 * Stops following the run: both connections close and no more signals
 * come. The run itself goes on at the server; cancel it first to stop it.
 */
void
aic_agent_run_close (AicAgentRun *self)
{
  g_return_if_fail (AIC_IS_AGENT_RUN (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, aic_source_remove);
  g_clear_handle_id (&self->gap_source, aic_source_remove);
  close_control (self);
  if (self->tokens != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->tokens, self);
      aic_sse_client_stop (self->tokens);
    }
}

/* ---- GObject ---- */

static void
aic_agent_run_dispose (GObject *object)
{
  AicAgentRun *self = AIC_AGENT_RUN (object);

  aic_agent_run_close (self);
  g_clear_pointer (&self->held, g_tree_unref);
  g_clear_object (&self->tokens);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (aic_agent_run_parent_class)->dispose (object);
}

static void
aic_agent_run_finalize (GObject *object)
{
  AicAgentRun *self = AIC_AGENT_RUN (object);

  g_free (self->goal);
  g_free (self->workspace);
  g_free (self->model);
  g_free (self->run_id);
  g_free (self->ws_path);
  g_free (self->tokens_path);
  g_free (self->state);
  g_free (self->summary);
  g_free (self->last_reply);
  g_free (self->last_reply_token);
  g_clear_pointer (&self->pending, aic_agent_request_free);
  g_clear_pointer (&self->allowed_here, g_hash_table_unref);
  g_clear_pointer (&self->seen, g_hash_table_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (aic_agent_run_parent_class)->finalize (object);
}

static void
aic_agent_run_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  AicAgentRun *self = AIC_AGENT_RUN (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->ws != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_agent_run_class_init (AicAgentRunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_agent_run_dispose;
  object_class->finalize = aic_agent_run_finalize;
  object_class->get_property = aic_agent_run_get_property;

  properties[PROP_STATE] =
    g_param_spec_string ("state", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[STEP] = g_signal_new ("step", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[TOOL_CALL] = g_signal_new ("tool-call", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[TOOL_RESULT] = g_signal_new ("tool-result", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_STRING);
  signals[NEED_INPUT] = g_signal_new ("need-input", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 1, AIC_TYPE_AGENT_REQUEST);
  signals[TOKEN] = g_signal_new ("token", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[PROBLEM] = g_signal_new ("problem", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[DONE] = g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
aic_agent_run_init (AicAgentRun *self)
{
  self->cancellable = g_cancellable_new ();
  self->allowed_here = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->held = g_tree_new_full (compare_seq, NULL, g_free, (GDestroyNotify) held_free);
  self->seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->state = g_strdup ("new");
}

/**
 * aic_agent_run_new:
 * @workspace: (nullable): the folder the agent works in, on the server's
 *   machine; %NULL for the server's own
 * @model: (nullable): the model, or the server's default
 */
AicAgentRun *
aic_agent_run_new (AicClient  *client,
                   const char *goal,
                   const char *workspace,
                   const char *model)
{
  AicAgentRun *self;

  g_return_val_if_fail (AIC_IS_CLIENT (client), NULL);
  g_return_val_if_fail (goal != NULL, NULL);

  self = g_object_new (AIC_TYPE_AGENT_RUN, NULL);
  self->client = g_object_ref (client);
  self->goal = g_strdup (goal);
  self->workspace = g_strdup (workspace);
  self->model = g_strdup (model);
  return self;
}

/**
 * aic_agent_run_new_for_id:
 * A run made earlier, to follow again (after the app was restarted): its
 * steps so far come again as signals, then whatever is new.
 */
AicAgentRun *
aic_agent_run_new_for_id (AicClient  *client,
                          const char *run_id)
{
  AicAgentRun *self;

  g_return_val_if_fail (AIC_IS_CLIENT (client), NULL);
  g_return_val_if_fail (run_id != NULL, NULL);

  self = g_object_new (AIC_TYPE_AGENT_RUN, NULL);
  self->client = g_object_ref (client);
  self->goal = g_strdup ("");
  self->run_id = g_strdup (run_id);
  self->replay = TRUE;
  return self;
}

const char *
aic_agent_run_get_id (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), NULL);
  return self->run_id;
}

const char *
aic_agent_run_get_goal (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), NULL);
  return self->goal;
}

const char *
aic_agent_run_get_state (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), NULL);
  return self->state;
}

/**
 * aic_agent_run_get_summary:
 * Returns: (nullable): what the run said when it ended
 */
const char *
aic_agent_run_get_summary (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), NULL);
  return self->summary;
}

gboolean
aic_agent_run_is_finished (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), FALSE);
  return self->finished;
}

gboolean
aic_agent_run_is_plain (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), FALSE);
  return self->plain;
}

/**
 * aic_agent_run_get_pending:
 * Returns: (nullable): the request waiting for an answer
 */
const AicAgentRequest *
aic_agent_run_get_pending (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), NULL);
  return self->pending;
}

guint
aic_agent_run_get_reconnects (AicAgentRun *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_RUN (self), 0);
  return self->reconnects;
}

/* ---- the list of runs ---- */

void
aic_agent_run_info_free (AicAgentRunInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->run_id);
  g_free (info->goal);
  g_free (info->state);
  g_free (info);
}

static void
listed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_agent_run_info_free);
  JsonNode *runs;

  if (root == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  runs = JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), "runs") : NULL;
  if (runs == NULL || !JSON_NODE_HOLDS_ARRAY (runs))
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_WRONG_SERVER,
                               _("The server’s list of runs could not be read."));
      return;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (runs)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (runs), i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      AicAgentRunInfo *info;
      const char *created;

      if (member_string (entry, "run_id") == NULL)
        continue;
      info = g_new0 (AicAgentRunInfo, 1);
      info->run_id = g_strdup (member_string (entry, "run_id"));
      info->goal = g_strdup (member_string (entry, "goal") ? member_string (entry, "goal") : "");
      info->state = g_strdup (member_string (entry, "state") ? member_string (entry, "state") : "");
      created = member_string (entry, "created_at");
      if (created != NULL)
        {
          g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (created, NULL);

          if (time != NULL)
            info->created_at = g_date_time_to_unix (time);
        }
      g_ptr_array_add (infos, info);
    }
  g_task_return_pointer (task, g_steal_pointer (&infos), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * aic_agent_list_runs_async:
 * Asks a console backend for its runs, newest first (GET /api/runs).
 */
void
aic_agent_list_runs_async (AicClient           *client,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(SoupMessage) message = NULL;
  GTask *task;

  g_return_if_fail (AIC_IS_CLIENT (client));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_agent_list_runs_async);
  message = aic_client_new_message (client, "GET", "/api/runs");
  aic_http_get_json_async (aic_client_get_session (client), message, 0, cancellable, listed_cb, task);
}

/**
 * aic_agent_list_runs_finish:
 * Returns: (transfer full) (element-type AicAgentRunInfo): the runs
 */
GPtrArray *
aic_agent_list_runs_finish (GAsyncResult  *result,
                            GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
