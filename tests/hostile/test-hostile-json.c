/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "aic-chat-stream.h"
#include "aic-client.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-pcm.h"
#include "aic-server.h"
#include "aic-test-util.h"
#include "aic-voice-session.h"

/* JSON nested 100,000 levels deep (200 KB) used to overflow json-glib's
 * recursion and kill whoever parsed it. Here it is sent to every place the
 * real server reads JSON from a client, and by a hostile SoupServer to the
 * core clients and to the CLI. Each must answer with an error and carry on:
 * the server serves a well-behaved client afterwards, the clients exit in
 * words rather than by a signal. */

#define DEPTH 100000

static char *
deep_json (void)
{
  char *text = g_malloc (2 * DEPTH + 1);

  memset (text, '[', DEPTH);
  memset (text + DEPTH, ']', DEPTH);
  text[2 * DEPTH] = '\0';
  return text;
}

static void
assert_depth_error (const char *message)
{
  g_assert_nonnull (message);
  if (strstr (message, "nested more than 64 levels") == NULL)
    g_error ("Not the depth error: %s", message);
}

/* ---- the real server ---- */

typedef struct
{
  AicServer *server;
  char      *dir;
  char      *url;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GError) error = NULL;
  g_autofree char *runs = NULL;
  g_autofree char *work = NULL;

  f->dir = g_dir_make_tmp ("aic-hostile-json-XXXXXX", &error);
  g_assert_no_error (error);
  runs = g_build_filename (f->dir, "data", NULL);
  work = g_build_filename (f->dir, "work", NULL);
  g_mkdir (runs, 0700);
  g_mkdir (work, 0700);

  aic_engine_set_demo_delay (engine, 1);
  f->server = aic_server_new (engine, NULL);
  g_assert_true (aic_server_open_runs (f->server, runs, work, &error));
  g_assert_no_error (error);
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->url = aic_server_dup_url (f->server);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  aic_server_disconnect (f->server);
  g_clear_object (&f->server);
  aic_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->url);
}

static void
post (Fixture       *f,
      const char    *path,
      const char    *body,
      AicTestAnswer *answer)
{
  g_autoptr(SoupSession) session = aic_http_session_new (30);
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  aic_test_send (session, message, answer);
}

static void
assert_refused (AicTestAnswer *answer)
{
  JsonObject *error;

  g_assert_cmpuint (answer->status, ==, 400);
  g_assert_nonnull (answer->body);
  error = json_object_get_object_member (json_node_get_object (answer->body), "error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "invalid_json");
  assert_depth_error (json_object_get_string_member (error, "message"));
}

/* A well-behaved chat, start to finish, through the app's own client. */
static void
assert_chat_works (Fixture *f)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "test", AIC_CONNECTION_KIND_CONSOLE, f->url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(AicChatStream) stream = aic_chat_stream_new (client);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_chat_stream_add_turn (stream, "user", "Hello there");
  aic_chat_stream_run_async (stream, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  g_assert_true (aic_chat_stream_run_finish (stream, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (aic_chat_stream_get_text (stream)), >, 0);
}

static void
test_server_chat (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *deep = deep_json ();
  g_auto(AicTestAnswer) answer = { 0 };

  g_assert_cmpuint (strlen (deep), ==, 200000);
  post (f, "/api/chat/stream", deep, &answer);
  assert_refused (&answer);
  assert_chat_works (f);
}

static char *
create_run (Fixture *f)
{
  g_auto(AicTestAnswer) answer = { 0 };

  post (f, "/api/runs", "{\"goal\": \"Take notes\"}", &answer);
  g_assert_cmpuint (answer.status, ==, 201);
  return g_strdup (json_object_get_string_member (json_node_get_object (answer.body), "run_id"));
}

static void
test_server_runs (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *deep = deep_json ();
  g_autofree char *inside = g_strdup_printf ("{\"goal\": \"x\", \"options\": %s}", deep);
  g_autofree char *run_id = NULL;
  g_auto(AicTestAnswer) first = { 0 };
  g_auto(AicTestAnswer) second = { 0 };

  post (f, "/api/runs", deep, &first);
  assert_refused (&first);
  /* Deep inside a well-formed object as well. */
  post (f, "/api/runs", inside, &second);
  assert_refused (&second);

  run_id = create_run (f);
  g_assert_nonnull (run_id);
}

/* ---- raw WebSockets ---- */

typedef struct
{
  SoupSession             *session;
  SoupWebsocketConnection *ws;
  GPtrArray               *seen;   /* char*, every text message */
} Socket;

static void
socket_message_cb (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *message,
                   Socket                  *socket)
{
  g_ptr_array_add (socket->seen, g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message)));
}

