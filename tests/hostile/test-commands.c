/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE   /* memmem */
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
  static guint n_runs;
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws/agent/r-hostile-%u?goal=%s", server->port,
                                          ++n_runs, escaped);
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
  run_clear (&run);

  /* A key that reaches a command some other way (here a file in the
   * workspace) is not sent on, nor kept in runs.db. */
  {
    g_autofree char *leak = g_build_filename (workspace, "leak.txt", NULL);
    g_autofree char *db = NULL;
    g_autofree char *wal_path = g_strconcat (runs_db, "-wal", NULL);
    g_autofree char *wal = NULL;
    gsize db_len = 0, wal_len = 0;
    Run second = { 0 };

    g_assert_true (g_file_set_contents (leak, "key=" SECRET "\n", -1, NULL));
    start_run (server, session, "Show the file\nrun: cat leak.txt", &second);
    aic_test_wait_for (run_done, &second, 20000);
    g_assert_null (strstr (second.messages->str, SECRET));
    /* The run is saved as it goes; give its last save a moment. (The
     * files hold NULs: memmem, not a string search.) */
    for (guint i = 0; i < 100; i++)
      {
        g_clear_pointer (&db, g_free);
        g_clear_pointer (&wal, g_free);
        g_assert_true (g_file_get_contents (runs_db, &db, &db_len, NULL));
        if (!g_file_get_contents (wal_path, &wal, &wal_len, NULL))
          wal_len = 0;
        if (memmem (db, db_len, "key=[redacted]", strlen ("key=[redacted]")) != NULL ||
            (wal != NULL && memmem (wal, wal_len, "key=[redacted]", strlen ("key=[redacted]")) != NULL))
          break;
        g_usleep (20000);
      }
    g_assert_null (memmem (db, db_len, SECRET, strlen (SECRET)));
    if (wal != NULL)
      g_assert_null (memmem (wal, wal_len, SECRET, strlen (SECRET)));
    /* It was there to find: the redaction, not an empty file, hid it. */
    g_assert_true (memmem (db, db_len, "key=[redacted]", strlen ("key=[redacted]")) != NULL ||
                   (wal != NULL && memmem (wal, wal_len, "key=[redacted]", strlen ("key=[redacted]")) != NULL));
    run_clear (&second);
  }

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

/* A process's name and parent, from /proc; FALSE when it is gone. */
static gboolean
read_stat (pid_t   pid,
           char  **out_name,
           pid_t  *out_parent)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *open_paren, *close_paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  open_paren = strchr (stat, '(');
  close_paren = strrchr (stat, ')');
  if (open_paren == NULL || close_paren == NULL)
    return FALSE;
  fields = g_strsplit (close_paren + 2, " ", 4);
  if (g_strv_length (fields) < 2)
    return FALSE;
  *out_name = g_strndup (open_paren + 1, close_paren - open_paren - 1);
  *out_parent = (pid_t) g_ascii_strtoll (fields[1], NULL, 10);
  return TRUE;
}

/* The processes called @name that the server started, at any depth: the
 * command, and what it started in turn. */
static GArray *
find_descendants (const char *server_pid,
                  const char *name)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  GArray *found = g_array_new (FALSE, FALSE, sizeof (pid_t));
  pid_t server = (pid_t) g_ascii_strtoll (server_pid, NULL, 10);
  const char *entry;

  while ((entry = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *comm = NULL;
      pid_t pid, parent;

      if (!g_ascii_isdigit (entry[0]))
        continue;
      pid = (pid_t) g_ascii_strtoll (entry, NULL, 10);
      if (!read_stat (pid, &comm, &parent) || !g_str_equal (comm, name))
        continue;
      for (guint depth = 0; depth < 6 && parent > 1; depth++)
        {
          g_autofree char *parent_comm = NULL;

          if (parent == server)
            {
              g_array_append_val (found, pid);
              break;
            }
          if (!read_stat (parent, &parent_comm, &parent))
            break;
        }
    }
  return found;
}

static void
test_dies_with_server (void)
{
  const char * const args[] = { "--agent-policy=read=allow,write=deny,execute=allow",
                                "--command-timeout=120", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *server_pid = g_strdup (g_subprocess_get_identifier (server->process));
  g_autoptr(GArray) sleepers = NULL;
  gint64 deadline;
  Run run = { 0 };

  /* A command that leaves a grandchild behind (the background sleep): the
   * whole group goes with the server, not only the program it started. */
  start_run (server, session, "Wait a while\nrun: sh -c 'sleep 78 & exec sleep 77'", &run);
  aic_test_wait_for (command_started, &run, 20000);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  do
    {
      g_clear_pointer (&sleepers, g_array_unref);
      sleepers = find_descendants (server_pid, "sleep");
      g_usleep (20000);
    }
  while (sleepers->len < 2 && g_get_monotonic_time () < deadline);
  g_assert_cmpuint (sleepers->len, ==, 2);

  run_clear (&run);
  g_subprocess_force_exit (server->process);
  g_subprocess_wait (server->process, NULL, NULL);

  for (guint i = 0; i < sleepers->len; i++)
    {
      pid_t child = g_array_index (sleepers, pid_t, i);

      /* Gone, or a zombie waiting for a reaper: either way not running. */
      deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
      while (process_state (child) != 0 && process_state (child) != 'Z' && g_get_monotonic_time () < deadline)
        g_usleep (20000);
      g_test_message ("sleep %d after the server's SIGKILL: state %c", child, process_state (child) ?: '-');
      if (process_state (child) != 0 && process_state (child) != 'Z')
        {
          for (guint j = 0; j < sleepers->len; j++)
            kill (g_array_index (sleepers, pid_t, j), SIGKILL);
          g_error ("A command's process outlived the server");
        }
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
