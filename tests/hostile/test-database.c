/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sqlite3.h>

#include "aic-test-util.h"
#include "hostile-util.h"

/* A page of jobs.db damaged while the server was stopped: the next start
 * refuses in words, naming the file, instead of failing requests one by
 * one later; with the file moved aside, the server starts and serves. */

static void
test_damaged_page (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (NULL, 0);
  g_autofree char *jobs_db = g_build_filename (server->data_dir, "jobs.db", NULL);
  g_autofree char *aside = g_strconcat (jobs_db, ".damaged", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) damaged = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  GStatBuf st;

  aic_hostile_server_stop (server);
  /* Whatever the server's last commits left in the WAL goes into the file
   * first, so that the page damaged below is one SQLite will read. */
  {
    sqlite3 *db = NULL;

    g_assert_cmpint (sqlite3_open (jobs_db, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
  }
  g_assert_cmpint (g_stat (jobs_db, &st), ==, 0);
  g_test_message ("jobs.db: %" G_GINT64_FORMAT " bytes", (gint64) st.st_size);
  /* Page 1 is the header and the schema; page 2 is a table's root. */
  g_assert_cmpint (st.st_size, >=, 2 * 4096);
  aic_test_damage_page (jobs_db, 1);

  /* timeout(1) bounds a server that would start regardless. */
  g_ptr_array_add (argv, (char *) "timeout");
  g_ptr_array_add (argv, (char *) "10");
  for (guint i = 0; server->argv[i] != NULL; i++)
    g_ptr_array_add (argv, server->argv[i]);
  g_ptr_array_add (argv, NULL);
  damaged = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (damaged, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("%s", err);
  g_assert_true (g_subprocess_get_if_exited (damaged));
  g_assert_cmpint (g_subprocess_get_exit_status (damaged), ==, 1);
  g_assert_nonnull (strstr (err, "is damaged"));
  g_assert_nonnull (strstr (err, "jobs.db"));

  g_assert_cmpint (g_rename (jobs_db, aside), ==, 0);
  aic_hostile_server_restart (server);
  aic_hostile_assert_healthy (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/database/damaged-page", test_damaged_page);
  return g_test_run ();
}
