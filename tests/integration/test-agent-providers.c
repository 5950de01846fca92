/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-agent-run.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-server.h"
#include "aic-sse-parser.h"
#include "aic-test-util.h"

/* Agent runs against scripted providers: the real AicServer with an
 * openai or anthropic engine whose upstream is a SoupServer on 127.0.0.1
 * that answers from a script, in small pieces (lines cut anywhere) with
 * pauses, so the planner meets a stream as it really comes. Each test
 * checks what the run did (approvals, files, its end) and what the
 * provider was sent. */

/* A "\f" in a streamed answer holds it there until the test releases it. */
#define HOLD "\f"

typedef struct
{
  guint       status;
  const char *type;      /* "text/event-stream", "application/json" */
  const char *body;
} Answer;

typedef struct
{
  const Answer *script;
  guint         n_script;
  guint         turn;
  GPtrArray    *requests;   /* JsonNode, each request's body */
  GPtrArray    *keys;       /* each request's x-api-key (or "") */
  GPtrArray    *versions;   /* each request's anthropic-version (or "") */
  GPtrArray    *paths;
  gboolean      held;
  gboolean      released;
} Upstream;

typedef struct
{
  Upstream          *upstream;
  SoupServerMessage *message;
  const char        *rest;
  gboolean           gone;     /* the client went away, or the server */
} Feed;

static void
feed_gone_cb (Feed *feed)
{
  feed->gone = TRUE;
}

typedef struct
{
  char        *dir;
  char        *data;
  char        *workspace;
  SoupServer  *fake;
  char        *fake_url;
  AicServer   *server;
  char        *url;
  AicClient   *client;
  Upstream     upstream;
} Fixture;

/* ---- the scripted provider ---- */

static gboolean
feed_cb (gpointer data)
{
  Feed *feed = data;
  Upstream *upstream = feed->upstream;
  gsize n;

  if (!feed->gone && feed->rest[0] == HOLD[0])
    {
      upstream->held = TRUE;
      if (!upstream->released)
        return G_SOURCE_CONTINUE;
      feed->rest++;
    }
  if (feed->gone || feed->rest[0] == '\0')
    {
      if (!feed->gone)
        aic_reply_end (feed->message);
      g_signal_handlers_disconnect_by_data (feed->message, feed);
      g_object_unref (feed->message);
      g_free (feed);
      return G_SOURCE_REMOVE;
    }
  /* Eleven bytes at a time: lines, JSON and UTF-8 cut anywhere. */
  n = MIN (strlen (feed->rest), 11);
  if (memchr (feed->rest, HOLD[0], n) != NULL)
    n = (const char *) memchr (feed->rest, HOLD[0], n) - feed->rest;
  {
    g_autoptr(GBytes) bytes = g_bytes_new (feed->rest, n);

    aic_reply_write (feed->message, bytes);
  }
  feed->rest += n;
  return G_SOURCE_CONTINUE;
}

static const char *
header_or_empty (SoupServerMessage *message,
                 const char        *name)
{
  const char *value = soup_message_headers_get_one (soup_server_message_get_request_headers (message), name);

  return value ? value : "";
}

