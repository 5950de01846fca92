/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-agent-run.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-server-private.h"
#include "aic-test-util.h"

/* Agent runs end to end, in one process: the real AicServer on 127.0.0.1
 * (runs in SQLite, the agent loop, the demo plan or OpenAI tool calling
 * against a scripted upstream, tools in a real folder) spoken to by the
 * app's own AicAgentRun, and by raw WebSockets where the protocol itself
 * is checked; plus two servers in the plainer shapes. */

typedef struct
{
  AicServer   *server;
  guint        port;
  char        *url;
  char        *dir;
  char        *data;
  char        *workspace;
  AicClient   *client;
} Fixture;

/* What a run told its client, in order. */
typedef struct
{
  AicAgentRun     *run;         /* (weak) */
  GPtrArray       *timeline;    /* "kind: detail" */
  GPtrArray       *requests;    /* AicAgentRequest */
  GPtrArray       *problems;
  GString         *text;
  GString         *order;       /* T a token, C a tool call, D the end */
  char            *done_state;
  char            *summary;
} Recorder;

static AicServer *
start_server (Fixture *f)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GError) error = NULL;
  AicServer *server;

  aic_engine_set_demo_delay (engine, 1);
  server = aic_server_new (engine, NULL);
  g_assert_true (aic_server_open_runs (server, f->data, f->workspace, &error));
  g_assert_no_error (error);
  g_assert_true (aic_server_listen (server, "127.0.0.1", f->port, &error));
  g_assert_no_error (error);
  return server;
}

static void
stop_server (Fixture *f)
{
  aic_server_disconnect (f->server);
  g_clear_object (&f->server);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autofree char *readme = NULL;

  f->dir = g_dir_make_tmp ("aic-agent-XXXXXX", &error);
  g_assert_no_error (error);
  f->data = g_build_filename (f->dir, "data", NULL);
  f->workspace = g_build_filename (f->dir, "work", NULL);
  g_mkdir (f->data, 0700);
  g_mkdir (f->workspace, 0700);
  readme = g_build_filename (f->workspace, "README.md", NULL);
  g_assert_true (g_file_set_contents (readme, "# Tide tables\nPredicts high water.\n", -1, NULL));

  f->port = aic_test_free_port ();
  f->server = start_server (f);
  f->url = aic_server_dup_url (f->server);
  connection = aic_connection_new (NULL, "test", AIC_CONNECTION_KIND_CONSOLE, f->url);
  f->client = aic_client_new (connection, NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->client);
  if (f->server != NULL)
    stop_server (f);
  aic_test_remove_tree (f->dir);
  g_free (f->url);
  g_free (f->dir);
  g_free (f->data);
  g_free (f->workspace);
}

/* ---- recording a run ---- */

static void
add_line (Recorder   *rec,
          const char *kind,
          const char *detail)
{
  g_ptr_array_add (rec->timeline, g_strdup_printf ("%s: %s", kind, detail));
}

static void
step_cb (AicAgentRun *run, const char *name, Recorder *rec)
{
  add_line (rec, "step", name);
}

static void
tool_call_cb (AicAgentRun *run, const char *call_id, const char *name, const char *args, Recorder *rec)
{
  add_line (rec, "tool_call", name);
  g_string_append_c (rec->order, 'C');
}

static void
tool_result_cb (AicAgentRun *run, const char *call_id, const char *summary, Recorder *rec)
{
  add_line (rec, "tool_result", summary);
}

static void
need_input_cb (AicAgentRun *run, AicAgentRequest *request, Recorder *rec)
{
  add_line (rec, "need_input", request->tool_name ? request->tool_name : request->kind);
  g_ptr_array_add (rec->requests, aic_agent_request_copy (request));
}

static void
token_cb (AicAgentRun *run, const char *text, Recorder *rec)
{
  g_string_append (rec->text, text);
  g_string_append_c (rec->order, 'T');
}

static void
problem_cb (AicAgentRun *run, const char *text, Recorder *rec)
{
  g_ptr_array_add (rec->problems, g_strdup (text));
}

static void
done_cb (AicAgentRun *run, const char *state, const char *summary, Recorder *rec)
{
  g_assert_null (rec->done_state);
  g_string_append_c (rec->order, 'D');
  rec->done_state = g_strdup (state);
  rec->summary = g_strdup (summary);
}

static void
recorder_init (Recorder    *rec,
               AicAgentRun *run)
{
  rec->timeline = g_ptr_array_new_with_free_func (g_free);
  rec->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_agent_request_free);
  rec->problems = g_ptr_array_new_with_free_func (g_free);
  rec->text = g_string_new (NULL);
  rec->order = g_string_new (NULL);
  g_set_weak_pointer (&rec->run, run);
  g_signal_connect (run, "step", G_CALLBACK (step_cb), rec);
  g_signal_connect (run, "tool-call", G_CALLBACK (tool_call_cb), rec);
  g_signal_connect (run, "tool-result", G_CALLBACK (tool_result_cb), rec);
  g_signal_connect (run, "need-input", G_CALLBACK (need_input_cb), rec);
  g_signal_connect (run, "token", G_CALLBACK (token_cb), rec);
  g_signal_connect (run, "problem", G_CALLBACK (problem_cb), rec);
  g_signal_connect (run, "done", G_CALLBACK (done_cb), rec);
}

