/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "aic-agent-hub.h"
#include "aic-agent-planner.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-source.h"
#include "aic-token.h"
#include "aic-workspace.h"

/* Agent runs (PROTOCOL.md, "Agent runs"): created over REST, steered over
 * a control WebSocket, their text streamed over SSE.
 *
 * A run is a loop on the server's main context: ask the planner for the
 * next move, then take its tool calls one by one. Reads run at once;
 * writes and commands ask the user first (the policy says which), and
 * the run waits, with nothing else happening, until an answer, a cancel or
 * the deadline. A refusal goes back to the model as the tool's result and
 * the run goes on. The loop's whole state (the conversation, the calls
 * still to do, what was allowed for the run, the pending request) is saved
 * before each message goes out, so a restarted server picks every run up
 * where it was, its pending request unchanged. */

#define MAX_GOAL_BYTES      (16 * 1024)
#define MAX_CLIENT_MESSAGE  (1024 * 1024)
#define MAX_TOOL_SUMMARY    160
#define TOKEN_RETRY_MS      1000
#define KEEP_ALIVE_MS       15000

struct _AicAgentHub
{
  GObject         parent_instance;

  AicEngine      *engine;
  AicRunStore    *store;
  char           *default_workspace;
  GHashTable     *runs;              /* id → Run, the runs not yet ended */
  GPtrArray      *sockets;           /* Socket, every open control connection */
  AicAgentPolicy  policy[3];         /* read, write, execute */
  guint           deadline_ms;
  guint           command_ms;
  gsize           command_output;
  guint           keep_alive_source;
  char          **roots;             /* where a run may name its workspace; NULL: anywhere */
};

G_DEFINE_FINAL_TYPE (AicAgentHub, aic_agent_hub, G_TYPE_OBJECT)

typedef struct
{
  gatomicrefcount  ref_count;
  AicAgentHub     *hub;
  AicRunRecord    *record;
  JsonObject      *memory;
  AicWorkspace    *workspace;
  GCancellable    *cancellable;
  GPtrArray       *token_streams;    /* SoupServerMessage */
  guint            deadline_source;
  gboolean         busy;             /* a model call or a tool is under way */
  gboolean         ended;
} Run;

typedef struct
{
  AicAgentHub             *hub;
  SoupWebsocketConnection *connection;
  char                    *run_id;
  gboolean                 plain;
} Socket;

static void run_advance (Run *run);
static void run_finish  (Run *run, const char *state, JsonNode *result);

/* ---- small helpers ---- */

static Run *
run_ref (Run *run)
{
  g_atomic_ref_count_inc (&run->ref_count);
  return run;
}

static void
run_unref (Run *run)
{
  if (!g_atomic_ref_count_dec (&run->ref_count))
    return;
  g_clear_handle_id (&run->deadline_source, aic_source_remove);
  aic_run_record_free (run->record);
  g_clear_pointer (&run->memory, json_object_unref);
  g_clear_object (&run->workspace);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->token_streams, g_ptr_array_unref);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_unref)

static int
risk_index (const char *risk)
{
  if (g_strcmp0 (risk, "read") == 0)
    return 0;
  if (g_strcmp0 (risk, "write") == 0)
    return 1;
  if (g_strcmp0 (risk, "execute") == 0)
    return 2;
  return -1;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(GBytes) bytes = NULL;

  if (text == NULL)
    return NULL;
  bytes = g_bytes_new_static (text, strlen (text));
  return aic_json_parse_bytes (bytes, NULL);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonNode) node = parse_json (text);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return aic_json_to_string (node, FALSE);
}

static JsonArray *
memory_array (Run        *run,
              const char *member)
{
  if (!json_object_has_member (run->memory, member))
    json_object_set_array_member (run->memory, member, json_array_new ());
  return json_object_get_array_member (run->memory, member);
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

/* ---- saving and telling ---- */

static void
run_save (Run *run)
{
  g_autoptr(GError) error = NULL;

  g_free (run->record->memory);
  run->record->memory = object_to_string (run->memory);
  if (!aic_run_store_save (run->hub->store, run->record, &error))
    g_warning ("Run %s could not be saved: %s", run->record->id, error->message);
}

static void
socket_send (Socket     *socket,
             const char *text)
{
  if (soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (socket->connection, text);
}

static void
socket_send_object (Socket     *socket,
                    JsonObject *object)
{
  g_autofree char *text = object_to_string (object);

  socket_send (socket, text);
}

/* Gives @message its "type", keeps it in the run's history and numbers
 * it ("seq"). */
static void
run_keep (Run        *run,
          const char *type,
          JsonObject *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  gint64 seq;

  json_object_set_string_member (message, "type", type);
  body = object_to_string (message);
  seq = aic_run_store_append (run->hub->store, run->record->id, "control", body, &error);
  if (seq == 0)
    g_warning ("Run %s: a message could not be kept: %s", run->record->id, error->message);
  else
    json_object_set_int_member (message, "seq", seq);
}

/* Sends @message to every control connection of the run. */
static void
run_broadcast (Run        *run,
               JsonObject *message)
{
  g_autofree char *text = object_to_string (message);
  GPtrArray *sockets = run->hub->sockets;

  for (guint i = 0; i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);

      if (g_strcmp0 (socket->run_id, run->record->id) == 0)
        socket_send (socket, text);
    }
}

/* Sends @message (which gets its "type") to every control connection of
 * the run; with @keep, it is numbered and kept for the run's history. */
static void
run_send (Run        *run,
          const char *type,
          JsonObject *message,
          gboolean    keep)
{
  if (keep)
    run_keep (run, type, message);
  else
    json_object_set_string_member (message, "type", type);
  run_broadcast (run, message);
}

static void
run_send_status (Run *run)
{
  g_autoptr(JsonObject) message = json_object_new ();

  json_object_set_string_member (message, "run_id", run->record->id);
  json_object_set_string_member (message, "state", run->record->state);
  run_send (run, "status", message, FALSE);
}

static void
run_set_state (Run        *run,
               const char *state)
{
  if (g_strcmp0 (run->record->state, state) == 0)
    return;
  g_free (run->record->state);
  run->record->state = g_strdup (state);
  run_save (run);
  run_send_status (run);
}

/* One kept token-channel event as SSE, its name from its "type". */
static GBytes *
token_event (gint64      seq,
             JsonObject *event)
{
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), event);

  return aic_reply_format_event (seq, json_object_get_string_member_with_default (event, "type", "token"), root, 0);
}

/* Keeps @event on the token channel and sends it to every open stream. */
static gint64
run_emit_event (Run        *run,
                JsonObject *event)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = object_to_string (event);
  g_autoptr(GBytes) bytes = NULL;
  gint64 seq = aic_run_store_append (run->hub->store, run->record->id, "token", body, &error);

  if (seq == 0)
    {
      g_warning ("Run %s: text could not be kept: %s", run->record->id, error->message);
      return 0;
    }
  bytes = token_event (seq, event);
  for (guint i = 0; i < run->token_streams->len; i++)
    aic_reply_write (g_ptr_array_index (run->token_streams, i), bytes);
  return seq;
}

/* Text from the model, in pieces of a word each, as the data plane's
 * token events; kept, so a stream that reconnects misses none. */
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
      run_emit_event (run, event);
    }
}

