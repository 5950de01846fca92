/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "aic-error.h"
#include "aic-job.h"
#include "aic-sqlite.h"
#include "aic-store.h"
#include "aic-store-private.h"

/* Conversations and their messages in SQLite, at
 * $XDG_DATA_HOME/ai-console/ai-console.db.
 *
 * WAL mode with synchronous=NORMAL: a reply's text is written as it is
 * shown, many small updates a second, and each is durable against the app
 * being killed (not against the machine losing power between checkpoints,
 * which NORMAL trades for speed). The schema has a version in
 * PRAGMA user_version so later releases can migrate. */

#define SCHEMA_VERSION 5

/* Queries for streaming messages say 1, a literal, to use the partial
 * index messages_streaming. */
G_STATIC_ASSERT (AIC_MESSAGE_STREAMING == 1);

struct _AicStore
{
  GObject  parent_instance;

  sqlite3 *db;
  char    *path;
};

G_DEFINE_FINAL_TYPE (AicStore, aic_store, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
aic_stored_message_free (AicStoredMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->conversation_id);
  g_free (message->role);
  g_free (message->content);
  g_free (message->error);
  g_free (message->model);
  g_free (message);
}

void
aic_conversation_info_free (AicConversationInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->id);
  g_free (info->title);
  g_free (info->model);
  g_free (info);
}

