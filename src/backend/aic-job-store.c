/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include "aic-error.h"
#include "aic-job-store.h"
#include "aic-job-store-private.h"
#include "aic-sqlite.h"
#include "aic-token.h"

/* The backend's jobs in SQLite (DATA-DIR/jobs.db), documents included,
 * so a job outlives the server process: every change is committed before
 * anyone is told of it, and a restart finds running jobs and queues them
 * again. A document's bytes are dropped once its job has ended.
 *
 * Documents live in a table of their own: SQLite rewrites a whole row on
 * every UPDATE, and a job's row changes at every step (once per part), so
 * a document in it was read and written again each time — a 10 MB
 * document in 850 parts made 8 GB of copying (issue 14). */

#define SCHEMA_VERSION 2

struct _AicJobStore
{
  GObject  parent_instance;

  sqlite3 *db;
};

G_DEFINE_FINAL_TYPE (AicJobStore, aic_job_store, G_TYPE_OBJECT)

#define COLUMNS "id, api, filename, mime, instructions, model, idempotency_key, status, progress, " \
                "stage, message, result, error_code, error_message, version, attempts, created_at, updated_at"

void
aic_job_record_free (AicJobRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->id);
  g_free (record->api);
  g_free (record->filename);
  g_free (record->mime);
  g_free (record->instructions);
  g_free (record->model);
  g_free (record->idempotency_key);
  g_free (record->stage);
  g_free (record->message);
  g_free (record->result);
  g_free (record->error_code);
  g_free (record->error_message);
  g_free (record);
}

AicJobRecord *
aic_job_record_copy (const AicJobRecord *record)
{
  AicJobRecord *copy = g_memdup2 (record, sizeof *record);

  copy->id = g_strdup (record->id);
  copy->api = g_strdup (record->api);
  copy->filename = g_strdup (record->filename);
  copy->mime = g_strdup (record->mime);
  copy->instructions = g_strdup (record->instructions);
  copy->model = g_strdup (record->model);
  copy->idempotency_key = g_strdup (record->idempotency_key);
  copy->stage = g_strdup (record->stage);
  copy->message = g_strdup (record->message);
  copy->result = g_strdup (record->result);
  copy->error_code = g_strdup (record->error_code);
  copy->error_message = g_strdup (record->error_message);
  return copy;
}

static AicJobRecord *
read_record (sqlite3_stmt *statement)
{
  AicJobRecord *record = g_new0 (AicJobRecord, 1);
  g_autofree char *status = NULL;

  record->id = aic_sqlite_dup_text (statement, 0);
  record->api = aic_sqlite_dup_text (statement, 1);
  record->filename = aic_sqlite_dup_text (statement, 2);
  record->mime = aic_sqlite_dup_text (statement, 3);
  record->instructions = aic_sqlite_dup_text (statement, 4);
  record->model = aic_sqlite_dup_text (statement, 5);
  record->idempotency_key = aic_sqlite_dup_text (statement, 6);
  status = aic_sqlite_dup_text (statement, 7);
  if (!aic_job_status_from_string (status, &record->status))
    record->status = AIC_JOB_FAILED;
  record->progress = sqlite3_column_int (statement, 8);
  record->stage = aic_sqlite_dup_text (statement, 9);
  record->message = aic_sqlite_dup_text (statement, 10);
  record->result = aic_sqlite_dup_text (statement, 11);
  record->error_code = aic_sqlite_dup_text (statement, 12);
  record->error_message = aic_sqlite_dup_text (statement, 13);
  record->version = sqlite3_column_int64 (statement, 14);
  record->attempts = sqlite3_column_int (statement, 15);
  record->created_at = sqlite3_column_int64 (statement, 16);
  record->updated_at = sqlite3_column_int64 (statement, 17);
  return record;
}