static void
socket_open (Socket     *socket,
             const char *base,
             const char *path)
{
  g_autofree char *url = g_strconcat (base, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  socket->session = aic_http_session_new (10);
  socket->seen = g_ptr_array_new_with_free_func (g_free);
  soup_session_websocket_connect_async (socket->session, message, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  socket->ws = soup_session_websocket_connect_finish (socket->session, result, &error);
  g_assert_no_error (error);
  /* The deep message is 200 KB; the server's own limit is what counts. */
  soup_websocket_connection_set_max_incoming_payload_size (socket->ws, 4 * 1024 * 1024);
  g_signal_connect (socket->ws, "message", G_CALLBACK (socket_message_cb), socket);
}

static void
socket_close (Socket *socket)
{
  if (socket->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (socket->ws, socket);
      if (soup_websocket_connection_get_state (socket->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (socket->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  g_clear_object (&socket->ws);
  g_clear_object (&socket->session);
  g_clear_pointer (&socket->seen, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Socket, socket_close)

typedef struct
{
  Socket     *socket;
  const char *needle;
} Seek;

static const char *
socket_find (Socket     *socket,
             const char *needle)
{
  for (guint i = 0; i < socket->seen->len; i++)
    if (strstr (g_ptr_array_index (socket->seen, i), needle) != NULL)
      return g_ptr_array_index (socket->seen, i);
  return NULL;
}

static gboolean
seek_done (gpointer data)
{
  Seek *seek = data;

  return socket_find (seek->socket, seek->needle) != NULL;
}

static const char *
socket_wait_for (Socket     *socket,
                 const char *needle)
{
  Seek seek = { socket, needle };

  aic_test_wait_for (seek_done, &seek, 10000);
  return socket_find (socket, needle);
}

/* The error message the server sent back, read as JSON. */
static void
assert_error_message (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = aic_json_parse_data (text, -1, &error);
  JsonObject *object;

  g_assert_no_error (error);
  object = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "error");
  if (json_object_has_member (object, "error"))
    object = json_object_get_object_member (object, "error");
  assert_depth_error (json_object_get_string_member (object, "message"));
}

static void
test_server_voice (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *deep = deep_json ();
  g_auto(Socket) hostile = { 0 };
  g_auto(Socket) second = { 0 };

  socket_open (&hostile, f->url, "/api/voice");
  g_assert_nonnull (socket_wait_for (&hostile, "session.created"));
  soup_websocket_connection_send_text (hostile.ws, deep);
  assert_error_message (socket_wait_for (&hostile, "nested more than"));
  /* The connection itself is still good. */
  g_assert_cmpint (soup_websocket_connection_get_state (hostile.ws), ==, SOUP_WEBSOCKET_STATE_OPEN);

  socket_open (&second, f->url, "/api/voice");
  g_assert_nonnull (socket_wait_for (&second, "session.created"));
  assert_chat_works (f);
}

static void
test_server_agent (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *deep = deep_json ();
  g_autofree char *run_id = create_run (f);
  g_autofree char *path = g_strconcat ("/ws/runs/", run_id, NULL);
  g_auto(Socket) hostile = { 0 };
  g_auto(Socket) second = { 0 };

  socket_open (&hostile, f->url, path);
  soup_websocket_connection_send_text (hostile.ws, deep);
  assert_error_message (socket_wait_for (&hostile, "nested more than"));

  /* The run and the server go on: another client of the same run is told
   * what the run does, and a new run can be made. */
  socket_open (&second, f->url, path);
  g_assert_nonnull (socket_wait_for (&second, "\"type\""));
  g_assert_null (socket_find (&second, "nested more than"));
  g_free (create_run (f));
}

/* ---- a hostile server against the clients ---- */

typedef struct
{
  SoupServer *server;
  char       *url;
  char       *deep;
} Hostile;

static gboolean
close_later_cb (gpointer data)
{
  if (soup_websocket_connection_get_state (data) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (data, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  return G_SOURCE_REMOVE;
}

static void
hostile_ws_cb (SoupServer              *server,
               SoupServerMessage       *message,
               const char              *path,
               SoupWebsocketConnection *connection,
               gpointer                 user_data)
{
  Hostile *hostile = user_data;

  soup_websocket_connection_send_text (connection, hostile->deep);
  /* Then gone, once the message is surely out, so that a client that
   * keeps waiting gives up. */
  g_timeout_add_full (G_PRIORITY_DEFAULT, 300, close_later_cb, g_object_ref (connection), g_object_unref);
}

static void
hostile_http_cb (SoupServer        *server,
                 SoupServerMessage *message,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  Hostile *hostile = user_data;

  if (g_str_equal (path, "/api/health"))
    aic_test_reply (message, 200, "application/json", hostile->deep);
  else if (g_str_equal (path, "/api/chat/stream"))
    {
      g_autofree char *events = g_strdup_printf ("event: token\ndata: %s\n\n", hostile->deep);

      aic_test_reply (message, 200, "text/event-stream", events);
    }
  else
    aic_test_reply (message, 500, "application/json", hostile->deep);
}

static void
hostile_setup (Hostile       *h,
               gconstpointer  data)
{
  h->deep = deep_json ();
  h->server = aic_test_server_new (&h->url);
  soup_server_add_websocket_handler (h->server, "/api/voice", NULL, NULL, hostile_ws_cb, h, NULL);
  soup_server_add_handler (h->server, NULL, hostile_http_cb, h, NULL);
}

static void
hostile_teardown (Hostile       *h,
                  gconstpointer  data)
{
  soup_server_disconnect (h->server);
  g_clear_object (&h->server);
  g_free (h->url);
  g_free (h->deep);
}

static AicClient *
hostile_client (Hostile *h)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "hostile", AIC_CONNECTION_KIND_CONSOLE, h->url);

  return aic_client_new (connection, NULL);
}

static void
test_client_health (Hostile       *h,
                    gconstpointer  data)
{
  g_autoptr(AicClient) client = hostile_client (h);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = NULL;

  aic_client_check_async (client, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  info = aic_client_check_finish (client, result, &error);
  g_assert_null (info);
  /* A health answer that cannot be read means "not a backend". */
  g_assert_error (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER);
  assert_depth_error (error->message);
}

static void
test_client_chat (Hostile       *h,
                  gconstpointer  data)
{
  g_autoptr(AicClient) client = hostile_client (h);
  g_autoptr(AicChatStream) stream = aic_chat_stream_new (client);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_chat_stream_set_max_resumes (stream, 0);
  aic_chat_stream_add_turn (stream, "user", "Hello");
  aic_chat_stream_run_async (stream, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_false (aic_chat_stream_run_finish (stream, result, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
  assert_depth_error (error->message);
}

static void
voice_error_cb (AicVoiceSession *session,
                const char      *text,
                char           **out)
{
  if (*out == NULL)
    *out = g_strdup (text);
}

static gboolean
have_text (gpointer data)
{
  return *(char **) data != NULL;
}

static void
test_client_voice (Hostile       *h,
                   gconstpointer  data)
{
  g_autoptr(AicClient) client = hostile_client (h);
  g_autoptr(AicVoiceSession) session = aic_voice_session_new (client, "/api/voice");
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *said = NULL;

  aic_voice_session_set_reconnect (session, 0, 100);
  g_signal_connect (session, "server-error", G_CALLBACK (voice_error_cb), &said);
  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_for (have_text, &said, 10000);
  assert_depth_error (said);
  aic_test_wait_result (&result, 10000);
  aic_voice_session_close (session);
}

/* ---- the CLI against the hostile server ---- */

typedef struct
{
  GSubprocess *process;
  char        *out;
  char        *err;
  gboolean     done;
} Cli;

static void
cli_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Cli *cli = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &cli->out, &cli->err, &error);
  g_assert_no_error (error);
  cli->done = TRUE;
}

static gboolean
cli_finished (gpointer data)
{
  return ((Cli *) data)->done;
}

/* Runs the CLI with @argv (after the program) while this process keeps
 * serving; returns its exit status, which must be an exit, not a signal. */
static int
run_cli (const char * const *args,
         char              **out_err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  Cli cli = { 0 };
  int status;

  g_ptr_array_add (argv, (gpointer) AIC_CLI_PATH);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* This test is about crashes. Under AddressSanitizer, leaks are not
   * checked in the CLI here: GLib leaks its quark table on purpose each
   * time it grows (readers may still hold the old one), which the voice
   * command's GStreamer does, and that block has no stack to suppress. */
  if (g_getenv ("ASAN_OPTIONS") != NULL)
    g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1", TRUE);
  cli.process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (cli.process, NULL, NULL, cli_done_cb, &cli);
  aic_test_wait_for (cli_finished, &cli, 60000);

  if (!g_subprocess_get_if_exited (cli.process))
    g_test_message ("CLI killed by signal %d, stderr: %s", g_subprocess_get_term_sig (cli.process), cli.err);
  g_assert_true (g_subprocess_get_if_exited (cli.process));
  status = g_subprocess_get_exit_status (cli.process);
  g_test_message ("CLI status %d, stderr: %s", status, cli.err);
  *out_err = g_steal_pointer (&cli.err);
  g_free (cli.out);
  g_clear_object (&cli.process);
  return status;
}

static void
test_cli_health (Hostile       *h,
                 gconstpointer  data)
{
  const char *args[] = { "health", "--url", h->url, NULL };
  g_autofree char *err = NULL;

  g_assert_cmpint (run_cli (args, &err), !=, 0);
  assert_depth_error (err);
}

static void
test_cli_chat (Hostile       *h,
               gconstpointer  data)
{
  const char *args[] = { "chat", "--url", h->url, "--quiet", "Hello", NULL };
  g_autofree char *err = NULL;

  g_assert_cmpint (run_cli (args, &err), !=, 0);
  assert_depth_error (err);
}

static void
test_cli_voice (Hostile       *h,
                gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-hostile-voice-XXXXXX", NULL);
  g_autofree char *input = g_build_filename (dir, "in.wav", NULL);
  g_autofree char *output = g_build_filename (dir, "out.wav", NULL);
  g_autoptr(GBytes) silence = g_bytes_new_take (g_malloc0 (24000 * 2 / 2), 24000 * 2 / 2);
  g_autoptr(GBytes) wav = aic_pcm_wav_bytes (silence);
  const char *args[] = { "voice", "--url", h->url, "--input", input, "--output", output, "--fast", NULL };
  g_autofree char *err = NULL;

  g_assert_true (g_file_set_contents (input, g_bytes_get_data (wav, NULL), g_bytes_get_size (wav), NULL));
  run_cli (args, &err);
  assert_depth_error (err);
  aic_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define SERVER(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define HOSTILE(path, func) g_test_add (path, Hostile, NULL, hostile_setup, func, hostile_teardown)
  SERVER ("/hostile-json/server/chat", test_server_chat);
  SERVER ("/hostile-json/server/runs", test_server_runs);
  SERVER ("/hostile-json/server/voice", test_server_voice);
  SERVER ("/hostile-json/server/agent", test_server_agent);
  HOSTILE ("/hostile-json/client/health", test_client_health);
  HOSTILE ("/hostile-json/client/chat", test_client_chat);
  HOSTILE ("/hostile-json/client/voice", test_client_voice);
  HOSTILE ("/hostile-json/cli/health", test_cli_health);
  HOSTILE ("/hostile-json/cli/chat", test_cli_chat);
  HOSTILE ("/hostile-json/cli/voice", test_cli_voice);
#undef SERVER
#undef HOSTILE

  return g_test_run ();
}