static gboolean
migrate (AicStore  *self,
         GError   **error)
{
  g_autoptr(sqlite3_stmt) statement = aic_sqlite_prepare (self->db, "PRAGMA user_version", error);
  int version;

  if (statement == NULL)
    return FALSE;
  if (sqlite3_step (statement) != SQLITE_ROW)
    return aic_sqlite_error (self->db, error);
  version = sqlite3_column_int (statement, 0);
  /* Done with it: a statement still open would keep DROP TABLE below from
   * running ("database table is locked"). */
  g_clear_pointer (&statement, sqlite3_finalize);

  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   _("The conversation history was written by a newer AI Console; update the app to open it."));
      return FALSE;
    }

  if (version < 1 &&
      !aic_sqlite_exec (self->db, "BEGIN;"
             "CREATE TABLE conversations ("
             "  id TEXT PRIMARY KEY,"
             "  title TEXT NOT NULL,"
             "  model TEXT,"
             "  created_at INTEGER NOT NULL,"
             "  updated_at INTEGER NOT NULL);"
             "CREATE TABLE messages ("
             "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
             "  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
             "  role TEXT NOT NULL,"
             "  content TEXT NOT NULL,"
             "  state INTEGER NOT NULL,"
             "  error TEXT,"
             "  model TEXT,"
             "  created_at INTEGER NOT NULL,"
             "  first_token_ms INTEGER NOT NULL DEFAULT -1,"
             "  duration_ms INTEGER NOT NULL DEFAULT -1,"
             "  tokens INTEGER NOT NULL DEFAULT -1);"
             "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);"
             /* A streaming reply is appended here piece by piece (each an
              * insert of a few bytes, however long the reply has grown),
              * and folded into messages.content when it ends. */
             "CREATE TABLE message_parts ("
             "  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
             "  seq INTEGER NOT NULL,"
             "  text TEXT NOT NULL,"
             "  PRIMARY KEY (message_id, seq));"
             "CREATE INDEX conversations_by_update ON conversations (updated_at DESC);"
             "PRAGMA user_version = 1;"
             "COMMIT;",
             error))
    return FALSE;

  /* Document jobs the app or the CLI follows; "owner" keeps the two
   * apart, so `ai-console-cli analyze --resume` takes only its own. */
  if (version < 2 &&
      !aic_sqlite_exec (self->db,
                        "BEGIN;"
                        "CREATE TABLE jobs ("
                        "  id TEXT PRIMARY KEY,"
                        "  owner TEXT NOT NULL,"
                        "  connection_id TEXT,"
                        "  filename TEXT NOT NULL,"
                        "  source_path TEXT,"
                        "  idempotency_key TEXT NOT NULL,"
                        "  shape TEXT,"
                        "  remote_id TEXT,"
                        "  status TEXT NOT NULL,"
                        "  progress INTEGER NOT NULL DEFAULT 0,"
                        "  stage TEXT,"
                        "  message TEXT,"
                        "  error TEXT,"
                        "  result TEXT,"
                        "  created_at INTEGER NOT NULL,"
                        "  updated_at INTEGER NOT NULL);"
                        "CREATE INDEX jobs_by_owner ON jobs (owner, created_at DESC);"
                        "PRAGMA user_version = 2;"
                        "COMMIT;",
                        error))
    return FALSE;

  /* What the reader asked the summary to attend to, kept for a resend. */
  if (version < 3 &&
      !aic_sqlite_exec (self->db,
                        "BEGIN;"
                        "ALTER TABLE jobs ADD COLUMN instructions TEXT;"
                        "PRAGMA user_version = 3;"
                        "COMMIT;",
                        error))
    return FALSE;

  /* Search as you type over every title and message: FTS5 indexes kept in
   * step by triggers. Messages are indexed as external content (the text
   * is stored once, in messages); titles, a few bytes each, in an index of
   * their own that keeps the conversation's id. A streaming reply is
   * indexed when it ends and its text is folded into messages.content.
   * Existing stores are indexed here, once. */
  if (version < 4 &&
      !aic_sqlite_exec (self->db,
                        "BEGIN;"
                        "CREATE VIRTUAL TABLE messages_fts USING fts5 ("
                        "  content, content='messages', content_rowid='id', prefix='1 2 3');"
                        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
                        "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
                        "END;"
                        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
                        "  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
                        "END;"
                        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
                        "  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
                        "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
                        "END;"
                        "CREATE VIRTUAL TABLE conversations_fts USING fts5 (id UNINDEXED, title, prefix='1 2 3');"
                        "CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN"
                        "  INSERT INTO conversations_fts (id, title) VALUES (new.id, new.title);"
                        "END;"
                        "CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN"
                        "  DELETE FROM conversations_fts WHERE id = old.id;"
                        "END;"
                        "CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN"
                        "  UPDATE conversations_fts SET title = new.title WHERE id = old.id;"
                        "END;"
                        /* Replies cut off by the end of the app, found at
                         * every start without reading every message. */
                        "CREATE INDEX IF NOT EXISTS messages_streaming ON messages (state) WHERE state = 1;"
                        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');"
                        "INSERT INTO conversations_fts (id, title) SELECT id, title FROM conversations;"
                        "PRAGMA user_version = 4;"
                        "COMMIT;",
                        error))
    {
      aic_sqlite_exec (self->db, "ROLLBACK", NULL);
      return FALSE;
    }

  /* Search without a lookup per match: the message index keeps no text
   * (contentless; the text is in messages) and its rowid says whose
   * message it is, the conversation's number in the high 32 bits and the
   * message's id in the low ones. A one-letter search matches most of the
   * messages; going from each match to its conversation through messages
   * took 100 ms at 200,000 messages, reading the rowids takes 5. A
   * contentless index removes an entry only when given the text it was
   * made from, so a conversation's messages go before the conversation
   * (a cascade would run the delete trigger after the conversation, and
   * its number, had gone). */
  if (version < 5 &&
      !aic_sqlite_exec (self->db,
                        "BEGIN;"
                        "ALTER TABLE conversations ADD COLUMN num INTEGER;"
                        "UPDATE conversations SET num = rowid;"
                        "CREATE UNIQUE INDEX conversations_by_num ON conversations (num);"
                        "DROP TRIGGER messages_fts_insert;"
                        "DROP TRIGGER messages_fts_delete;"
                        "DROP TRIGGER messages_fts_update;"
                        "DROP TABLE messages_fts;"
                        "CREATE VIRTUAL TABLE messages_fts USING fts5 (content, content='', prefix='1 2 3');"
                        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
                        "  INSERT INTO messages_fts (rowid, content)"
                        "  VALUES (((SELECT num FROM conversations WHERE id = new.conversation_id) << 32) + new.id, new.content);"
                        "END;"
                        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
                        "  INSERT INTO messages_fts (messages_fts, rowid, content)"
                        "  VALUES ('delete', ((SELECT num FROM conversations WHERE id = old.conversation_id) << 32) + old.id, old.content);"
                        "END;"
                        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
                        "  INSERT INTO messages_fts (messages_fts, rowid, content)"
                        "  VALUES ('delete', ((SELECT num FROM conversations WHERE id = old.conversation_id) << 32) + old.id, old.content);"
                        "  INSERT INTO messages_fts (rowid, content)"
                        "  VALUES (((SELECT num FROM conversations WHERE id = new.conversation_id) << 32) + new.id, new.content);"
                        "END;"
                        /* Titles under the conversation's number too. */
                        "DROP TRIGGER conversations_fts_insert;"
                        "DROP TRIGGER conversations_fts_delete;"
                        "DROP TRIGGER conversations_fts_update;"
                        "DROP TABLE conversations_fts;"
                        "CREATE VIRTUAL TABLE conversations_fts USING fts5 (title, prefix='1 2 3');"
                        "CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN"
                        "  INSERT INTO conversations_fts (rowid, title) VALUES (new.num, new.title);"
                        "END;"
                        "CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN"
                        "  DELETE FROM conversations_fts WHERE rowid = old.num;"
                        "END;"
                        "CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN"
                        "  UPDATE conversations_fts SET title = new.title WHERE rowid = old.num;"
                        "END;"
                        "INSERT INTO conversations_fts (rowid, title) SELECT num, title FROM conversations;"
                        "CREATE TRIGGER conversations_delete_messages BEFORE DELETE ON conversations BEGIN"
                        "  DELETE FROM messages WHERE conversation_id = old.id;"
                        "END;"
                        "INSERT INTO messages_fts (rowid, content)"
                        "  SELECT (c.num << 32) + m.id, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id;"
                        "PRAGMA user_version = 5;"
                        "COMMIT;",
                        error))
    {
      aic_sqlite_exec (self->db, "ROLLBACK", NULL);
      return FALSE;
    }

  return TRUE;
}