static void
recorder_clear (Recorder *rec)
{
  /* The run may outlive the test a moment, finishing its token stream. */
  if (rec->run != NULL)
    g_signal_handlers_disconnect_by_data (rec->run, rec);
  g_clear_weak_pointer (&rec->run);
  g_ptr_array_unref (rec->timeline);
  g_ptr_array_unref (rec->requests);
  g_ptr_array_unref (rec->problems);
  g_string_free (rec->text, TRUE);
  g_string_free (rec->order, TRUE);
  g_free (rec->done_state);
  g_free (rec->summary);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Recorder, recorder_clear)

static gboolean
timeline_has (Recorder   *rec,
              const char *line)
{
  for (guint i = 0; i < rec->timeline->len; i++)
    if (g_str_equal (g_ptr_array_index (rec->timeline, i), line))
      return TRUE;
  return FALSE;
}

static guint
count_lines (Recorder   *rec,
             const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < rec->timeline->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (rec->timeline, i), prefix))
      n++;
  return n;
}

static AicAgentRun *
start_run (AicClient  *client,
           const char *goal,
           const char *workspace,
           Recorder   *rec)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  AicAgentRun *run = aic_agent_run_new (client, goal, workspace, NULL);

  recorder_init (rec, run);
  aic_agent_run_start_async (run, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 5000);
  g_assert_true (aic_agent_run_start_finish (run, result, &error));
  g_assert_no_error (error);
  return run;
}

typedef struct
{
  Recorder *rec;
  guint     n;
} Count;

static gboolean
requests_reached (gpointer data)
{
  Count *count = data;

  return count->rec->requests->len >= count->n;
}

static AicAgentRequest *
wait_request (Recorder *rec,
              guint     n)
{
  Count count = { rec, n };

  aic_test_wait_for (requests_reached, &count, 5000);
  return g_ptr_array_index (rec->requests, n - 1);
}

static gboolean
is_done (gpointer data)
{
  return ((Recorder *) data)->done_state != NULL;
}

static void
wait_done (Recorder *rec)
{
  aic_test_wait_for (is_done, rec, 10000);
}

static gboolean
has_problem (gpointer data)
{
  return ((Recorder *) data)->problems->len > 0;
}

static char *
workspace_file (Fixture    *f,
                const char *name)
{
  return aic_test_file_contents (f->workspace, name);
}

static JsonObject *
get_run (Fixture    *f,
         const char *run_id)
{
  g_autofree char *url = g_strdup_printf ("%s/api/runs/%s", f->url, run_id);

  return aic_test_get_object (url);
}

static void post_json (Fixture *f, const char *body, guint status, const char *code);

/* ---- approvals ---- */

static void
test_allow_once (Fixture       *f,
                 gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Take notes on this project", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);
  g_autofree char *notes = NULL;
  g_autoptr(JsonObject) stored = NULL;
  JsonArray *steps;

  /* Reads went ahead unasked; the write asks, showing its diff. */
  g_assert_true (timeline_has (&rec, "tool_call: list_dir"));
  g_assert_true (timeline_has (&rec, "tool_result: 1 entry in ."));
  g_assert_true (timeline_has (&rec, "tool_call: read_file"));
  g_assert_cmpstr (request->kind, ==, "approval");
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  g_assert_cmpstr (request->risk, ==, "write");
  g_assert_nonnull (strstr (request->diff, "+++ b/NOTES.md"));
  g_assert_nonnull (strstr (request->diff, "+README.md begins: # Tide tables"));
  g_assert_cmpstr (aic_agent_run_get_state (run), ==, "waiting");
  g_assert_null (workspace_file (f, "NOTES.md"));

  stored = get_run (f, aic_agent_run_get_id (run));
  g_assert_cmpstr (json_object_get_string_member (stored, "state"), ==, "waiting");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (stored, "pending"), "resume_token"),
                   ==, request->resume_token);
  g_clear_pointer (&stored, json_object_unref);

  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  wait_done (&rec);
  g_assert_cmpstr (rec.done_state, ==, "completed");
  g_assert_nonnull (strstr (rec.summary, "I wrote my notes"));
  g_assert_true (timeline_has (&rec, "tool_result: Wrote NOTES.md"));
  g_assert_cmpuint (rec.requests->len, ==, 1);
  notes = workspace_file (f, "NOTES.md");
  g_assert_nonnull (strstr (notes, "Goal: Take notes on this project"));

  /* The text came over SSE, and the run's record holds every step. */
  stored = get_run (f, aic_agent_run_get_id (run));
  g_assert_cmpstr (json_object_get_string_member (stored, "state"), ==, "completed");
  g_assert_true (json_object_get_null_member (stored, "pending"));
  steps = json_object_get_array_member (stored, "steps");
  g_assert_cmpuint (json_array_get_length (steps), >=, 10);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (steps, json_array_get_length (steps) - 1), "type"),
                   ==, "done");

  /* Listed, and followed again later: the whole timeline comes back. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GPtrArray) runs = NULL;
    g_autoptr(AicAgentRun) again = aic_agent_run_new_for_id (f->client, aic_agent_run_get_id (run));
    g_auto(Recorder) replay = { 0 };
    AicAgentRunInfo *info;

    aic_agent_list_runs_async (f->client, NULL, aic_test_store_result_cb, &result);
    runs = aic_agent_list_runs_finish (aic_test_wait_result (&result, 5000), NULL);
    g_assert_cmpuint (runs->len, ==, 1);
    info = g_ptr_array_index (runs, 0);
    g_assert_cmpstr (info->run_id, ==, aic_agent_run_get_id (run));
    g_assert_cmpstr (info->state, ==, "completed");
    g_assert_cmpstr (info->goal, ==, "Take notes on this project");
    g_assert_cmpint (info->created_at, >, 0);
    g_clear_object (&result);

    recorder_init (&replay, again);
    aic_agent_run_start_async (again, NULL, aic_test_store_result_cb, &result);
    aic_test_wait_result (&result, 5000);
    wait_done (&replay);
    g_assert_cmpstr (replay.done_state, ==, "completed");
    g_assert_cmpstr (aic_agent_run_get_goal (again), ==, "Take notes on this project");
    g_assert_true (timeline_has (&replay, "tool_call: list_dir"));
    g_assert_true (timeline_has (&replay, "tool_result: Wrote NOTES.md"));
    /* Its history and its text come by two channels, shown in order. */
    g_assert_true (g_regex_match_simple ("^T+CT+CT+CT+D$", replay.order->str, 0, 0));
  }
}

