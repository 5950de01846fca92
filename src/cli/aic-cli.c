/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "aic-cli.h"
#include "aic-control-filter.h"

typedef struct
{
  GMainLoop *loop;
  GError    *error;
} SessionWait;

/* Parses a command's options; says why and returns FALSE when they are wrong. */
gboolean
aic_cli_parse_options (int                *argc,
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
gboolean
aic_cli_token_resolve (char       **token,
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

gboolean
aic_cli_key_from_environment (const char  *variable,
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

void
aic_cli_target_clear (AicCliTarget *target)
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

static void
session_ready_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SessionWait *wait = user_data;

  aic_session_wait_finish (AIC_SESSION (object), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

/* Checks the target's options; 0 when they are fine, else the exit status. */
int
aic_cli_target_check (AicCliTarget *target)
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
  if (!aic_cli_token_resolve (&target->token, target->token_file) ||
      !aic_cli_key_from_environment (target->key_env, &target->token))
    return 2;
  return 0;
}

/**
 * target_connect:
 * Returns: (transfer full) (nullable): a client of the AI Console backend
 *   to use; %NULL, said on stderr, when the built-in one could not start
 */
AicClient *
aic_cli_target_connect (AicCliTarget *target)
{
  AicConnectionKind kind = AIC_CONNECTION_KIND_CONSOLE;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicConnection) speech = NULL;
  g_autofree char *speech_key = NULL;
  g_autofree char *data_dir = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  SessionWait wait = { 0 };

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
      if (!aic_cli_key_from_environment (target->speech_key_env, &speech_key))
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

/* ---- what models and servers wrote, on the standard output ---- */

/* On a terminal, text from a model or a server could carry escape
 * sequences that move the cursor, retitle the window or write the
 * clipboard (OSC 52); they are removed there. Into a pipe or a file the
 * text goes as it came, for scripts. */
gboolean
aic_cli_stdout_is_terminal (void)
{
  return isatty (STDOUT_FILENO);
}

char *
aic_cli_for_stdout (const char *text)
{
  if (text == NULL)
    return g_strdup ("");
  return aic_cli_stdout_is_terminal () ? aic_control_strip (text, TRUE) : g_strdup (text);
}
