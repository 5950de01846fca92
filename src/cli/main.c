/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <locale.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gunixinputstream.h>

#include "aic-agent-run.h"
#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-chat-stream.h"
#include "aic-error.h"
#include "aic-client.h"
#include "aic-control-filter.h"
#include "aic-http.h"
#include "aic-job-manager.h"
#include "aic-json.h"
#include "aic-sse-client.h"
#include "aic-sse-parser.h"
#include "aic-store.h"
#include "aic-voice-call.h"
#include "aic-voice-session.h"
#include "aic-session.h"

/* ai-console-cli: the app's client code for terminals and scripts. Results
 * go to stdout, progress and errors to stderr; exit 0 on success, 1 on a
 * failed request, 2 on a usage error. */

typedef int (*CommandFunc) (int argc, char **argv);

typedef struct
{
  const char  *name;
  CommandFunc  func;
  const char  *summary;
} Command;

static int cmd_health (int argc, char **argv);
static int cmd_sse (int argc, char **argv);
static int cmd_chat (int argc, char **argv);
static int cmd_analyze (int argc, char **argv);
static int cmd_voice (int argc, char **argv);
static int cmd_agent (int argc, char **argv);

static const Command commands[] = {
  { "health", cmd_health, N_("Ask a console backend about itself and print its answer as JSON") },
  { "sse",    cmd_sse,    N_("Print each event of an event stream as one line of JSON") },
  { "chat",   cmd_chat,   N_("Send a prompt and print the reply as it arrives") },
  { "analyze", cmd_analyze, N_("Send documents, follow their jobs and print the summaries") },
  { "voice",  cmd_voice,  N_("Hold a spoken conversation with a WAV file as the microphone") },
  { "agent",  cmd_agent,  N_("Start an agent run, answer its requests and print its result") },
};

typedef struct
{
  GMainLoop *loop;
  AicServiceInfo *info;
  GError *error;
} Wait;

static void
check_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Wait *wait = user_data;

  wait->info = aic_client_check_finish (AIC_CLIENT (object), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

/* Parses a command's options; says why and returns FALSE when they are wrong. */
static gboolean
parse_options (int                *argc,
               char             ***argv,
               const GOptionEntry *entries,
               const char         *parameters,
               const char         *description)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameters);
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (description != NULL)
    g_option_context_set_description (context, description);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

/* --token-file or $AI_CONSOLE_TOKEN keep the token out of the process
 * list (/proc/PID/cmdline), where --token shows it to every user of the
 * machine; --token stays for compatibility. */
static gboolean
token_resolve (char       **token,
               const char  *token_file)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  if (token_file == NULL)
    {
      if (*token == NULL)
        *token = g_strdup (g_getenv ("AI_CONSOLE_TOKEN"));
      return TRUE;
    }
  if (*token != NULL)
    {
      g_printerr (_("Give either --token or --token-file, not both.\n"));
      return FALSE;
    }
  if (!g_file_get_contents (token_file, &contents, NULL, &error))
    {
      g_printerr (_("Error: %s\n"), error->message);
      return FALSE;
    }
  /* Written by hand or by the server: a trailing newline is not part of it. */
  g_strstrip (contents);
  if (contents[0] == '\0')
    {
      g_printerr (_("The token file “%s” is empty.\n"), token_file);
      return FALSE;
    }
  *token = g_steal_pointer (&contents);
  return TRUE;
}

#define TOKEN_FILE_ENTRY(variable) \
  { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &(variable), N_("Read the bearer token from FILE (preferred: unlike --token, not visible to other users)"), N_("FILE") }

/* Where analyze, voice and agent go: an AI Console server at --url, or,
 * with --kind openai|anthropic, the built-in backend run in this process
 * with that provider as its engine: the same path as the app's. */
typedef struct
{
  char       *url;
  char       *token;
  char       *token_file;
  char       *kind;
  char       *model;
  char       *key_env;
  char       *speech_url;
  char       *speech_key_env;
  AicSession *session;
} Target;

#define TARGET_ENTRIES(target) \
  { "url", 0, 0, G_OPTION_ARG_STRING, &(target).url, N_("Base URL of the backend, or of the provider with --kind"), N_("URL") }, \
  { "token", 0, 0, G_OPTION_ARG_STRING, &(target).token, N_("Bearer token or key (default: $AI_CONSOLE_TOKEN); other users can see it in the process list"), N_("TOKEN") }, \
  TOKEN_FILE_ENTRY ((target).token_file), \
  { "kind", 0, 0, G_OPTION_ARG_STRING, &(target).kind, N_("console (an AI Console server, the default), or openai or anthropic (a provider, driven by a built-in backend run here)"), N_("KIND") }, \
  { "api-key-env", 0, 0, G_OPTION_ARG_STRING, &(target).key_env, N_("Take the provider’s key from this environment variable"), N_("VAR") }

static void
target_clear (Target *target)
{
  g_clear_pointer (&target->url, g_free);
  g_clear_pointer (&target->token, g_free);
  g_clear_pointer (&target->token_file, g_free);
  g_clear_pointer (&target->kind, g_free);
  g_clear_pointer (&target->model, g_free);
  g_clear_pointer (&target->key_env, g_free);
  g_clear_pointer (&target->speech_url, g_free);
  g_clear_pointer (&target->speech_key_env, g_free);
  if (target->session != NULL)
    aic_session_shutdown (target->session);
  g_clear_object (&target->session);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Target, target_clear)

static gboolean
key_from_environment (const char  *variable,
                      char       **key)
{
  const char *value;

  if (variable == NULL)
    return TRUE;
  value = g_getenv (variable);
  if (value == NULL)
    {
      g_printerr (_("The environment variable %s is not set.\n"), variable);
      return FALSE;
    }
  g_free (*key);
  *key = g_strdup (value);
  return TRUE;
}