static gboolean
migrate (AicJobStore  *self,
         GError      **error)
{
  int version = aic_sqlite_get_user_version (self->db, error);

  if (version < 0)
    return FALSE;
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   "The job database was written by a newer ai-console-server.");
      return FALSE;
    }
  if (version < 1 &&
      !aic_sqlite_exec (self->db,
                        "BEGIN;"
                        "CREATE TABLE jobs ("
                        "  id TEXT PRIMARY KEY,"
                        "  api TEXT NOT NULL,"
                        "  filename TEXT NOT NULL,"
                        "  mime TEXT NOT NULL,"
                        "  instructions TEXT,"
                        "  model TEXT,"
                        "  idempotency_key TEXT UNIQUE,"
                        "  status TEXT NOT NULL,"
                        "  progress INTEGER NOT NULL DEFAULT 0,"
                        "  stage TEXT,"
                        "  message TEXT,"
                        "  result TEXT,"
                        "  error_code TEXT,"
                        "  error_message TEXT,"
                        "  version INTEGER NOT NULL DEFAULT 1,"
                        "  attempts INTEGER NOT NULL DEFAULT 0,"
                        "  created_at INTEGER NOT NULL,"
                        "  updated_at INTEGER NOT NULL,"
                        "  document BLOB);"
                        "CREATE INDEX jobs_by_age ON jobs (created_at DESC);"
                        "CREATE INDEX jobs_by_status ON jobs (status);"
                        "PRAGMA user_version = 1;"
                        "COMMIT;",
                        error))
    return FALSE;
  if (version < 2 &&
      !aic_sqlite_exec (self->db,
                        "BEGIN;"
                        "CREATE TABLE documents ("
                        "  job_id TEXT PRIMARY KEY,"
                        "  document BLOB NOT NULL);"
                        "INSERT INTO documents (job_id, document)"
                        "  SELECT id, document FROM jobs WHERE document IS NOT NULL;"
                        "UPDATE jobs SET document = NULL WHERE document IS NOT NULL;"
                        "PRAGMA user_version = 2;"
                        "COMMIT;",
                        error))
    return FALSE;
  return TRUE;
}

static void
aic_job_store_finalize (GObject *object)
{
  AicJobStore *self = AIC_JOB_STORE (object);

  g_clear_pointer (&self->db, sqlite3_close);

  G_OBJECT_CLASS (aic_job_store_parent_class)->finalize (object);
}

static void
aic_job_store_class_init (AicJobStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_job_store_finalize;
}

static void
aic_job_store_init (AicJobStore *self)
{
}

AicJobStore *
aic_job_store_open (const char  *path,
                    GError     **error)
{
  g_autoptr(AicJobStore) self = g_object_new (AIC_TYPE_JOB_STORE, NULL);
  g_autoptr(GError) local_error = NULL;

  self->db = aic_sqlite_open (path, error);
  if (self->db == NULL || !migrate (self, error))
    return NULL;
  if (!aic_sqlite_exec (self->db,
                        "DELETE FROM documents WHERE job_id NOT IN "
                        "  (SELECT id FROM jobs WHERE status IN ('queued', 'running'))",
                        &local_error))
    g_debug ("Documents of ended jobs are kept for now: %s", local_error->message);
  return g_steal_pointer (&self);
}

static AicJobRecord *
find_by_key (AicJobStore  *self,
             const char   *key,
             GError      **error)
{
  g_autoptr(sqlite3_stmt) statement =
    aic_sqlite_prepare (self->db, "SELECT " COLUMNS " FROM jobs WHERE idempotency_key = ?", error);

  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, key);
  if (sqlite3_step (statement) == SQLITE_ROW)
    return read_record (statement);
  return NULL;
}

/* Ends a failed transaction; the error is already set. */
static gpointer
rollback (AicJobStore *self)
{
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  return NULL;
}

/**
 * aic_job_store_insert:
 * @record: the new job's fields; id, version and times are filled in
 * @out_existing: (out): whether @record's idempotency key named a job
 *   already, which is then returned instead
 *
 * Returns: (transfer full): the stored job
 */