static gboolean
text_has_summary (gpointer data)
{
  return strstr (((Recorder *) data)->text->str, "I wrote my notes") != NULL;
}

static void
test_tokens (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Take notes", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);

  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  wait_done (&rec);
  /* The token stream carries the model's words, the last included, and
   * they come in their place between the tool calls, although they take
   * another connection: each turn's words, then its call. */
  g_assert_true (text_has_summary (&rec));
  g_assert_true (g_regex_match_simple ("^T+CT+CT+CT+D$", rec.order->str, 0, 0));
  g_assert_nonnull (strstr (rec.text->str, "I will look at what the workspace holds first."));
  g_assert_nonnull (strstr (rec.text->str, "Reading README.md"));

  /* The ended run's stream: all of it again, or 204 to a client that has
   * its end (an EventSource then stops reconnecting). */
  {
    g_autoptr(SoupSession) session = aic_http_session_new (10);
    g_autofree char *url = g_strdup_printf ("%s/api/runs/%s/tokens", f->url, aic_agent_run_get_id (run));
    g_autoptr(SoupMessage) all = soup_message_new ("GET", url);
    g_autoptr(SoupMessage) after_end = soup_message_new ("GET", url);
    g_auto(AicTestAnswer) over = { 0 };
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GBytes) body = NULL;

    soup_session_send_and_read_async (session, all, G_PRIORITY_DEFAULT, NULL, aic_test_store_result_cb, &result);
    aic_test_wait_result (&result, 10000);
    body = soup_session_send_and_read_finish (session, result, NULL);
    g_assert_cmpuint (soup_message_get_status (all), ==, 200);
    g_assert_nonnull (body);
    g_assert_nonnull (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "event: done\n"));
    soup_message_headers_replace (soup_message_get_request_headers (after_end), "Last-Event-ID", "1000000");
    aic_test_send (session, after_end, &over);
    g_assert_cmpuint (over.status, ==, 204);
  }
}

static void
test_allow_run_and_deny (Fixture       *f,
                         gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Check the tools\nrun: true\nrun: true again\n"
                                          "run: echo second", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);

  g_assert_cmpstr (request->tool_name, ==, "run_command");
  g_assert_cmpstr (request->risk, ==, "execute");
  g_assert_cmpstr (request->command, ==, "true");
  g_assert_cmpstr (request->scope, ==, "true");
  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_RUN, NULL);

  /* The same program again needs no approval, whatever its arguments;
   * another program does (issue 12: "true" once allowed is not "rm"). */
  request = wait_request (&rec, 2);
  g_assert_cmpstr (request->tool_name, ==, "run_command");
  g_assert_cmpstr (request->command, ==, "echo second");
  g_assert_cmpstr (request->scope, ==, "echo");
  g_assert_cmpuint (count_lines (&rec, "tool_call: run_command"), ==, 3);
  g_assert_cmpuint (count_lines (&rec, "tool_result: Exit status 0"), ==, 2);
  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);

  /* The write (another tool) asks too. */
  request = wait_request (&rec, 3);
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  g_assert_null (request->scope);
  g_assert_cmpuint (count_lines (&rec, "tool_result: Exit status 0"), ==, 3);

  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_DENY, NULL);
  wait_done (&rec);
  /* Refused, the run goes on and completes, and says so. */
  g_assert_cmpstr (rec.done_state, ==, "completed");
  g_assert_true (timeline_has (&rec, "tool_result: Refused by the user"));
  g_assert_nonnull (strstr (rec.summary, "refused"));
  g_assert_null (workspace_file (f, "NOTES.md"));
  g_assert_cmpuint (rec.requests->len, ==, 3);
}

static void
test_question (Fixture       *f,
               gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Take notes\nask: Which colour should the notes use?", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);
  g_autofree char *notes = NULL;

  g_assert_true (aic_agent_request_is_question (request));
  g_assert_cmpstr (request->prompt, ==, "Which colour should the notes use?");
  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, "sea green");

  request = wait_request (&rec, 2);
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  g_assert_nonnull (strstr (request->diff, "+You said: sea green"));
  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  wait_done (&rec);
  g_assert_cmpstr (rec.done_state, ==, "completed");
  notes = workspace_file (f, "NOTES.md");
  g_assert_nonnull (strstr (notes, "You said: sea green"));
}

/* ---- raw WebSocket ---- */

typedef struct
{
  SoupSession             *session;
  SoupWebsocketConnection *ws;
  GPtrArray               *messages;   /* JsonObject */
  gboolean                 closed;
} RawSocket;

static void
raw_message_cb (SoupWebsocketConnection *ws,
                int                      type,
                GBytes                  *bytes,
                RawSocket               *raw)
{
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);

  g_assert_nonnull (root);
  g_ptr_array_add (raw->messages, json_object_ref (json_node_get_object (root)));
}