/* ---- the loop ---- */

static void
tool_result (Run        *run,
             const char *call_id,
             JsonObject *content,
             const char *summary)
{
  JsonArray *queue = memory_array (run, "queue");
  /* @call_id may belong to the queued call, which goes first. */
  g_autofree char *id = g_strdup (call_id);
  g_autoptr(JsonObject) tool_message = json_object_new ();
  g_autoptr(JsonObject) message = json_object_new ();
  g_autofree char *text = object_to_string (content);

  json_object_set_string_member (tool_message, "role", "tool");
  json_object_set_string_member (tool_message, "tool_call_id", id);
  json_object_set_string_member (tool_message, "content", text);
  json_array_add_object_element (memory_array (run, "messages"), g_steal_pointer (&tool_message));
  if (json_array_get_length (queue) > 0)
    json_array_remove_element (queue, 0);
  run_save (run);

  json_object_set_string_member (message, "call_id", id);
  json_object_set_string_member (message, "summary", summary);
  run_send (run, "tool_result", message, TRUE);
}

static JsonObject *
error_content (const char *code,
               const char *text)
{
  JsonObject *content = json_object_new ();

  json_object_set_string_member (content, "error", code);
  json_object_set_string_member (content, "message", text);
  return content;
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
  g_autoptr(JsonObject) content = error_content (code, text);

  tool_result (run, call_id, content, summary);
  run_advance (run);
}

static const char *
workspace_error_code (const GError *error)
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

typedef struct
{
  Run        *run;            /* while a command runs */
  char       *call_id;
  char       *name;
  JsonObject *args;
  JsonObject *content;
  char       *summary;
} ToolWork;

static void
tool_work_free (ToolWork *work)
{
  g_free (work->call_id);
  g_free (work->name);
  g_clear_pointer (&work->args, json_object_unref);
  g_clear_pointer (&work->content, json_object_unref);
  g_free (work->summary);
  g_free (work);
}

static const char *
arg_string (JsonObject *args,
            const char *member,
            const char *fallback)
{
  JsonNode *node = json_object_get_member (args, member);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (node);
}

/* The read and write tools, in a worker thread: a search may take a
 * while, and the server's loop must not wait for it. */
static void
tool_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  AicWorkspace *workspace = source;
  ToolWork *work = task_data;
  g_autoptr(GError) error = NULL;
  const char *path = arg_string (work->args, "path", ".");
  g_autoptr(JsonNode) node = NULL;

  if (strcmp (work->name, "list_dir") == 0)
    {
      node = aic_workspace_list_dir (workspace, path, &error);
      if (node != NULL)
        {
          guint n = json_array_get_length (json_object_get_array_member (json_node_get_object (node), "entries"));

          work->summary = g_strdup_printf ("%u %s in %s", n, n == 1 ? "entry" : "entries", path);
        }
    }
  else if (strcmp (work->name, "read_file") == 0)
    {
      g_autofree char *text = aic_workspace_read_file (workspace, path, &error);

      if (text != NULL)
        {
          node = json_node_init_object (json_node_alloc (), json_object_new ());
          json_object_set_string_member (json_node_get_object (node), "path", path);
          json_object_set_string_member (json_node_get_object (node), "content", text);
          work->summary = g_strdup_printf ("Read %s (%" G_GSIZE_FORMAT " bytes)", path, strlen (text));
        }
    }
  else if (strcmp (work->name, "search_text") == 0)
    {
      const char *query = arg_string (work->args, "query", NULL);

      if (query == NULL || query[0] == '\0')
        g_set_error (&error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "search_text needs a query.");
      else
        node = aic_workspace_search_text (workspace, query, path, &error);
      if (node != NULL)
        {
          guint n = json_array_get_length (json_object_get_array_member (json_node_get_object (node), "matches"));

          work->summary = g_strdup_printf ("%u %s for “%s”", n, n == 1 ? "match" : "matches", query);
        }
    }
  else if (strcmp (work->name, "write_file") == 0)
    {
      const char *content = arg_string (work->args, "content", NULL);

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        ;
      else if (content == NULL)
        g_set_error (&error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "write_file needs a content string.");
      else if (aic_workspace_write_file (workspace, path, content, &error))
        {
          node = json_node_init_object (json_node_alloc (), json_object_new ());
          json_object_set_string_member (json_node_get_object (node), "path", path);
          json_object_set_int_member (json_node_get_object (node), "bytes", strlen (content));
          work->summary = g_strdup_printf ("Wrote %s", path);
        }
    }
  else
    g_set_error (&error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                 "There is no tool called %s.", work->name);

  if (node != NULL)
    work->content = json_object_ref (json_node_get_object (node));
  else
    {
      work->content = error_content (workspace_error_code (error), error->message);
      work->summary = g_strdup_printf ("Failed: %s", error->message);
    }
  g_task_return_boolean (task, TRUE);
}

static void
tool_done (Run      *run,
           ToolWork *work)
{
  g_autofree char *summary = shorten (work->summary, MAX_TOOL_SUMMARY);

  run->busy = FALSE;
  if (run->ended)
    return;
  tool_result (run, work->call_id, work->content, summary);
  run_advance (run);
}

static void
tool_thread_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Run) run = user_data;

  tool_done (run, g_task_get_task_data (G_TASK (result)));
}

static void
command_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  ToolWork *work = user_data;
  g_autoptr(Run) run = g_steal_pointer (&work->run);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicCommandResult) command = aic_workspace_run_command_finish (AIC_WORKSPACE (object), result, &error);

  if (command == NULL)
    {
      work->content = error_content (workspace_error_code (error), error->message);
      work->summary = g_strdup_printf ("Failed: %s", error->message);
    }
  else
    {
      work->content = json_object_new ();
      json_object_set_int_member (work->content, "exit_status", command->exit_status);
      json_object_set_boolean_member (work->content, "timed_out", command->timed_out);
      json_object_set_boolean_member (work->content, "truncated", command->truncated);
      json_object_set_string_member (work->content, "output", command->output);
      if (command->timed_out)
        work->summary = g_strdup ("Stopped: it ran past the time limit");
      else
        work->summary = g_strdup_printf ("Exit status %d%s", command->exit_status,
                                         command->truncated ? ", output cut short" : "");
    }
  tool_done (run, work);
  tool_work_free (work);
}

static void
tool_execute (Run        *run,
              const char *call_id,
              const char *name,
              JsonObject *args)
{
  ToolWork *work = g_new0 (ToolWork, 1);
  JsonArray *queue = memory_array (run, "queue");

  /* Marked before it starts: after a restart, a call that was under way
   * is reported as interrupted, never run a second time. */
  if (json_array_get_length (queue) > 0)
    {
      json_object_set_boolean_member (json_array_get_object_element (queue, 0), "executing", TRUE);
      run_save (run);
    }

  work->call_id = g_strdup (call_id);
  work->name = g_strdup (name);
  work->args = json_object_ref (args);
  run->busy = TRUE;
  run_set_state (run, "running");

  if (strcmp (name, "run_command") == 0)
    {
      work->run = run_ref (run);
      aic_workspace_run_command_async (run->workspace, arg_string (args, "command", ""),
                                       run->hub->command_ms, run->hub->command_output,
                                       run->cancellable, command_cb, work);
      return;
    }

  {
    g_autoptr(GTask) task = g_task_new (run->workspace, run->cancellable, tool_thread_cb, run_ref (run));

    g_task_set_task_data (task, work, (GDestroyNotify) tool_work_free);
    g_task_run_in_thread (task, tool_thread);
  }
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
  run_finish (run, "cancelled", result);
  return G_SOURCE_REMOVE;
}