sqlite3 *
aic_store_get_db (AicStore *self)
{
  g_return_val_if_fail (AIC_IS_STORE (self), NULL);
  return self->db;
}

static void
aic_store_finalize (GObject *object)
{
  AicStore *self = AIC_STORE (object);

  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (aic_store_parent_class)->finalize (object);
}

static void
aic_store_class_init (AicStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_store_finalize;

  /**
   * AicStore::changed:
   * @conversation_id: (nullable): the conversation, or %NULL for the list
   *
   * Emitted when conversations were added, renamed or removed.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
aic_store_init (AicStore *self)
{
}

/**
 * aic_store_default_path:
 * Returns: (transfer full): $XDG_DATA_HOME/ai-console/ai-console.db
 */
char *
aic_store_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "ai-console", "ai-console.db", NULL);
}

/**
 * aic_store_open:
 * @path: a file, or ":memory:"
 */
AicStore *
aic_store_open (const char  *path,
                GError     **error)
{
  return aic_store_open_full (path, AIC_STORE_OPEN_DEFAULT, error);
}

/**
 * aic_store_open_full:
 * @flags: %AIC_STORE_OPEN_CHECK_LATER to skip reading every page for
 *   damage now; then call aic_store_check_async() once started
 */
AicStore *
aic_store_open_full (const char         *path,
                     AicStoreOpenFlags   flags,
                     GError            **error)
{
  g_autoptr(AicStore) self = g_object_new (AIC_TYPE_STORE, NULL);

  g_return_val_if_fail (path != NULL, NULL);

  self->path = g_strdup (path);
  self->db = aic_sqlite_open_full (path, (flags & AIC_STORE_OPEN_CHECK_LATER) == 0, error);
  if (self->db == NULL ||
      !migrate (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

static void
check_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  GError *error = NULL;

  if (aic_sqlite_check_file (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * aic_store_check_async:
 *
 * Reads every page of the store for damage, in a thread, on a connection
 * of its own: what aic_store_open() does before it returns, for a store
 * opened with %AIC_STORE_OPEN_CHECK_LATER. With 10,000 conversations
 * (170 MB) it takes about 0.6 s, 0.4 s of it CPU (`PRAGMA quick_check`
 * in the sqlite3 shell).
 */
void
aic_store_check_async (AicStore            *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (AIC_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_store_check_async);
  g_task_set_task_data (task, g_strdup (self->path), g_free);
  g_task_run_in_thread (task, check_thread);
}

/**
 * aic_store_check_finish:
 * Returns: %FALSE, with an error that says so in words, if the store is
 *   damaged
 */
gboolean
aic_store_check_finish (AicStore      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gint64
now (void)
{
  return g_get_real_time ();
}

char *
aic_store_create_conversation (AicStore    *self,
                               const char  *title,
                               const char  *model,
                               GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autofree char *id = g_uuid_string_random ();
  gint64 t = now ();

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "INSERT INTO conversations (id, title, model, created_at, updated_at, num) "
                                            "VALUES (?, ?, ?, ?, ?, (SELECT IFNULL (MAX (num), 0) + 1 FROM conversations))", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, id);
  aic_sqlite_bind_text (statement, 2, title ? title : "");
  aic_sqlite_bind_text (statement, 3, model);
  sqlite3_bind_int64 (statement, 4, t);
  sqlite3_bind_int64 (statement, 5, t);
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  g_signal_emit (self, signals[CHANGED], 0, NULL);
  return g_steal_pointer (&id);
}

gboolean
aic_store_rename_conversation (AicStore    *self,
                               const char  *conversation_id,
                               const char  *title,
                               GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "UPDATE conversations SET title = ? WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, title);
  aic_sqlite_bind_text (statement, 2, conversation_id);
  if (!aic_sqlite_step_done (statement, error))
    return FALSE;
  g_signal_emit (self, signals[CHANGED], 0, NULL);
  return TRUE;
}

gboolean
aic_store_set_conversation_model (AicStore    *self,
                                  const char  *conversation_id,
                                  const char  *model,
                                  GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "UPDATE conversations SET model = ? WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, model);
  aic_sqlite_bind_text (statement, 2, conversation_id);
  return aic_sqlite_step_done (statement, error);
}

gboolean
aic_store_delete_conversation (AicStore    *self,
                               const char  *conversation_id,
                               GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "DELETE FROM conversations WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, conversation_id);
  if (!aic_sqlite_step_done (statement, error))
    return FALSE;
  g_signal_emit (self, signals[CHANGED], 0, NULL);
  return TRUE;
}

static AicConversationInfo *
read_conversation (sqlite3_stmt *statement)
{
  AicConversationInfo *info = g_new0 (AicConversationInfo, 1);

  info->id = aic_sqlite_dup_text (statement, 0);
  info->title = aic_sqlite_dup_text (statement, 1);
  info->model = aic_sqlite_dup_text (statement, 2);
  info->created_at = sqlite3_column_int64 (statement, 3);
  info->updated_at = sqlite3_column_int64 (statement, 4);
  return info;
}

/* What a person types, as an FTS5 query: every word must occur, the last
 * one as a prefix (it is still being typed). Words are quoted, so FTS5's
 * own syntax (AND, NEAR, column filters, quotes) is text like any other.
 * Prefixes of one to three characters have their own index entries. */
char *
aic_store_fts_query (const char *search)
{
  g_auto(GStrv) words = g_strsplit_set (search, " \t\n\r", -1);
  g_autoptr(GString) query = g_string_new (NULL);
  guint last = 0;

  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      last = i;

  for (guint i = 0; words[i] != NULL; i++)
    {
      if (words[i][0] == '\0')
        continue;
      if (query->len > 0)
        g_string_append_c (query, ' ');
      g_string_append_c (query, '"');
      for (const char *p = words[i]; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (query, '"');
          g_string_append_c (query, *p);
        }
      g_string_append_c (query, '"');
      if (i == last)
        g_string_append_c (query, '*');
    }
  if (query->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&query), FALSE);
}

/* Marks in @found (a bit per conversation number) the conversations that
 * @statement, a search bound to its query, names in its first column. */
static gboolean
mark_found (AicStore      *self,
            sqlite3_stmt  *statement,
            GArray        *found,
            GError       **error)
{
  gint64 last = -1;
  int rc;

  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      gint64 num = sqlite3_column_int64 (statement, 0);
      guint word;

      /* A message index's rowids come in order, a conversation's
       * together: most rows are the one before's conversation again. */
      if (num == last || num < 0 || num > G_MAXINT32)
        continue;
      last = num;
      word = (guint) (num / 64);
      if (word >= found->len)
        g_array_set_size (found, word + 1);
      g_array_index (found, guint64, word) |= G_GUINT64_CONSTANT (1) << (num % 64);
    }
  if (rc != SQLITE_DONE)
    return aic_sqlite_error (self->db, error);
  return TRUE;
}

static gboolean
is_found (GArray *found,
          gint64  num)
{
  return num >= 0 && (guint64) num / 64 < found->len &&
         (g_array_index (found, guint64, num / 64) & (G_GUINT64_CONSTANT (1) << (num % 64))) != 0;
}

/**
 * aic_store_list_conversations:
 * @search: (nullable): words to find in titles and message text
 * Returns: (transfer container) (element-type AicConversationInfo): newest first
 *
 * A search reads only the indexes' rowids, which are conversation numbers
 * (see the schema), marks the conversations found, and keeps those of the
 * list in its order: no message is read, and nothing the size of the
 * matches (a one-letter word matches most messages) is sorted or kept.
 */
GPtrArray *
aic_store_list_conversations (AicStore    *self,
                              const char  *search,
                              GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_conversation_info_free);
  g_autofree char *query = search != NULL ? aic_store_fts_query (search) : NULL;
  g_autoptr(GArray) found = NULL;
  int rc;

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);

  if (query != NULL)
    {
      const char *searches[] = { AIC_STORE_SEARCH_MESSAGES_SQL, AIC_STORE_SEARCH_TITLES_SQL };

      found = g_array_new (FALSE, TRUE, sizeof (guint64));
      for (guint i = 0; i < G_N_ELEMENTS (searches); i++)
        {
          g_autoptr(sqlite3_stmt) search_statement = aic_sqlite_prepare (self->db, searches[i], error);

          if (search_statement == NULL)
            return NULL;
          aic_sqlite_bind_text (search_statement, 1, query);
          if (!mark_found (self, search_statement, found, error))
            return NULL;
        }
      if (found->len == 0)
        return g_steal_pointer (&list);
    }

  statement = aic_sqlite_prepare (self->db, "SELECT id, title, model, created_at, updated_at, num FROM conversations ORDER BY updated_at DESC", error);
  if (statement == NULL)
    return NULL;
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    if (found == NULL || is_found (found, sqlite3_column_int64 (statement, 5)))
      g_ptr_array_add (list, read_conversation (statement));
  if (rc != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  return g_steal_pointer (&list);
}

AicConversationInfo *
aic_store_get_conversation (AicStore    *self,
                            const char  *conversation_id,
                            GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT id, title, model, created_at, updated_at FROM conversations WHERE id = ?", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, conversation_id);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_NOT_FOUND, _("That conversation no longer exists."));
      return NULL;
    }
  return read_conversation (statement);
}

static void
touch (AicStore   *self,
       const char *conversation_id)
{
  g_autoptr(sqlite3_stmt) statement = aic_sqlite_prepare (self->db, "UPDATE conversations SET updated_at = ? WHERE id = ?", NULL);

  if (statement == NULL)
    return;
  sqlite3_bind_int64 (statement, 1, now ());
  aic_sqlite_bind_text (statement, 2, conversation_id);
  sqlite3_step (statement);
}

gint64
aic_store_add_message (AicStore         *self,
                       const char       *conversation_id,
                       const char       *role,
                       const char       *content,
                       AicMessageState   state,
                       GError          **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), -1);

  statement = aic_sqlite_prepare (self->db, "INSERT INTO messages (conversation_id, role, content, state, created_at) VALUES (?, ?, ?, ?, ?)", error);
  if (statement == NULL)
    return -1;
  aic_sqlite_bind_text (statement, 1, conversation_id);
  aic_sqlite_bind_text (statement, 2, role);
  aic_sqlite_bind_text (statement, 3, content ? content : "");
  sqlite3_bind_int (statement, 4, state);
  sqlite3_bind_int64 (statement, 5, now ());
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return -1;
    }
  touch (self, conversation_id);
  g_signal_emit (self, signals[CHANGED], 0, conversation_id);
  return sqlite3_last_insert_rowid (self->db);
}