static void
raw_closed_cb (SoupWebsocketConnection *ws,
               RawSocket               *raw)
{
  raw->closed = TRUE;
}

static void
raw_open (RawSocket  *raw,
          const char *url)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  raw->session = aic_http_session_new (10);
  raw->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  soup_session_websocket_connect_async (raw->session, message, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 5000);
  raw->ws = soup_session_websocket_connect_finish (raw->session, result, &error);
  g_assert_no_error (error);
  g_signal_connect (raw->ws, "message", G_CALLBACK (raw_message_cb), raw);
  g_signal_connect (raw->ws, "closed", G_CALLBACK (raw_closed_cb), raw);
}

static void
raw_close (RawSocket *raw)
{
  if (raw->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (raw->ws, raw);
      if (soup_websocket_connection_get_state (raw->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (raw->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  g_clear_object (&raw->ws);
  g_clear_object (&raw->session);
  g_clear_pointer (&raw->messages, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RawSocket, raw_close)

typedef struct
{
  RawSocket *raw;
  guint      n;
} RawCount;

static gboolean
raw_reached (gpointer data)
{
  RawCount *count = data;

  return count->raw->messages->len >= count->n;
}

static JsonObject *
raw_wait (RawSocket *raw,
          guint      n)
{
  RawCount count = { raw, n };

  aic_test_wait_for (raw_reached, &count, 5000);
  return g_ptr_array_index (raw->messages, n - 1);
}

static void
test_reconnect (Fixture       *f,
                gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_auto(RawSocket) raw = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Take notes", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);
  g_autofree char *ws_url = g_strdup_printf ("%s/ws/runs/%s", f->url, aic_agent_run_get_id (run));
  guint reconnects = aic_agent_run_get_reconnects (run);
  JsonObject *message;

  /* Another connection: status first, then the same pending request. */
  raw_open (&raw, ws_url);
  message = raw_wait (&raw, 1);
  g_assert_cmpstr (json_object_get_string_member (message, "type"), ==, "status");
  g_assert_cmpstr (json_object_get_string_member (message, "state"), ==, "connected");
  message = raw_wait (&raw, 2);
  g_assert_cmpstr (json_object_get_string_member (message, "state"), ==, "waiting");
  message = raw_wait (&raw, 3);
  g_assert_cmpstr (json_object_get_string_member (message, "type"), ==, "need_input");
  g_assert_cmpstr (json_object_get_string_member (message, "resume_token"), ==, request->resume_token);
  raw_close (&raw);

  /* The client's own connection drops and comes back: the request is
   * sent again, and shown once. */
  aic_agent_run_reconnect (run);
  while (aic_agent_run_get_reconnects (run) == reconnects)
    g_main_context_iteration (NULL, TRUE);
  {
    gint64 until = g_get_monotonic_time () + 300 * 1000;

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_cmpuint (rec.requests->len, ==, 1);
  g_assert_cmpstr (aic_agent_run_get_state (run), ==, "waiting");
  g_assert_nonnull (aic_agent_run_get_pending (run));

  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  wait_done (&rec);
  g_assert_cmpstr (rec.done_state, ==, "completed");
  g_assert_cmpuint (rec.requests->len, ==, 1);
}

static gboolean
reconnected (gpointer data)
{
  AicAgentRun *run = data;
  gboolean connected = FALSE;

  g_object_get (run, "connected", &connected, NULL);
  return connected && aic_agent_run_get_reconnects (run) > 0;
}

static void
test_server_restart (Fixture       *f,
                     gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Take notes", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);
  g_autofree char *token = g_strdup (request->resume_token);
  g_autoptr(JsonObject) stored = NULL;
  g_autofree char *notes = NULL;

  /* The server goes away while the run waits, and comes back. */
  stop_server (f);
  {
    gint64 until = g_get_monotonic_time () + 200 * 1000;

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_false (aic_agent_run_is_finished (run));
  f->server = start_server (f);

  stored = get_run (f, aic_agent_run_get_id (run));
  g_assert_cmpstr (json_object_get_string_member (stored, "state"), ==, "waiting");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (stored, "pending"), "resume_token"),
                   ==, token);

  aic_test_wait_for (reconnected, run, 10000);
  g_assert_cmpuint (rec.requests->len, ==, 1);
  g_assert_cmpstr (aic_agent_run_get_state (run), ==, "waiting");

  aic_agent_run_reply (run, token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  wait_done (&rec);
  g_assert_cmpstr (rec.done_state, ==, "completed");
  notes = workspace_file (f, "NOTES.md");
  g_assert_nonnull (notes);
}

static void
test_stale_token (Fixture       *f,
                  gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = start_run (f->client, "Take notes", NULL, &rec);
  AicAgentRequest *request = wait_request (&rec, 1);
  g_autofree char *token = g_strdup (request->resume_token);

  aic_agent_run_reply (run, "not-the-token", AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  aic_test_wait_for (has_problem, &rec, 5000);
  g_assert_nonnull (strstr (g_ptr_array_index (rec.problems, 0), "already been answered"));
  g_assert_cmpstr (aic_agent_run_get_state (run), ==, "waiting");
  g_assert_null (workspace_file (f, "NOTES.md"));

  aic_agent_run_reply (run, token, AIC_AGENT_DECISION_DENY, NULL);
  wait_done (&rec);
  g_assert_cmpstr (rec.done_state, ==, "completed");
}

static void
test_deadline_and_cancel (Fixture       *f,
                          gconstpointer  data)
{
  g_auto(Recorder) first = { 0 };
  g_auto(Recorder) second = { 0 };
  g_autoptr(AicAgentRun) run = NULL;
  g_autoptr(AicAgentRun) other = NULL;

  /* Nobody answers: at the deadline the run is cancelled, never allowed. */
  aic_agent_hub_set_deadline (aic_server_get_agent_hub (f->server), 300);
  run = start_run (f->client, "Take notes", NULL, &first);
  wait_request (&first, 1);
  wait_done (&first);
  g_assert_cmpstr (first.done_state, ==, "cancelled");
  g_assert_nonnull (strstr (first.summary, "deadline"));
  g_assert_null (workspace_file (f, "NOTES.md"));

  aic_agent_hub_set_deadline (aic_server_get_agent_hub (f->server), 60000);
  other = start_run (f->client, "Take notes", NULL, &second);
  wait_request (&second, 1);
  aic_agent_run_cancel (other);
  wait_done (&second);
  g_assert_cmpstr (second.done_state, ==, "cancelled");
  g_assert_null (workspace_file (f, "NOTES.md"));
}

static void
test_command_limits (Fixture       *f,
                     gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = NULL;
  AicAgentHub *hub = aic_server_get_agent_hub (f->server);
  AicAgentRequest *request;

  aic_agent_hub_set_policy (hub, "execute", AIC_AGENT_POLICY_ALLOW);
  aic_agent_hub_set_command_limits (hub, 300, 1000);
  run = start_run (f->client, "Try the limits\nrun: sleep 20\nrun: seq 1 100000", NULL, &rec);
  request = wait_request (&rec, 1);
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  g_assert_true (timeline_has (&rec, "tool_result: Stopped: it ran past the time limit"));
  g_assert_true (timeline_has (&rec, "tool_result: Exit status 0, output cut short"));
  aic_agent_run_cancel (run);
  wait_done (&rec);
}

static gboolean
saw_interruption (gpointer data)
{
  return timeline_has (data, "tool_result: Interrupted by a server restart");
}

/* A command under way when the server stops is not run a second time
 * after the restart: the model hears it was interrupted. */
static void
test_restart_mid_command (Fixture       *f,
                          gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = NULL;
  g_autofree char *marker = g_build_filename (f->workspace, "count", NULL);
  g_autofree char *goal = g_strdup_printf ("Count\nrun: sh -c 'echo x >> count; sleep 30'");
  g_autofree char *count = NULL;

  aic_agent_hub_set_policy (aic_server_get_agent_hub (f->server), "execute", AIC_AGENT_POLICY_ALLOW);
  run = start_run (f->client, goal, NULL, &rec);
  while (!g_file_test (marker, G_FILE_TEST_EXISTS))
    g_main_context_iteration (NULL, TRUE);

  stop_server (f);
  f->server = start_server (f);
  aic_agent_hub_set_policy (aic_server_get_agent_hub (f->server), "execute", AIC_AGENT_POLICY_ALLOW);
  aic_test_wait_for (saw_interruption, &rec, 10000);
  wait_request (&rec, 1);
  g_assert_true (g_file_get_contents (marker, &count, NULL, NULL));
  g_assert_cmpstr (count, ==, "x\n");
  aic_agent_run_cancel (run);
  wait_done (&rec);
}

static void
test_unstarted_deadline (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autofree char *url = g_strdup_printf ("%s/api/runs", f->url);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"goal\": \"x\"}", 13);
  g_auto(AicTestAnswer) answer = { 0 };
  const char *run_id;
  g_autoptr(JsonObject) stored = NULL;
  gint64 until;

  /* Made, never connected to: it does not wait for ever. */
  aic_agent_hub_set_deadline (aic_server_get_agent_hub (f->server), 200);
  soup_message_set_request_body_from_bytes (message, "application/json", body);
  aic_test_send (session, message, &answer);
  g_assert_cmpuint (answer.status, ==, 201);
  run_id = json_object_get_string_member (json_node_get_object (answer.body), "run_id");
  {
    g_autofree char *location = g_strdup_printf ("/api/runs/%s", run_id);

    g_assert_cmpstr (aic_test_answer_header (&answer, "Location"), ==, location);
  }
  until = g_get_monotonic_time () + 600 * 1000;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  stored = get_run (f, run_id);
  g_assert_cmpstr (json_object_get_string_member (stored, "state"), ==, "cancelled");
  g_assert_nonnull (strstr (json_object_get_string_member (json_object_get_object_member (stored, "result"), "message"),
                            "No client connected"));
}

static void
test_workspace_roots (Fixture       *f,
                      gconstpointer  data)
{
  const char *roots[] = { NULL, NULL };
  g_autofree char *inner = g_build_filename (f->workspace, "sub", NULL);
  g_autofree char *escape = g_build_filename (f->workspace, "up", NULL);
  g_autofree char *body = NULL;

  roots[0] = f->workspace;
  aic_agent_hub_set_workspace_roots (aic_server_get_agent_hub (f->server), roots);
  g_mkdir (inner, 0700);
  g_assert_cmpint (symlink (f->dir, escape), ==, 0);

  body = g_strdup_printf ("{\"goal\": \"x\", \"workspace\": \"%s\"}", f->dir);
  post_json (f, body, 403, "workspace_not_allowed");
  g_free (body);
  /* A link inside the root that leads out is judged by where it leads. */
  body = g_strdup_printf ("{\"goal\": \"x\", \"workspace\": \"%s\"}", escape);
  post_json (f, body, 403, "workspace_not_allowed");
  g_free (body);
  body = g_strdup_printf ("{\"goal\": \"x\", \"workspace\": \"%s\"}", inner);
  post_json (f, body, 201, NULL);
}

static void
test_policy_deny (Fixture       *f,
                  gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = NULL;
  g_autoptr(GError) error = NULL;
  AicAgentHub *hub = aic_server_get_agent_hub (f->server);

  g_assert_false (aic_agent_hub_set_policy_string (hub, "write=maybe", &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_assert_true (aic_agent_hub_set_policy_string (hub, "write=deny,execute=deny", NULL));
  run = start_run (f->client, "Take notes\nrun: true", NULL, &rec);
  wait_done (&rec);
  g_assert_cmpuint (rec.requests->len, ==, 0);
  g_assert_cmpuint (count_lines (&rec, "tool_result: Refused by the server’s policy"), ==, 2);
  g_assert_null (workspace_file (f, "NOTES.md"));
}

/* ---- the openai engine, and paths that try to leave ---- */

typedef struct
{
  guint      turn;
  GPtrArray *tool_results;   /* what the model was told, in order */
} Upstream;

static const char * const escape_calls =
  "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Let me look outside.\",\"tool_calls\":["
  "{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"../secret.txt\\\"}\"}},"
  "{\"id\":\"b\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"/etc/passwd\\\"}\"}},"
  "{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"out/secret.txt\\\"}\"}},"
  "{\"id\":\"d\",\"type\":\"function\",\"function\":{\"name\":\"write_file\",\"arguments\":\"{\\\"path\\\":\\\"../planted.txt\\\",\\\"content\\\":\\\"x\\\"}\"}},"
  "{\"id\":\"e\",\"type\":\"function\",\"function\":{\"name\":\"list_dir\",\"arguments\":\"not json\"}},"
  "{\"id\":\"f\",\"type\":\"function\",\"function\":{\"name\":\"format_disk\",\"arguments\":\"{}\"}}"
  "]}}]}";

static void
upstream_cb (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  Upstream *upstream = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);
  JsonObject *request = json_node_get_object (root);
  JsonArray *messages = json_object_get_array_member (request, "messages");

  g_assert_cmpstr (path, ==, "/v1/chat/completions");
  g_assert_true (json_object_has_member (request, "tools"));
  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *entry = json_array_get_object_element (messages, i);

      if (g_str_equal (json_object_get_string_member (entry, "role"), "tool") && upstream->turn == 1)
        g_ptr_array_add (upstream->tool_results, g_strdup (json_object_get_string_member (entry, "content")));
    }

  if (upstream->turn++ == 0)
    aic_test_reply (message, 200, "application/json", escape_calls);
  else
    aic_test_reply (message, 200, "application/json",
                    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Nothing outside is reachable.\"}}]}");
}

static void
test_escapes (Fixture       *f,
              gconstpointer  data)
{
  Upstream upstream = { 0, g_ptr_array_new_with_free_func (g_free) };
  g_autofree char *upstream_url = NULL;
  g_autoptr(SoupServer) fake = aic_test_server_new (&upstream_url);
  g_autofree char *base = g_strconcat (upstream_url, "/v1", NULL);
  g_autoptr(AicEngine) engine = aic_engine_new_openai (base, "fake", NULL);
  g_autofree char *outside = g_build_filename (f->dir, "secret.txt", NULL);
  g_autofree char *link = g_build_filename (f->workspace, "out", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicAgentRun) run = NULL;
  g_auto(Recorder) rec = { 0 };
  g_autofree char *planted = g_build_filename (f->dir, "planted.txt", NULL);

  g_assert_true (g_file_set_contents (outside, "the secret", -1, NULL));
  g_assert_cmpint (symlink (f->dir, link), ==, 0);
  soup_server_add_handler (fake, "/v1/chat/completions", upstream_cb, &upstream, NULL);

  stop_server (f);
  f->server = aic_server_new (engine, NULL);
  g_assert_true (aic_server_open_runs (f->server, f->data, f->workspace, &error));
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", f->port, &error));
  g_assert_no_error (error);

  run = start_run (f->client, "Read the secret", NULL, &rec);
  wait_done (&rec);
  g_assert_cmpstr (rec.done_state, ==, "completed");
  g_assert_cmpstr (rec.summary, ==, "Nothing outside is reachable.");
  /* Every escape was refused, the write without even asking. */
  g_assert_cmpuint (rec.requests->len, ==, 0);
  g_assert_cmpuint (upstream.tool_results->len, ==, 6);
  for (guint i = 0; i < 4; i++)
    g_assert_nonnull (strstr (g_ptr_array_index (upstream.tool_results, i), "\"error\":\"outside_workspace\""));
  g_assert_nonnull (strstr (g_ptr_array_index (upstream.tool_results, 4), "invalid_arguments"));
  g_assert_nonnull (strstr (g_ptr_array_index (upstream.tool_results, 5), "unknown_tool"));
  for (guint i = 0; i < upstream.tool_results->len; i++)
    g_assert_null (strstr (g_ptr_array_index (upstream.tool_results, i), "the secret"));
  g_assert_false (g_file_test (planted, G_FILE_TEST_EXISTS));
  g_ptr_array_unref (upstream.tool_results);
}

/* ---- requests the server refuses ---- */

static void
post_json (Fixture    *f,
           const char *body,
           guint       status,
           const char *code)
{
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autofree char *url = g_strdup_printf ("%s/api/runs", f->url);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_auto(AicTestAnswer) answer = { 0 };

  soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  aic_test_send (session, message, &answer);
  g_assert_cmpuint (answer.status, ==, status);
  if (code != NULL)
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (answer.body), "error"), "code"),
                     ==, code);
}

static void
test_bad_requests (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(AicAgentRun) run = aic_agent_run_new_for_id (f->client, "r-nothing");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(RawSocket) raw = { 0 };
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) live = NULL;
  g_autofree char *ws_url = NULL;
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autofree char *missing_url = g_strdup_printf ("%s/api/runs/r-nothing", f->url);
  g_autoptr(SoupMessage) missing = soup_message_new ("GET", missing_url);
  g_auto(AicTestAnswer) answer = { 0 };
  JsonObject *reply;

  post_json (f, "{}", 400, "invalid_request");
  post_json (f, "{\"goal\": 7}", 400, "invalid_request");
  post_json (f, "{\"goal\": \"   \"}", 422, "invalid_request");
  post_json (f, "{\"goal\": \"x\", \"workspace\": \"relative/dir\"}", 422, "invalid_workspace");
  post_json (f, "{\"goal\": \"x\", \"workspace\": \"/no/such/folder\"}", 422, "invalid_workspace");
  post_json (f, "[1, 2]", 400, "invalid_json");
  aic_test_send (session, missing, &answer);
  g_assert_cmpuint (answer.status, ==, 404);

  /* A run the server never made. */
  aic_agent_run_start_async (run, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 5000);
  g_assert_false (aic_agent_run_start_finish (run, result, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_NOT_FOUND);

  /* Nonsense on a live run's control channel is answered, and harmless. */
  live = start_run (f->client, "Take notes", NULL, &rec);
  wait_request (&rec, 1);
  ws_url = g_strdup_printf ("%s/ws/runs/%s", f->url, aic_agent_run_get_id (live));
  raw_open (&raw, ws_url);
  raw_wait (&raw, 3);
  soup_websocket_connection_send_text (raw.ws, "{not json");
  reply = raw_wait (&raw, 4);
  g_assert_cmpstr (json_object_get_string_member (reply, "type"), ==, "error");
  soup_websocket_connection_send_text (raw.ws, "{\"type\": \"user_reply\", \"resume_token\": 5}");
  reply = raw_wait (&raw, 5);
  g_assert_cmpstr (json_object_get_string_member (reply, "code"), ==, "invalid_message");
  soup_websocket_connection_send_text (raw.ws, "{\"type\": \"dance\"}");
  reply = raw_wait (&raw, 6);
  g_assert_nonnull (strstr (json_object_get_string_member (reply, "message"), "dance"));
  g_assert_cmpstr (aic_agent_run_get_state (live), ==, "waiting");
  aic_agent_run_cancel (live);
  wait_done (&rec);
}

/* ---- the plainer shapes ---- */

typedef struct
{
  SoupWebsocketConnection *ws;
  char                    *goal;
  GPtrArray               *replies;   /* JsonObject */
  guint                    asked;
} PlainServer;

static void
plain_send (PlainServer *plain,
            const char  *text)
{
  soup_websocket_connection_send_text (plain->ws, text);
}

static void
plain_ask (PlainServer *plain)
{
  g_autofree char *text = NULL;

  plain->asked++;
  /* No "kind": the plainer shape leaves it out. */
  text = g_strdup_printf ("{\"type\": \"need_input\", \"prompt\": \"Write out.txt?\", \"resume_token\": \"t%u\", "
                          "\"tool\": {\"name\": \"write_file\", \"args\": {\"path\": \"out.txt\"}}, \"risk\": \"write\"}",
                          plain->asked);
  plain_send (plain, text);
}

static void
plain_message_cb (SoupWebsocketConnection *ws,
                  int                      type,
                  GBytes                  *bytes,
                  PlainServer             *plain)
{
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);
  JsonObject *object = json_node_get_object (root);
  const char *kind = json_object_get_string_member (object, "type");

  if (g_str_equal (kind, "start"))
    {
      plain->goal = g_strdup (json_object_get_string_member (object, "goal"));
      plain_send (plain, "{\"type\": \"status\", \"run_id\": \"x\", \"state\": \"running\"}");
      plain_send (plain, "{\"type\": \"tool_call\", \"call_id\": \"1\", \"name\": \"write_file\", \"args\": {\"path\": \"out.txt\"}}");
      plain_ask (plain);
      return;
    }
  g_assert_cmpstr (kind, ==, "user_reply");
  g_ptr_array_add (plain->replies, json_object_ref (object));
  if (plain->asked < 2)
    {
      plain_ask (plain);
      return;
    }
  plain_send (plain, "{\"type\": \"token\", \"content\": \"All written.\"}");
  plain_send (plain, "{\"type\": \"done\", \"result\": \"out.txt written twice\"}");
}

static void
plain_ws_cb (SoupServer              *server,
             SoupServerMessage       *message,
             const char              *path,
             SoupWebsocketConnection *connection,
             gpointer                 user_data)
{
  PlainServer *plain = user_data;

  g_assert_true (g_str_has_prefix (path, "/ws/agent/r-"));
  plain->ws = g_object_ref (connection);
  g_signal_connect (connection, "message", G_CALLBACK (plain_message_cb), plain);
}

static void
test_plain_websocket (Fixture       *f,
                      gconstpointer  data)
{
  PlainServer plain = { NULL, NULL, g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref), 0 };
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "plain", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = NULL;
  AicAgentRequest *request;

  /* No /api/runs here: POST gets a 404 and the client goes to the
   * WebSocket directly. */
  soup_server_add_websocket_handler (server, "/ws/agent", NULL, NULL, plain_ws_cb, &plain, NULL);
  run = start_run (client, "Write out.txt", NULL, &rec);
  g_assert_true (aic_agent_run_is_plain (run));
  request = wait_request (&rec, 1);
  g_assert_cmpstr (request->kind, ==, "approval");
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  /* "Allow for this run" is kept by the client: the second ask is
   * answered without showing it. */
  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_ALLOW_RUN, NULL);
  wait_done (&rec);
  g_assert_cmpstr (plain.goal, ==, "Write out.txt");
  g_assert_cmpstr (rec.done_state, ==, "completed");
  g_assert_cmpstr (rec.summary, ==, "out.txt written twice");
  g_assert_cmpstr (rec.text->str, ==, "All written.");
  g_assert_cmpuint (rec.requests->len, ==, 1);
  g_assert_cmpuint (plain.replies->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *reply = g_ptr_array_index (plain.replies, i);
      g_autofree char *token = g_strdup_printf ("t%u", i + 1);

      g_assert_cmpstr (json_object_get_string_member (reply, "text"), ==, "yes");
      g_assert_cmpstr (json_object_get_string_member (reply, "resume_token"), ==, token);
      g_assert_false (json_object_has_member (reply, "decision"));
    }
  g_clear_object (&plain.ws);
  g_free (plain.goal);
  g_ptr_array_unref (plain.replies);
}