static void
arm_deadline (Run *run)
{
  gint64 left = run->record->deadline_at - g_get_real_time ();

  g_clear_handle_id (&run->deadline_source, aic_source_remove);
  run->deadline_source = aic_timeout_add (CLAMP (left / 1000, 0, G_MAXUINT), deadline_cb, run);
}

static char *
describe_request (const char *name,
                  JsonObject *args)
{
  if (strcmp (name, "write_file") == 0)
    return g_strdup_printf ("The agent wants to write %s.", arg_string (args, "path", "a file"));
  if (strcmp (name, "run_command") == 0)
    return g_strdup_printf ("The agent wants to run “%s”.", arg_string (args, "command", ""));
  return g_strdup_printf ("The agent wants to use %s.", name);
}

/* Puts the run on hold until the user answers. */
static void
ask (Run        *run,
     const char *call_id,
     const char *name,
     JsonObject *args,
     const char *risk,
     const char *diff)
{
  g_autoptr(JsonObject) pending = json_object_new ();
  g_autoptr(JsonObject) message = json_object_new ();
  g_autofree char *token = aic_token_generate ();
  gboolean question = strcmp (name, "ask_user") == 0;

  json_object_set_string_member (message, "run_id", run->record->id);
  json_object_set_string_member (message, "resume_token", token);
  if (question)
    {
      json_object_set_string_member (message, "kind", "question");
      json_object_set_string_member (message, "prompt", arg_string (args, "question", "The agent has a question."));
    }
  else
    {
      JsonObject *tool = json_object_new ();
      g_autofree char *prompt = describe_request (name, args);

      json_object_set_string_member (message, "kind", "approval");
      json_object_set_string_member (message, "prompt", prompt);
      json_object_set_string_member (tool, "name", name);
      json_object_set_object_member (tool, "args", json_object_ref (args));
      json_object_set_object_member (message, "tool", tool);
      json_object_set_string_member (message, "risk", risk);
      if (diff != NULL)
        json_object_set_string_member (message, "diff", diff);
    }
  json_object_set_string_member (message, "call_id", call_id);

  /* Kept and numbered first: asked again after a reconnection, the
   * request keeps its number. Saved before anyone is told. */
  run_keep (run, "need_input", message);
  json_object_set_object_member (pending, "message", json_object_ref (message));
  json_object_set_string_member (pending, "call_id", call_id);
  g_free (run->record->pending);
  run->record->pending = object_to_string (pending);
  run->record->deadline_at = g_get_real_time () + (gint64) run->hub->deadline_ms * 1000;
  g_free (run->record->state);
  run->record->state = g_strdup ("waiting");
  run_save (run);
  arm_deadline (run);
  run_send_status (run);
  run_broadcast (run, message);
}

static gboolean
allowed_for_run (Run        *run,
                 const char *name,
                 const char *risk)
{
  JsonArray *allowed = memory_array (run, "allowed");
  g_autofree char *key = g_strdup_printf ("%s:%s", name, risk);

  for (guint i = 0; i < json_array_get_length (allowed); i++)
    if (g_strcmp0 (json_array_get_string_element (allowed, i), key) == 0)
      return TRUE;
  return FALSE;
}

/* Takes the first of the tool calls still to do. */
static void
run_next_call (Run *run)
{
  JsonObject *call = json_array_get_object_element (memory_array (run, "queue"), 0);
  const char *call_id = json_object_get_string_member (call, "id");
  const char *name = json_object_get_string_member (call, "name");
  const char *risk = aic_agent_tool_risk (name);
  g_autoptr(JsonObject) args = parse_object (json_object_get_string_member_with_default (call, "arguments", "{}"));
  g_autoptr(JsonObject) announce = json_object_new ();
  AicAgentPolicy policy;
  int index;

  if (!json_object_get_boolean_member_with_default (call, "announced", FALSE))
    {
      json_object_set_string_member (announce, "call_id", call_id);
      json_object_set_string_member (announce, "name", name);
      json_object_set_object_member (announce, "args", args ? json_object_ref (args) : json_object_new ());
      json_object_set_boolean_member (call, "announced", TRUE);
      run_save (run);
      run_send (run, "tool_call", announce, TRUE);
    }

  if (json_object_get_boolean_member_with_default (call, "executing", FALSE))
    {
      skip_call (run, call_id, "interrupted",
                 "The server stopped while this ran; it may or may not have finished. Check before trying again.",
                 "Interrupted by a server restart");
      return;
    }
  if (args == NULL)
    {
      skip_call (run, call_id, "invalid_arguments", "The arguments were not a JSON object.",
                 "Failed: the arguments were not a JSON object");
      return;
    }
  if (risk == NULL)
    {
      g_autofree char *text = g_strdup_printf ("There is no tool called %s.", name);

      skip_call (run, call_id, "unknown_tool", text, "Failed: no such tool");
      return;
    }
  if (strcmp (risk, "question") == 0)
    {
      ask (run, call_id, name, args, risk, NULL);
      return;
    }

  index = risk_index (risk);
  policy = run->hub->policy[index];
  if (json_object_get_boolean_member_with_default (call, "approved", FALSE) || allowed_for_run (run, name, risk))
    policy = AIC_AGENT_POLICY_ALLOW;

  if (policy == AIC_AGENT_POLICY_DENY)
    {
      skip_call (run, call_id, "refused", "This server’s policy does not allow this action.",
                 "Refused by the server’s policy");
      return;
    }
  if (policy == AIC_AGENT_POLICY_ASK)
    {
      g_autofree char *diff = NULL;

      if (strcmp (name, "write_file") == 0)
        {
          g_autoptr(GError) error = NULL;
          const char *content = arg_string (args, "content", NULL);

          /* A write that could never happen is refused without asking. */
          if (content == NULL)
            g_set_error (&error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "write_file needs a content string.");
          else
            diff = aic_workspace_preview_write (run->workspace, arg_string (args, "path", ""), content, &error);
          if (diff == NULL)
            {
              g_autofree char *summary = g_strdup_printf ("Failed: %s", error->message);

              skip_call (run, call_id, workspace_error_code (error), error->message, summary);
              return;
            }
        }
      ask (run, call_id, name, args, risk, diff);
      return;
    }
  tool_execute (run, call_id, name, args);
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

  run->busy = FALSE;
  if (run->ended)
    return;
  if (turn == NULL)
    {
      g_autoptr(JsonNode) failure = json_node_init_object (json_node_alloc (), json_object_new ());
      g_autoptr(JsonObject) message = json_object_new ();
      g_autofree char *text = g_strdup_printf ("The model could not be asked: %s", error->message);

      json_object_set_string_member (message, "message", text);
      run_send (run, "error", message, TRUE);
      json_object_set_string_member (json_node_get_object (failure), "message", text);
      run_finish (run, "failed", failure);
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
      JsonArray *queue = memory_array (run, "queue");

      for (guint i = 0; i < turn->calls->len; i++)
        {
          AicToolCall *call = g_ptr_array_index (turn->calls, i);
          JsonObject *entry = json_object_new ();
          JsonObject *function = json_object_new ();
          JsonObject *todo = json_object_new ();

          json_object_set_string_member (entry, "id", call->id);
          json_object_set_string_member (entry, "type", "function");
          json_object_set_string_member (function, "name", call->name);
          json_object_set_string_member (function, "arguments", call->arguments);
          json_object_set_object_member (entry, "function", function);
          json_array_add_object_element (calls, entry);

          json_object_set_string_member (todo, "id", call->id);
          json_object_set_string_member (todo, "name", call->name);
          json_object_set_string_member (todo, "arguments", call->arguments);
          json_array_add_object_element (queue, todo);
        }
      json_object_set_array_member (assistant, "tool_calls", calls);
    }
  json_array_add_object_element (memory_array (run, "messages"), g_steal_pointer (&assistant));
  run_save (run);

  if (turn->content != NULL && turn->content[0] != '\0')
    {
      g_autofree char *text = g_strconcat (turn->content, turn->calls->len > 0 ? "\n\n" : "", NULL);

      run_emit_text (run, text);
    }

  if (turn->calls->len == 0)
    {
      g_autoptr(JsonNode) done = json_node_init_object (json_node_alloc (), json_object_new ());

      json_object_set_string_member (json_node_get_object (done), "summary", turn->content ? turn->content : "");
      run_finish (run, "completed", done);
      return;
    }
  run_advance (run);
}