/**
 * aic_store_append_message_text:
 * Adds streamed text to a message; the cost does not depend on how long
 * the message already is.
 */
gboolean
aic_store_append_message_text (AicStore    *self,
                               gint64       message_id,
                               const char  *text,
                               GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "INSERT INTO message_parts (message_id, seq, text) VALUES (?1, "
                       "(SELECT IFNULL (MAX (seq), 0) + 1 FROM message_parts WHERE message_id = ?1), ?2)", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, message_id);
  aic_sqlite_bind_text (statement, 2, text);
  return aic_sqlite_step_done (statement, error);
}

static gboolean
drop_parts (AicStore  *self,
            gint64     message_id,
            GError   **error)
{
  g_autoptr(sqlite3_stmt) statement = aic_sqlite_prepare (self->db, "DELETE FROM message_parts WHERE message_id = ?", error);

  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, message_id);
  return aic_sqlite_step_done (statement, error);
}

/**
 * aic_store_update_message:
 * Sets a message's whole text and state (and drops its streamed parts,
 * which the text now holds).
 */
gboolean
aic_store_update_message (AicStore         *self,
                          gint64            message_id,
                          const char       *content,
                          AicMessageState   state,
                          const char       *error_text,
                          GError          **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "UPDATE messages SET content = ?, state = ?, error = ? WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, content ? content : "");
  sqlite3_bind_int (statement, 2, state);
  aic_sqlite_bind_text (statement, 3, error_text);
  sqlite3_bind_int64 (statement, 4, message_id);
  return aic_sqlite_step_done (statement, error) && drop_parts (self, message_id, error);
}

