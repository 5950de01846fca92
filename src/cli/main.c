/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "aic-cli.h"

/* The door: picks the command; each lives in its own aic-cli-*.c. */

typedef struct
{
  const char  *name;
  int        (*func) (int argc, char **argv);
  const char  *summary;
} Command;

static const Command commands[] = {
  { "health", aic_cli_health, N_("Ask a console backend about itself and print its answer as JSON") },
  { "sse",    aic_cli_sse,    N_("Print each event of an event stream as one line of JSON") },
  { "chat",   aic_cli_chat,   N_("Send a prompt and print the reply as it arrives") },
  { "analyze", aic_cli_analyze, N_("Send documents, follow their jobs and print the summaries") },
  { "voice",  aic_cli_voice,  N_("Hold a spoken conversation with a WAV file as the microphone") },
  { "agent",  aic_cli_agent,  N_("Start an agent run, answer its requests and print its result") },
};

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