/* The loop's one step: a pending request waits, a queued call goes
 * next, and with nothing queued the model is asked again. */
static void
run_advance (Run *run)
{
  JsonArray *queue;
  gint64 steps;

  if (run->ended || run->busy || run->record->pending != NULL)
    return;

  queue = memory_array (run, "queue");
  if (json_array_get_length (queue) > 0)
    {
      run_next_call (run);
      return;
    }

  steps = json_object_get_int_member_with_default (run->memory, "steps", 0);
  if (steps >= AIC_AGENT_MAX_STEPS)
    {
      g_autoptr(JsonNode) failure = json_node_init_object (json_node_alloc (), json_object_new ());

      json_object_set_string_member (json_node_get_object (failure), "message",
                                     "The run took too many steps and was stopped.");
      run_finish (run, "failed", failure);
      return;
    }

  json_object_set_int_member (run->memory, "steps", steps + 1);
  run->busy = TRUE;
  run_set_state (run, "planning");
  {
    g_autoptr(JsonObject) step = json_object_new ();
    g_autoptr(JsonObject) progress = json_object_new ();
    g_autofree char *name = g_strdup_printf ("Step %" G_GINT64_FORMAT ": deciding what to do", steps + 1);
    g_autofree char *text = g_strdup_printf ("Step %" G_GINT64_FORMAT " of at most %d", steps + 1, AIC_AGENT_MAX_STEPS);

    json_object_set_string_member (step, "name", name);
    run_send (run, "step", step, TRUE);
    json_object_set_int_member (progress, "pct", steps * 100 / AIC_AGENT_MAX_STEPS);
    json_object_set_string_member (progress, "message", text);
    run_send (run, "progress", progress, TRUE);
  }
  run_save (run);
  aic_agent_plan_async (run->hub->engine, run->record->model, memory_array (run, "messages"),
                        run->cancellable, plan_cb, run_ref (run));
}

