/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "aic-cli.h"
#include "aic-job-manager.h"
#include "aic-json.h"
#include "aic-store.h"

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
      shown = aic_cli_for_stdout (text);
      g_print ("%s\n", shown);
      return;
    }

  if (aic_job_get_status (job) == AIC_JOB_DONE)
    {
      g_autofree char *markdown = aic_job_dup_markdown (job);
      g_autofree char *shown_markdown = aic_cli_for_stdout (markdown);

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

int
aic_cli_analyze (int    argc,
                 char **argv)
{
  g_auto(AicCliTarget) target = { 0 };
  g_autofree char *instructions = NULL;
  gboolean json = FALSE, resume = FALSE;
  const GOptionEntry entries[] = {
    AIC_CLI_TARGET_ENTRIES (target),
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

  if (!aic_cli_parse_options (&argc, &argv, entries, _("FILE… — summarise documents"),
                      _("Progress goes to the standard error, summaries to the standard output. "
                                               "Jobs are remembered: if this command is interrupted, run it again with "
                                               "--resume to follow them to the end. Exit status 0 means every job finished.")))
    return 2;
  if (target.url == NULL || (argc < 2 && !resume))
    {
      g_printerr (_("analyze needs --url URL and at least one FILE (or --resume).\n"));
      return 2;
    }
  if ((status = aic_cli_target_check (&target)) != 0)
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

  if ((client = aic_cli_target_connect (&target)) == NULL)
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
