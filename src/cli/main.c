/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "aic-client.h"
#include "aic-json.h"

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

static const Command commands[] = {
  { "health", cmd_health, N_("Ask a console backend about itself and print its answer as JSON") },
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
  int timeout = 30;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, N_("Base URL of the backend, such as http://127.0.0.1:8765"), N_("URL") },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, N_("Bearer token (default: $AI_CONSOLE_TOKEN)"), N_("TOKEN") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Seconds to wait for an answer (default 30)"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("— ask a backend about itself"));
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *json = NULL;
  Wait wait = { 0 };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
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
  if (token == NULL)
    token = g_strdup (g_getenv ("AI_CONSOLE_TOKEN"));

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
