/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "aic-agent-hub-private.h"
#include "aic-error.h"
#include "aic-ws-guard.h"
#include "aic-agent-planner.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-source.h"
#include "aic-token.h"

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
 * where it was, its pending request unchanged.
 *
 * This file holds the object, making and resuming runs, and what the
 * other parts share: saving a run and telling its clients. */


G_DEFINE_FINAL_TYPE (AicAgentHub, aic_agent_hub, G_TYPE_OBJECT)

/* ---- small helpers ---- */

Run *
aic_agent_hub_run_ref (Run *run)
{
  g_atomic_ref_count_inc (&run->ref_count);
  return run;
}

void
aic_agent_hub_run_unref (Run *run)
{
  if (!g_atomic_ref_count_dec (&run->ref_count))
    return;
  g_clear_handle_id (&run->deadline_source, aic_source_remove);
  aic_run_record_free (run->record);
  g_clear_object (&run->workspace);
  g_clear_object (&run->cancellable);
  g_clear_object (&run->tokens);
  g_free (run);
}

JsonObject *
aic_agent_hub_parse_object (const char *text)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (text == NULL)
    return NULL;
  bytes = g_bytes_new_static (text, strlen (text));
  node = aic_json_parse_bytes (bytes, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

char *
aic_agent_hub_object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return aic_json_to_string (node, FALSE);
}

/* The policy's index of a risk a person can set: not questions. */
static int
policy_index (const char *risk)
{
  AicAgentRisk value;

  if (!aic_agent_risk_from_string (risk, &value) || value == AIC_AGENT_RISK_QUESTION)
    return -1;
  return value;
}

/* ---- saving and telling ---- */

void
aic_agent_hub_run_save (Run *run)
{
  g_autoptr(GError) error = NULL;

  /* A run lives in memory while it runs; a full disk costs it only its
   * resumption after a restart, and the next save catches up. */
  if (!aic_run_store_save (run->hub->store, run->record, &error))
    {
      if (g_error_matches (error, AIC_ERROR, AIC_ERROR_DISK_FULL))
        g_message ("Run %s goes on without being saved: %s", run->record->id, error->message);
      else
        g_warning ("Run %s could not be saved: %s", run->record->id, error->message);
    }
}

