/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "hostile-util.h"
#include "aic-test-util.h"

/* What an agent's command gets from the server: its environment (only
 * what is allowed), its life (not longer than the server's), and the
 * files the server keeps about it (its user's alone). Commands are
 * allowed without asking here (--agent-policy) and writes refused, so
 * that a run goes through its commands with no one to answer. */

#define SECRET "sk-never-to-be-seen"

typedef struct
{
  SoupWebsocketConnection *socket;
  GString                 *messages;
  gboolean                 done;
  gboolean                 command_started;
} Run;

static void
message_cb (SoupWebsocketConnection *socket,
            int                      type,
            GBytes                  *data,
            Run                     *run)
{
  gsize size;
  const char *text = g_bytes_get_data (data, &size);

  g_string_append_len (run->messages, text, size);
  g_string_append_c (run->messages, '\n');
  if (g_strstr_len (text, size, "\"type\":\"done\"") != NULL)
    run->done = TRUE;
  if (g_strstr_len (text, size, "\"run_command\"") != NULL)
    run->command_started = TRUE;
}

/* Connecting to /ws/agent/ID?goal=… starts the run. */
static void
start_run (AicHostileServer *server,
           SoupSession      *session,
           const char       *goal,
           Run              *run)
{
  g_autofree char *escaped = g_uri_escape_string (goal, NULL, FALSE);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws/agent/r-hostile?goal=%s", server->port, escaped);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", server->token);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  soup_session_websocket_connect_async (session, message, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 5000);
  run->socket = soup_session_websocket_connect_finish (session, result, &error);
  g_assert_no_error (error);
  run->messages = g_string_new (NULL);
  g_signal_connect (run->socket, "message", G_CALLBACK (message_cb), run);
}

static void
run_clear (Run *run)
{
  if (run->socket != NULL && soup_websocket_connection_get_state (run->socket) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (run->socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&run->socket);
  if (run->messages != NULL)
    g_string_free (g_steal_pointer (&run->messages), TRUE);
}

static gboolean
run_done (gpointer data)
{
  return ((Run *) data)->done;
}

static gboolean
command_started (gpointer data)
{
  return ((Run *) data)->command_started;
}

static void
assert_private (const char *path,
                guint       mode)
{
  struct stat st;

  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static void
test_environment (void)
{
  const char * const args[] = { "--agent-policy=read=allow,write=deny,execute=allow",
                                "--command-env=AIC_HOSTILE_ALLOWED", "--engine=demo",
                                "--upstream-key-env=AIC_HOSTILE_KEY", NULL };
  const char * const env[] = { "AIC_HOSTILE_KEY=" SECRET, "AIC_HOSTILE_OTHER=" SECRET,
                               "AIC_HOSTILE_ALLOWED=yes", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start_with_env (args, 0, env);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *workspace = g_build_filename (server->data_dir, "workspace", NULL);
  g_autofree char *env_path = g_build_filename (workspace, "env.txt", NULL);
  g_autofree char *runs_db = g_build_filename (server->data_dir, "runs.db", NULL);
  g_autofree char *jobs_db = g_build_filename (server->data_dir, "jobs.db", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { 0 };

  /* dash, which runs it, adds PWD of its own. */
  start_run (server, session, "Show the environment\nrun: sh -c 'env > env.txt'", &run);
  aic_test_wait_for (run_done, &run, 20000);
  g_assert_true (g_file_get_contents (env_path, &contents, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s", contents);

  lines = g_strsplit (g_strstrip (contents), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (lines[i], strcspn (lines[i], "="));
      const char * const allowed[] = { "PATH", "HOME", "LANG", "TERM", "PWD", "AIC_HOSTILE_ALLOWED", NULL };

      g_assert_true (g_strv_contains (allowed, name));
    }
  g_assert_nonnull (strstr (contents, "TERM=dumb\n"));
  g_assert_nonnull (strstr (contents, "AIC_HOSTILE_ALLOWED=yes"));
  {
    g_autofree char *home = g_strdup_printf ("HOME=%s\n", workspace);
    g_autofree char *canonical_home = NULL;
    g_autofree char *real = realpath (workspace, NULL);

    canonical_home = g_strdup_printf ("HOME=%s\n", real);
    g_assert_true (strstr (contents, home) != NULL || strstr (contents, canonical_home) != NULL);
  }
  g_assert_null (strstr (contents, SECRET));
  g_assert_null (strstr (run.messages->str, SECRET));

  /* What the server keeps of runs and jobs is its user's alone. */
  assert_private (server->data_dir, 0700);
  assert_private (runs_db, 0600);
  assert_private (jobs_db, 0600);

  run_clear (&run);
  aic_hostile_assert_healthy (server);
}

static char
process_state (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *end;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return 0;
  end = strrchr (stat, ')');
  return end != NULL && end[1] == ' ' ? end[2] : '?';
}

/* The command the server started, found by its parent and name. */
static pid_t
find_child (const char *server_pid,
            const char *name)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *entry;

  while ((entry = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/stat", entry);
      g_autofree char *stat = NULL;
      g_auto(GStrv) fields = NULL;
      const char *open_paren, *close_paren;

      if (!g_ascii_isdigit (entry[0]) || !g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      open_paren = strchr (stat, '(');
      close_paren = strrchr (stat, ')');
      if (open_paren == NULL || close_paren == NULL)
        continue;
      fields = g_strsplit (close_paren + 2, " ", 4);
      if (g_strv_length (fields) >= 2 &&
          strncmp (open_paren + 1, name, close_paren - open_paren - 1) == 0 &&
          g_str_equal (fields[1], server_pid))
        return (pid_t) g_ascii_strtoll (entry, NULL, 10);
    }
  return 0;
}

static void
test_dies_with_server (void)
{
  const char * const args[] = { "--agent-policy=read=allow,write=deny,execute=allow",
                                "--command-timeout=120", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *server_pid = g_strdup (g_subprocess_get_identifier (server->process));
  gint64 deadline;
  pid_t child = 0;
  Run run = { 0 };

  start_run (server, session, "Wait a while\nrun: sleep 77", &run);
  aic_test_wait_for (command_started, &run, 20000);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (child == 0 && g_get_monotonic_time () < deadline)
    {
      child = find_child (server_pid, "sleep");
      g_usleep (20000);
    }
  g_assert_cmpint (child, >, 0);

  run_clear (&run);
  g_subprocess_force_exit (server->process);
  g_subprocess_wait (server->process, NULL, NULL);

  /* Gone, or a zombie waiting for a reaper: either way not running. */
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (process_state (child) != 0 && process_state (child) != 'Z' && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  g_test_message ("Command %d after the server's SIGKILL: state %c", child, process_state (child) ?: '-');
  if (process_state (child) != 0 && process_state (child) != 'Z')
    {
      kill (child, SIGKILL);
      g_error ("The command outlived the server");
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/commands/environment", test_environment);
  g_test_add_func ("/hostile/commands/die-with-server", test_dies_with_server);
  return g_test_run ();
}