gboolean
aic_store_set_message_stats (AicStore    *self,
                             gint64       message_id,
                             const char  *model,
                             gint64       first_token_ms,
                             gint64       duration_ms,
                             gint64       tokens,
                             GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "UPDATE messages SET model = ?, first_token_ms = ?, duration_ms = ?, tokens = ? WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, model);
  sqlite3_bind_int64 (statement, 2, first_token_ms);
  sqlite3_bind_int64 (statement, 3, duration_ms);
  sqlite3_bind_int64 (statement, 4, tokens);
  sqlite3_bind_int64 (statement, 5, message_id);
  return aic_sqlite_step_done (statement, error);
}

/* For Regenerate and Edit: the message and everything after it go. */
gboolean
aic_store_delete_messages_from (AicStore    *self,
                                const char  *conversation_id,
                                gint64       first_message_id,
                                GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "DELETE FROM messages WHERE conversation_id = ? AND id >= ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, conversation_id);
  sqlite3_bind_int64 (statement, 2, first_message_id);
  return aic_sqlite_step_done (statement, error);
}

/**
 * aic_store_list_messages:
 * Returns: (transfer container) (element-type AicStoredMessage): oldest first
 */
GPtrArray *
aic_store_list_messages (AicStore    *self,
                         const char  *conversation_id,
                         GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_stored_message_free);
  int rc;

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT id, conversation_id, role, "
                       "       content || IFNULL ((SELECT group_concat (text, '') FROM "
                       "         (SELECT text FROM message_parts p WHERE p.message_id = m.id ORDER BY seq)), ''), "
                       "       state, error, model, created_at, first_token_ms, duration_ms, tokens "
                       "FROM messages m WHERE conversation_id = ? ORDER BY id", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, conversation_id);

  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      AicStoredMessage *message = g_new0 (AicStoredMessage, 1);

      message->id = sqlite3_column_int64 (statement, 0);
      message->conversation_id = aic_sqlite_dup_text (statement, 1);
      message->role = aic_sqlite_dup_text (statement, 2);
      message->content = aic_sqlite_dup_text (statement, 3);
      message->state = sqlite3_column_int (statement, 4);
      message->error = aic_sqlite_dup_text (statement, 5);
      message->model = aic_sqlite_dup_text (statement, 6);
      message->created_at = sqlite3_column_int64 (statement, 7);
      message->first_token_ms = sqlite3_column_int64 (statement, 8);
      message->duration_ms = sqlite3_column_int64 (statement, 9);
      message->tokens = sqlite3_column_int64 (statement, 10);
      g_ptr_array_add (list, message);
    }
  if (rc != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  return g_steal_pointer (&list);
}

