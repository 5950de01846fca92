/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "aic-conversation-list.h"
#include "aic-error.h"
#include "aic-store.h"
#include "aic-store-private.h"
#include "aic-test-util.h"

/* The conversation store on a real SQLite file in a temporary folder. */

typedef struct
{
  char *dir;
  char *path;
  AicStore *store;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("aic-store-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "sub", "ai-console.db", NULL);
  f->store = aic_store_open (f->path, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *sub = g_path_get_dirname (f->path);
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (f->path, "-shm", NULL);

  g_clear_object (&f->store);
  g_unlink (f->path);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (sub);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static void
test_messages (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Foxes", "demo", &error);
  g_autoptr(GPtrArray) messages = NULL;
  AicStoredMessage *reply;
  gint64 user_id, reply_id;

  g_assert_no_error (error);
  user_id = aic_store_add_message (f->store, id, "user", "Tell me about foxes", AIC_MESSAGE_COMPLETE, &error);
  reply_id = aic_store_add_message (f->store, id, "assistant", "", AIC_MESSAGE_STREAMING, &error);
  g_assert_cmpint (reply_id, >, user_id);
  g_assert_true (aic_store_update_message (f->store, reply_id, "Foxes are", AIC_MESSAGE_STREAMING, NULL, &error));
  g_assert_true (aic_store_update_message (f->store, reply_id, "Foxes are small.", AIC_MESSAGE_COMPLETE, NULL, &error));
  g_assert_true (aic_store_set_message_stats (f->store, reply_id, "demo", 120, 900, 4, &error));

  messages = aic_store_list_messages (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  reply = g_ptr_array_index (messages, 1);
  g_assert_cmpstr (reply->role, ==, "assistant");
  g_assert_cmpstr (reply->content, ==, "Foxes are small.");
  g_assert_cmpint (reply->state, ==, AIC_MESSAGE_COMPLETE);
  g_assert_cmpstr (reply->model, ==, "demo");
  g_assert_cmpint (reply->first_token_ms, ==, 120);
  g_assert_cmpint (reply->tokens, ==, 4);

  /* Regenerate: the reply and all after it go. */
  g_assert_true (aic_store_delete_messages_from (f->store, id, reply_id, &error));
  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = aic_store_list_messages (f->store, id, &error);
  g_assert_cmpuint (messages->len, ==, 1);
}

static void
test_conversations (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = aic_store_create_conversation (f->store, "Foxes", NULL, &error);
  g_autofree char *b = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(AicConversationInfo) info = NULL;

  g_usleep (2000);
  b = aic_store_create_conversation (f->store, "100% cotton_shirts", NULL, &error);
  aic_store_add_message (f->store, a, "user", "Where do badgers live?", AIC_MESSAGE_COMPLETE, &error);

  /* Newest activity first: a got a message after b was made. */
  list = aic_store_list_conversations (f->store, NULL, &error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((AicConversationInfo *) g_ptr_array_index (list, 0))->id, ==, a);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Search by title and by text, case-insensitively, by words (FTS5): the
   * last word is a prefix, punctuation separates words, and FTS5's own
   * syntax is plain text. */
  list = aic_store_list_conversations (f->store, "BADGER", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "fox", &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "100%", &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "cotton_shi", &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "n%shirts", &error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "\"where\" OR NEAR(", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "where badg", &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "  ", &error);
  g_assert_cmpuint (list->len, ==, 2);
  g_clear_pointer (&list, g_ptr_array_unref);

  g_assert_true (aic_store_rename_conversation (f->store, a, "Badgers", &error));
  info = aic_store_get_conversation (f->store, a, &error);
  g_assert_cmpstr (info->title, ==, "Badgers");

  /* Deleting takes the messages along. */
  g_assert_true (aic_store_delete_conversation (f->store, a, &error));
  list = aic_store_list_conversations (f->store, "badger", &error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&info, aic_conversation_info_free);
  info = aic_store_get_conversation (f->store, a, &error);
  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_NOT_FOUND);
}

/* The app is killed mid-reply: what was written stays, marked interrupted. */
static void
test_partial_reply_survives (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Crash", NULL, &error);
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(AicStore) reopened = NULL;
  gint64 reply_id;

  aic_store_add_message (f->store, id, "user", "Write a long story", AIC_MESSAGE_COMPLETE, &error);
  reply_id = aic_store_add_message (f->store, id, "assistant", "", AIC_MESSAGE_STREAMING, &error);
  /* Streamed in pieces, as the reply arrives. */
  g_assert_true (aic_store_append_message_text (f->store, reply_id, "Once upon", &error));
  g_assert_true (aic_store_append_message_text (f->store, reply_id, " a time,", &error));
  g_assert_true (aic_store_append_message_text (f->store, reply_id, " there", &error));
  messages = aic_store_list_messages (f->store, id, &error);
  g_assert_cmpstr (((AicStoredMessage *) g_ptr_array_index (messages, 1))->content, ==, "Once upon a time, there");
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* A second connection sees it at once (WAL), as a restarted app would. */
  reopened = aic_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (aic_store_recover_interrupted (reopened, &error), ==, 1);
  messages = aic_store_list_messages (reopened, id, &error);
  g_assert_cmpstr (((AicStoredMessage *) g_ptr_array_index (messages, 1))->content, ==, "Once upon a time, there");
  g_assert_cmpint (((AicStoredMessage *) g_ptr_array_index (messages, 1))->state, ==, AIC_MESSAGE_INTERRUPTED);
  g_assert_cmpuint (aic_store_recover_interrupted (reopened, &error), ==, 0);
}

static void
test_export (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Code", NULL, &error);
  g_autofree char *markdown = NULL;
  gint64 reply;

  aic_store_add_message (f->store, id, "user", "Show me C", AIC_MESSAGE_COMPLETE, &error);
  reply = aic_store_add_message (f->store, id, "assistant", "```c\nint x;\n```", AIC_MESSAGE_COMPLETE, &error);
  aic_store_set_message_stats (f->store, reply, "demo", 1, 2, 3, &error);
  aic_store_add_message (f->store, id, "user", "More", AIC_MESSAGE_COMPLETE, &error);
  reply = aic_store_add_message (f->store, id, "assistant", "Half", AIC_MESSAGE_INTERRUPTED, &error);

  markdown = aic_store_export_markdown (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (markdown, "# Code\n\n_Exported from AI Console."));
  g_assert_nonnull (strstr (markdown, "## You\n\nShow me C\n\n## Assistant (demo)\n\n```c\nint x;\n```\n\n"));
  g_assert_nonnull (strstr (markdown, "Half\n\n_(The reply was interrupted here.)_\n"));
}

static void
test_newer_schema_refused (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) again = NULL;
  sqlite3 *db;

  g_clear_object (&f->store);
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  again = aic_store_open (f->path, &error);
  g_assert_null (again);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "newer"));
}