static void
socket_send (Socket     *socket,
             const char *text)
{
  if (soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    aic_ws_guard_send_text (socket->connection, text);
}

/* Gives @message its "type", keeps it in the run's history and numbers
 * it ("seq"). */
void
aic_agent_hub_run_keep (Run        *run,
                        const char *type,
                        JsonObject *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  gint64 seq;

  json_object_set_string_member (message, "type", type);
  body = aic_agent_hub_object_to_string (message);
  seq = aic_run_store_append (run->hub->store, run->record->id, "control", body, &error);
  if (seq == 0)
    g_warning ("Run %s: a message could not be kept: %s", run->record->id, error->message);
  else
    json_object_set_int_member (message, "seq", seq);
}

/* Sends @message to every control connection of the run. */
void
aic_agent_hub_run_broadcast (Run        *run,
                             JsonObject *message)
{
  g_autofree char *text = aic_agent_hub_object_to_string (message);
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
void
aic_agent_hub_run_send (Run        *run,
                        const char *type,
                        JsonObject *message,
                        gboolean    keep)
{
  if (keep)
    aic_agent_hub_run_keep (run, type, message);
  else
    json_object_set_string_member (message, "type", type);
  aic_agent_hub_run_broadcast (run, message);
}

void
aic_agent_hub_run_send_status (Run *run)
{
  g_autoptr(JsonObject) message = json_object_new ();

  json_object_set_string_member (message, "run_id", run->record->id);
  json_object_set_string_member (message, "state", aic_run_state_to_string (run->record->state));
  aic_agent_hub_run_send (run, "status", message, FALSE);
}

void
aic_agent_hub_run_set_state (Run         *run,
                             AicRunState  state)
{
  if (run->record->state == state)
    return;
  run->record->state = state;
  aic_agent_hub_run_save (run);
  aic_agent_hub_run_send_status (run);
}

/* Keeps @event on the token channel and sends it to every open stream. */
gint64
aic_agent_hub_run_emit_event (Run        *run,
                              JsonObject *event)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = aic_agent_hub_object_to_string (event);
  g_autoptr(JsonNode) root = NULL;
  gint64 seq = aic_run_store_append (run->hub->store, run->record->id, "token", body, &error);

  if (seq == 0)
    {
      g_warning ("Run %s: text could not be kept: %s", run->record->id, error->message);
      return 0;
    }
  root = json_node_init_object (json_node_alloc (), event);
  if (!aic_event_stream_is_ended (run->tokens))
    aic_event_stream_append (run->tokens, (guint64) seq,
                             json_object_get_string_member_with_default (event, "type", "token"), root);
  return seq;
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
  run->tokens = aic_event_stream_new (FALSE, AIC_AGENT_TOKEN_RETRY_MS);
  aic_event_stream_set_keep_alive (run->tokens, self->keep_alive_ms);
  run->workspace = aic_workspace_new (record->workspace, error);
  if (run->workspace == NULL)
    {
      run->record = NULL;
      return NULL;
    }
  aic_workspace_set_command_env (run->workspace, (const char * const *) self->command_env);
  return g_steal_pointer (&run);
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
static AicRunMemory *
new_memory (const char *goal)
{
  AicRunMemory *memory = aic_run_memory_new ();
  JsonObject *system = json_object_new ();
  JsonObject *user = json_object_new ();

  json_object_set_string_member (system, "role", "system");
  json_object_set_string_member (system, "content", aic_agent_system_prompt ());
  json_object_set_string_member (user, "role", "user");
  json_object_set_string_member (user, "content", goal);
  json_array_add_object_element (memory->messages, system);
  json_array_add_object_element (memory->messages, user);
  return memory;
}

/* Makes a run; @id may be given (the plainer WebSocket names its own). */
Run *
aic_agent_hub_run_create (AicAgentHub  *self,
                          const char   *id,
                          const char   *goal,
                          const char   *model,
                          const char   *workspace,
                          GError      **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (goal ? goal : ""));
  g_autoptr(AicRunRecord) record = NULL;
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

  record = g_new0 (AicRunRecord, 1);
  record->id = id != NULL ? g_strdup (id) : aic_token_new_id ("r");
  record->goal = g_strdup (goal);
  record->model = g_strdup (model);
  record->workspace = g_canonicalize_filename (workspace, NULL);
  record->state = AIC_RUN_STATE_PLANNING;
  record->memory = new_memory (goal);

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
  aic_agent_hub_run_arm_deadline (run);
  g_hash_table_insert (self->runs, g_strdup (run->record->id), aic_agent_hub_run_ref (run));
  return g_steal_pointer (&run);
}

/* The run starts when its first control connection comes, so that no
 * client misses its first messages. */
void
aic_agent_hub_run_start (Run *run)
{
  if (run->record->memory->started)
    return;
  run->record->memory->started = TRUE;
  run->record->deadline_at = 0;
  g_clear_handle_id (&run->deadline_source, aic_source_remove);
  aic_agent_hub_run_save (run);
  aic_agent_hub_run_advance (run);
}

/* Ends a run loaded from the store without going on with it. */
static void
fail_stored (AicAgentHub  *self,
             AicRunRecord *record,
             const char   *message)
{
  g_autoptr(GError) save_error = NULL;

  record->state = AIC_RUN_STATE_FAILED;
  g_clear_pointer (&record->pending, aic_run_pending_free);
  g_clear_pointer (&record->result, json_node_unref);
  record->result = json_node_init_object (json_node_alloc (), json_object_new ());
  json_object_set_string_member (json_node_get_object (record->result), "message", message);
  if (!aic_run_store_save (self->store, record, &save_error))
    g_warning ("Run %s could not be saved: %s", record->id, save_error->message);
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
      if (aic_run_state_is_final (record->state))
        {
          /* Its saved state could not be read (the store said why). */
          fail_stored (self, record, "The run’s saved state could not be read after a restart.");
          aic_run_record_free (record);
          continue;
        }
      run = run_wrap (self, record, &local_error);
      if (run == NULL)
        {
          /* Its folder is gone: the run ends, saying why. */
          g_warning ("Run %s cannot go on: %s", record->id, local_error->message);
          fail_stored (self, record, "The workspace could not be opened again after a restart.");
          aic_run_record_free (record);
          continue;
        }
      g_hash_table_insert (self->runs, g_strdup (run->record->id), aic_agent_hub_run_ref (run));
      if (run->record->pending != NULL || !run->record->memory->started)
        aic_agent_hub_run_arm_deadline (run);
      else
        aic_agent_hub_run_advance (run);
    }
}