/**
 * aic_store_recover_interrupted:
 * Replies still marked as streaming were cut off when the app ended: they
 * keep their text and become "interrupted". Call once at start.
 * Returns: how many there were
 */
guint
aic_store_recover_interrupted (AicStore  *self,
                               GError   **error)
{
  g_autoptr(sqlite3_stmt) fold = NULL;
  g_autoptr(sqlite3_stmt) mark = NULL;
  guint n;

  g_return_val_if_fail (AIC_IS_STORE (self), 0);

  if (!aic_sqlite_exec (self->db, "BEGIN", error))
    return 0;
  fold = aic_sqlite_prepare (self->db, "UPDATE messages SET content = content || IFNULL ((SELECT group_concat (text, '') FROM "
                  "  (SELECT text FROM message_parts p WHERE p.message_id = messages.id ORDER BY seq)), '') "
                  "WHERE state = 1", error);
  mark = aic_sqlite_prepare (self->db, "UPDATE messages SET state = ? WHERE state = 1", error);
  if (fold == NULL || mark == NULL)
    {
      aic_sqlite_exec (self->db, "ROLLBACK", NULL);
      return 0;
    }
  sqlite3_bind_int (mark, 1, AIC_MESSAGE_INTERRUPTED);
  if (!aic_sqlite_step_done (fold, error) || !aic_sqlite_step_done (mark, error))
    {
      aic_sqlite_exec (self->db, "ROLLBACK", NULL);
      return 0;
    }
  n = sqlite3_changes (self->db);
  if (!aic_sqlite_exec (self->db, "DELETE FROM message_parts; COMMIT", error))
    return 0;
  return n;
}

/**
 * aic_store_export_markdown:
 * Returns: (transfer full): the conversation as a Markdown document
 */