static void
hybrid_create_cb (SoupServer        *server,
                  SoupServerMessage *message,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  if (g_str_equal (path, "/api/runs"))
    aic_test_reply (message, 200, "application/json", "{\"run_id\": \"h1\"}");
  else if (g_str_equal (path, "/api/runs/h1/tokens"))
    aic_test_reply (message, 200, "text/event-stream",
                    "data: {\"content\": \"Hello \"}\n\ndata: {\"content\": \"there.\"}\n\n");
  else
    aic_test_reply (message, 404, "application/json", "{}");
}

static void
hybrid_message_cb (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *bytes,
                   gpointer                 user_data)
{
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);
  JsonObject *object = json_node_get_object (root);

  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "user_reply");
  g_assert_cmpstr (json_object_get_string_member (object, "decision"), ==, "deny");
  soup_websocket_connection_send_text (ws, "{\"type\": \"tool_result\", \"call_id\": \"1\", \"summary\": \"refused\"}");
  soup_websocket_connection_send_text (ws, "{\"type\": \"done\", \"state\": \"completed\", \"result\": {\"summary\": \"Nothing done.\"}}");
}

static void
hybrid_ws_cb (SoupServer              *server,
              SoupServerMessage       *message,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  GPtrArray *sockets = user_data;

  g_assert_cmpstr (path, ==, "/ws/runs/h1");
  g_ptr_array_add (sockets, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (hybrid_message_cb), NULL);
  soup_websocket_connection_send_text (connection,
                                       "{\"type\": \"need_input\", \"kind\": \"approval\", \"prompt\": \"Delete?\", "
                                       "\"resume_token\": \"k\", \"tool\": {\"name\": \"run_command\", "
                                       "\"args\": {\"command\": \"rm -r build\"}}, \"risk\": \"execute\"}");
}

