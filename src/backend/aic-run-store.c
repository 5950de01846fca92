/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include "aic-error.h"
#include "aic-json.h"
#include "aic-run-store.h"
#include "aic-sqlite.h"

/* Agent runs in SQLite (DATA-DIR/runs.db): the run, its loop state and its
 * pending request in one row, and every message it sent, control and
 * tokens, numbered in one sequence per run. Each change is committed
 * before anyone hears of it. */

#define SCHEMA_VERSION 1

#define COLUMNS "id, goal, model, workspace, state, result, memory, pending, deadline_at, created_at, updated_at"

struct _AicRunStore
{
  GObject  parent_instance;

  sqlite3 *db;
};

G_DEFINE_FINAL_TYPE (AicRunStore, aic_run_store, G_TYPE_OBJECT)

void
aic_run_record_free (AicRunRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->id);
  g_free (record->goal);
  g_free (record->model);
  g_free (record->workspace);
  g_clear_pointer (&record->result, json_node_unref);
  aic_run_memory_free (record->memory);
  aic_run_pending_free (record->pending);
  g_free (record);
}

void
aic_run_event_free (AicRunEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->body);
  g_free (event);
}

/* The typed state of a row. What cannot be read is logged and the run
 * marked failed: one damaged row must not keep the others from loading. */
static void
read_state (AicRunRecord *record,
            sqlite3_stmt *statement)
{
  const char *state = (const char *) sqlite3_column_text (statement, 4);
  const char *result = (const char *) sqlite3_column_text (statement, 5);
  const char *memory = (const char *) sqlite3_column_text (statement, 6);
  const char *pending = (const char *) sqlite3_column_text (statement, 7);
  g_autoptr(GError) error = NULL;
  gboolean damaged = FALSE;

  if (!aic_run_state_from_string (state, &record->state))
    {
      g_warning ("Run %s has an unknown state “%s”", record->id, state ? state : "");
      damaged = TRUE;
    }
  if (result != NULL)
    record->result = aic_json_parse_mutable (result, -1, NULL);
  record->memory = aic_run_memory_from_json (memory, &error);
  if (record->memory == NULL)
    {
      g_warning ("Run %s: its loop state cannot be read: %s", record->id, error->message);
      g_clear_error (&error);
      record->memory = aic_run_memory_new ();
      damaged = TRUE;
    }
  if (pending != NULL)
    {
      record->pending = aic_run_pending_from_json (pending, &error);
      if (record->pending == NULL)
        {
          g_warning ("Run %s: its pending request cannot be read: %s", record->id, error->message);
          damaged = TRUE;
        }
    }
  if (damaged && !aic_run_state_is_final (record->state))
    {
      record->state = AIC_RUN_STATE_FAILED;
      g_clear_pointer (&record->pending, aic_run_pending_free);
    }
}

static AicRunRecord *
read_record (sqlite3_stmt *statement)
{
  AicRunRecord *record = g_new0 (AicRunRecord, 1);

  record->id = aic_sqlite_dup_text (statement, 0);
  record->goal = aic_sqlite_dup_text (statement, 1);
  record->model = aic_sqlite_dup_text (statement, 2);
  record->workspace = aic_sqlite_dup_text (statement, 3);
  read_state (record, statement);
  record->deadline_at = sqlite3_column_int64 (statement, 8);
  record->created_at = sqlite3_column_int64 (statement, 9);
  record->updated_at = sqlite3_column_int64 (statement, 10);
  return record;
}

