/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-cli.h"
#include "aic-json.h"

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

int
aic_cli_health (int    argc,
                char **argv)
{
  g_autofree char *url = NULL;
  g_autofree char *token = NULL;
  g_autofree char *token_file = NULL;
  int timeout = 30;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, N_("Base URL of the backend, such as http://127.0.0.1:8765"), N_("URL") },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, N_("Bearer token (default: $AI_CONSOLE_TOKEN); other users can see it in the process list"), N_("TOKEN") },
    AIC_CLI_TOKEN_FILE_ENTRY (token_file),
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Seconds to wait for an answer (default 30)"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *json = NULL;
  Wait wait = { 0 };

  if (!aic_cli_parse_options (&argc, &argv, entries, _("— ask a backend about itself"),
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
  if (!aic_cli_token_resolve (&token, token_file))
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