static void
close_sockets (AicAgentHub *self,
               const char  *run_id)
{
  for (guint i = 0; i < self->sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (self->sockets, i);

      if (g_strcmp0 (socket->run_id, run_id) == 0 &&
          soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (socket->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
}

static void
run_finish (Run        *run,
            const char *state,
            JsonNode   *result)
{
  AicAgentHub *self = run->hub;
  g_autoptr(JsonObject) message = json_object_new ();
  g_autoptr(JsonObject) done = json_object_new ();

  if (run->ended)
    return;
  run->ended = TRUE;
  g_cancellable_cancel (run->cancellable);
  g_clear_handle_id (&run->deadline_source, aic_source_remove);

  g_free (run->record->state);
  run->record->state = g_strdup (state);
  g_clear_pointer (&run->record->pending, g_free);
  run->record->deadline_at = 0;
  g_free (run->record->result);
  run->record->result = aic_json_to_string (result, FALSE);
  run_save (run);

  json_object_set_string_member (message, "run_id", run->record->id);
  json_object_set_string_member (message, "state", state);
  json_object_set_member (message, "result", json_node_copy (result));
  run_send (run, "done", message, TRUE);

  json_object_set_string_member (done, "type", "done");
  json_object_set_string_member (done, "state", state);
  run_emit_event (run, done);
  for (guint i = 0; i < run->token_streams->len; i++)
    {
      SoupServerMessage *stream = g_ptr_array_index (run->token_streams, i);

      g_signal_handlers_disconnect_by_data (stream, run);
      aic_reply_end (stream);
    }
  g_ptr_array_set_size (run->token_streams, 0);

  close_sockets (self, run->record->id);
  g_hash_table_remove (self->runs, run->record->id);
}

/* ---- answers ---- */

static void
send_error (Socket     *socket,
            const char *code,
            const char *text)
{
  g_autoptr(JsonObject) message = json_object_new ();

  json_object_set_string_member (message, "type", "error");
  json_object_set_string_member (message, "code", code);
  json_object_set_string_member (message, "message", text);
  socket_send_object (socket, message);
}

static gboolean
text_means (const char         *text,
            const char * const *words)
{
  g_autofree char *clean = g_strstrip (g_ascii_strdown (text ? text : "", -1));

  return g_strv_contains (words, clean);
}

/* The request is answered: nothing waits any more. */
static void
clear_pending (Run *run)
{
  g_clear_pointer (&run->record->pending, g_free);
  run->record->deadline_at = 0;
  g_clear_handle_id (&run->deadline_source, aic_source_remove);
}

static void
run_reply (Run        *run,
           Socket     *socket,
           JsonObject *object)
{
  static const char * const yes[] = { "yes", "y", "allow", "ok", "approve", NULL };
  static const char * const no[] = { "no", "n", "deny", "refuse", NULL };
  g_autoptr(JsonObject) pending = parse_object (run->record->pending);
  const char *token = NULL, *text = NULL, *decision = NULL;
  JsonObject *request, *call;
  const char *call_id, *kind, *name, *risk;
  g_autoptr(JsonObject) args = NULL;

  if (!aic_json_get_string (object, "resume_token", FALSE, &token, NULL) ||
      !aic_json_get_string (object, "text", FALSE, &text, NULL) ||
      !aic_json_get_string (object, "decision", FALSE, &decision, NULL))
    {
      send_error (socket, "invalid_message", "resume_token, text and decision must be strings.");
      return;
    }
  if (pending == NULL || token == NULL ||
      !aic_token_equal (json_object_get_string_member_with_default (
                          json_object_get_object_member (pending, "message"), "resume_token", ""), token))
    {
      send_error (socket, "stale_resume_token",
                  "That request was already answered or is no longer waiting; the answer was not used.");
      return;
    }

  request = json_object_get_object_member (pending, "message");
  call_id = json_object_get_string_member (pending, "call_id");
  kind = json_object_get_string_member_with_default (request, "kind", "approval");
  call = json_array_get_object_element (memory_array (run, "queue"), 0);
  name = json_object_get_string_member (call, "name");
  risk = aic_agent_tool_risk (name);
  args = parse_object (json_object_get_string_member_with_default (call, "arguments", "{}"));

  if (strcmp (kind, "question") == 0)
    {
      g_autoptr(JsonObject) content = json_object_new ();
      g_autofree char *summary = NULL;

      if (text == NULL || text[0] == '\0')
        {
          send_error (socket, "invalid_message", "An answer to a question needs some text.");
          return;
        }
      json_object_set_string_member (content, "answer", text);
      summary = g_strdup_printf ("Answered: %s", text);
      clear_pending (run);
      tool_result (run, call_id, content, summary);
      run_set_state (run, "running");
      run_advance (run);
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
          send_error (socket, "invalid_message", "Answer an approval with “yes” or “no”.");
          return;
        }
    }
  if (strcmp (decision, "deny") != 0 && strcmp (decision, "allow_once") != 0 &&
      strcmp (decision, "allow_run") != 0)
    {
      send_error (socket, "invalid_message", "decision must be allow_once, allow_run or deny.");
      return;
    }

  clear_pending (run);

  if (strcmp (decision, "deny") == 0)
    {
      g_autoptr(JsonObject) content = error_content ("refused", "The user refused this action. Do not try it again.");

      tool_result (run, call_id, content, "Refused by the user");
      run_set_state (run, "running");
      run_advance (run);
      return;
    }

  if (strcmp (decision, "allow_run") == 0)
    {
      g_autofree char *key = g_strdup_printf ("%s:%s", name, risk);

      json_array_add_string_element (memory_array (run, "allowed"), key);
    }
  json_object_set_boolean_member (call, "approved", TRUE);
  run_save (run);
  tool_execute (run, call_id, name, args ? args : json_object_new ());
}

/* ---- runs: making and finding ---- */

static Run *
run_wrap (AicAgentHub   *self,
          AicRunRecord  *record,
          GError       **error)
{
  g_autoptr(Run) run = g_new0 (Run, 1);

  g_atomic_ref_count_init (&run->ref_count);
  run->hub = self;
  run->record = record;
  run->cancellable = g_cancellable_new ();
  run->token_streams = g_ptr_array_new_with_free_func (g_object_unref);
  run->memory = parse_object (record->memory);
  if (run->memory == NULL)
    run->memory = json_object_new ();
  run->workspace = aic_workspace_new (record->workspace, error);
  if (run->workspace == NULL)
    {
      run->record = NULL;
      return NULL;
    }
  return g_steal_pointer (&run);
}

static gboolean
valid_run_id (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-' && id[i] != '_')
      return FALSE;
  return TRUE;
}

/* Whether @path (an existing folder) is one of the allowed roots or lies
 * under one, after every link is resolved. */
static gboolean
workspace_allowed (AicAgentHub  *self,
                   const char   *path,
                   GError      **error)
{
  g_autofree char *real = NULL;

  if (self->roots == NULL)
    return TRUE;
  real = realpath (path, NULL);
  if (real != NULL)
    for (guint i = 0; self->roots[i] != NULL; i++)
      {
        g_autofree char *root = realpath (self->roots[i], NULL);
        gsize len = root ? strlen (root) : 0;

        if (root != NULL &&
            (strcmp (real, root) == 0 ||
             (strncmp (real, root, len) == 0 && (real[len] == '/' || strcmp (root, "/") == 0))))
          return TRUE;
      }
  g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE,
               "This server does not let runs work in %s; its operator allows folders under: %s.",
               path, self->roots[0] ? self->roots[0] : "(none)");
  return FALSE;
}

/* A new run's loop state: the conversation so far (the system prompt
 * and the goal), no calls to do, nothing allowed, no steps. */
static JsonObject *
new_memory (const char *goal)
{
  JsonObject *memory = json_object_new ();
  JsonArray *messages = json_array_new ();
  JsonObject *system = json_object_new ();
  JsonObject *user = json_object_new ();

  json_object_set_string_member (system, "role", "system");
  json_object_set_string_member (system, "content", aic_agent_system_prompt ());
  json_object_set_string_member (user, "role", "user");
  json_object_set_string_member (user, "content", goal);
  json_array_add_object_element (messages, system);
  json_array_add_object_element (messages, user);
  json_object_set_array_member (memory, "messages", messages);
  json_object_set_array_member (memory, "queue", json_array_new ());
  json_object_set_array_member (memory, "allowed", json_array_new ());
  json_object_set_int_member (memory, "steps", 0);
  return memory;
}

/* Makes a run; @id may be given (the plainer WebSocket names its own). */
static Run *
run_create (AicAgentHub  *self,
            const char   *id,
            const char   *goal,
            const char   *model,
            const char   *workspace,
            GError      **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (goal ? goal : ""));
  g_autoptr(AicRunRecord) record = NULL;
  g_autoptr(JsonObject) memory = NULL;
  g_autoptr(Run) run = NULL;

  if (trimmed[0] == '\0')
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID, "A run needs a goal.");
      return NULL;
    }
  if (workspace == NULL)
    {
      workspace = self->default_workspace;
      g_mkdir_with_parents (workspace, 0700);
    }

  memory = new_memory (goal);
  record = g_new0 (AicRunRecord, 1);

  record->id = id != NULL ? g_strdup (id) : aic_token_new_id ("r");
  record->goal = g_strdup (goal);
  record->model = g_strdup (model);
  record->workspace = g_canonicalize_filename (workspace, NULL);
  record->state = g_strdup ("planning");
  record->memory = object_to_string (memory);

  if (!g_file_test (record->workspace, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_FOUND,
                   "The workspace %s is not a folder on the server.", record->workspace);
      return NULL;
    }
  if (workspace != self->default_workspace && !workspace_allowed (self, record->workspace, error))
    return NULL;
  run = run_wrap (self, record, error);
  if (run == NULL)
    return NULL;
  record = NULL;
  /* Until a client connects, the run waits; not for ever. */
  run->record->deadline_at = g_get_real_time () + (gint64) self->deadline_ms * 1000;
  if (!aic_run_store_insert (self->store, run->record, error))
    return NULL;
  arm_deadline (run);
  g_hash_table_insert (self->runs, g_strdup (run->record->id), run_ref (run));
  return g_steal_pointer (&run);
}

/* The run starts when its first control connection comes, so that no
 * client misses its first messages. */
static void
run_start (Run *run)
{
  if (json_object_get_boolean_member_with_default (run->memory, "started", FALSE))
    return;
  json_object_set_boolean_member (run->memory, "started", TRUE);
  run->record->deadline_at = 0;
  g_clear_handle_id (&run->deadline_source, aic_source_remove);
  run_save (run);
  run_advance (run);
}

/**
 * aic_agent_hub_resume:
 * Picks up the runs a previous server left unfinished: a run that was
 * waiting waits on, with the same request and the rest of its deadline;
 * the others carry on.
 */
