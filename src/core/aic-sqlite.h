/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* The few SQLite chores every database here shares: the app's store and
 * the backend's job table. Errors name the file, in words. */

sqlite3      *aic_sqlite_open            (const char    *path,
                                          GError       **error);
sqlite3      *aic_sqlite_open_full       (const char    *path,
                                          gboolean       check,
                                          GError       **error);
gboolean      aic_sqlite_check_file      (const char    *path,
                                          GError       **error);
gboolean      aic_sqlite_exec            (sqlite3       *db,
                                          const char    *sql,
                                          GError       **error);
sqlite3_stmt *aic_sqlite_prepare         (sqlite3       *db,
                                          const char    *sql,
                                          GError       **error);
gboolean      aic_sqlite_step_done       (sqlite3_stmt  *statement,
                                          GError       **error);
gboolean      aic_sqlite_error           (sqlite3       *db,
                                          GError       **error);
int           aic_sqlite_get_user_version (sqlite3      *db,
                                          GError       **error);
void          aic_sqlite_bind_text       (sqlite3_stmt  *statement,
                                          int            index,
                                          const char    *text);
char         *aic_sqlite_dup_text        (sqlite3_stmt  *statement,
                                          int            index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

G_END_DECLS