static void
upstream_cb (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  Upstream *upstream = user_data;
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (message));
  JsonNode *root = aic_json_parse_bytes (bytes, NULL);
  const Answer *answer;

  g_assert_nonnull (root);
  g_ptr_array_add (upstream->requests, root);
  g_ptr_array_add (upstream->keys, g_strdup (header_or_empty (message, "x-api-key")));
  g_ptr_array_add (upstream->versions, g_strdup (header_or_empty (message, "anthropic-version")));
  g_ptr_array_add (upstream->paths, g_strdup (path));
  g_assert_cmpuint (upstream->turn, <, upstream->n_script);
  answer = &upstream->script[upstream->turn++];

  if (g_str_equal (answer->type, "text/event-stream"))
    {
      Feed *feed = g_new0 (Feed, 1);

      feed->upstream = upstream;
      feed->message = g_object_ref (message);
      feed->rest = answer->body;
      /* A test that ends early must not leave it writing to a message
       * that is gone when the next test runs. */
      g_signal_connect_swapped (message, "finished", G_CALLBACK (feed_gone_cb), feed);
      g_signal_connect_swapped (message, "disconnected", G_CALLBACK (feed_gone_cb), feed);
      aic_reply_start_event_stream (message);
      g_timeout_add (2, feed_cb, feed);
      return;
    }
  aic_test_reply (message, answer->status, answer->type, answer->body);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *readme = NULL;

  f->dir = g_dir_make_tmp ("aic-providers-XXXXXX", &error);
  g_assert_no_error (error);
  f->data = g_build_filename (f->dir, "data", NULL);
  f->workspace = g_build_filename (f->dir, "work", NULL);
  g_mkdir (f->data, 0700);
  g_mkdir (f->workspace, 0700);
  readme = g_build_filename (f->workspace, "README.md", NULL);
  g_assert_true (g_file_set_contents (readme, "# Tide tables\n", -1, NULL));

  f->upstream.requests = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  f->upstream.keys = g_ptr_array_new_with_free_func (g_free);
  f->upstream.versions = g_ptr_array_new_with_free_func (g_free);
  f->upstream.paths = g_ptr_array_new_with_free_func (g_free);
  f->fake = aic_test_server_new (&f->fake_url);
  soup_server_add_handler (f->fake, NULL, upstream_cb, &f->upstream, NULL);
}

/* The console server, its engine's upstream the scripted provider. */
static void
serve (Fixture      *f,
       const char   *kind,
       const Answer *script,
       guint         n_script)
{
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  f->upstream.script = script;
  f->upstream.n_script = n_script;
  if (g_str_equal (kind, "anthropic"))
    engine = aic_engine_new_anthropic (f->fake_url, "ant-key");
  else
    {
      g_autofree char *base = g_strconcat (f->fake_url, "/v1", NULL);

      engine = aic_engine_new_openai (base, "fake", "sk-test");
    }
  f->server = aic_server_new (engine, NULL);
  g_assert_true (aic_server_open_runs (f->server, f->data, f->workspace, &error));
  g_assert_no_error (error);
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", aic_test_free_port (), &error));
  g_assert_no_error (error);
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
    aic_server_disconnect (f->server);
  g_clear_object (&f->server);
  soup_server_disconnect (f->fake);
  g_clear_object (&f->fake);
  aic_test_remove_tree (f->dir);
  g_ptr_array_unref (f->upstream.requests);
  g_ptr_array_unref (f->upstream.keys);
  g_ptr_array_unref (f->upstream.versions);
  g_ptr_array_unref (f->upstream.paths);
  g_free (f->fake_url);
  g_free (f->url);
  g_free (f->dir);
  g_free (f->data);
  g_free (f->workspace);
}

/* ---- a run, as the app sees it ---- */

typedef struct
{
  AicAgentRun *run;
  GPtrArray   *requests;   /* AicAgentRequest */
  GPtrArray   *calls;      /* tool names, as announced */
  GString     *text;
  char        *state;
  char        *summary;
  guint        problems;   /* "problem" signals: what the app shows as toasts */
} Recorder;

static void
need_input_cb (AicAgentRun *run, AicAgentRequest *request, Recorder *rec)
{
  g_ptr_array_add (rec->requests, aic_agent_request_copy (request));
}

static void
tool_call_cb (AicAgentRun *run, const char *call_id, const char *name, const char *args, Recorder *rec)
{
  g_ptr_array_add (rec->calls, g_strdup (name));
}

static void
token_cb (AicAgentRun *run, const char *text, Recorder *rec)
{
  g_string_append (rec->text, text);
}

static void
problem_cb (AicAgentRun *run, const char *text, Recorder *rec)
{
  rec->problems++;
}

static void
done_cb (AicAgentRun *run, const char *state, const char *summary, Recorder *rec)
{
  rec->state = g_strdup (state);
  rec->summary = g_strdup (summary);
}