AicJobRecord *
aic_job_store_insert (AicJobStore         *self,
                      const AicJobRecord  *record,
                      GBytes              *document,
                      gboolean            *out_existing,
                      GError             **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(AicJobRecord) stored = NULL;
  gsize size;
  const void *data;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), NULL);

  *out_existing = FALSE;
  if (record->idempotency_key != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      stored = find_by_key (self, record->idempotency_key, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (stored != NULL)
        {
          *out_existing = TRUE;
          return g_steal_pointer (&stored);
        }
    }

  stored = aic_job_record_copy (record);
  g_free (stored->id);
  stored->id = aic_token_new_id ("j");
  stored->status = AIC_JOB_QUEUED;
  stored->version = 1;
  stored->created_at = stored->updated_at = g_get_real_time ();

  if (!aic_sqlite_exec (self->db, "BEGIN", error))
    return NULL;
  statement = aic_sqlite_prepare (self->db,
                                  "INSERT INTO jobs (" COLUMNS ") VALUES "
                                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (statement == NULL)
    return rollback (self);
  aic_sqlite_bind_text (statement, 1, stored->id);
  aic_sqlite_bind_text (statement, 2, stored->api);
  aic_sqlite_bind_text (statement, 3, stored->filename);
  aic_sqlite_bind_text (statement, 4, stored->mime);
  aic_sqlite_bind_text (statement, 5, stored->instructions);
  aic_sqlite_bind_text (statement, 6, stored->model);
  aic_sqlite_bind_text (statement, 7, stored->idempotency_key);
  aic_sqlite_bind_text (statement, 8, aic_job_status_to_string (stored->status));
  sqlite3_bind_int (statement, 9, stored->progress);
  aic_sqlite_bind_text (statement, 10, stored->stage);
  aic_sqlite_bind_text (statement, 11, stored->message);
  aic_sqlite_bind_text (statement, 12, stored->result);
  aic_sqlite_bind_text (statement, 13, stored->error_code);
  aic_sqlite_bind_text (statement, 14, stored->error_message);
  sqlite3_bind_int64 (statement, 15, stored->version);
  sqlite3_bind_int (statement, 16, stored->attempts);
  sqlite3_bind_int64 (statement, 17, stored->created_at);
  sqlite3_bind_int64 (statement, 18, stored->updated_at);
  if (!aic_sqlite_step_done (statement, error))
    return rollback (self);
  g_clear_pointer (&statement, sqlite3_finalize);

  statement = aic_sqlite_prepare (self->db, "INSERT INTO documents (job_id, document) VALUES (?, ?)", error);
  if (statement == NULL)
    return rollback (self);
  aic_sqlite_bind_text (statement, 1, stored->id);
  data = g_bytes_get_data (document, &size);
  sqlite3_bind_blob64 (statement, 2, data ? data : "", size, SQLITE_STATIC);
  if (!aic_sqlite_step_done (statement, error) ||
      !aic_sqlite_exec (self->db, "COMMIT", error))
    return rollback (self);
  return g_steal_pointer (&stored);
}

AicJobRecord *
aic_job_store_get (AicJobStore  *self,
                   const char   *id,
                   GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  int rc;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT " COLUMNS " FROM jobs WHERE id = ?", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, id);
  rc = sqlite3_step (statement);
  if (rc == SQLITE_ROW)
    return read_record (statement);
  if (rc == SQLITE_DONE)
    g_set_error (error, AIC_ERROR, AIC_ERROR_NOT_FOUND, "There is no job %s.", id);
  else
    aic_sqlite_error (self->db, error);
  return NULL;
}

/**
 * aic_job_store_list:
 * Returns: (transfer container) (element-type AicJobRecord): newest first
 */
GPtrArray *
aic_job_store_list (AicJobStore  *self,
                    guint         limit,
                    GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_job_record_free);
  int rc;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT " COLUMNS " FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int (statement, 1, limit);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (list, read_record (statement));
  if (rc != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  return g_steal_pointer (&list);
}

GBytes *
aic_job_store_get_document (AicJobStore  *self,
                            const char   *id,
                            GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  sqlite3_blob *blob = NULL;
  sqlite3_int64 rowid;
  g_autofree char *data = NULL;
  int size;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT rowid FROM documents WHERE job_id = ?", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, id);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_NOT_FOUND, "There is no job %s.", id);
      return NULL;
    }
  rowid = sqlite3_column_int64 (statement, 0);
  /* Read straight into the buffer returned: a column value would be one
   * more copy of the whole document. */
  if (sqlite3_blob_open (self->db, "main", "documents", "document", rowid, 0, &blob) != SQLITE_OK)
    {
      aic_sqlite_error (self->db, error);
      sqlite3_blob_close (blob);
      return NULL;
    }
  size = sqlite3_blob_bytes (blob);
  data = g_malloc (MAX (size, 1));
  if (sqlite3_blob_read (blob, data, size, 0) != SQLITE_OK)
    {
      aic_sqlite_error (self->db, error);
      sqlite3_blob_close (blob);
      return NULL;
    }
  sqlite3_blob_close (blob);
  return g_bytes_new_take (g_steal_pointer (&data), size);
}

/* Once its job has ended a document is not needed; one whose removal
 * failed (a full disk) goes when the store is next opened. */
static void
drop_document (AicJobStore *self,
               const char  *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(sqlite3_stmt) statement =
    aic_sqlite_prepare (self->db, "DELETE FROM documents WHERE job_id = ?", &error);

  if (statement != NULL)
    {
      aic_sqlite_bind_text (statement, 1, id);
      aic_sqlite_step_done (statement, &error);
    }
  if (error != NULL)
    g_debug ("The document of job %s is kept for now: %s", id, error->message);
}