char *
aic_store_export_markdown (AicStore    *self,
                           const char  *conversation_id,
                           GError     **error)
{
  g_autoptr(AicConversationInfo) info = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GDateTime) created = NULL;
  g_autofree char *date = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);

  info = aic_store_get_conversation (self, conversation_id, error);
  if (info == NULL)
    return NULL;
  messages = aic_store_list_messages (self, conversation_id, error);
  if (messages == NULL)
    return NULL;

  created = g_date_time_new_from_unix_local (info->created_at / G_USEC_PER_SEC);
  date = g_date_time_format (created, "%Y-%m-%d %H:%M");
  g_string_append_printf (out, "# %s\n\n", info->title[0] ? info->title : _("Conversation"));
  /* Translators: under the title of an exported conversation */
  g_string_append_printf (out, _("_Exported from AI Console. Started %s._\n\n"), date);

  for (guint i = 0; i < messages->len; i++)
    {
      AicStoredMessage *message = g_ptr_array_index (messages, i);
      const char *who = g_str_equal (message->role, "user") ? _("You")
                      : g_str_equal (message->role, "system") ? _("System")
                      : _("Assistant");

      if (message->model != NULL && g_str_equal (message->role, "assistant"))
        g_string_append_printf (out, "## %s (%s)\n\n", who, message->model);
      else
        g_string_append_printf (out, "## %s\n\n", who);
      g_string_append (out, message->content);
      if (!g_str_has_suffix (message->content, "\n"))
        g_string_append_c (out, '\n');
      if (message->state == AIC_MESSAGE_INTERRUPTED)
        g_string_append_printf (out, "\n_%s_\n", _("(The reply was interrupted here.)"));
      else if (message->state == AIC_MESSAGE_FAILED && message->error != NULL)
        g_string_append_printf (out, "\n_%s_\n", message->error);
      g_string_append_c (out, '\n');
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * aic_store_save_job:
 * Writes @job as it is now, creating or replacing its row.
 */
gboolean
aic_store_save_job (AicStore  *self,
                    AicJob    *job,
                    GError   **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autofree char *result = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);
  g_return_val_if_fail (AIC_IS_JOB (job), FALSE);

  statement = aic_sqlite_prepare (self->db,
                                  "INSERT OR REPLACE INTO jobs (id, owner, connection_id, filename, source_path, "
                                  "  idempotency_key, shape, remote_id, status, progress, stage, message, error, "
                                  "  result, created_at, updated_at, instructions) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (statement == NULL)
    return FALSE;
  /* A result not read in yet is read now, not written over. Still
   * unread after a failure means the store could not be read (reading
   * it in clears the mark before parsing). */
  {
    g_autoptr(GError) local_error = NULL;

    if (!aic_store_read_job_result (self, job, &local_error))
      {
        if (aic_job_get_result_unread (job))
          {
            g_propagate_error (error, g_steal_pointer (&local_error));
            return FALSE;
          }
        g_debug ("Job %s: its saved result could not be read: %s", aic_job_get_id (job), local_error->message);
      }
  }
  result = aic_job_dup_result_json (job);
  aic_sqlite_bind_text (statement, 1, aic_job_get_id (job));
  aic_sqlite_bind_text (statement, 2, aic_job_get_owner (job) ? aic_job_get_owner (job) : "app");
  aic_sqlite_bind_text (statement, 3, aic_job_get_connection_id (job));
  aic_sqlite_bind_text (statement, 4, aic_job_get_filename (job));
  aic_sqlite_bind_text (statement, 5, aic_job_get_source_path (job));
  aic_sqlite_bind_text (statement, 6, aic_job_get_idempotency_key (job));
  aic_sqlite_bind_text (statement, 7, aic_job_shape_to_string (aic_job_get_shape (job)));
  aic_sqlite_bind_text (statement, 8, aic_job_get_remote_id (job));
  aic_sqlite_bind_text (statement, 9, aic_job_status_to_string (aic_job_get_status (job)));
  sqlite3_bind_int (statement, 10, aic_job_get_progress (job));
  aic_sqlite_bind_text (statement, 11, aic_job_get_stage (job));
  aic_sqlite_bind_text (statement, 12, aic_job_get_message (job));
  aic_sqlite_bind_text (statement, 13, aic_job_get_error (job));
  aic_sqlite_bind_text (statement, 14, result);
  sqlite3_bind_int64 (statement, 15, aic_job_get_created_at (job));
  sqlite3_bind_int64 (statement, 16, aic_job_get_updated_at (job));
  aic_sqlite_bind_text (statement, 17, aic_job_get_instructions (job));
  return aic_sqlite_step_done (statement, error);
}

/**
 * aic_store_list_jobs:
 * @owner: "app" or "cli"
 * @unfinished_only: only jobs that were still going
 * Returns: (transfer container) (element-type AicJob): newest first
 */
GPtrArray *
aic_store_list_jobs (AicStore    *self,
                     const char  *owner,
                     gboolean     unfinished_only,
                     GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);

  statement = aic_sqlite_prepare (self->db,
                                  "SELECT id, filename, idempotency_key, status, progress, stage, message, error, "
                                  "  created_at, updated_at, connection_id, source_path, shape, remote_id, "
                                  "  result IS NOT NULL, instructions, "
                                  "  CASE WHEN json_valid (result) THEN json_extract (result, '$.title') END "
                                  "FROM jobs WHERE owner = ?1 "
                                  "  AND (?2 = 0 OR status IN ('submitting', 'queued', 'running')) "
                                  "ORDER BY created_at DESC, rowid DESC", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, owner);
  sqlite3_bind_int (statement, 2, unfinished_only);

  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      AicJobStatus status;
      AicJob *job;

      if (!aic_job_status_from_string ((const char *) sqlite3_column_text (statement, 3), &status))
        status = AIC_JOB_FAILED;
      job = aic_job_restore ((const char *) sqlite3_column_text (statement, 0),
                             (const char *) sqlite3_column_text (statement, 1),
                             (const char *) sqlite3_column_text (statement, 2),
                             status,
                             sqlite3_column_int (statement, 4),
                             (const char *) sqlite3_column_text (statement, 5),
                             (const char *) sqlite3_column_text (statement, 6),
                             (const char *) sqlite3_column_text (statement, 7),
                             sqlite3_column_int64 (statement, 8),
                             sqlite3_column_int64 (statement, 9));
      aic_job_set_owner (job, owner);
      aic_job_set_connection_id (job, (const char *) sqlite3_column_text (statement, 10));
      aic_job_set_source_path (job, (const char *) sqlite3_column_text (statement, 11));
      aic_job_set_instructions (job, (const char *) sqlite3_column_text (statement, 15));
      aic_job_set_remote (job, (const char *) sqlite3_column_text (statement, 13),
                          aic_job_shape_from_string ((const char *) sqlite3_column_text (statement, 12)));
      /* The result itself is read when the job is shown
       * (aic_store_dup_job_result()): 10,000 of them took 280 ms and
       * 28 MiB of a start. */
      if (sqlite3_column_int (statement, 14))
        aic_job_set_result_unread (job, (const char *) sqlite3_column_text (statement, 16));
      g_ptr_array_add (jobs, job);
    }
  if (rc != SQLITE_DONE)
    {
      aic_sqlite_error (self->db, error);
      return NULL;
    }
  return g_steal_pointer (&jobs);
}