/* Entries in the message index (which keeps no text) that match @query. */
static gint64
count_words (sqlite3    *db,
             const char *query)
{
  sqlite3_stmt *statement;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", -1, &statement, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (statement, 1, query, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (statement, 0);
  sqlite3_finalize (statement);
  return n;
}

static void
assert_index_sound (AicStore *store)
{
  sqlite3 *db = aic_store_get_db (store);

  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO conversations_fts (conversations_fts) VALUES ('integrity-check')", NULL, NULL, NULL), ==, SQLITE_OK);
}

/* Search goes through the FTS5 indexes (not a scan of every message), and
 * triggers keep them in step with edits, renames and deletions. */
static void
test_search_fts (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) plan = g_string_new (NULL);
  g_autofree char *a = aic_store_create_conversation (f->store, "Garden", NULL, &error);
  g_autoptr(GPtrArray) list = NULL;
  sqlite3 *db = aic_store_get_db (f->store);
  sqlite3_stmt *statement;
  gint64 reply;

  /* Two index scans, rowids only: no message or title is read. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *explain = g_strconcat ("EXPLAIN QUERY PLAN ", i == 0 ? AIC_STORE_SEARCH_MESSAGES_SQL : AIC_STORE_SEARCH_TITLES_SQL, NULL);

      g_string_truncate (plan, 0);
      g_assert_cmpint (sqlite3_prepare_v2 (db, explain, -1, &statement, NULL), ==, SQLITE_OK);
      sqlite3_bind_text (statement, 1, "x", -1, SQLITE_STATIC);
      while (sqlite3_step (statement) == SQLITE_ROW)
        g_string_append_printf (plan, "%s\n", sqlite3_column_text (statement, 3));
      sqlite3_finalize (statement);
      g_test_message ("%s", plan->str);
      g_assert_cmpstr (plan->str, ==, i == 0 ? "SCAN messages_fts VIRTUAL TABLE INDEX 0:M1\n"
                                             : "SCAN conversations_fts VIRTUAL TABLE INDEX 0:M1\n");
    }

  reply = aic_store_add_message (f->store, a, "assistant", "", AIC_MESSAGE_STREAMING, &error);
  g_assert_true (aic_store_append_message_text (f->store, reply, "Tomatoes like sun", &error));
  g_assert_true (aic_store_update_message (f->store, reply, "Tomatoes like sun", AIC_MESSAGE_COMPLETE, NULL, &error));
  list = aic_store_list_conversations (f->store, "tomat", &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);

  g_assert_true (aic_store_update_message (f->store, reply, "Peppers like sun", AIC_MESSAGE_COMPLETE, NULL, &error));
  list = aic_store_list_conversations (f->store, "tomat", &error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  g_assert_true (aic_store_rename_conversation (f->store, a, "Allotment", &error));
  list = aic_store_list_conversations (f->store, "garden", &error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (f->store, "allot", &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  assert_index_sound (f->store);

  g_assert_true (aic_store_delete_conversation (f->store, a, &error));
  list = aic_store_list_conversations (f->store, "peppers", &error);
  g_assert_cmpuint (list->len, ==, 0);
  assert_index_sound (f->store);
  /* The index keeps no text, so only the delete triggers take a message
   * out of it: nothing of the deleted conversation is left. */
  g_assert_cmpint (count_words (db, "peppers"), ==, 0);
  g_assert_cmpint (count_words (db, "sun"), ==, 0);
}