static void
recorder_clear (Recorder *rec)
{
  if (rec->run != NULL)
    g_signal_handlers_disconnect_by_data (rec->run, rec);
  g_clear_object (&rec->run);
  g_clear_pointer (&rec->requests, g_ptr_array_unref);
  g_clear_pointer (&rec->calls, g_ptr_array_unref);
  if (rec->text != NULL)
    g_string_free (rec->text, TRUE);
  g_free (rec->state);
  g_free (rec->summary);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Recorder, recorder_clear)

static void
start_run (Fixture    *f,
           Recorder   *rec,
           const char *goal,
           const char *model)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rec->run = aic_agent_run_new (f->client, goal, NULL, model);
  rec->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_agent_request_free);
  rec->calls = g_ptr_array_new_with_free_func (g_free);
  rec->text = g_string_new (NULL);
  g_signal_connect (rec->run, "need-input", G_CALLBACK (need_input_cb), rec);
  g_signal_connect (rec->run, "tool-call", G_CALLBACK (tool_call_cb), rec);
  g_signal_connect (rec->run, "token", G_CALLBACK (token_cb), rec);
  g_signal_connect (rec->run, "done", G_CALLBACK (done_cb), rec);
  g_signal_connect (rec->run, "problem", G_CALLBACK (problem_cb), rec);
  aic_agent_run_start_async (rec->run, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 15000);
  g_assert_true (aic_agent_run_start_finish (rec->run, result, &error));
  g_assert_no_error (error);
}

static gboolean
has_request (gpointer data)
{
  return ((Recorder *) data)->requests->len > 0;
}

static gboolean
is_done (gpointer data)
{
  return ((Recorder *) data)->state != NULL;
}

static gboolean
is_held (gpointer data)
{
  return ((Fixture *) data)->upstream.held;
}

typedef struct
{
  Recorder   *rec;
  const char *text;
} TextWait;

static gboolean
text_is (gpointer data)
{
  TextWait *wait = data;

  return g_str_equal (wait->rec->text->str, wait->text);
}

static void
wait_text (Recorder   *rec,
           const char *text)
{
  TextWait wait = { rec, text };

  aic_test_wait_for (text_is, &wait, 15000);
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

static void
token_event_cb (gpointer           user_data,
                const AicSseEvent *event)
{
  g_autoptr(JsonNode) node = json_from_string (event->data, NULL);

  g_assert_nonnull (node);
  if (g_str_equal (event->type, "token"))
    g_ptr_array_add (user_data, g_strdup (json_object_get_string_member (json_node_get_object (node), "content")));
  else
    g_ptr_array_add (user_data, g_strdup_printf ("<%s>", event->type));
}

/* The run's token stream from the start, as "content" pieces and
 * "<done>"; the run has ended, so the stream does too. */
static char *
token_pieces (Fixture    *f,
              const char *run_id)
{
  static const AicSseCallbacks callbacks = { token_event_cb, NULL, NULL };
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autofree char *url = g_strdup_printf ("%s/api/runs/%s/tokens", f->url, run_id);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, pieces);

  soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL,
                                    aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  body = soup_session_send_and_read_finish (session, result, &error);
  g_assert_no_error (error);
  g_assert_true (aic_sse_parser_feed (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL));
  g_assert_true (aic_sse_parser_finish (parser, FALSE, NULL));
  g_ptr_array_add (pieces, NULL);
  return g_strjoinv ("|", (char **) pieces->pdata);
}

static JsonObject *
request_object (Fixture *f,
                guint    n)
{
  g_assert_cmpuint (f->upstream.requests->len, >, n);
  return json_node_get_object (g_ptr_array_index (f->upstream.requests, n));
}

/* ---- OpenAI-compatible: streamed tool calls ---- */

#define OPENAI_CHUNK(json) "data: " json "\n\n"

static const char openai_calls_turn[] =
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}")
  ": keep-alive\n\n"
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me \"}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"wri\"}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"te it.\"}}]}")
  HOLD
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_r\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"\"}}]}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"pa\"}}]}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":\"write_file\",\"arguments\":\"{\\\"path\\\": \\\"ou\"}}]}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"th\\\": \\\"README.md\\\"}\"}}]}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"t.txt\\\", \\\"content\\\": \\\"hél\"}}]}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"lo\\\\nworld\\\"}\"}}]}}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}")
  OPENAI_CHUNK ("{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":20}}")
  "data: [DONE]\n\n";