/**
 * aic_store_dup_job_result:
 * Returns: (transfer full) (nullable): the job's result as saved (JSON),
 *   or %NULL with @error unset when it has none
 */
char *
aic_store_dup_job_result (AicStore    *self,
                          const char  *job_id,
                          GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;
  int rc;

  g_return_val_if_fail (AIC_IS_STORE (self), NULL);
  g_return_val_if_fail (job_id != NULL, NULL);

  statement = aic_sqlite_prepare (self->db, "SELECT result FROM jobs WHERE id = ?1", error);
  if (statement == NULL)
    return NULL;
  aic_sqlite_bind_text (statement, 1, job_id);
  rc = sqlite3_step (statement);
  if (rc == SQLITE_ROW)
    return g_strdup ((const char *) sqlite3_column_text (statement, 0));
  if (rc != SQLITE_DONE)
    aic_sqlite_error (self->db, error);
  return NULL;
}

/**
 * aic_store_read_job_result:
 * Reads in @job's result, which aic_store_list_jobs() leaves in the store
 * until the job is shown (aic_job_get_result_unread()); nothing to do
 * for any other job.
 * Returns: %FALSE with @error set when the store could not be read, or
 *   what it holds could not be
 */
gboolean
aic_store_read_job_result (AicStore  *self,
                           AicJob    *job,
                           GError   **error)
{
  g_autofree char *json = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);
  g_return_val_if_fail (AIC_IS_JOB (job), FALSE);

  if (!aic_job_get_result_unread (job))
    return TRUE;
  json = aic_store_dup_job_result (self, aic_job_get_id (job), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return aic_job_set_result_json (job, json, error);
}

gboolean
aic_store_delete_job (AicStore    *self,
                      const char  *job_id,
                      GError     **error)
{
  g_autoptr(sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (AIC_IS_STORE (self), FALSE);

  statement = aic_sqlite_prepare (self->db, "DELETE FROM jobs WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  aic_sqlite_bind_text (statement, 1, job_id);
  return aic_sqlite_step_done (statement, error);
}