void
aic_agent_hub_resume (AicAgentHub *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = aic_run_store_list (self->store, 1000, TRUE, &error);

  if (records == NULL)
    {
      g_warning ("Unfinished runs could not be read: %s", error->message);
      return;
    }
  while (records->len > 0)
    {
      AicRunRecord *record = g_ptr_array_steal_index (records, 0);
      g_autoptr(GError) local_error = NULL;
      g_autoptr(Run) run = NULL;

      if (g_hash_table_contains (self->runs, record->id))
        {
          aic_run_record_free (record);
          continue;
        }
      run = run_wrap (self, record, &local_error);
      if (run == NULL)
        {
          g_autoptr(GError) save_error = NULL;

          /* Its folder is gone: the run ends, saying why. */
          g_warning ("Run %s cannot go on: %s", record->id, local_error->message);
          g_free (record->state);
          record->state = g_strdup ("failed");
          g_clear_pointer (&record->pending, g_free);
          g_free (record->result);
          record->result = g_strdup_printf ("{\"message\": \"The workspace could not be opened again after a restart.\"}");
          if (!aic_run_store_save (self->store, record, &save_error))
            g_warning ("Run %s could not be saved: %s", record->id, save_error->message);
          aic_run_record_free (record);
          continue;
        }
      g_hash_table_insert (self->runs, g_strdup (run->record->id), run_ref (run));
      if (run->record->pending != NULL ||
          !json_object_get_boolean_member_with_default (run->memory, "started", FALSE))
        arm_deadline (run);
      else
        run_advance (run);
    }
}

static Run *
find_live (AicAgentHub *self,
           const char  *id)
{
  return g_hash_table_lookup (self->runs, id);
}

/**
 * aic_agent_hub_knows:
 * Whether there is (or was) a run of that id.
 */
gboolean
aic_agent_hub_knows (AicAgentHub *self,
                     const char  *run_id)
{
  g_autoptr(AicRunRecord) record = NULL;

  g_return_val_if_fail (AIC_IS_AGENT_HUB (self), FALSE);

  if (find_live (self, run_id) != NULL)
    return TRUE;
  record = aic_run_store_get (self->store, run_id, NULL);
  return record != NULL;
}

static void
unknown_run (SoupServerMessage *message,
             const char        *id)
{
  g_autofree char *text = g_strdup_printf ("There is no run %s.", id);

  aic_reply_error (message, SOUP_STATUS_NOT_FOUND, "not_found", text);
}

/* ---- REST ---- */

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
  Run *run;

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

  run = run_create (self, NULL, goal, model, workspace, &error);
  if (run == NULL)
    {
      if (g_error_matches (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE))
        aic_reply_error (message, SOUP_STATUS_FORBIDDEN, "workspace_not_allowed", error->message);
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
  json_object_set_string_member (reply, "state", run->record->state);
  json_object_set_string_member (reply, "workspace", run->record->workspace);
  reply_node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_CREATED, reply_node);
  run_unref (run);
}

static JsonObject *
run_summary (const AicRunRecord *record)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "run_id", record->id);
  json_object_set_string_member (object, "goal", record->goal);
  json_object_set_string_member (object, "state", record->state);
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
  JsonArray *runs = json_array_new ();

  if (records == NULL)
    {
      json_array_unref (runs);
      aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }
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
  g_autoptr(JsonObject) pending = NULL;
  g_autoptr(JsonNode) result = NULL;
  JsonArray *steps;

  if (record == NULL)
    return;
  reply = run_summary (record);
  events = aic_run_store_events (self->store, run_id, "control", 0, &error);
  steps = json_array_new ();
  for (guint i = 0; events != NULL && i < events->len; i++)
    {
      AicRunEvent *event = g_ptr_array_index (events, i);
      JsonNode *step = parse_json (event->body);

      if (step != NULL)
        json_array_add_element (steps, step);
    }
  json_object_set_array_member (reply, "steps", steps);
  pending = parse_object (record->pending);
  if (pending != NULL)
    json_object_set_object_member (reply, "pending", json_object_ref (json_object_get_object_member (pending, "message")));
  else
    json_object_set_null_member (reply, "pending");
  result = parse_json (record->result);
  if (result != NULL)
    json_object_set_member (reply, "result", g_steal_pointer (&result));
  else
    json_object_set_null_member (reply, "result");
  node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_OK, node);
}

static void
cancel_run (Run *run)
{
  g_autoptr(JsonNode) result = json_node_init_object (json_node_alloc (), json_object_new ());

  json_object_set_string_member (json_node_get_object (result), "reason", "cancelled");
  json_object_set_string_member (json_node_get_object (result), "message", "The run was cancelled.");
  run_finish (run, "cancelled", result);
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
  Run *run = find_live (self, run_id);
  g_autoptr(AicRunRecord) record = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (run != NULL)
    {
      g_autoptr(Run) hold = run_ref (run);

      cancel_run (hold);
    }
  record = lookup_record (self, message, run_id);
  if (record == NULL)
    return;
  reply = run_summary (record);
  node = json_node_init_object (json_node_alloc (), reply);
  aic_reply_json (message, SOUP_STATUS_OK, node);
}

static void
token_stream_gone_cb (SoupServerMessage *message,
                      Run               *run)
{
  g_signal_handlers_disconnect_by_data (message, run);
  g_ptr_array_remove (run->token_streams, message);
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
  const char *last = soup_message_headers_get_one (soup_server_message_get_request_headers (message),
                                                   "Last-Event-ID");
  g_autoptr(AicRunRecord) record = lookup_record (self, message, run_id);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint64 after = 0;
  Run *run;

  if (record == NULL)
    return;
  if (last != NULL && last[0] != '\0' &&
      !g_ascii_string_to_unsigned (last, 10, 0, G_MAXINT64, &after, NULL))
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", "Last-Event-ID must be an event number.");
      return;
    }
  events = aic_run_store_events (self->store, run_id, "token", after, &error);
  if (events == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }

  aic_reply_start_event_stream (message);
  {
    g_autofree char *retry = g_strdup_printf ("retry: %u\n\n", TOKEN_RETRY_MS);
    gsize length = strlen (retry);
    g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&retry), length);

    aic_reply_write (message, bytes);
  }
  for (guint i = 0; i < events->len; i++)
    {
      AicRunEvent *event = g_ptr_array_index (events, i);
      g_autoptr(JsonObject) object = parse_object (event->body);

      if (object != NULL)
        {
          g_autoptr(GBytes) bytes = token_event (event->seq, object);

          aic_reply_write (message, bytes);
        }
    }

  run = find_live (self, run_id);
  if (run == NULL)
    {
      aic_reply_end (message);
      return;
    }
  g_ptr_array_add (run->token_streams, g_object_ref (message));
  g_signal_connect (message, "finished", G_CALLBACK (token_stream_gone_cb), run);
  g_signal_connect (message, "disconnected", G_CALLBACK (token_stream_gone_cb), run);
}

/* ---- the control WebSocket ---- */

static void
socket_free (Socket *socket)
{
  g_signal_handlers_disconnect_by_data (socket->connection, socket);
  g_object_unref (socket->connection);
  g_free (socket->run_id);
  g_free (socket);
}