static const char openai_final_turn[] =
  OPENAI_CHUNK ("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Done\"}}]}")
  OPENAI_CHUNK ("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" writing.\"},\"finish_reason\":\"stop\"}]}")
  "data: [DONE]";   /* no blank line: EOF ends it */

static const Answer openai_script[] = {
  { 200, "text/event-stream", openai_calls_turn },
  { 200, "text/event-stream", openai_final_turn },
};

static void
run_openai_calls (Fixture          *f,
                  AicAgentDecision  decision)
{
  g_auto(Recorder) rec = { 0 };
  AicAgentRequest *request;
  JsonObject *second, *assistant, *function;
  JsonArray *messages, *calls;
  g_autofree char *tokens = NULL;
  g_autofree char *written = NULL;

  serve (f, "openai", openai_script, G_N_ELEMENTS (openai_script));
  start_run (f, &rec, "Write out.txt", "tool-model");

  /* The text reached the client while the provider still held its
   * answer open: real tokens, not a reply split afterwards. */
  aic_test_wait_for (is_held, f, 15000);
  wait_text (&rec, "Let me write it.");
  g_assert_cmpuint (rec.calls->len, ==, 0);
  f->upstream.released = TRUE;

  aic_test_wait_for (has_request, &rec, 15000);
  request = g_ptr_array_index (rec.requests, 0);
  /* The read went ahead; the write, its arguments put together from
   * pieces, asks first. */
  g_assert_cmpuint (rec.calls->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (rec.calls, 0), ==, "read_file");
  g_assert_cmpstr (g_ptr_array_index (rec.calls, 1), ==, "write_file");
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  g_assert_nonnull (strstr (request->diff, "+hél"));
  g_assert_null (workspace_file (f, "out.txt"));
  aic_agent_run_reply (rec.run, request->resume_token, decision, NULL);
  aic_test_wait_for (is_done, &rec, 15000);

  g_assert_cmpstr (rec.state, ==, "completed");
  g_assert_cmpstr (rec.summary, ==, "Done writing.");
  written = workspace_file (f, "out.txt");
  if (decision == AIC_AGENT_DECISION_DENY)
    g_assert_null (written);
  else
    g_assert_cmpstr (written, ==, "héllo\nworld");

  /* Both requests streamed, with the tools; the second carries the calls
   * as assembled and both results, by id. */
  g_assert_cmpuint (f->upstream.requests->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->upstream.paths, 0), ==, "/v1/chat/completions");
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (json_object_get_boolean_member (request_object (f, i), "stream"));
      g_assert_true (json_object_has_member (request_object (f, i), "tools"));
      g_assert_cmpstr (json_object_get_string_member (request_object (f, i), "model"), ==, "tool-model");
    }
  second = request_object (f, 1);
  messages = json_object_get_array_member (second, "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 5);
  assistant = json_array_get_object_element (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (assistant, "content"), ==, "Let me write it.");
  calls = json_object_get_array_member (assistant, "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (calls, 0), "id"), ==, "call_r");
  function = json_object_get_object_member (json_array_get_object_element (calls, 0), "function");
  g_assert_cmpstr (json_object_get_string_member (function, "arguments"), ==, "{\"path\": \"README.md\"}");
  function = json_object_get_object_member (json_array_get_object_element (calls, 1), "function");
  g_assert_cmpstr (json_object_get_string_member (function, "name"), ==, "write_file");
  g_assert_cmpstr (json_object_get_string_member (function, "arguments"), ==,
                   "{\"path\": \"out.txt\", \"content\": \"héllo\\nworld\"}");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 3), "tool_call_id"), ==, "call_r");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (messages, 3), "content"),
                            "# Tide tables"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 4), "tool_call_id"), ==, "call_w");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (messages, 4), "content"),
                            decision == AIC_AGENT_DECISION_DENY ? "\"error\":\"refused\"" : "\"bytes\":12"));

  /* The token channel holds the pieces as the model wrote them, in order. */
  tokens = token_pieces (f, aic_agent_run_get_id (rec.run));
  g_assert_cmpstr (tokens, ==, "Let me |wri|te it.|\n\n|Done| writing.|<done>");
}