static gboolean
migrate (AicRunStore  *self,
         GError      **error)
{
  int version = aic_sqlite_get_user_version (self->db, error);

  if (version < 0)
    return FALSE;
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   "The run database was written by a newer ai-console-server.");
      return FALSE;
    }
  if (version < 1)
    return aic_sqlite_exec (self->db,
                            "BEGIN;"
                            "CREATE TABLE runs ("
                            "  id TEXT PRIMARY KEY,"
                            "  goal TEXT NOT NULL,"
                            "  model TEXT,"
                            "  workspace TEXT NOT NULL,"
                            "  state TEXT NOT NULL,"
                            "  result TEXT,"
                            "  memory TEXT NOT NULL,"
                            "  pending TEXT,"
                            "  deadline_at INTEGER NOT NULL DEFAULT 0,"
                            "  created_at INTEGER NOT NULL,"
                            "  updated_at INTEGER NOT NULL);"
                            "CREATE INDEX runs_by_age ON runs (created_at DESC);"
                            "CREATE TABLE run_events ("
                            "  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
                            "  seq INTEGER NOT NULL,"
                            "  channel TEXT NOT NULL,"
                            "  body TEXT NOT NULL,"
                            "  PRIMARY KEY (run_id, seq));"
                            "PRAGMA user_version = 1;"
                            "COMMIT;",
                            error);
  return TRUE;
}

static void
aic_run_store_finalize (GObject *object)
{
  AicRunStore *self = AIC_RUN_STORE (object);

  g_clear_pointer (&self->db, sqlite3_close);

  G_OBJECT_CLASS (aic_run_store_parent_class)->finalize (object);
}

static void
aic_run_store_class_init (AicRunStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_run_store_finalize;
}

static void
aic_run_store_init (AicRunStore *self)
{
}

/**
 * aic_run_store_open:
 * @path: a file, or ":memory:"
 */