static void
socket_closed_cb (SoupWebsocketConnection *connection,
                  Socket                  *socket)
{
  g_ptr_array_remove (socket->hub->sockets, socket);
}

/* What a new connection hears first: "connected", the run's state, the
 * messages it asked to have again, then the pending request, if any,
 * with the same resume token as before. */
static void
socket_greet (Socket *socket,
              Run    *run,
              gint64  after)  /* -1: nothing again */
{
  g_autoptr(JsonObject) connected = json_object_new ();
  g_autoptr(JsonObject) status = json_object_new ();
  g_autoptr(JsonObject) pending = parse_object (run->record->pending);

  json_object_set_string_member (connected, "type", "status");
  json_object_set_string_member (connected, "run_id", run->record->id);
  json_object_set_string_member (connected, "state", "connected");
  json_object_set_string_member (connected, "goal", run->record->goal);
  socket_send_object (socket, connected);

  if (after >= 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) events = aic_run_store_events (run->hub->store, run->record->id, "control", after, &error);

      for (guint i = 0; events != NULL && i < events->len; i++)
        {
          AicRunEvent *event = g_ptr_array_index (events, i);
          g_autoptr(JsonObject) again = parse_object (event->body);

          if (again == NULL || g_strcmp0 (json_object_get_string_member_with_default (again, "type", ""), "need_input") == 0)
            continue;
          json_object_set_int_member (again, "seq", event->seq);
          socket_send_object (socket, again);
        }
    }

  json_object_set_string_member (status, "type", "status");
  json_object_set_string_member (status, "run_id", run->record->id);
  json_object_set_string_member (status, "state", run->record->state);
  socket_send_object (socket, status);

  if (pending != NULL)
    socket_send_object (socket, json_object_get_object_member (pending, "message"));
}

static void
socket_attach (Socket *socket,
               Run    *run,
               gint64  after)
{
  g_free (socket->run_id);
  socket->run_id = g_strdup (run->record->id);
  socket_greet (socket, run, after);
  run_start (run);
}

static void
socket_message_cb (SoupWebsocketConnection *connection,
                   int                      type,
                   GBytes                  *bytes,
                   Socket                  *socket)
{
  AicAgentHub *self = socket->hub;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  const char *kind = NULL;
  Run *run;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      send_error (socket, "invalid_message", "Control messages are JSON text frames.");
      return;
    }
  root = aic_json_parse_bytes (bytes, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      send_error (socket, "invalid_message", "A control message must be one JSON object.");
      return;
    }
  object = json_node_get_object (root);
  if (!aic_json_get_string (object, "type", TRUE, &kind, &error))
    {
      send_error (socket, "invalid_message", error->message);
      return;
    }

  run = socket->run_id ? find_live (self, socket->run_id) : NULL;

  if (strcmp (kind, "start") == 0)
    {
      const char *goal = NULL, *workspace = NULL, *model = NULL;

      /* The plainer shape names its run in the path and says its goal in
       * the first message; a run already made ignores it. */
      if (run != NULL || !socket->plain)
        return;
      if (!aic_json_get_string (object, "goal", TRUE, &goal, &error) ||
          !aic_json_get_string (object, "workspace", FALSE, &workspace, &error) ||
          !aic_json_get_string (object, "model", FALSE, &model, &error))
        {
          send_error (socket, "invalid_message", error->message);
          return;
        }
      if (workspace != NULL && !g_path_is_absolute (workspace))
        {
          send_error (socket, "invalid_workspace", "The workspace must be an absolute path to a folder on the server.");
          return;
        }
      {
        g_autoptr(Run) created = run_create (self, g_object_get_data (G_OBJECT (connection), "aic-run-id"),
                                             goal, model, workspace, &error);

        if (created == NULL)
          {
            send_error (socket, "invalid_request", error->message);
            return;
          }
        socket_attach (socket, created, -1);
      }
      return;
    }

  if (run == NULL)
    {
      send_error (socket, "not_running", "This run is not running.");
      return;
    }
  {
    g_autoptr(Run) hold = run_ref (run);

    if (strcmp (kind, "user_reply") == 0)
      run_reply (hold, socket, object);
    else if (strcmp (kind, "cancel") == 0)
      cancel_run (hold);
    else
      {
        g_autofree char *text = g_strdup_printf ("Unknown message type “%s”.", kind);

        send_error (socket, "invalid_message", text);
      }
  }
}

/**
 * aic_agent_hub_accept:
 * @plain: whether this is /ws/agent/{id}, where an unknown run is made
 *   from the goal in the query or in the first message
 * @query: (nullable): the upgrade request's query
 */
void
aic_agent_hub_accept (AicAgentHub             *self,
                      SoupWebsocketConnection *connection,
                      const char              *run_id,
                      gboolean                 plain,
                      GHashTable              *query)
{
  Socket *socket = g_new0 (Socket, 1);
  const char *after_text = query ? g_hash_table_lookup (query, "after") : NULL;
  const char *goal = query ? g_hash_table_lookup (query, "goal") : NULL;
  guint64 after_value = 0;
  gint64 after = -1;
  Run *run;

  socket->hub = self;
  socket->connection = g_object_ref (connection);
  socket->plain = plain;
  g_ptr_array_add (self->sockets, socket);
  soup_websocket_connection_set_max_incoming_payload_size (connection, MAX_CLIENT_MESSAGE);
  g_signal_connect (connection, "message", G_CALLBACK (socket_message_cb), socket);
  g_signal_connect (connection, "closed", G_CALLBACK (socket_closed_cb), socket);
  /* ?after=N asks for the kept messages after N again (0: all). */
  if (after_text != NULL && g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after_value, NULL))
    after = (gint64) after_value;

  run = find_live (self, run_id);
  if (run != NULL)
    {
      socket_attach (socket, run, after);
      return;
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(AicRunRecord) record = aic_run_store_get (self->store, run_id, &error);

    if (record != NULL)
      {
        /* An ended run: its history if asked for, how it ended, and
         * goodbye. */
        g_autoptr(JsonObject) done = json_object_new ();
        g_autoptr(JsonNode) result = parse_json (record->result);

        gboolean told = FALSE;

        json_object_set_string_member (done, "type", "status");
        json_object_set_string_member (done, "run_id", record->id);
        json_object_set_string_member (done, "state", "connected");
        json_object_set_string_member (done, "goal", record->goal);
        socket_send_object (socket, done);
        json_object_remove_member (done, "goal");
        if (after >= 0)
          {
            g_autoptr(GPtrArray) events = aic_run_store_events (self->store, run_id, "control", after, NULL);

            /* The kept "done" comes numbered, in its place after the text. */
            for (guint i = 0; events != NULL && i < events->len; i++)
              {
                AicRunEvent *event = g_ptr_array_index (events, i);
                g_autoptr(JsonObject) again = parse_object (event->body);

                if (again == NULL)
                  continue;
                json_object_set_int_member (again, "seq", event->seq);
                socket_send_object (socket, again);
                told |= g_strcmp0 (json_object_get_string_member_with_default (again, "type", ""), "done") == 0;
              }
          }
        if (told)
          {
            soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
            return;
          }
        json_object_set_string_member (done, "type", "done");
        json_object_set_string_member (done, "run_id", record->id);
        json_object_set_string_member (done, "state", record->state);
        json_object_set_member (done, "result", result ? g_steal_pointer (&result) : json_node_new (JSON_NODE_NULL));
        socket_send_object (socket, done);
        soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
        return;
      }
  }

  if (plain && valid_run_id (run_id))
    {
      g_object_set_data_full (G_OBJECT (connection), "aic-run-id", g_strdup (run_id), g_free);
      if (goal != NULL)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(Run) created = run_create (self, run_id, goal, NULL, NULL, &error);

          if (created == NULL)
            send_error (socket, "invalid_request", error->message);
          else
            socket_attach (socket, created, -1);
        }
      return;
    }

  {
    g_autofree char *text = g_strdup_printf ("There is no run %s.", run_id);

    send_error (socket, "not_found", text);
    soup_websocket_connection_close (connection, 4404, "no such run");
  }
}