/**
 * aic_job_store_save:
 * Writes @record's state, result and error; bumps its version and time.
 * Once a job has ended its document is no longer kept.
 */
gboolean
aic_job_store_save (AicJobStore   *self,
                    AicJobRecord  *record,
                    GError       **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  int rc;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db,
                                  "UPDATE jobs SET status = ?, progress = ?, stage = ?, message = ?, result = ?, "
                                  "  error_code = ?, error_message = ?, attempts = ?, version = version + 1, updated_at = ? "
                                  "WHERE id = ? RETURNING version", error);
  if (statement == NULL)
    return FALSE;
  record->updated_at = MAX (g_get_real_time (), record->updated_at + 1);
  aic_sqlite_bind_text (statement, 1, aic_job_status_to_string (record->status));
  sqlite3_bind_int (statement, 2, record->progress);
  aic_sqlite_bind_text (statement, 3, record->stage);
  aic_sqlite_bind_text (statement, 4, record->message);
  aic_sqlite_bind_text (statement, 5, record->result);
  aic_sqlite_bind_text (statement, 6, record->error_code);
  aic_sqlite_bind_text (statement, 7, record->error_message);
  sqlite3_bind_int (statement, 8, record->attempts);
  sqlite3_bind_int64 (statement, 9, record->updated_at);
  aic_sqlite_bind_text (statement, 10, record->id);
  rc = sqlite3_step (statement);
  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        g_set_error (error, AIC_ERROR, AIC_ERROR_NOT_FOUND, "There is no job %s.", record->id);
      else
        aic_sqlite_error (self->db, error);
      return FALSE;
    }
  record->version = sqlite3_column_int64 (statement, 0);
  /* With RETURNING, the row comes before the change is committed: the
   * commit, which is where a full disk shows, is this last step. */
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      record->version--;
      return FALSE;
    }
  if (aic_job_status_is_final (record->status))
    drop_document (self, record->id);
  return TRUE;
}

/* Pages of the database read (from the cache or the file) and written
 * so far on this connection: a test's measure of what a job costs the
 * store, whatever its size. */
gint64
aic_job_store_debug_get_pages (AicJobStore *self)
{
  static const int counters[] = { SQLITE_DBSTATUS_CACHE_HIT, SQLITE_DBSTATUS_CACHE_MISS, SQLITE_DBSTATUS_CACHE_WRITE };
  gint64 pages = 0;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), 0);

  for (guint i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      int current = 0, highwater = 0;

      sqlite3_db_status (self->db, counters[i], &current, &highwater, FALSE);
      pages += current;
    }
  return pages;
}

/**
 * aic_job_store_recover:
 * At start: jobs left running by a server that died are queued again;
 * one that has already been started @max_attempts times fails instead,
 * with a reason, so a document that crashes the server cannot do it for
 * ever.
 *
 * Returns: (transfer container) (element-type AicJobRecord): every queued
 *   job, oldest first
 */
GPtrArray *
aic_job_store_recover (AicJobStore  *self,
                       int           max_attempts,
                       GError      **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) running = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_job_record_free);
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_job_record_free);
  int rc;

  g_return_val_if_fail (AIC_IS_JOB_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db,
                                  "SELECT " COLUMNS " FROM jobs WHERE status IN ('running', 'queued') "
                                  "ORDER BY created_at, rowid", error);
  if (statement == NULL)
    return NULL;
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (running, read_record (statement));
  if (rc != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }

  for (guint i = 0; i < running->len; i++)
    {
      AicJobRecord *record = g_ptr_array_index (running, i);

      if (record->status == AIC_JOB_RUNNING)
        {
          if (record->attempts >= max_attempts)
            {
              record->status = AIC_JOB_FAILED;
              g_free (record->error_code);
              record->error_code = g_strdup ("interrupted");
              g_free (record->error_message);
              record->error_message = g_strdup_printf ("The server stopped %d times while working on this document; "
                                                       "it was not tried again.", record->attempts);
            }
          else
            {
              record->status = AIC_JOB_QUEUED;
              record->progress = 0;
              g_clear_pointer (&record->stage, g_free);
              g_free (record->message);
              record->message = g_strdup ("Queued again after a server restart");
            }
          if (!aic_job_store_save (self, record, error))
            return NULL;
        }
      if (record->status == AIC_JOB_QUEUED)
        g_ptr_array_add (queued, aic_job_record_copy (record));
    }
  return g_steal_pointer (&queued);
}