/* Each message is in the index once, under its conversation's number
 * (high 32 bits) and its own id; edits, truncation and deletion keep it
 * so. */
static void
test_search_rowids (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = aic_store_create_conversation (f->store, "One", NULL, &error);
  g_autofree char *b = aic_store_create_conversation (f->store, "Two", NULL, &error);
  sqlite3 *db = aic_store_get_db (f->store);
  gint64 m1, m2, m3;
  sqlite3_stmt *statement;
  guint n = 0;

  m1 = aic_store_add_message (f->store, a, "user", "quince jam", AIC_MESSAGE_COMPLETE, &error);
  m2 = aic_store_add_message (f->store, b, "user", "quince tart", AIC_MESSAGE_COMPLETE, &error);
  m3 = aic_store_add_message (f->store, b, "assistant", "quince paste", AIC_MESSAGE_COMPLETE, &error);
  g_assert_no_error (error);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT f.rowid, c.id, f.rowid & 0xffffffff FROM messages_fts f "
                                           "JOIN conversations c ON c.num = f.rowid >> 32 "
                                           "WHERE messages_fts MATCH 'quince' ORDER BY f.rowid", -1, &statement, NULL), ==, SQLITE_OK);
  while (sqlite3_step (statement) == SQLITE_ROW)
    {
      const char *conversation = (const char *) sqlite3_column_text (statement, 1);
      gint64 message = sqlite3_column_int64 (statement, 2);

      g_assert_cmpstr (conversation, ==, message == m1 ? a : b);
      g_assert_true (message == m1 || message == m2 || message == m3);
      n++;
    }
  sqlite3_finalize (statement);
  g_assert_cmpuint (n, ==, 3);

  g_assert_true (aic_store_delete_messages_from (f->store, b, m3, &error));
  g_assert_cmpint (count_words (db, "quince"), ==, 2);
  g_assert_cmpint (count_words (db, "paste"), ==, 0);
  g_assert_true (aic_store_delete_conversation (f->store, a, &error));
  g_assert_cmpint (count_words (db, "quince"), ==, 1);
  g_assert_cmpint (count_words (db, "jam"), ==, 0);
  assert_index_sound (f->store);
}