static void
test_openai_stream_allow (Fixture       *f,
                          gconstpointer  data)
{
  run_openai_calls (f, AIC_AGENT_DECISION_ALLOW_ONCE);
}

static void
test_openai_stream_deny (Fixture       *f,
                         gconstpointer  data)
{
  run_openai_calls (f, AIC_AGENT_DECISION_DENY);
}

/* ---- OpenAI-compatible: a server that refuses stream with tools ---- */

static const Answer fallback_script[] = {
  { 400, "application/json", "{\"error\":{\"message\":\"stream is not supported together with this request\"}}" },
  { 200, "application/json", "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"All done here.\"}}]}" },
  /* The second run asks without streaming straight away. */
  { 200, "application/json", "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Again.\"}}]}" },
};

static void
test_openai_fallback (Fixture       *f,
                      gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_auto(Recorder) again = { 0 };
  g_autofree char *tokens = NULL;

  serve (f, "openai", fallback_script, G_N_ELEMENTS (fallback_script));
  start_run (f, &rec, "Say something", "old-server");
  aic_test_wait_for (is_done, &rec, 15000);
  g_assert_cmpstr (rec.state, ==, "completed");
  g_assert_cmpstr (rec.summary, ==, "All done here.");
  g_assert_cmpuint (f->upstream.requests->len, ==, 2);
  g_assert_true (json_object_get_boolean_member (request_object (f, 0), "stream"));
  g_assert_false (json_object_get_boolean_member (request_object (f, 1), "stream"));
  g_assert_true (json_object_has_member (request_object (f, 1), "tools"));
  /* Text that came whole still reaches the token channel. */
  tokens = token_pieces (f, aic_agent_run_get_id (rec.run));
  g_assert_cmpstr (tokens, ==, "All| done| here.|<done>");

  start_run (f, &again, "Say it again", "old-server");
  aic_test_wait_for (is_done, &again, 15000);
  g_assert_cmpstr (again.summary, ==, "Again.");
  g_assert_cmpuint (f->upstream.requests->len, ==, 3);
  g_assert_false (json_object_get_boolean_member (request_object (f, 2), "stream"));
}

/* ---- a model that cannot use tools ---- */

static const Answer ollama_script[] = {
  { 400, "application/json", "{\"error\":\"registry.ollama.ai/library/gemma:2b does not support tools\"}" },
};

static const Answer ollama_old_script[] = {
  { 400, "application/json", "{\"error\":{\"message\":\"gemma:2b does not support tools\",\"type\":\"api_error\"}}" },
};

/* Another server says it its own way; asked again without streaming,
 * it says it again. */
static const Answer other_no_tools_script[] = {
  { 400, "application/json", "{\"error\":{\"message\":\"This model has no tool calling\"}}" },
  { 400, "application/json", "{\"error\":{\"message\":\"This model has no tool calling\"}}" },
};

static void
check_no_tools (Fixture      *f,
                const Answer *script,
                guint         n_script)
{
  static const char sentence[] =
    "The model “gemma:2b” cannot use tools, which agents need. Pick a model that supports "
    "tool calling (for example llama3.1 or qwen2.5) in Preferences.";
  g_auto(Recorder) rec = { 0 };
  g_autoptr(JsonObject) stored = NULL;
  JsonObject *result;
  JsonArray *steps;
  guint errors = 0;

  serve (f, "openai", script, n_script);
  start_run (f, &rec, "List the files", "gemma:2b");
  aic_test_wait_for (is_done, &rec, 15000);
  g_assert_cmpstr (rec.state, ==, "failed");
  g_assert_cmpuint (f->upstream.requests->len, ==, n_script);
  /* The app shows the sentence once, as the run's end. */
  g_assert_cmpstr (rec.summary, ==, sentence);
  g_assert_cmpuint (rec.problems, ==, 0);

  stored = get_run (f, aic_agent_run_get_id (rec.run));
  result = json_object_get_object_member (stored, "result");
  g_assert_cmpstr (json_object_get_string_member (result, "code"), ==, "model_cannot_use_tools");
  g_assert_cmpstr (json_object_get_string_member (result, "message"), ==, sentence);
  /* One error, that sentence, not a stack of them. */
  steps = json_object_get_array_member (stored, "steps");
  for (guint i = 0; i < json_array_get_length (steps); i++)
    {
      JsonObject *step = json_array_get_object_element (steps, i);

      if (g_str_equal (json_object_get_string_member (step, "type"), "error"))
        {
          errors++;
          g_assert_cmpstr (json_object_get_string_member (step, "code"), ==, "model_cannot_use_tools");
          g_assert_cmpstr (json_object_get_string_member (step, "message"), ==, sentence);
        }
    }
  g_assert_cmpuint (errors, ==, 1);
}

