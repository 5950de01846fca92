/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <stdio.h>
#include <unistd.h>

#include "aic-chat-stream.h"
#include "aic-cli.h"
#include "aic-control-filter.h"

typedef struct
{
  GMainLoop *loop;
  GError *error;
  gboolean ok;
} RunWait;

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
  return G_SOURCE_CONTINUE;   /* removed by aic_cli_chat() when the run ends */
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

int
aic_cli_chat (int    argc,
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
    AIC_CLI_TOKEN_FILE_ENTRY (token_file),
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

  if (!aic_cli_parse_options (&argc, &argv, entries, _("PROMPT|- — print a model’s reply"),
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
  if (!aic_cli_token_resolve (&token, token_file) ||
      !aic_cli_key_from_environment (key_env, &token))
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
  g_signal_connect (stream, "token", G_CALLBACK (on_token), aic_cli_stdout_is_terminal () ? &filter : NULL);

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