AicRunStore *
aic_run_store_open (const char  *path,
                    GError     **error)
{
  g_autoptr(AicRunStore) self = g_object_new (AIC_TYPE_RUN_STORE, NULL);

  self->db = aic_sqlite_open (path, error);
  if (self->db == NULL || !migrate (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

static void
bind_record (sqlite3_stmt       *statement,
             const AicRunRecord *record)
{
  g_autofree char *result = record->result ? aic_json_to_string (record->result, FALSE) : NULL;
  g_autofree char *memory = record->memory ? aic_run_memory_to_json (record->memory) : g_strdup ("{}");
  g_autofree char *pending = record->pending ? aic_run_pending_to_json (record->pending) : NULL;

  aic_sqlite_bind_text (statement, 1, record->id);
  aic_sqlite_bind_text (statement, 2, record->goal);
  aic_sqlite_bind_text (statement, 3, record->model);
  aic_sqlite_bind_text (statement, 4, record->workspace);
  aic_sqlite_bind_text (statement, 5, aic_run_state_to_string (record->state));
  aic_sqlite_bind_text (statement, 6, result);
  aic_sqlite_bind_text (statement, 7, memory);
  aic_sqlite_bind_text (statement, 8, pending);
  sqlite3_bind_int64 (statement, 9, record->deadline_at);
  sqlite3_bind_int64 (statement, 10, record->created_at);
  sqlite3_bind_int64 (statement, 11, record->updated_at);
}

/**
 * aic_run_store_insert:
 * @record: a new run; its times are filled in
 */
gboolean
aic_run_store_insert (AicRunStore   *self,
                      AicRunRecord  *record,
                      GError       **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_RUN_STORE (self), FALSE);

  record->created_at = record->updated_at = g_get_real_time ();
  statement = aic_sqlite_prepare (self->db,
                                  "INSERT INTO runs (" COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                  error);
  if (statement == NULL)
    return FALSE;
  bind_record (statement, record);
  return aic_sqlite_step_done (statement, error);
}

gboolean
aic_run_store_save (AicRunStore   *self,
                    AicRunRecord  *record,
                    GError       **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_RUN_STORE (self), FALSE);

  record->updated_at = g_get_real_time ();
  statement = aic_sqlite_prepare (self->db,
                                  "UPDATE runs SET goal = ?2, model = ?3, workspace = ?4, state = ?5, "
                                  "result = ?6, memory = ?7, pending = ?8, deadline_at = ?9, "
                                  "created_at = ?10, updated_at = ?11 WHERE id = ?1",
                                  error);
  if (statement == NULL)
    return FALSE;
  bind_record (statement, record);
  return aic_sqlite_step_done (statement, error);
}

/**
 * aic_run_store_get:
 * Returns: (transfer full) (nullable): the run, or %NULL with no error
 *   when there is none of that id
 */
AicRunRecord *
aic_run_store_get (AicRunStore  *self,
                   const char   *id,
                   GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  int status;

  g_return_val_if_fail (AIC_IS_RUN_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT " COLUMNS " FROM runs WHERE id = ?", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, id);
  status = sqlite3_step (statement);
  if (status == SQLITE_ROW)
    return read_record (statement);
  if (status != SQLITE_DONE)
    aic_sqlite_error (self->db, error);
  return NULL;
}

/**
 * aic_run_store_list:
 * Returns: (transfer full) (element-type AicRunRecord): newest first
 */
GPtrArray *
aic_run_store_list (AicRunStore  *self,
                    guint         limit,
                    gboolean      unfinished_only,
                    GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_run_record_free);
  int status;

  g_return_val_if_fail (AIC_IS_RUN_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db,
                                  unfinished_only
                                  ? "SELECT " COLUMNS " FROM runs WHERE state NOT IN "
                                    "('completed', 'cancelled', 'failed') ORDER BY created_at LIMIT ?"
                                  : "SELECT " COLUMNS " FROM runs ORDER BY created_at DESC LIMIT ?",
                                  error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, limit);
  while ((status = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (records, read_record (statement));
  if (status != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  return g_steal_pointer (&records);
}

/**
 * aic_run_store_append:
 * @channel: "control" or "token"
 * Returns: the event's number, counting from 1, or 0 on error
 */
gint64
aic_run_store_append (AicRunStore  *self,
                      const char   *run_id,
                      const char   *channel,
                      const char   *body,
                      GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  gint64 seq;

  g_return_val_if_fail (AIC_IS_RUN_STORE (self), 0);

  statement = aic_sqlite_prepare (self->db,
                                  "INSERT INTO run_events (run_id, seq, channel, body) "
                                  "SELECT ?1, COALESCE (MAX (seq), 0) + 1, ?2, ?3 FROM run_events WHERE run_id = ?1 "
                                  "RETURNING seq",
                                  error);
  if (statement == NULL)
    return 0;
  aic_sqlite_bind_text (statement, 1, run_id);
  aic_sqlite_bind_text (statement, 2, channel);
  aic_sqlite_bind_text (statement, 3, body);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      aic_sqlite_error (self->db, error);
      return 0;
    }
  seq = sqlite3_column_int64 (statement, 0);
  /* The commit comes with the statement's end, and may fail there (a
   * full disk): the row alone does not mean it was kept. */
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return 0;
    }
  return seq;
}

/**
 * aic_run_store_events:
 * @channel: (nullable): one channel, or %NULL for both
 * Returns: (transfer full) (element-type AicRunEvent): in order
 */
GPtrArray *
aic_run_store_events (AicRunStore  *self,
                      const char   *run_id,
                      const char   *channel,
                      gint64        after_seq,
                      GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_run_event_free);
  int status;

  g_return_val_if_fail (AIC_IS_RUN_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db,
                                  "SELECT seq, body FROM run_events WHERE run_id = ?1 AND seq > ?2 "
                                  "AND (?3 IS NULL OR channel = ?3) ORDER BY seq",
                                  error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, run_id);
  sqlite3_bind_int64 (statement, 2, after_seq);
  aic_sqlite_bind_text (statement, 3, channel);
  while ((status = sqlite3_step (statement)) == SQLITE_ROW)
    {
      AicRunEvent *event = g_new0 (AicRunEvent, 1);

      event->seq = sqlite3_column_int64 (statement, 0);
      event->body = aic_sqlite_dup_text (statement, 1);
      g_ptr_array_add (events, event);
    }
  if (status != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  return g_steal_pointer (&events);
}