static void
test_no_tools_ollama (Fixture       *f,
                      gconstpointer  data)
{
  check_no_tools (f, ollama_script, G_N_ELEMENTS (ollama_script));
}

static void
test_no_tools_ollama_old (Fixture       *f,
                          gconstpointer  data)
{
  check_no_tools (f, ollama_old_script, G_N_ELEMENTS (ollama_old_script));
}

static void
test_no_tools_other (Fixture       *f,
                     gconstpointer  data)
{
  check_no_tools (f, other_no_tools_script, G_N_ELEMENTS (other_no_tools_script));
}

/* ---- Anthropic Messages ---- */

#define EVENT(name, json) "event: " name "\ndata: " json "\n\n"

static const char anthropic_calls_turn[] =
  EVENT ("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[],\"model\":\"claude-test\",\"stop_reason\":null,\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}")
  EVENT ("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
  EVENT ("ping", "{\"type\": \"ping\"}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Reading, \"}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"then writing.\"}}")
  HOLD
  EVENT ("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
  EVENT ("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
         "{\"type\":\"tool_use\",\"id\":\"toolu_r\",\"name\":\"read_file\",\"input\":{}}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\": \\\"READ\"}}")
  EVENT ("ping", "{\"type\": \"ping\"}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ME.md\\\"}\"}}")
  EVENT ("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
  EVENT ("content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":"
         "{\"type\":\"tool_use\",\"id\":\"toolu_w\",\"name\":\"write_file\",\"input\":{}}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\":\"}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"claude.txt\\\", \\\"con\"}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"tent\\\": \\\"from claude\\\"}\"}}")
  EVENT ("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")
  EVENT ("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":60}}")
  EVENT ("message_stop", "{\"type\":\"message_stop\"}");

static const char anthropic_final_turn[] =
  EVENT ("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[],\"model\":\"claude-test\",\"stop_reason\":null,\"usage\":{\"input_tokens\":80,\"output_tokens\":1}}}")
  EVENT ("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Fini\"}}")
  EVENT ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"shed.\"}}")
  EVENT ("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
  EVENT ("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}")
  EVENT ("message_stop", "{\"type\":\"message_stop\"}");

static const Answer anthropic_script[] = {
  { 200, "text/event-stream", anthropic_calls_turn },
  { 200, "text/event-stream", anthropic_final_turn },
};

static void
run_anthropic_calls (Fixture          *f,
                     AicAgentDecision  decision)
{
  g_auto(Recorder) rec = { 0 };
  AicAgentRequest *request;
  JsonObject *first, *second, *assistant, *block, *results;
  JsonArray *messages, *content, *tools;
  g_autofree char *tokens = NULL;
  g_autofree char *written = NULL;

  serve (f, "anthropic", anthropic_script, G_N_ELEMENTS (anthropic_script));
  start_run (f, &rec, "Write claude.txt", "claude-test");

  aic_test_wait_for (is_held, f, 15000);
  wait_text (&rec, "Reading, then writing.");
  g_assert_cmpuint (rec.calls->len, ==, 0);
  f->upstream.released = TRUE;

  aic_test_wait_for (has_request, &rec, 15000);
  request = g_ptr_array_index (rec.requests, 0);
  g_assert_cmpuint (rec.calls->len, ==, 2);
  g_assert_cmpstr (request->tool_name, ==, "write_file");
  g_assert_nonnull (strstr (request->diff, "+from claude"));
  aic_agent_run_reply (rec.run, request->resume_token, decision, NULL);
  aic_test_wait_for (is_done, &rec, 15000);

  g_assert_cmpstr (rec.state, ==, "completed");
  g_assert_cmpstr (rec.summary, ==, "Finished.");
  written = workspace_file (f, "claude.txt");
  if (decision == AIC_AGENT_DECISION_DENY)
    g_assert_null (written);
  else
    g_assert_cmpstr (written, ==, "from claude");

  /* The requests, in Anthropic's shape. */
  g_assert_cmpuint (f->upstream.requests->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *request_body = request_object (f, i);

      g_assert_cmpstr (g_ptr_array_index (f->upstream.paths, i), ==, "/v1/messages");
      g_assert_cmpstr (g_ptr_array_index (f->upstream.keys, i), ==, "ant-key");
      g_assert_cmpstr (g_ptr_array_index (f->upstream.versions, i), ==, "2023-06-01");
      g_assert_true (json_object_get_boolean_member (request_body, "stream"));
      g_assert_cmpint (json_object_get_int_member (request_body, "max_tokens"), >, 0);
      g_assert_cmpstr (json_object_get_string_member (request_body, "model"), ==, "claude-test");
      g_assert_true (g_str_has_prefix (json_object_get_string_member (request_body, "system"), "You are an agent"));
    }
  first = request_object (f, 0);
  messages = json_object_get_array_member (first, "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0), "role"), ==, "user");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0), "content"), ==,
                   "Write claude.txt");
  tools = json_object_get_array_member (first, "tools");
  g_assert_cmpuint (json_array_get_length (tools), >=, 5);
  block = json_array_get_object_element (tools, 0);
  g_assert_true (json_object_has_member (block, "name"));
  g_assert_true (json_object_has_member (block, "description"));
  g_assert_true (json_object_has_member (block, "input_schema"));

  second = request_object (f, 1);
  messages = json_object_get_array_member (second, "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  assistant = json_array_get_object_element (messages, 1);
  g_assert_cmpstr (json_object_get_string_member (assistant, "role"), ==, "assistant");
  content = json_object_get_array_member (assistant, "content");
  g_assert_cmpuint (json_array_get_length (content), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (content, 0), "text"), ==,
                   "Reading, then writing.");
  block = json_array_get_object_element (content, 2);
  g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "tool_use");
  g_assert_cmpstr (json_object_get_string_member (block, "id"), ==, "toolu_w");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (block, "input"), "path"), ==,
                   "claude.txt");
  /* Both results in one user message, each naming its tool_use. */
  results = json_array_get_object_element (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (results, "role"), ==, "user");
  content = json_object_get_array_member (results, "content");
  g_assert_cmpuint (json_array_get_length (content), ==, 2);
  block = json_array_get_object_element (content, 0);
  g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "tool_result");
  g_assert_cmpstr (json_object_get_string_member (block, "tool_use_id"), ==, "toolu_r");
  g_assert_nonnull (strstr (json_object_get_string_member (block, "content"), "# Tide tables"));
  block = json_array_get_object_element (content, 1);
  g_assert_cmpstr (json_object_get_string_member (block, "tool_use_id"), ==, "toolu_w");
  g_assert_nonnull (strstr (json_object_get_string_member (block, "content"),
                            decision == AIC_AGENT_DECISION_DENY ? "refused" : "\"bytes\":11"));

  tokens = token_pieces (f, aic_agent_run_get_id (rec.run));
  g_assert_cmpstr (tokens, ==, "Reading, |then writing.|\n\n|Fini|shed.|<done>");
}

