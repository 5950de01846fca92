/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-server"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

#include "aic-engine.h"
#include "aic-server.h"
#include "aic-token.h"
#include "aic-workspace.h"

static char *opt_host = NULL;
static int opt_port = AIC_SERVER_DEFAULT_PORT;
static char *opt_token_file = NULL;
static gboolean opt_no_auth = FALSE;
static char *opt_engine = NULL;
static char *opt_upstream = NULL;
static char *opt_upstream_key_env = NULL;
static char *opt_data_dir = NULL;
static char **opt_origins = NULL;
static gboolean opt_version = FALSE;
static int opt_demo_delay = -1;
static gint64 opt_max_upload = AIC_SERVER_DEFAULT_MAX_UPLOAD;
static int opt_workers = AIC_JOB_QUEUE_DEFAULT_WORKERS;
static char *opt_workspace = NULL;
static char **opt_workspace_roots = NULL;
static char *opt_agent_policy = NULL;
static int opt_agent_deadline = AIC_AGENT_DEFAULT_DEADLINE_S;
static int opt_command_timeout = AIC_AGENT_DEFAULT_COMMAND_MS / 1000;
static int opt_max_connections = 0;
static char **opt_command_env = NULL;
static int opt_max_document_pages = AIC_DOCUMENT_DEFAULT_MAX_PAGES;
static gint64 opt_max_document_text = AIC_DOCUMENT_DEFAULT_MAX_TEXT;
static int opt_max_document_parts = AIC_DOCUMENT_DEFAULT_MAX_PARTS;
static int opt_header_timeout = AIC_SERVER_DEFAULT_HEADER_TIMEOUT_S;
static char *opt_tls_cert = NULL;
static char *opt_tls_key = NULL;

static const GOptionEntry entries[] = {
  { "host", 0, 0, G_OPTION_ARG_STRING, &opt_host, N_("Address to listen on (default 127.0.0.1)"), N_("ADDRESS") },
  { "port", 'p', 0, G_OPTION_ARG_INT, &opt_port, N_("Port to listen on; 0 picks a free one (default 8765)"), N_("PORT") },
  { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_token_file, N_("Read the bearer token from FILE, or create it there (default DATA-DIR/token)"), N_("FILE") },
  { "no-auth", 0, 0, G_OPTION_ARG_NONE, &opt_no_auth, N_("Accept requests without a token (loopback only)"), NULL },
  { "engine", 0, 0, G_OPTION_ARG_STRING, &opt_engine, N_("What answers: “demo” (offline), “openai” (an OpenAI-compatible upstream) or “anthropic”"), N_("ENGINE") },
  { "upstream", 0, 0, G_OPTION_ARG_STRING, &opt_upstream, N_("Base URL of the upstream: ending in /v1 for openai, without it for anthropic"), N_("URL") },
  { "upstream-key-env", 0, 0, G_OPTION_ARG_STRING, &opt_upstream_key_env, N_("Environment variable holding the upstream’s API key"), N_("VAR") },
  { "allow-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_origins, N_("Accept requests from this browser origin (repeatable)"), N_("ORIGIN") },
  { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_data_dir, N_("Where jobs, runs and the token live"), N_("DIR") },
  { "demo-delay", 0, 0, G_OPTION_ARG_INT, &opt_demo_delay, N_("Milliseconds between the demo engine’s tokens (default 30)"), N_("MS") },
  { "max-upload-bytes", 0, 0, G_OPTION_ARG_INT64, &opt_max_upload, N_("Largest document or request body accepted (default 25 MiB)"), N_("BYTES") },
  { "workers", 0, 0, G_OPTION_ARG_INT, &opt_workers, N_("Document jobs worked on at once (default 2)"), N_("N") },
  { "workspace", 0, 0, G_OPTION_ARG_FILENAME, &opt_workspace, N_("Folder agent runs work in when they name none (default DATA-DIR/workspace)"), N_("DIR") },
  { "workspace-root", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_workspace_roots, N_("Let runs name a workspace under DIR (repeatable); without it, runs use only the --workspace folder"), N_("DIR") },
  { "agent-policy", 0, 0, G_OPTION_ARG_STRING, &opt_agent_policy, N_("What agent tools may do unasked, such as “read=allow,write=ask,execute=ask” (the default); answers allow, ask, deny"), N_("POLICY") },
  { "agent-deadline", 0, 0, G_OPTION_ARG_INT, &opt_agent_deadline, N_("Seconds a run waits for an answer before it is cancelled (default 1800)"), N_("SECONDS") },
  { "command-timeout", 0, 0, G_OPTION_ARG_INT, &opt_command_timeout, N_("Seconds an agent’s command may run (default 60)"), N_("SECONDS") },
  { "max-connections", 0, 0, G_OPTION_ARG_INT, &opt_max_connections, N_("Connections open at once; past it clients get 503 (default half the descriptor limit, at most 4096)"), N_("N") },
  { "header-timeout", 0, 0, G_OPTION_ARG_INT, &opt_header_timeout, N_("Seconds a request’s headers may take, after which its body must average 1 KiB/s; slower connections are closed (default 10)"), N_("SECONDS") },
  { "command-env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_command_env, N_("Pass this environment variable on to agents’ commands (repeatable); they get only PATH, HOME, LANG and TERM otherwise"), N_("NAME") },
  { "max-document-pages", 0, 0, G_OPTION_ARG_INT, &opt_max_document_pages, N_("Pages of a PDF read at most; a longer one fails its job (default 1000)"), N_("N") },
  { "max-document-text", 0, 0, G_OPTION_ARG_INT64, &opt_max_document_text, N_("Bytes of text taken from a document at most (default 4 MiB)"), N_("BYTES") },
  { "max-document-parts", 0, 0, G_OPTION_ARG_INT, &opt_max_document_parts, N_("Parts a document is summarized in at most (default 400)"), N_("N") },
  { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_cert, N_("Speak TLS (https://, wss://) with the PEM certificate in FILE; needs --tls-key"), N_("FILE") },
  { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_key, N_("The PEM private key of --tls-cert"), N_("FILE") },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, N_("Print the version and exit"), NULL },
  { NULL }
};

static gboolean
quit_cb (gpointer data)
{
  g_message ("Stopping");
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
refresh_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) models = NULL;

  if (!aic_engine_refresh_finish (AIC_ENGINE (object), result, &error))
    {
      g_warning ("Could not list the upstream’s models: %s", error->message);
      return;
    }
  models = aic_engine_dup_models (AIC_ENGINE (object));
  g_message ("Upstream offers %u models", g_strv_length (models));
}