static gboolean
text_complete (gpointer data)
{
  return g_str_equal (((Recorder *) data)->text->str, "Hello there.");
}

static void
test_hybrid (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "hybrid", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(Recorder) rec = { 0 };
  g_autoptr(AicAgentRun) run = NULL;
  AicAgentRequest *request;

  soup_server_add_handler (server, "/api", hybrid_create_cb, NULL, NULL);
  soup_server_add_websocket_handler (server, "/ws/runs", NULL, NULL, hybrid_ws_cb, sockets, NULL);
  run = start_run (client, "Clean up", NULL, &rec);
  g_assert_false (aic_agent_run_is_plain (run));
  g_assert_cmpstr (aic_agent_run_get_id (run), ==, "h1");
  request = wait_request (&rec, 1);
  g_assert_cmpstr (request->command, ==, "rm -r build");
  aic_agent_run_reply (run, request->resume_token, AIC_AGENT_DECISION_DENY, NULL);
  wait_done (&rec);
  g_assert_cmpstr (rec.summary, ==, "Nothing done.");
  aic_test_wait_for (text_complete, &rec, 5000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/agent/allow-once", test_allow_once);
  ADD ("/agent/tokens", test_tokens);
  ADD ("/agent/allow-run-and-deny", test_allow_run_and_deny);
  ADD ("/agent/question", test_question);
  ADD ("/agent/reconnect", test_reconnect);
  ADD ("/agent/server-restart", test_server_restart);
  ADD ("/agent/stale-token", test_stale_token);
  ADD ("/agent/deadline-and-cancel", test_deadline_and_cancel);
  ADD ("/agent/command-limits", test_command_limits);
  ADD ("/agent/policy-deny", test_policy_deny);
  ADD ("/agent/restart-mid-command", test_restart_mid_command);
  ADD ("/agent/unstarted-deadline", test_unstarted_deadline);
  ADD ("/agent/workspace-roots", test_workspace_roots);
  ADD ("/agent/escapes", test_escapes);
  ADD ("/agent/bad-requests", test_bad_requests);
  ADD ("/agent/plain-websocket", test_plain_websocket);
  ADD ("/agent/hybrid", test_hybrid);
#undef ADD

  return g_test_run ();
}
