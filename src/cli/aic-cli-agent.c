/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>
#include <gio/gunixinputstream.h>

#include "aic-agent-run.h"
#include "aic-cli.h"
#include "aic-control-filter.h"
#include "aic-json.h"

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

int
aic_cli_agent (int    argc,
               char **argv)
{
  g_auto(AicCliTarget) target = { 0 };
  g_autofree char *workspace = NULL;
  g_autofree char *approve = NULL;
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    AIC_CLI_TARGET_ENTRIES (target),
    { "workspace", 'w', 0, G_OPTION_ARG_FILENAME, &workspace, N_("The folder the agent works in (default: the server’s)"), N_("DIR") },
    { "approve", 0, 0, G_OPTION_ARG_STRING, &approve, N_("How to answer approvals: ask (on the terminal, the default), yes or no"), N_("ask|yes|no") },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &target.model, N_("The model (default: the server’s)"), N_("MODEL") },
    /* No arg_description: the synopsis below names the GOAL once. */
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, NULL },
    { NULL }
  };
  g_autoptr(AicClient) client = NULL;
  g_autoptr(GInputStream) stdin_stream = NULL;
  g_autofree char *goal = NULL;
  AgentRun run = { 0 };
  guint signal_source;
  int status;

  if (!aic_cli_parse_options (&argc, &argv, entries, _("GOAL — run an agent"),
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
  if ((status = aic_cli_target_check (&target)) != 0)
    return status;
  goal = g_strjoinv (" ", rest);

  if ((client = aic_cli_target_connect (&target)) == NULL)
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
      g_autofree char *summary = aic_cli_for_stdout (aic_agent_run_get_summary (run.run));

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