/* A store from before the index gets it filled when opened. */
static void
test_search_migration (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = aic_store_create_conversation (f->store, "Old times", NULL, &error);
  g_autoptr(AicStore) again = NULL;
  g_autoptr(GPtrArray) list = NULL;

  aic_store_add_message (f->store, a, "user", "Remember the harpsichord?", AIC_MESSAGE_COMPLETE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_exec (aic_store_get_db (f->store),
                                 "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete;"
                                 "DROP TRIGGER messages_fts_update; DROP TRIGGER conversations_fts_insert;"
                                 "DROP TRIGGER conversations_fts_delete; DROP TRIGGER conversations_fts_update;"
                                 "DROP TRIGGER conversations_delete_messages;"
                                 "DROP INDEX messages_streaming; DROP INDEX conversations_by_num;"
                                 "ALTER TABLE conversations DROP COLUMN num;"
                                 "DROP TABLE messages_fts; DROP TABLE conversations_fts; PRAGMA user_version = 3;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_clear_object (&f->store);

  again = aic_store_open (f->path, &error);
  g_assert_no_error (error);
  list = aic_store_list_conversations (again, "harpsi", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = aic_store_list_conversations (again, "times", &error);
  g_assert_cmpuint (list->len, ==, 1);
  assert_index_sound (again);
}

static void
check_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GError **error = user_data;

  if (aic_store_check_finish (AIC_STORE (source), result, error))
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "intact");
}

/* Reads the store for damage in a thread; FALSE and @error if damaged. */
static gboolean
check_store (AicStore  *store,
             GError   **error)
{
  GError *result = NULL;

  aic_store_check_async (store, NULL, check_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (g_error_matches (result, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_error_free (result);
      return TRUE;
    }
  g_propagate_error (error, result);
  return FALSE;
}

/* The app opens its history without reading every page (that grows with
 * the years and delayed the window), then reads it for damage in a
 * thread: a damaged page is still found, and said in words. */
static void
test_check_later (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Big", NULL, &error);
  g_autofree char *text = g_strnfill (2000, 'w');
  g_autoptr(AicStore) again = NULL;
  g_autoptr(AicStore) checked = NULL;
  GStatBuf st;

  for (guint i = 0; i < 100; i++)
    aic_store_add_message (f->store, id, "user", text, AIC_MESSAGE_COMPLETE, &error);
  g_assert_no_error (error);
  g_assert_true (check_store (f->store, &error));
  g_assert_no_error (error);

  g_assert_true (aic_sqlite_exec (aic_store_get_db (f->store), "PRAGMA wal_checkpoint(TRUNCATE)", NULL));
  g_clear_object (&f->store);
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_size, >=, 40 * 4096);
  /* A page in the middle of the messages, not the schema's. */
  aic_test_damage_page (f->path, G_MAXUINT);

  checked = aic_store_open (f->path, &error);
  g_assert_null (checked);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "is damaged"));
  g_clear_error (&error);

  again = aic_store_open_full (f->path, AIC_STORE_OPEN_CHECK_LATER, &error);
  g_assert_no_error (error);
  g_assert_false (check_store (again, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "is damaged"));
  g_assert_nonnull (strstr (error->message, f->path));
}