Run *
aic_agent_hub_find_live (AicAgentHub *self,
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

  if (aic_agent_hub_find_live (self, run_id) != NULL)
    return TRUE;
  record = aic_run_store_get (self->store, run_id, NULL);
  return record != NULL;
}

/* ---- the hub ---- */

static void
aic_agent_hub_dispose (GObject *object)
{
  AicAgentHub *self = AIC_AGENT_HUB (object);
  GHashTableIter iter;
  gpointer value;

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
          g_clear_object (&run->tokens);
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
  g_strfreev (self->command_env);
  g_clear_pointer (&self->secrets, g_ptr_array_unref);

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
  self->runs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) aic_agent_hub_run_unref);
  self->sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_agent_hub_socket_free);
  self->policy[AIC_AGENT_RISK_READ] = AIC_AGENT_POLICY_ALLOW;
  self->policy[AIC_AGENT_RISK_WRITE] = AIC_AGENT_POLICY_ASK;
  self->policy[AIC_AGENT_RISK_EXECUTE] = AIC_AGENT_POLICY_ASK;
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
  self->keep_alive_ms = AIC_AGENT_KEEP_ALIVE_MS;
  return self;
}

void
aic_agent_hub_set_policy (AicAgentHub    *self,
                          const char     *risk,
                          AicAgentPolicy  policy)
{
  int index = policy_index (risk);

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

      if (pair[0] == NULL || pair[1] == NULL || policy_index (pair[0]) < 0)
        goto bad;
      if (strcmp (pair[1], "allow") == 0)
        policy = AIC_AGENT_POLICY_ALLOW;
      else if (strcmp (pair[1], "ask") == 0)
        policy = AIC_AGENT_POLICY_ASK;
      else if (strcmp (pair[1], "deny") == 0)
        policy = AIC_AGENT_POLICY_DENY;
      else
        goto bad;
      self->policy[policy_index (pair[0])] = policy;
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

/**
 * aic_agent_hub_add_secret:
 * @secret: (nullable): a key or token of the server's
 *
 * Tool results are searched for @secret, and the engine's own keys,
 * before the model sees them or the run is saved: a command that prints
 * one (a file that holds it, say) shows "[redacted]" instead.
 */
void
aic_agent_hub_add_secret (AicAgentHub *self,
                          const char  *secret)
{
  g_return_if_fail (AIC_IS_AGENT_HUB (self));

  /* Short strings would match ordinary text. */
  if (secret == NULL || strlen (secret) < 8)
    return;
  if (self->secrets == NULL)
    self->secrets = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->secrets, g_strdup (secret));
}

static char *
replace_all (char       *text,
             const char *secret)
{
  g_auto(GStrv) parts = NULL;

  if (strlen (secret) < 8 || strstr (text, secret) == NULL)
    return text;
  parts = g_strsplit (text, secret, -1);
  g_free (text);
  return g_strjoinv ("[redacted]", parts);
}

char *
aic_agent_hub_redact (AicAgentHub *self,
                      const char  *text)
{
  g_auto(GStrv) engine_secrets = NULL;
  char *clean = g_strdup (text);

  if (clean == NULL)
    return NULL;
  engine_secrets = aic_engine_dup_secrets (self->engine);
  for (guint i = 0; self->secrets != NULL && i < self->secrets->len; i++)
    clean = replace_all (clean, g_ptr_array_index (self->secrets, i));
  for (guint i = 0; engine_secrets[i] != NULL; i++)
    clean = replace_all (clean, engine_secrets[i]);
  return clean;
}

/**
 * aic_agent_hub_set_command_env:
 * @names: (nullable): variables of the server's environment that agents'
 *   commands get besides PATH, HOME, LANG and TERM
 *
 * Applies to runs started or resumed afterwards.
 */
void
aic_agent_hub_set_command_env (AicAgentHub        *self,
                               const char * const *names)
{
  g_return_if_fail (AIC_IS_AGENT_HUB (self));
  g_strfreev (self->command_env);
  self->command_env = g_strdupv ((char **) names);
}