static gboolean
is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  return address != NULL && g_inet_address_get_is_loopback (address);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(AicServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  g_autofree char *label = NULL;
  AicEngineKind engine_kind;
  gboolean created = FALSE;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Serve the AI Console protocol: chat, documents, voice and agents."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (opt_version)
    {
      g_print ("ai-console-server %s\n", PACKAGE_VERSION);
      return 0;
    }

  if (opt_host == NULL)
    opt_host = g_strdup ("127.0.0.1");
  if (opt_data_dir == NULL)
    opt_data_dir = g_build_filename (g_get_user_data_dir (), "ai-console", "server", NULL);
  if (opt_port < 0 || opt_port > 65535)
    {
      g_printerr (_("%d is not a port number.\n"), opt_port);
      return 2;
    }
  if (opt_max_upload <= 0)
    {
      g_printerr (_("--max-upload-bytes must be a positive number.\n"));
      return 2;
    }
  if (opt_agent_deadline < 1 || opt_command_timeout < 1)
    {
      g_printerr (_("--agent-deadline and --command-timeout must be positive.\n"));
      return 2;
    }
  if (opt_max_document_pages < 1 || opt_max_document_text < 1 || opt_max_document_parts < 1)
    {
      g_printerr (_("--max-document-pages, --max-document-text and --max-document-parts must be positive.\n"));
      return 2;
    }
  if (opt_header_timeout < 1)
    {
      g_printerr (_("--header-timeout must be positive.\n"));
      return 2;
    }
  if (opt_max_connections < 0)
    {
      g_printerr (_("--max-connections must not be negative.\n"));
      return 2;
    }
  if (opt_workers < 1 || opt_workers > 64)
    {
      g_printerr (_("--workers must be between 1 and 64.\n"));
      return 2;
    }

  if (opt_engine == NULL)
    opt_engine = g_strdup (opt_upstream ? "openai" : "demo");
  if (!aic_engine_kind_from_string (opt_engine, &engine_kind))
    {
      g_printerr (_("Unknown engine “%s”: use “demo”, “openai” or “anthropic”.\n"), opt_engine);
      return 2;
    }
  if (engine_kind != AIC_ENGINE_KIND_DEMO)
    {
      const char *key = opt_upstream_key_env ? g_getenv (opt_upstream_key_env) : NULL;

      if (opt_upstream == NULL)
        {
          g_printerr (_("The %s engine needs --upstream URL.\n"), opt_engine);
          return 2;
        }
      if (opt_upstream_key_env != NULL && key == NULL)
        {
          g_printerr (_("The environment variable %s is not set.\n"), opt_upstream_key_env);
          return 2;
        }
      engine = engine_kind == AIC_ENGINE_KIND_ANTHROPIC ? aic_engine_new_anthropic (opt_upstream, key)
                                                        : aic_engine_new_openai (opt_upstream, NULL, key);
    }
  else
    engine = aic_engine_new_demo ();
  if (opt_demo_delay >= 0)
    aic_engine_set_demo_delay (engine, opt_demo_delay);

  if (opt_no_auth)
    {
      if (!is_loopback (opt_host))
        {
          g_printerr (_("--no-auth is only allowed on a loopback address.\n"));
          return 2;
        }
      g_warning ("AUTHENTICATION IS OFF (--no-auth): any program on this machine can use this server.");
    }
  else
    {
      if (opt_token_file == NULL)
        opt_token_file = g_build_filename (opt_data_dir, "token", NULL);
      token = aic_token_load_or_create (opt_token_file, &created, &error);
      if (token == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }

  if (!is_loopback (opt_host))
    g_warning ("Listening on %s, which is reachable from other machines.", opt_host);

  /* Each client holds a descriptor: take all the system allows. */
  g_debug ("Up to %u descriptors open", aic_server_raise_fd_limit ());
  server = aic_server_new (engine, token);
  aic_server_set_max_connections (server, (guint) opt_max_connections);
  aic_server_set_header_timeout (server, (guint) opt_header_timeout);
  if (opt_tls_cert != NULL || opt_tls_key != NULL)
    {
      g_autoptr(GTlsCertificate) certificate = NULL;

      if (opt_tls_cert == NULL || opt_tls_key == NULL)
        {
          g_printerr (_("--tls-cert and --tls-key go together.\n"));
          return 2;
        }
      if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
        {
          g_printerr (_("TLS is not available: install glib-networking.\n"));
          return 1;
        }
      certificate = g_tls_certificate_new_from_files (opt_tls_cert, opt_tls_key, &error);
      if (certificate == NULL)
        {
          g_printerr (_("Could not read the TLS certificate: %s\n"), error->message);
          return 2;
        }
      aic_server_set_tls_certificate (server, certificate);
    }
  aic_server_set_allowed_origins (server, (const char * const *) opt_origins);
  aic_server_set_max_upload_bytes (server, opt_max_upload);
  aic_server_set_workers (server, opt_workers);
  {
    AicDocumentLimits limits = { (guint) opt_max_document_pages, (gsize) opt_max_document_text,
                                 (guint) opt_max_document_parts };

    aic_server_set_document_limits (server, &limits);
  }
  if (!aic_server_open_jobs (server, opt_data_dir, &error) ||
      !aic_server_open_runs (server, opt_data_dir, opt_workspace, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  if (opt_agent_policy != NULL &&
      !aic_agent_hub_set_policy_string (aic_server_get_agent_hub (server), opt_agent_policy, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  aic_agent_hub_set_deadline (aic_server_get_agent_hub (server), (guint) opt_agent_deadline * 1000);
  /* A token opens the agent's file tools: by default only the server's
   * own folder may be worked in. */
  {
    g_autofree char *own = opt_workspace ? g_strdup (opt_workspace) : g_build_filename (opt_data_dir, "workspace", NULL);
    const char *only_own[] = { own, NULL };

    g_mkdir_with_parents (own, 0700);
    aic_agent_hub_set_workspace_roots (aic_server_get_agent_hub (server),
                                       opt_workspace_roots ? (const char * const *) opt_workspace_roots : only_own);
  }
  aic_agent_hub_set_command_limits (aic_server_get_agent_hub (server), (guint) opt_command_timeout * 1000,
                                    AIC_WORKSPACE_MAX_OUTPUT);
  aic_agent_hub_set_command_env (aic_server_get_agent_hub (server), (const char * const *) opt_command_env);
  /* The key is kept out of runs even when the engine does not use it. */
  if (opt_upstream_key_env != NULL)
    aic_agent_hub_add_secret (aic_server_get_agent_hub (server), g_getenv (opt_upstream_key_env));
  if (!aic_server_listen (server, opt_host, opt_port, &error))
    {
      g_printerr (_("Could not listen on %s port %d: %s\n"), opt_host, opt_port, error->message);
      return 1;
    }

  url = aic_server_dup_url (server);
  label = aic_engine_dup_label (engine);
  if (token != NULL)
    g_message ("Token %s %s", created ? "written to" : "read from", opt_token_file);
  g_message ("Engine: %s", label);
  /* On stdout, one line, so scripts and tests can find the port. */
  g_print ("Listening on %s\n", url);
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  if (engine_kind != AIC_ENGINE_KIND_DEMO)
    aic_engine_refresh_async (engine, NULL, refresh_cb, NULL);
  g_main_loop_run (loop);

  aic_server_disconnect (server);
  return 0;
}