static void
test_anthropic_allow (Fixture       *f,
                      gconstpointer  data)
{
  run_anthropic_calls (f, AIC_AGENT_DECISION_ALLOW_ONCE);
}

static void
test_anthropic_deny (Fixture       *f,
                     gconstpointer  data)
{
  run_anthropic_calls (f, AIC_AGENT_DECISION_DENY);
}

static const Answer overloaded_script[] = {
  { 200, "text/event-stream",
    EVENT ("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"type\":\"message\",\"role\":\"assistant\","
           "\"content\":[],\"model\":\"claude-test\",\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}")
    EVENT ("ping", "{\"type\": \"ping\"}")
    EVENT ("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}") },
};

static void
test_anthropic_overloaded (Fixture       *f,
                           gconstpointer  data)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(JsonObject) stored = NULL;
  JsonObject *result;
  const char *message;

  serve (f, "anthropic", overloaded_script, G_N_ELEMENTS (overloaded_script));
  start_run (f, &rec, "Do something", "claude-test");
  aic_test_wait_for (is_done, &rec, 15000);
  g_assert_cmpstr (rec.state, ==, "failed");

  stored = get_run (f, aic_agent_run_get_id (rec.run));
  result = json_object_get_object_member (stored, "result");
  g_assert_cmpstr (json_object_get_string_member (result, "code"), ==, "model_busy");
  message = json_object_get_string_member (result, "message");
  g_assert_nonnull (strstr (message, "Anthropic is overloaded at the moment (“Overloaded”)"));
  g_assert_nonnull (strstr (message, "Try again"));
  g_assert_null (workspace_file (f, "claude.txt"));
}