/* The sidebar's model: places whose content changes; only a change of
 * length is reported as items-changed, at the end. */
static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *changes)
{
  changes[0] = position;
  changes[1] = removed;
  changes[2] = added;
  changes[3]++;
}

static void
test_conversation_list (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConversationList) list = NULL;
  g_autoptr(AicConversationItem) first = NULL;
  g_autoptr(AicConversationItem) second = NULL;
  guint changes[4] = { 0, };
  char *ids[5];

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *title = g_strdup_printf ("Topic %c", 'a' + i);

      ids[i] = aic_store_create_conversation (f->store, title, NULL, &error);
      g_usleep (1000);
    }
  list = aic_conversation_list_new (f->store);
  g_signal_connect (list, "items-changed", G_CALLBACK (items_changed_cb), changes);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == AIC_TYPE_CONVERSATION_ITEM);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 5);
  first = g_list_model_get_item (G_LIST_MODEL (list), 0);
  second = g_list_model_get_item (G_LIST_MODEL (list), 1);
  g_assert_cmpstr (aic_conversation_item_get_id (first), ==, ids[4]);
  g_assert_cmpuint (aic_conversation_list_find (list, ids[0]), ==, 4);

  /* A message to the oldest moves it to the top: the places relabelled. */
  aic_store_add_message (f->store, ids[0], "user", "zebra crossing", AIC_MESSAGE_COMPLETE, &error);
  g_assert_cmpuint (changes[3], ==, 0);
  g_assert_cmpuint (aic_conversation_list_find (list, ids[0]), ==, 0);
  g_assert_cmpstr (aic_conversation_item_get_id (first), ==, ids[0]);
  g_assert_cmpstr (aic_conversation_item_get_title (first), ==, "Topic a");
  g_assert_cmpstr (aic_conversation_item_get_id (second), ==, ids[4]);

  g_assert_true (aic_conversation_list_set_search (list, "zebra", &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);
  g_assert_cmpuint (changes[0], ==, 1);
  g_assert_cmpuint (changes[1], ==, 4);
  g_assert_cmpuint (changes[2], ==, 0);
  g_assert_true (aic_conversation_list_set_search (list, "topic", &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 5);
  g_assert_cmpuint (changes[0], ==, 1);
  g_assert_cmpuint (changes[1], ==, 0);
  g_assert_cmpuint (changes[2], ==, 4);
  g_assert_cmpuint (changes[3], ==, 2);
  g_assert_true (aic_conversation_list_set_search (list, NULL, &error));

  /* A rename relabels, nothing more. */
  g_clear_object (&second);
  second = g_list_model_get_item (G_LIST_MODEL (list), 1);
  g_assert_true (aic_store_rename_conversation (f->store, ids[4], "Renamed", &error));
  g_assert_cmpuint (changes[3], ==, 2);
  g_assert_cmpstr (aic_conversation_item_get_title (second), ==, "Renamed");

  aic_store_delete_conversation (f->store, ids[2], &error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 4);
  g_assert_cmpuint (aic_conversation_list_find (list, ids[2]), ==, G_MAXUINT);

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_free (ids[i]);
}

static void
test_unwritable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open ("/proc/aic-not-here/x.db", &error);

  g_assert_null (store);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/store/messages", test_messages);
  ADD ("/store/conversations", test_conversations);
  ADD ("/store/partial-reply-survives", test_partial_reply_survives);
  ADD ("/store/export", test_export);
  ADD ("/store/search-fts", test_search_fts);
  ADD ("/store/search-rowids", test_search_rowids);
  ADD ("/store/check-later", test_check_later);
  ADD ("/store/search-migration", test_search_migration);
  ADD ("/store/conversation-list", test_conversation_list);
  ADD ("/store/newer-schema", test_newer_schema_refused);
#undef ADD
  g_test_add_func ("/store/unwritable", test_unwritable);

  return g_test_run ();
}