static void
session_ready_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Wait *wait = user_data;

  aic_session_wait_finish (AIC_SESSION (object), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

/* Checks the target's options; 0 when they are fine, else the exit status. */
static int
target_check (Target *target)
{
  AicConnectionKind kind = AIC_CONNECTION_KIND_CONSOLE;
  g_autoptr(GError) error = NULL;

  if (target->kind != NULL && !aic_connection_kind_from_string (target->kind, &kind))
    {
      g_printerr (_("Unknown kind “%s”: use console, openai or anthropic.\n"), target->kind);
      return 2;
    }
  if (!aic_connection_check_url (target->url, &error) ||
      (target->speech_url != NULL && !aic_connection_check_url (target->speech_url, &error)))
    {
      g_printerr (_("Error: %s\n"), error->message);
      return 2;
    }
  if (!token_resolve (&target->token, target->token_file) ||
      !key_from_environment (target->key_env, &target->token))
    return 2;
  return 0;
}

/**
 * target_connect:
 * Returns: (transfer full) (nullable): a client of the AI Console backend
 *   to use; %NULL, said on stderr, when the built-in one could not start
 */
static AicClient *
target_connect (Target *target)
{
  AicConnectionKind kind = AIC_CONNECTION_KIND_CONSOLE;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicConnection) speech = NULL;
  g_autofree char *speech_key = NULL;
  g_autofree char *data_dir = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  Wait wait = { 0 };

  if (target->kind != NULL)
    aic_connection_kind_from_string (target->kind, &kind);

  if (kind == AIC_CONNECTION_KIND_CONSOLE)
    {
      /* The URL is the connection's identity: analyze --resume takes up
       * only the jobs that went to the same server. */
      connection = aic_connection_new (target->url, "cli", AIC_CONNECTION_KIND_CONSOLE, target->url);
      aic_connection_set_model (connection, target->model);
      return aic_client_new (connection, target->token);
    }

  connection = aic_connection_new (NULL, aic_connection_kind_get_label (kind), kind, target->url);
  aic_connection_set_model (connection, target->model);
  if (target->speech_url != NULL)
    {
      speech = aic_connection_new (NULL, target->speech_url, AIC_CONNECTION_KIND_OPENAI, target->speech_url);
      if (!key_from_environment (target->speech_key_env, &speech_key))
        return NULL;
    }

  data_dir = g_build_filename (g_get_user_data_dir (), "ai-console", "cli-builtin", NULL);
  target->session = aic_session_new (data_dir);
  aic_session_use (target->session, connection, target->token, speech, speech_key);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  aic_session_wait_async (target->session, NULL, session_ready_cb, &wait);
  g_main_loop_run (loop);
  if (wait.error != NULL)
    {
      g_printerr (_("Error: %s\n"), wait.error->message);
      g_error_free (wait.error);
      return NULL;
    }
  return g_object_ref (aic_session_get_backend_client (target->session));
}

static char *
usage_text (void)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, _("Usage:\n  %s COMMAND [OPTION…]\n\n"), g_get_prgname ());
  g_string_append (text, _("Commands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  g_string_append_printf (text, _("\nRun “%s COMMAND --help” for a command’s options.\n"), g_get_prgname ());
  return g_string_free (text, FALSE);
}

static int
cmd_health (int    argc,
            char **argv)
{
  g_autofree char *url = NULL;
  g_autofree char *token = NULL;
  g_autofree char *token_file = NULL;
  int timeout = 30;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, N_("Base URL of the backend, such as http://127.0.0.1:8765"), N_("URL") },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, N_("Bearer token (default: $AI_CONSOLE_TOKEN); other users can see it in the process list"), N_("TOKEN") },
    TOKEN_FILE_ENTRY (token_file),
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Seconds to wait for an answer (default 30)"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *json = NULL;
  Wait wait = { 0 };

  if (!parse_options (&argc, &argv, entries, _("— ask a backend about itself"),
                      NULL))
    return 2;
  if (url == NULL)
    {
      g_printerr (_("health needs --url URL.\n"));
      return 2;
    }
  if (timeout <= 0)
    {
      g_printerr (_("--timeout must be a positive number of seconds.\n"));
      return 2;
    }
  if (!token_resolve (&token, token_file))
    return 2;

  connection = aic_connection_new (NULL, "cli", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, token);
  aic_client_set_timeout (client, timeout);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  aic_client_check_async (client, NULL, check_cb, &wait);
  g_main_loop_run (loop);

  if (wait.info == NULL)
    {
      g_printerr (_("Error: %s\n"), wait.error->message);
      g_error_free (wait.error);
      return 1;
    }

  json = aic_json_to_string (wait.info->raw, TRUE);
  g_print ("%s\n", json);
  aic_service_info_free (wait.info);
  return 0;
}

/* ---- sse ---- */

static void
print_event (const char *type,
             const char *data,
             gsize       data_len,
             const char *id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *line = NULL;
  g_autofree char *data_copy = g_strndup (data, data_len);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "data");
  json_builder_add_string_value (builder, data_copy);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  line = aic_json_to_string (root, FALSE);
  g_print ("%s\n", line);
  fflush (stdout);
}

static void
on_stdin_event (gpointer           user_data,
                const AicSseEvent *event)
{
  print_event (event->type, event->data, event->data_len, event->id);
}

static int
sse_from_stdin (gsize max_line,
                gsize max_event)
{
  static const AicSseCallbacks callbacks = { on_stdin_event, NULL, NULL };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, NULL);
  g_autoptr(GError) error = NULL;
  char buffer[65536];
  ssize_t n;

  aic_sse_parser_set_limits (parser, max_line, max_event);
  while ((n = read (STDIN_FILENO, buffer, sizeof buffer)) > 0)
    if (!aic_sse_parser_feed (parser, buffer, n, &error))
      {
        g_printerr (_("Error: %s\n"), error->message);
        return 1;
      }
  if (n < 0)
    {
      g_printerr (_("Error: could not read the standard input: %s\n"), g_strerror (errno));
      return 1;
    }
  aic_sse_parser_finish (parser, FALSE, NULL);
  return 0;
}

typedef struct
{
  GMainLoop *loop;
  GError *error;
  gboolean ok;
} RunWait;

static void
on_client_event (AicSseClient *client,
                 const char   *type,
                 const char   *data,
                 const char   *id,
                 gpointer      user_data)
{
  print_event (type, data, strlen (data), id);
}