/* Errors in other shapes: inside an OpenAI stream that began with 200,
 * and Anthropic's overload as an error body (HTTP 529). */
static const Answer openai_stream_error_script[] = {
  { 200, "text/event-stream",
    OPENAI_CHUNK ("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Sta\"}}]}")
    OPENAI_CHUNK ("{\"error\":{\"message\":\"context length exceeded\",\"type\":\"invalid_request_error\"}}") },
};

static const Answer anthropic_529_script[] = {
  { 529, "application/json",
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}" },
};

static void
check_failure (Fixture      *f,
               const char   *kind,
               const Answer *script,
               const char   *code,
               const char   *words)
{
  g_auto(Recorder) rec = { 0 };
  g_autoptr(JsonObject) stored = NULL;
  JsonObject *result;

  serve (f, kind, script, 1);
  start_run (f, &rec, "Do something", "some-model");
  aic_test_wait_for (is_done, &rec, 15000);
  g_assert_cmpstr (rec.state, ==, "failed");
  stored = get_run (f, aic_agent_run_get_id (rec.run));
  result = json_object_get_object_member (stored, "result");
  g_assert_cmpstr (json_object_get_string_member (result, "code"), ==, code);
  g_assert_nonnull (strstr (json_object_get_string_member (result, "message"), words));
  g_assert_cmpuint (f->upstream.requests->len, ==, 1);
}

static void
test_openai_stream_error (Fixture       *f,
                          gconstpointer  data)
{
  check_failure (f, "openai", openai_stream_error_script, "model_failed",
                 "The model stopped with an error: context length exceeded");
}

static void
test_anthropic_529 (Fixture       *f,
                    gconstpointer  data)
{
  check_failure (f, "anthropic", anthropic_529_script, "model_busy",
                 "Anthropic is overloaded at the moment (“Overloaded”)");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/agent-providers/openai/stream-allow", test_openai_stream_allow);
  ADD ("/agent-providers/openai/stream-deny", test_openai_stream_deny);
  ADD ("/agent-providers/openai/fallback", test_openai_fallback);
  ADD ("/agent-providers/openai/no-tools-ollama", test_no_tools_ollama);
  ADD ("/agent-providers/openai/no-tools-ollama-old", test_no_tools_ollama_old);
  ADD ("/agent-providers/openai/no-tools-other", test_no_tools_other);
  ADD ("/agent-providers/anthropic/allow", test_anthropic_allow);
  ADD ("/agent-providers/anthropic/deny", test_anthropic_deny);
  ADD ("/agent-providers/anthropic/overloaded", test_anthropic_overloaded);
  ADD ("/agent-providers/openai/stream-error", test_openai_stream_error);
  ADD ("/agent-providers/anthropic/overloaded-529", test_anthropic_529);
#undef ADD

  return g_test_run ();
}
