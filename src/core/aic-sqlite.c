/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aic-error.h"
#include "aic-sqlite.h"

static void
set_error (GError     **error,
           sqlite3     *db,
           const char  *detail)
{
  const char *file = db ? sqlite3_db_filename (db, "main") : NULL;

  if (file == NULL || file[0] == '\0')
    file = ":memory:";
  /* Out of space: a condition that passes, said as such, so that callers
   * can wait for room rather than fail. */
  if (db != NULL && ((sqlite3_errcode (db) & 0xff) == SQLITE_FULL || sqlite3_system_errno (db) == ENOSPC))
    {
      g_autofree char *dir = g_path_get_dirname (file);

      g_set_error (error, AIC_ERROR, AIC_ERROR_DISK_FULL, _("The disk that holds %s is full."), dir);
      return;
    }
  g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
               _("Saved data in %s could not be read or written: %s"), file, detail);
}

/* Databases hold what users wrote and what commands printed: they are
 * the user's alone (0600), whatever the umask. SQLite gives its -wal and
 * -shm files the database's mode; ones left by an older version are
 * brought in line too. */
static gboolean
make_private (const char  *path,
              GError     **error)
{
  static const char * const suffixes[] = { "-wal", "-shm", "-journal" };
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd < 0 || fchmod (fd, 0600) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   _("Could not open the database %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *companion = g_strconcat (path, suffixes[i], NULL);

      chmod (companion, 0600);
    }
  return TRUE;
}

/* A damaged page is otherwise found only when a row on it is read, as a
 * failure of that one request; found here, at start, it can be said once
 * and plainly. quick_check reads every page but skips the costlier index
 * cross-checks of integrity_check. */
static gboolean
check_intact (sqlite3     *db,
              const char  *path,
              GError     **error)
{
  sqlite3_stmt *statement = NULL;
  g_autofree char *problem = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check(1)", -1, &statement, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (statement);
  if (rc == SQLITE_ROW)
    {
      const char *answer = (const char *) sqlite3_column_text (statement, 0);

      if (g_strcmp0 (answer, "ok") != 0)
        problem = g_strdup (answer ? answer : "?");
    }
  else
    problem = g_strdup (sqlite3_errmsg (db));
  sqlite3_finalize (statement);

  if (problem == NULL)
    return TRUE;
  g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
               _("The database %s is damaged (%s). Move it aside, or restore it from a backup, and start again."),
               path, problem);
  return FALSE;
}

/* A connection to @path (@flags as sqlite3_open_v2() takes them), with the
 * busy timeout every connection here has. */
static sqlite3 *
open_connection (const char  *path,
                 int          flags,
                 GError     **error)
{
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      set_error (error, db, db ? sqlite3_errmsg (db) : g_strerror (ENOMEM));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 2000);
  return db;
}

/**
 * aic_sqlite_check_file:
 * @path: a database file
 *
 * Reads every page of @path, on a connection of its own (read only), as
 * aic_sqlite_open() does at start: for a database that may be large, the
 * caller can run this in a thread after opening it unchecked.
 *
 * Returns: %FALSE, with an error that names the file, if it is damaged
 */
gboolean
aic_sqlite_check_file (const char  *path,
                       GError     **error)
{
  sqlite3 *db = NULL;
  gboolean intact;

  g_return_val_if_fail (path != NULL, FALSE);

  db = open_connection (path, SQLITE_OPEN_READONLY, error);
  if (db == NULL)
    return FALSE;
  intact = check_intact (db, path, error);
  sqlite3_close (db);
  return intact;
}

/**
 * aic_sqlite_open:
 * @path: a file (its folder is made, private to the user), or ":memory:"
 *
 * WAL journal, synchronous=NORMAL (each commit survives the program being
 * killed), foreign keys on, and a busy timeout for a second process. Every
 * page is read once to find damage (see check_intact()).
 */
sqlite3 *
aic_sqlite_open (const char  *path,
                 GError     **error)
{
  return aic_sqlite_open_full (path, TRUE, error);
}

/**
 * aic_sqlite_open_full:
 * @check: whether to read every page for damage now; a store that grows
 *   with the years (the conversations) is checked after the start instead,
 *   with aic_sqlite_check_file(), as reading it took 40 % of the app's
 *   start with 10,000 conversations
 */
sqlite3 *
aic_sqlite_open_full (const char  *path,
                      gboolean     check,
                      GError     **error)
{
  sqlite3 *db = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_str_equal (path, ":memory:"))
    {
      g_autofree char *dir = g_path_get_dirname (path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                       _("Could not create the folder %s: %s"), dir, g_strerror (errno));
          return NULL;
        }
      if (!make_private (path, error))
        return NULL;
    }

  db = open_connection (path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error);
  if (db == NULL)
    return NULL;

  if (!aic_sqlite_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", error))
    {
      sqlite3_close (db);
      return NULL;
    }
  if (check && !check_intact (db, path, error))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

gboolean
aic_sqlite_error (sqlite3  *db,
                  GError  **error)
{
  set_error (error, db, sqlite3_errmsg (db));
  return FALSE;
}

gboolean
aic_sqlite_exec (sqlite3     *db,
                 const char  *sql,
                 GError     **error)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      set_error (error, db, message ? message : sqlite3_errmsg (db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
aic_sqlite_prepare (sqlite3     *db,
                    const char  *sql,
                    GError     **error)
{
  sqlite3_stmt *statement = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL) != SQLITE_OK)
    {
      aic_sqlite_error (db, error);
      return NULL;
    }
  return statement;
}

/* For statements that return no rows. */
gboolean
aic_sqlite_step_done (sqlite3_stmt  *statement,
                      GError       **error)
{
  if (sqlite3_step (statement) != SQLITE_DONE)
    return aic_sqlite_error (sqlite3_db_handle (statement), error);
  return TRUE;
}

/* Returns: the schema version, or -1 with @error set */
int
aic_sqlite_get_user_version (sqlite3  *db,
                             GError  **error)
{
  g_autoptr(sqlite3_stmt) statement = aic_sqlite_prepare (db, "PRAGMA user_version", error);

  if (statement == NULL)
    return -1;
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      aic_sqlite_error (db, error);
      return -1;
    }
  return sqlite3_column_int (statement, 0);
}

void
aic_sqlite_bind_text (sqlite3_stmt *statement,
                      int           index,
                      const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (statement, index);
  else
    sqlite3_bind_text (statement, index, text, -1, SQLITE_TRANSIENT);
}

char *
aic_sqlite_dup_text (sqlite3_stmt *statement,
                     int           index)
{
  const unsigned char *text = sqlite3_column_text (statement, index);

  return text ? g_strdup ((const char *) text) : NULL;
}