static void
sse_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  RunWait *wait = user_data;

  wait->ok = aic_sse_client_run_finish (AIC_SSE_CLIENT (object), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

static gboolean
cancel_on_signal (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static int
cmd_sse (int    argc,
         char **argv)
{
  g_autofree char *method = NULL;
  g_autofree char *data = NULL;
  g_auto(GStrv) header_args = NULL;
  int reconnect = 0, idle = 90, max_line = AIC_SSE_DEFAULT_MAX_LINE, max_event = AIC_SSE_DEFAULT_MAX_EVENT;
  const GOptionEntry entries[] = {
    { "method", 'X', 0, G_OPTION_ARG_STRING, &method, N_("HTTP method (default GET, or POST with --data)"), N_("METHOD") },
    { "data", 'd', 0, G_OPTION_ARG_STRING, &data, N_("Request body, sent as JSON"), N_("JSON") },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &header_args, N_("Extra request header (repeatable)"), N_("“NAME: VALUE”") },
    { "reconnect", 0, 0, G_OPTION_ARG_INT, &reconnect, N_("Reconnect with Last-Event-ID up to N times in a row (default 0)"), "N" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle, N_("Give up after this many silent seconds (default 90)"), N_("SECONDS") },
    { "max-line", 0, 0, G_OPTION_ARG_INT, &max_line, N_("Longest line accepted, in bytes"), N_("BYTES") },
    { "max-event", 0, 0, G_OPTION_ARG_INT, &max_event, N_("Largest event accepted, in bytes"), N_("BYTES") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(AicSseClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  RunWait wait = { 0 };

  if (!parse_options (&argc, &argv, entries, _("URL|- — print the events of a stream"),
                      _("Each event is printed as {\"event\": …, \"data\": …, \"id\": …}; \"-\" reads the stream from the standard input.")))
    return 2;
  if (argc != 2)
    {
      g_printerr (_("sse needs one URL, or - for the standard input.\n"));
      return 2;
    }
  if (max_line <= 0 || max_event <= 0 || idle < 0 || reconnect < 0)
    {
      g_printerr (_("Limits and timeouts must be positive numbers.\n"));
      return 2;
    }

  if (g_str_equal (argv[1], "-"))
    return sse_from_stdin (max_line, max_event);

  if (method == NULL)
    method = g_strdup (data ? "POST" : "GET");
  message = soup_message_new (method, argv[1]);
  if (message == NULL)
    {
      g_printerr (_("“%s” is not a web address.\n"), argv[1]);
      return 2;
    }
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  for (guint i = 0; header_args != NULL && header_args[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (header_args[i], ":", 2);

      if (parts[0] == NULL || parts[1] == NULL)
        {
          g_printerr (_("A header looks like “Name: value”, not “%s”.\n"), header_args[i]);
          return 2;
        }
      soup_message_headers_append (soup_message_get_request_headers (message),
                                   g_strstrip (parts[0]), g_strstrip (parts[1]));
    }

  session = aic_http_session_new (0);
  client = aic_sse_client_new (session, message);
  if (data != NULL)
    {
      g_autoptr(GBytes) body = g_bytes_new (data, strlen (data));
      aic_sse_client_set_request_body (client, "application/json", body);
    }
  aic_sse_client_set_reconnect (client, reconnect, NULL, NULL, NULL);
  aic_sse_client_set_idle_timeout (client, idle);
  aic_sse_client_set_limits (client, max_line, max_event);
  g_signal_connect (client, "event", G_CALLBACK (on_client_event), NULL);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  g_unix_signal_add (SIGINT, cancel_on_signal, cancellable);
  aic_sse_client_run_async (client, cancellable, sse_done_cb, &wait);
  g_main_loop_run (loop);

  if (!wait.ok)
    {
      gboolean interrupted = g_error_matches (wait.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

      if (!interrupted)
        g_printerr (_("Error: %s\n"), wait.error->message);
      g_error_free (wait.error);
      return interrupted ? 130 : 1;
    }
  return 0;
}

/* ---- what models and servers wrote, on the standard output ---- */

/* On a terminal, text from a model or a server could carry escape
 * sequences that move the cursor, retitle the window or write the
 * clipboard (OSC 52); they are removed there. Into a pipe or a file the
 * text goes as it came, for scripts. */
static gboolean
stdout_is_terminal (void)
{
  return isatty (STDOUT_FILENO);
}

static char *
for_stdout (const char *text)
{
  if (text == NULL)
    return g_strdup ("");
  return stdout_is_terminal () ? aic_control_strip (text, TRUE) : g_strdup (text);
}

/* ---- chat ---- */

static void
on_token (AicChatStream *stream,
          const char    *text,
          gpointer       user_data)
{
  AicControlFilter *filter = user_data;

  if (filter != NULL)
    {
      g_autoptr(GString) clean = g_string_new (NULL);

      aic_control_filter_feed (filter, text, clean);
      fputs (clean->str, stdout);
    }
  else
    fputs (text, stdout);
  fflush (stdout);
}

static void
chat_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  RunWait *wait = user_data;

  wait->ok = aic_chat_stream_run_finish (AIC_CHAT_STREAM (object), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

static gboolean
stop_on_signal (gpointer data)
{
  aic_chat_stream_stop (data);
  return G_SOURCE_CONTINUE;   /* removed by cmd_chat() when the run ends */
}

static char *
read_all_stdin (void)
{
  GString *text = g_string_new (NULL);
  char buffer[4096];
  ssize_t n;

  while ((n = read (STDIN_FILENO, buffer, sizeof buffer)) > 0)
    g_string_append_len (text, buffer, n);
  return g_string_free (text, FALSE);
}

static int
cmd_chat (int    argc,
          char **argv)
{
  g_autofree char *url = NULL;
  g_autofree char *kind_name = NULL;
  g_autofree char *model = NULL;
  g_autofree char *token = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *key_env = NULL;
  g_autofree char *system = NULL;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, N_("Base URL of the server"), N_("URL") },
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind_name, N_("console, openai or anthropic (default console)"), N_("KIND") },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, N_("The model to use"), N_("MODEL") },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, N_("Key or token (default: $AI_CONSOLE_TOKEN); other users can see it in the process list"), N_("TOKEN") },
    TOKEN_FILE_ENTRY (token_file),
    { "api-key-env", 0, 0, G_OPTION_ARG_STRING, &key_env, N_("Take the key from this environment variable"), N_("VAR") },
    { "system", 's', 0, G_OPTION_ARG_STRING, &system, N_("A system prompt"), N_("TEXT") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print no statistics on the standard error"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicChatStream) stream = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *prompt = NULL;
  AicConnectionKind kind = AIC_CONNECTION_KIND_CONSOLE;
  RunWait wait = { 0 };
  AicControlFilter filter;
  guint signal_source;

  if (!parse_options (&argc, &argv, entries, _("PROMPT|- — print a model’s reply"),
                      _("The reply goes to the standard output as it arrives; progress and errors to the standard error. Exit status 0 means a complete reply.")))
    return 2;
  if (url == NULL || argc != 2)
    {
      g_printerr (_("chat needs --url URL and one PROMPT (or - to read it from the standard input).\n"));
      return 2;
    }
  if (kind_name != NULL && !aic_connection_kind_from_string (kind_name, &kind))
    {
      g_printerr (_("Unknown kind “%s”: use console, openai or anthropic.\n"), kind_name);
      return 2;
    }
  if (!token_resolve (&token, token_file) ||
      !key_from_environment (key_env, &token))
    return 2;

  prompt = g_str_equal (argv[1], "-") ? read_all_stdin () : g_strdup (argv[1]);
  if (g_strstrip (prompt)[0] == '\0')
    {
      g_printerr (_("The prompt is empty.\n"));
      return 2;
    }

  connection = aic_connection_new (NULL, "cli", kind, url);
  if (!aic_connection_check_url (url, &error))
    {
      g_printerr (_("Error: %s\n"), error->message);
      return 2;
    }
  client = aic_client_new (connection, token);
  stream = aic_chat_stream_new (client);
  if (system != NULL)
    aic_chat_stream_add_turn (stream, "system", system);
  aic_chat_stream_add_turn (stream, "user", prompt);
  aic_chat_stream_set_model (stream, model);
  /* Tokens may split an escape sequence: one filter for the whole reply. */
  aic_control_filter_init (&filter, TRUE);
  g_signal_connect (stream, "token", G_CALLBACK (on_token), stdout_is_terminal () ? &filter : NULL);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  signal_source = g_unix_signal_add (SIGINT, stop_on_signal, stream);
  aic_chat_stream_run_async (stream, NULL, chat_done_cb, &wait);
  g_main_loop_run (loop);
  g_source_remove (signal_source);

  if (aic_chat_stream_get_text (stream)[0] != '\0' &&
      !g_str_has_suffix (aic_chat_stream_get_text (stream), "\n"))
    g_print ("\n");

  if (!wait.ok)
    {
      gboolean interrupted = g_error_matches (wait.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

      g_printerr (interrupted ? _("Stopped.\n") : _("Error: %s\n"), wait.error->message);
      g_error_free (wait.error);
      return interrupted ? 130 : 1;
    }

  if (!quiet)
    {
      gint64 first = aic_chat_stream_get_first_token_us (stream);
      gint64 duration = aic_chat_stream_get_duration_us (stream);
      guint n = aic_chat_stream_get_n_tokens (stream);
      double rate = duration > first && first >= 0 ? n / ((duration - first) / 1e6) : 0;

      /* Translators: statistics after a reply: model, pieces of text, time to first token, speed */
      g_printerr (_("[%s · %u tokens · first after %.2f s · %.1f tokens/s · %s]\n"),
                  aic_chat_stream_get_model (stream) ? aic_chat_stream_get_model (stream) : "?",
                  n, first >= 0 ? first / 1e6 : 0.0, rate,
                  aic_chat_stream_get_finish_reason (stream) ? aic_chat_stream_get_finish_reason (stream) : "stop");
    }
  return 0;
}

/* ---- analyze ---- */

typedef struct
{
  GMainLoop     *loop;
  AicJobManager *manager;
  gboolean       json;
  guint          failed;
  gboolean       interrupted;
} AnalyzeRun;

static void
print_progress (AicJob     *job,
                GParamSpec *pspec,
                gpointer    user_data)
{
  g_autofree char *line = NULL;
  char *last = g_object_get_data (G_OBJECT (job), "cli-last-line");

  if (aic_job_is_finished (job))
    return;
  if (aic_job_get_paused (job))
    /* Translators: a document job waits; %s is why */
    line = g_strdup_printf (_("%s: waiting — %s"), aic_job_get_filename (job), aic_job_get_pause_reason (job));
  else
    line = g_strdup_printf ("%s: %3d%% %s", aic_job_get_filename (job), aic_job_get_progress (job),
                            aic_job_get_message (job) ? aic_job_get_message (job)
                                                      : aic_job_status_to_string (aic_job_get_status (job)));
  if (g_strcmp0 (last, line) == 0)
    return;
  g_printerr ("%s\n", line);
  g_object_set_data_full (G_OBJECT (job), "cli-last-line", g_steal_pointer (&line), g_free);
}

static void
print_result (AnalyzeRun *run,
              AicJob     *job)
{
  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *result = aic_job_dup_result_json (job);
      g_autofree char *text = NULL;
      g_autofree char *shown = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, aic_job_get_filename (job));
      json_builder_set_member_name (builder, "job_id");
      json_builder_add_string_value (builder, aic_job_get_remote_id (job));
      json_builder_set_member_name (builder, "status");
      json_builder_add_string_value (builder, aic_job_status_to_string (aic_job_get_status (job)));
      json_builder_set_member_name (builder, "result");
      if (result != NULL && aic_job_get_status (job) == AIC_JOB_DONE)
        {
          g_autoptr(GBytes) bytes = g_bytes_new_static (result, strlen (result));
          json_builder_add_value (builder, aic_json_parse_bytes (bytes, NULL));
        }
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "error");
      if (aic_job_get_error (job) != NULL)
        json_builder_add_string_value (builder, aic_job_get_error (job));
      else
        json_builder_add_null_value (builder);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      text = aic_json_to_string (root, FALSE);
      shown = for_stdout (text);
      g_print ("%s\n", shown);
      return;
    }

  if (aic_job_get_status (job) == AIC_JOB_DONE)
    {
      g_autofree char *markdown = aic_job_dup_markdown (job);
      g_autofree char *shown_markdown = for_stdout (markdown);

      g_print ("%s\n", shown_markdown);
    }
}

static void
job_finished_cb (AicJobManager *manager,
                 AicJob        *job,
                 AnalyzeRun    *run)
{
  switch (aic_job_get_status (job))
    {
    case AIC_JOB_DONE:
      g_printerr (_("%s: done\n"), aic_job_get_filename (job));
      break;
    case AIC_JOB_CANCELLED:
      run->failed++;
      g_printerr (_("%s: cancelled\n"), aic_job_get_filename (job));
      break;
    default:
      run->failed++;
      g_printerr (_("%s: failed — %s\n"), aic_job_get_filename (job),
                  aic_job_get_error (job) ? aic_job_get_error (job) : _("no reason given"));
      break;
    }
  print_result (run, job);
  if (aic_job_manager_get_n_active (manager) == 0)
    g_main_loop_quit (run->loop);
}

static gboolean
analyze_interrupt (gpointer data)
{
  AnalyzeRun *run = data;

  run->interrupted = TRUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

static void
watch_jobs (AnalyzeRun *run)
{
  GListModel *jobs = aic_job_manager_get_jobs (run->manager);

  for (guint i = 0; i < g_list_model_get_n_items (jobs); i++)
    {
      g_autoptr(AicJob) job = g_list_model_get_item (jobs, i);

      if (g_object_get_data (G_OBJECT (job), "cli-watched") != NULL)
        continue;
      g_object_set_data (G_OBJECT (job), "cli-watched", GINT_TO_POINTER (TRUE));
      g_signal_connect (job, "notify", G_CALLBACK (print_progress), run);
    }
}

static int
cmd_analyze (int    argc,
             char **argv)
{
  g_auto(Target) target = { 0 };
  g_autofree char *instructions = NULL;
  gboolean json = FALSE, resume = FALSE;
  const GOptionEntry entries[] = {
    TARGET_ENTRIES (target),
    { "model", 'm', 0, G_OPTION_ARG_STRING, &target.model, N_("The provider’s model (default: its first)"), N_("MODEL") },
    { "instructions", 'i', 0, G_OPTION_ARG_STRING, &instructions, N_("What the summary should pay attention to"), N_("TEXT") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print each job’s result as one line of JSON"), NULL },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, N_("Also follow the jobs an earlier, interrupted run left unfinished"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicStore) store = NULL;
  g_autoptr(AicJobManager) manager = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *store_path = NULL;
  AnalyzeRun run = { 0 };
  guint signal_source;
  int status;

  if (!parse_options (&argc, &argv, entries, _("FILE… — summarise documents"),
                      _("Progress goes to the standard error, summaries to the standard output. "
                                               "Jobs are remembered: if this command is interrupted, run it again with "
                                               "--resume to follow them to the end. Exit status 0 means every job finished.")))
    return 2;
  if (target.url == NULL || (argc < 2 && !resume))
    {
      g_printerr (_("analyze needs --url URL and at least one FILE (or --resume).\n"));
      return 2;
    }
  if ((status = target_check (&target)) != 0)
    return status;
  for (int i = 1; i < argc; i++)
    if (!g_file_test (argv[i], G_FILE_TEST_IS_REGULAR))
      {
        g_printerr (_("“%s” is not a file.\n"), argv[i]);
        return 2;
      }

  store_path = aic_store_default_path ();
  store = aic_store_open (store_path, &error);
  if (store == NULL)
    {
      g_printerr (_("Error: %s\n"), error->message);
      return 1;
    }

  if ((client = target_connect (&target)) == NULL)
    return 1;
  manager = aic_job_manager_new (store, "cli");
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  run.manager = manager;
  run.json = json;
  g_signal_connect (manager, "job-finished", G_CALLBACK (job_finished_cb), &run);

  aic_job_manager_set_client (manager, client);
  if (resume)
    {
      if (!aic_job_manager_load (manager, TRUE, &error))
        {
          g_printerr (_("Error: %s\n"), error->message);
          return 1;
        }
      if (aic_job_manager_get_n_active (manager) > 0)
        g_printerr (_("Resuming %u unfinished job(s)\n"), aic_job_manager_get_n_active (manager));
      else if (argc < 2)
        {
          g_printerr (_("No unfinished jobs to resume for %s.\n"), target.url);
          return 0;
        }
    }

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (argv[i]);
      aic_job_manager_submit_file (manager, file, instructions);
    }
  watch_jobs (&run);

  signal_source = g_unix_signal_add (SIGINT, analyze_interrupt, &run);
  if (aic_job_manager_get_n_active (manager) > 0)
    g_main_loop_run (loop);
  g_source_remove (signal_source);

  if (run.interrupted)
    {
      g_printerr (_("Stopped. The jobs go on on the server; run again with --resume to follow them.\n"));
      return 130;
    }
  return run.failed > 0 ? 1 : 0;
}

/* ---- voice ---- */

typedef struct
{
  GMainLoop        *loop;
  AicVoiceSession  *session;
  AicAudioCapture  *capture;
  AicAudioPlayback *playback;      /* real-time output, or NULL with --fast */
  GByteArray       *reply_pcm;     /* --fast: the reply audio, written at the end */
  GString          *reply;
  gboolean          input_done;
  gboolean          response_active;
  guint             turns;
  guint             quiet_source;
  GError           *error;
} VoiceRun;

static gboolean
voice_quiet_cb (gpointer data)
{
  VoiceRun *run = data;

  run->quiet_source = 0;
  if (!run->response_active && (run->playback == NULL || !aic_audio_playback_is_playing (run->playback)))
    {
      g_main_loop_quit (run->loop);
      return G_SOURCE_REMOVE;
    }
  run->quiet_source = g_timeout_add (200, voice_quiet_cb, run);
  return G_SOURCE_REMOVE;
}

/* Done once the input is used up and nothing more is being said. */
static void
voice_maybe_done (VoiceRun *run)
{
  if (run->input_done && run->quiet_source == 0)
    run->quiet_source = g_timeout_add (1500, voice_quiet_cb, run);
}

static void
voice_input_done_cb (AicVoiceCall *call,
                     VoiceRun     *run)
{
  run->input_done = TRUE;
  voice_maybe_done (run);
}

static void
voice_capture_failed_cb (AicAudioCapture *capture,
                         GError          *error,
                         VoiceRun        *run)
{
  if (run->error == NULL)
    run->error = g_error_copy (error);
  g_main_loop_quit (run->loop);
}

static void
voice_user_cb (AicVoiceSession *session,
               const char      *text,
               VoiceRun        *run)
{
  g_autofree char *shown = for_stdout (text);

  /* Not translated: scripts read these prefixes. */
  g_print ("you: %s\n", shown);
}

static void
voice_reply_text_cb (AicVoiceSession *session,
                     const char      *text,
                     VoiceRun        *run)
{
  run->response_active = TRUE;
  g_string_append (run->reply, text);
}

static void
voice_reply_audio_cb (AicVoiceSession *session,
                      GBytes          *pcm,
                      VoiceRun        *run)
{
  run->response_active = TRUE;
  /* With a playback, the call plays it; with --fast it is kept here. */
  if (run->playback == NULL)
    g_byte_array_append (run->reply_pcm, g_bytes_get_data (pcm, NULL), g_bytes_get_size (pcm));
}

static void
voice_done_cb (AicVoiceSession *session,
               const char      *status,
               VoiceRun        *run)
{
  g_autofree char *shown = for_stdout (run->reply->str);

  run->response_active = FALSE;
  run->turns++;
  if (g_str_equal (status, "completed"))
    g_print ("assistant: %s\n", shown);
  else
    g_print ("assistant: %s [%s]\n", shown, status);
  g_string_truncate (run->reply, 0);
  voice_maybe_done (run);
}

static void
voice_server_error_cb (AicVoiceSession *session,
                       const char      *text,
                       VoiceRun        *run)
{
  /* No turn can ever be answered: say so once and stop. */
  if (g_strcmp0 (aic_voice_session_get_error_code (session), "no_speech_to_text") == 0)
    {
      if (run->error == NULL)
        run->error = g_error_new_literal (AIC_ERROR, AIC_ERROR_UNSUPPORTED, text);
      g_main_loop_quit (run->loop);
      return;
    }
  g_printerr (_("The voice server says: %s\n"), text);
}

static void
voice_disconnected_cb (AicVoiceSession *session,
                       GError          *error,
                       VoiceRun        *run)
{
  if (run->error == NULL)
    run->error = g_error_copy (error);
  g_main_loop_quit (run->loop);
}

static void
voice_connected_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  VoiceRun *run = user_data;
  GError *error = NULL;

  if (!aic_voice_session_connect_finish (AIC_VOICE_SESSION (object), result, &error) ||
      !aic_audio_capture_start (run->capture, &error))
    {
      run->error = error;
      g_main_loop_quit (run->loop);
    }
}

static void
voice_finished_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  VoiceRun *run = user_data;

  aic_audio_playback_finish_finish (AIC_AUDIO_PLAYBACK (object), result, run->error ? NULL : &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
voice_interrupt_cb (gpointer data)
{
  VoiceRun *run = data;

  if (run->error == NULL)
    run->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Stopped."));
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

static int
cmd_voice (int    argc,
           char **argv)
{
  g_auto(Target) target = { 0 };
  g_autofree char *input = NULL;
  g_autofree char *output = NULL;
  gboolean fast = FALSE, push_to_talk = FALSE;
  const GOptionEntry entries[] = {
    TARGET_ENTRIES (target),
    { "model", 'm', 0, G_OPTION_ARG_STRING, &target.model, N_("The provider’s model (default: its first)"), N_("MODEL") },
    { "speech-url", 0, 0, G_OPTION_ARG_STRING, &target.speech_url, N_("With --kind: an OpenAI-compatible server for speech to text and text to speech"), N_("URL") },
    { "speech-key-env", 0, 0, G_OPTION_ARG_STRING, &target.speech_key_env, N_("Take the speech server’s key from this environment variable"), N_("VAR") },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input, N_("A WAV file to use as the microphone"), N_("IN.wav") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Where to write the replies’ audio (WAV)"), N_("OUT.wav") },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &fast, N_("Send the input as fast as possible, not at the pace of speech"), NULL },
    { "push-to-talk", 0, 0, G_OPTION_ARG_NONE, &push_to_talk, N_("No turn detection on the server: the whole input is one turn"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  g_autoptr(AicAudioCapture) capture = NULL;
  g_autoptr(AicAudioPlayback) playback = NULL;
  g_autoptr(AicVoiceCall) call = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  VoiceRun run = { 0 };
  guint signal_source;
  int status = 0;

  if (!parse_options (&argc, &argv, entries, _("— a spoken conversation from a file"),
                      _("Transcripts of both sides go to the standard output. The command ends "
                                               "once the input is used up and the last reply has finished.")))
    return 2;
  if (target.url == NULL || input == NULL || output == NULL)
    {
      g_printerr (_("voice needs --url URL, --input IN.wav and --output OUT.wav.\n"));
      return 2;
    }
  if (!g_file_test (input, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr (_("“%s” is not a file.\n"), input);
      return 2;
    }
  if ((status = target_check (&target)) != 0)
    return status;
  if (!aic_audio_init (&error))
    {
      g_printerr (_("Error: %s\n"), error->message);
      return 2;
    }

  if ((client = target_connect (&target)) == NULL)
    return 1;
  session = aic_voice_session_new (client, "/api/voice");
  if (push_to_talk)
    aic_voice_session_set_turn_detection (session, FALSE, 0, 0, 0);
  capture = aic_audio_capture_new_file (input, !fast);
  loop = g_main_loop_new (NULL, FALSE);

  run.loop = loop;
  run.session = session;
  run.capture = capture;
  run.reply = g_string_new (NULL);
  run.reply_pcm = g_byte_array_new ();
  if (!fast)
    {
      playback = aic_audio_playback_new_file (output);
      if (!aic_audio_playback_start (playback, &error))
        {
          g_printerr (_("Error: %s\n"), error->message);
          return 1;
        }
      run.playback = playback;
    }

  call = aic_voice_call_new (session, capture, playback);
  g_signal_connect (call, "input-finished", G_CALLBACK (voice_input_done_cb), &run);
  g_signal_connect (capture, "failed", G_CALLBACK (voice_capture_failed_cb), &run);
  g_signal_connect (session, "user-transcript", G_CALLBACK (voice_user_cb), &run);
  g_signal_connect (session, "reply-transcript", G_CALLBACK (voice_reply_text_cb), &run);
  g_signal_connect (session, "reply-audio", G_CALLBACK (voice_reply_audio_cb), &run);
  g_signal_connect (session, "response-done", G_CALLBACK (voice_done_cb), &run);
  g_signal_connect (session, "server-error", G_CALLBACK (voice_server_error_cb), &run);
  g_signal_connect (session, "disconnected", G_CALLBACK (voice_disconnected_cb), &run);

  signal_source = g_unix_signal_add (SIGINT, voice_interrupt_cb, &run);
  aic_voice_session_connect_async (session, NULL, voice_connected_cb, &run);
  g_main_loop_run (loop);

  aic_audio_capture_stop (capture);
  if (run.error == NULL && push_to_talk && run.turns == 0)
    {
      /* The whole input was one turn: ask for the reply now. */
      aic_voice_session_commit (session);
      run.response_active = TRUE;
      g_main_loop_run (loop);
    }
  if (run.error == NULL && playback != NULL)
    {
      aic_audio_playback_finish_async (playback, NULL, voice_finished_cb, &run);
      g_main_loop_run (loop);
    }
  else if (run.error == NULL)
    {
      g_autoptr(GBytes) pcm = g_bytes_new (run.reply_pcm->data, run.reply_pcm->len);
      g_autoptr(GBytes) wav = aic_pcm_wav_bytes (pcm);

      if (!g_file_set_contents (output, g_bytes_get_data (wav, NULL), g_bytes_get_size (wav), &error))
        run.error = g_steal_pointer (&error);
    }
  g_source_remove (signal_source);
  g_clear_handle_id (&run.quiet_source, g_source_remove);
  aic_voice_session_close (session);

  if (run.error != NULL)
    {
      g_printerr (_("Error: %s\n"), run.error->message);
      g_error_free (run.error);
      status = 1;
    }
  else if (run.turns == 0)
    g_printerr (_("No turn was heard in the input.\n"));
  g_string_free (run.reply, TRUE);
  g_byte_array_unref (run.reply_pcm);
  return status;
}

/* ---- agent ---- */

typedef enum { APPROVE_ASK, APPROVE_YES, APPROVE_NO } ApproveMode;

typedef struct
{
  GMainLoop        *loop;
  AicAgentRun      *run;
  ApproveMode       mode;
  GDataInputStream *input;
  GCancellable     *input_cancellable;
  AicAgentRequest  *asking;
  gboolean          text_open;     /* streamed text without its newline yet */
  gboolean          reading;       /* a line is being read */
  GError           *error;
  gboolean          done;
} AgentRun;

static void
agent_end_text (AgentRun *run)
{
  if (run->text_open)
    g_printerr ("\n");
  run->text_open = FALSE;
}

static char *
one_line (const char *text)
{
  g_autofree char *copy = g_strdup (text);

  for (char *p = copy; *p != '\0'; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return g_strdup (g_strstrip (copy));
}

static void
agent_step_cb (AicAgentRun *agent, const char *name, AgentRun *run)
{
  g_autofree char *clean = aic_control_strip (name, FALSE);

  agent_end_text (run);
  g_printerr ("▸ %s\n", clean);
}

static void
agent_tool_call_cb (AicAgentRun *agent, const char *call_id, const char *name, const char *args, AgentRun *run)
{
  g_autoptr(JsonNode) node = aic_json_parse_mutable (args, -1, NULL);
  g_autofree char *compact = node ? aic_json_to_string (node, FALSE) : g_strdup (args);
  g_autofree char *joined = one_line (compact);
  g_autofree char *line = aic_control_strip (joined, FALSE);
  g_autofree char *clean_name = aic_control_strip (name, FALSE);

  agent_end_text (run);
  if (g_utf8_strlen (line, -1) > 200)
    {
      char *cut = g_utf8_offset_to_pointer (line, 199);

      strcpy (cut, "…");
    }
  g_printerr ("→ %s %s\n", clean_name, line);
}

static void
agent_tool_result_cb (AicAgentRun *agent, const char *call_id, const char *summary, AgentRun *run)
{
  g_autofree char *clean = aic_control_strip (summary, FALSE);

  agent_end_text (run);
  g_printerr ("← %s\n", clean);
}

static void
agent_token_cb (AicAgentRun *agent, const char *text, AgentRun *run)
{
  g_autofree char *clean = aic_control_strip (text, TRUE);

  g_printerr ("%s", clean);
  run->text_open = text[0] != '\0' && text[strlen (text) - 1] != '\n';
}

static void
agent_problem_cb (AicAgentRun *agent, const char *text, AgentRun *run)
{
  g_autofree char *clean = aic_control_strip (text, FALSE);

  agent_end_text (run);
  g_printerr (_("Problem: %s\n"), clean);
}

static void
agent_done_cb (AicAgentRun *agent, const char *state, const char *summary, AgentRun *run)
{
  agent_end_text (run);
  run->done = TRUE;
  g_cancellable_cancel (run->input_cancellable);
  g_printerr (_("The run ended: %s\n"), state);
  g_main_loop_quit (run->loop);
}

static void agent_read_answer (AgentRun *run);

static void
agent_answer_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AgentRun *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, &error);
  g_autoptr(AicAgentRequest) request = NULL;
  g_autofree char *answer = NULL;

  run->reading = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* The answer is for the newest request, the one last shown. */
  request = g_steal_pointer (&run->asking);
  if (request == NULL)
    return;
  if (line == NULL && error != NULL)
    {
      g_printerr (_("The standard input could not be read: %s\n"), error->message);
      aic_agent_run_reply (run->run, request->resume_token, AIC_AGENT_DECISION_DENY, NULL);
      return;
    }
  if (line == NULL)
    {
      /* No more input: never an implied yes. */
      if (aic_agent_request_is_question (request))
        {
          g_printerr (_("No answer on the standard input: the run is cancelled.\n"));
          aic_agent_run_cancel (run->run);
        }
      else
        {
          g_printerr (_("No answer on the standard input: denied.\n"));
          aic_agent_run_reply (run->run, request->resume_token, AIC_AGENT_DECISION_DENY, NULL);
        }
      return;
    }
  answer = g_strstrip (g_ascii_strdown (line, -1));
  if (aic_agent_request_is_question (request))
    {
      if (g_strstrip (line)[0] == '\0')
        {
          run->asking = g_steal_pointer (&request);
          agent_read_answer (run);
          return;
        }
      aic_agent_run_reply (run->run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, g_strstrip (line));
    }
  else if (g_str_equal (answer, "y") || g_str_equal (answer, "yes"))
    aic_agent_run_reply (run->run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, NULL);
  else if (g_str_equal (answer, "a") || g_str_equal (answer, "always"))
    aic_agent_run_reply (run->run, request->resume_token, AIC_AGENT_DECISION_ALLOW_RUN, NULL);
  else
    aic_agent_run_reply (run->run, request->resume_token, AIC_AGENT_DECISION_DENY, NULL);
}

static void
agent_read_answer (AgentRun *run)
{
  if (aic_agent_request_is_question (run->asking))
    g_printerr (_("Your answer: "));
  else if (run->asking->scope != NULL)
    /* Translators: %s is a program such as ls: "always" covers only it. */
    g_printerr (_("Allow? [y]es once, [a]lways “%s” in this run, [N]o: "), run->asking->scope);
  else
    g_printerr (_("Allow? [y]es once, [a]lways in this run, [N]o: "));
  /* One read at a time; a read under way answers the newest request. */
  if (run->reading)
    return;
  run->reading = TRUE;
  g_data_input_stream_read_line_async (run->input, G_PRIORITY_DEFAULT, run->input_cancellable,
                                       agent_answer_cb, run);
}

static void
agent_need_input_cb (AicAgentRun *agent, AicAgentRequest *request, AgentRun *run)
{
  g_autofree char *prompt = aic_control_strip (request->prompt, FALSE);
  g_autofree char *risk = aic_control_strip (request->risk, FALSE);
  g_autofree char *diff = aic_control_strip (request->diff, TRUE);
  g_autofree char *command = aic_control_strip (request->command, FALSE);
  g_autofree char *args = aic_control_strip (request->args, TRUE);

  agent_end_text (run);
  g_printerr ("? %s\n", prompt);
  if (request->risk != NULL)
    g_printerr (_("  Risk: %s\n"), risk);
  if (request->diff != NULL)
    g_printerr ("%s", diff);
  else if (request->command != NULL)
    g_printerr ("  $ %s\n", command);
  else if (request->args != NULL)
    g_printerr ("%s\n", args);

  if (!aic_agent_request_is_question (request) && run->mode != APPROVE_ASK)
    {
      g_printerr (run->mode == APPROVE_YES ? _("Allowed (--approve yes).\n") : _("Denied (--approve no).\n"));
      aic_agent_run_reply (agent, request->resume_token,
                           run->mode == APPROVE_YES ? AIC_AGENT_DECISION_ALLOW_ONCE : AIC_AGENT_DECISION_DENY, NULL);
      return;
    }
  /* A new request replaces one still being asked about. */
  g_clear_pointer (&run->asking, aic_agent_request_free);
  run->asking = aic_agent_request_copy (request);
  agent_read_answer (run);
}

static void
agent_started_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  AgentRun *run = user_data;

  if (!aic_agent_run_start_finish (AIC_AGENT_RUN (object), result, &run->error))
    {
      g_main_loop_quit (run->loop);
      return;
    }
  g_printerr (_("Run %s%s\n"), aic_agent_run_get_id (run->run),
              aic_agent_run_is_plain (run->run) ? _(" (a WebSocket-only server)") : "");
}

static gboolean
agent_interrupt_cb (gpointer data)
{
  AgentRun *run = data;

  g_printerr (_("\nCancelling the run…\n"));
  aic_agent_run_cancel (run->run);
  return G_SOURCE_CONTINUE;
}

static int
cmd_agent (int    argc,
           char **argv)
{
  g_auto(Target) target = { 0 };
  g_autofree char *workspace = NULL;
  g_autofree char *approve = NULL;
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    TARGET_ENTRIES (target),
    { "workspace", 'w', 0, G_OPTION_ARG_FILENAME, &workspace, N_("The folder the agent works in (default: the server’s)"), N_("DIR") },
    { "approve", 0, 0, G_OPTION_ARG_STRING, &approve, N_("How to answer approvals: ask (on the terminal, the default), yes or no"), N_("ask|yes|no") },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &target.model, N_("The model (default: the server’s)"), N_("MODEL") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("GOAL") },
    { NULL }
  };
  g_autoptr(AicClient) client = NULL;
  g_autoptr(GInputStream) stdin_stream = NULL;
  g_autofree char *goal = NULL;
  AgentRun run = { 0 };
  guint signal_source;
  int status;

  if (!parse_options (&argc, &argv, entries, _("GOAL — run an agent"),
                      _("The run’s timeline goes to the standard error, its result to the standard output. "
                        "Requests are answered on the terminal (or from the standard input); the end of "
                        "the input denies. Exit status 0 when the run completed, 1 otherwise.")))
    return 2;
  if (target.url == NULL || rest == NULL || rest[0] == NULL)
    {
      g_printerr (_("agent needs --url URL and a GOAL.\n"));
      return 2;
    }
  if (approve == NULL || g_str_equal (approve, "ask"))
    run.mode = APPROVE_ASK;
  else if (g_str_equal (approve, "yes"))
    run.mode = APPROVE_YES;
  else if (g_str_equal (approve, "no"))
    run.mode = APPROVE_NO;
  else
    {
      g_printerr (_("--approve takes ask, yes or no.\n"));
      return 2;
    }
  /* The folder is on the server's machine, which checks it; a relative
   * one is taken from here, for a server on this machine. */
  if (workspace != NULL && !g_path_is_absolute (workspace))
    {
      g_autofree char *absolute = g_canonicalize_filename (workspace, NULL);

      g_free (workspace);
      workspace = g_steal_pointer (&absolute);
    }
  if ((status = target_check (&target)) != 0)
    return status;
  goal = g_strjoinv (" ", rest);

  if ((client = target_connect (&target)) == NULL)
    return 1;
  stdin_stream = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  run.input = g_data_input_stream_new (stdin_stream);
  run.input_cancellable = g_cancellable_new ();
  run.loop = g_main_loop_new (NULL, FALSE);
  run.run = aic_agent_run_new (client, goal, workspace, target.model);
  g_signal_connect (run.run, "step", G_CALLBACK (agent_step_cb), &run);
  g_signal_connect (run.run, "tool-call", G_CALLBACK (agent_tool_call_cb), &run);
  g_signal_connect (run.run, "tool-result", G_CALLBACK (agent_tool_result_cb), &run);
  g_signal_connect (run.run, "token", G_CALLBACK (agent_token_cb), &run);
  g_signal_connect (run.run, "problem", G_CALLBACK (agent_problem_cb), &run);
  g_signal_connect (run.run, "need-input", G_CALLBACK (agent_need_input_cb), &run);
  g_signal_connect (run.run, "done", G_CALLBACK (agent_done_cb), &run);

  signal_source = g_unix_signal_add (SIGINT, agent_interrupt_cb, &run);
  aic_agent_run_start_async (run.run, NULL, agent_started_cb, &run);
  g_main_loop_run (run.loop);
  g_source_remove (signal_source);

  if (run.error != NULL)
    {
      g_printerr (_("Error: %s\n"), run.error->message);
      g_error_free (run.error);
      status = 1;
    }
  else
    {
      g_autofree char *summary = for_stdout (aic_agent_run_get_summary (run.run));

      g_print ("%s\n", summary);
      status = g_str_equal (aic_agent_run_get_state (run.run), "completed") ? 0 : 1;
    }
  g_cancellable_cancel (run.input_cancellable);
  g_clear_object (&run.input_cancellable);
  g_clear_pointer (&run.asking, aic_agent_request_free);
  g_clear_object (&run.input);
  g_clear_object (&run.run);
  g_main_loop_unref (run.loop);
  return status;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *usage = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("ai-console-cli");

  usage = usage_text ();

  if (argc < 2)
    {
      g_printerr ("%s", usage);
      return 2;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      g_print ("%s", usage);
      return 0;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("ai-console-cli %s\n", PACKAGE_VERSION);
      return 0;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      {
        g_autofree char *prgname = g_strdup_printf ("ai-console-cli %s", commands[i].name);

        g_set_prgname (prgname);
        return commands[i].func (argc - 1, argv + 1);
      }

  g_printerr (_("Unknown command “%s”.\n\n%s"), argv[1], usage);
  return 2;
}