/* ---- the hub ---- */

/* A run may wait half an hour for an answer; proxies and clients must not
 * take its quiet token streams for dead ones. */
static gboolean
keep_alive_cb (gpointer data)
{
  AicAgentHub *self = data;
  static const char comment[] = ": keep-alive\n\n";
  g_autoptr(GBytes) bytes = g_bytes_new_static (comment, sizeof comment - 1);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Run *run = value;

      for (guint i = 0; i < run->token_streams->len; i++)
        aic_reply_write (g_ptr_array_index (run->token_streams, i), bytes);
    }
  return G_SOURCE_CONTINUE;
}

static void
aic_agent_hub_dispose (GObject *object)
{
  AicAgentHub *self = AIC_AGENT_HUB (object);
  GHashTableIter iter;
  gpointer value;

  g_clear_handle_id (&self->keep_alive_source, aic_source_remove);
  if (self->runs != NULL)
    {
      g_hash_table_iter_init (&iter, self->runs);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Run *run = value;

          /* Stopped, not ended: a later server carries on. */
          run->ended = TRUE;
          g_cancellable_cancel (run->cancellable);
          g_clear_handle_id (&run->deadline_source, aic_source_remove);
          for (guint i = 0; i < run->token_streams->len; i++)
            g_signal_handlers_disconnect_by_data (g_ptr_array_index (run->token_streams, i), run);
        }
    }
  g_clear_pointer (&self->runs, g_hash_table_unref);
  g_clear_pointer (&self->sockets, g_ptr_array_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (aic_agent_hub_parent_class)->dispose (object);
}

static void
aic_agent_hub_finalize (GObject *object)
{
  AicAgentHub *self = AIC_AGENT_HUB (object);

  g_free (self->default_workspace);
  g_strfreev (self->roots);

  G_OBJECT_CLASS (aic_agent_hub_parent_class)->finalize (object);
}

static void
aic_agent_hub_class_init (AicAgentHubClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = aic_agent_hub_dispose;
  G_OBJECT_CLASS (klass)->finalize = aic_agent_hub_finalize;
}

static void
aic_agent_hub_init (AicAgentHub *self)
{
  self->runs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) run_unref);
  self->sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) socket_free);
  self->policy[0] = AIC_AGENT_POLICY_ALLOW;
  self->policy[1] = AIC_AGENT_POLICY_ASK;
  self->policy[2] = AIC_AGENT_POLICY_ASK;
  self->deadline_ms = AIC_AGENT_DEFAULT_DEADLINE_S * 1000;
  self->command_ms = AIC_AGENT_DEFAULT_COMMAND_MS;
  self->command_output = AIC_WORKSPACE_MAX_OUTPUT;
}

/**
 * aic_agent_hub_new:
 * @default_workspace: the folder runs work in when they name none
 *
 * Call aic_agent_hub_resume() to pick up unfinished runs.
 */
AicAgentHub *
aic_agent_hub_new (AicEngine   *engine,
                   AicRunStore *store,
                   const char  *default_workspace)
{
  AicAgentHub *self;

  g_return_val_if_fail (AIC_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (AIC_IS_RUN_STORE (store), NULL);
  g_return_val_if_fail (default_workspace != NULL, NULL);

  self = g_object_new (AIC_TYPE_AGENT_HUB, NULL);
  self->engine = g_object_ref (engine);
  self->store = g_object_ref (store);
  self->default_workspace = g_strdup (default_workspace);
  self->keep_alive_source = aic_timeout_add (KEEP_ALIVE_MS, keep_alive_cb, self);
  return self;
}

void
aic_agent_hub_set_policy (AicAgentHub    *self,
                          const char     *risk,
                          AicAgentPolicy  policy)
{
  int index = risk_index (risk);

  g_return_if_fail (AIC_IS_AGENT_HUB (self));
  g_return_if_fail (index >= 0);
  self->policy[index] = policy;
}

/**
 * aic_agent_hub_set_policy_string:
 * @spec: such as "write=ask,execute=deny"; risks read, write, execute;
 *   answers allow, ask, deny
 */
gboolean
aic_agent_hub_set_policy_string (AicAgentHub  *self,
                                 const char   *spec,
                                 GError      **error)
{
  g_auto(GStrv) parts = g_strsplit (spec, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (g_strstrip (parts[i]), "=", 2);
      AicAgentPolicy policy;

      if (pair[0] == NULL || pair[1] == NULL || risk_index (pair[0]) < 0)
        goto bad;
      if (strcmp (pair[1], "allow") == 0)
        policy = AIC_AGENT_POLICY_ALLOW;
      else if (strcmp (pair[1], "ask") == 0)
        policy = AIC_AGENT_POLICY_ASK;
      else if (strcmp (pair[1], "deny") == 0)
        policy = AIC_AGENT_POLICY_DENY;
      else
        goto bad;
      self->policy[risk_index (pair[0])] = policy;
    }
  return TRUE;

bad:
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "“%s” is not a policy: write it as RISK=ANSWER,… with risks read, write and execute "
               "and answers allow, ask and deny.", spec);
  return FALSE;
}

/**
 * aic_agent_hub_set_deadline:
 * How long a request waits for its answer before the run is cancelled.
 */
void
aic_agent_hub_set_deadline (AicAgentHub *self,
                            guint        milliseconds)
{
  g_return_if_fail (AIC_IS_AGENT_HUB (self));
  self->deadline_ms = MAX (milliseconds, 1);
}

/**
 * aic_agent_hub_set_workspace_roots:
 * @roots: (nullable): folders under which runs may name their workspace;
 *   %NULL allows any folder (the built-in backend, whose only client is
 *   the app itself). The default workspace is always allowed.
 */
void
aic_agent_hub_set_workspace_roots (AicAgentHub        *self,
                                   const char * const *roots)
{
  g_return_if_fail (AIC_IS_AGENT_HUB (self));
  g_strfreev (self->roots);
  self->roots = g_strdupv ((char **) roots);
}

void
aic_agent_hub_set_command_limits (AicAgentHub *self,
                                  guint        timeout_ms,
                                  gsize        max_output)
{
  g_return_if_fail (AIC_IS_AGENT_HUB (self));
  self->command_ms = MAX (timeout_ms, 1);
  self->command_output = MAX (max_output, 1);
}
