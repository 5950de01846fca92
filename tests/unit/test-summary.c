/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-engine.h"
#include "aic-job-queue.h"
#include "aic-job-store-private.h"
#include "aic-sqlite.h"
#include "aic-summary.h"
#include "aic-summary-private.h"

static const char document[] =
  "# Solar power in small towns\n"
  "\n"
  "Solar panels have become cheap enough that small towns can power public buildings on their own. "
  "The town of Example saved forty percent of its electricity costs in the first year. "
  "Batteries store the surplus for the evening, when demand is highest.\n"
  "\n"
  "```\ncode blocks are not sentences at all, never ever.\n```\n"
  "\n"
  "- Critics point out that winter output is low and that panels need space.\n"
  "- Engineers answer that rooftop solar panels use no extra land.\n"
  "\n"
  "Funding for the solar panels came from a regional grant, Dr. Smith said. Too short.\n";

static void
test_sentences (void)
{
  g_autoptr(GPtrArray) sentences = aic_summary_split_sentences (document);

  g_assert_cmpuint (sentences->len, ==, 6);
  g_assert_cmpstr (g_ptr_array_index (sentences, 0), ==,
                   "Solar panels have become cheap enough that small towns can power public buildings on their own.");
  /* List items are sentences of their own, without their bullets. */
  g_assert_cmpstr (g_ptr_array_index (sentences, 3), ==,
                   "Critics point out that winter output is low and that panels need space.");
  /* "Dr." does not end a sentence; "Too short." has fewer than four words. */
  g_assert_cmpstr (g_ptr_array_index (sentences, 5), ==,
                   "Funding for the solar panels came from a regional grant, Dr. Smith said.");
  for (guint i = 0; i < sentences->len; i++)
    g_assert_null (strstr (g_ptr_array_index (sentences, i), "code blocks"));
}

static void
test_parts (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) parts = NULL;
  gsize total = 0;

  for (int i = 0; i < 200; i++)
    g_string_append_printf (text, "Paragraph %d has a few words in it, and ünïcödé too.\n\n", i);
  parts = aic_summary_split_parts (text->str, 1000);
  g_assert_cmpuint (parts->len, >, 10);
  for (guint i = 0; i < parts->len; i++)
    {
      const char *part = g_ptr_array_index (parts, i);

      g_assert_cmpuint (strlen (part), <=, 1000);
      g_assert_true (g_utf8_validate (part, -1, NULL));
      /* Cut at paragraph breaks: every part starts a paragraph. */
      g_assert_true (g_str_has_prefix (part, "Paragraph "));
      total += strlen (part);
    }
  g_assert_cmpuint (total, >, text->len * 9 / 10);

  /* One long line without spaces is still cut, on character boundaries. */
  {
    g_autoptr(GString) line = g_string_new (NULL);
    g_autoptr(GPtrArray) cut = NULL;

    for (int i = 0; i < 500; i++)
      g_string_append (line, "é");
    cut = aic_summary_split_parts (line->str, 101);
    g_assert_cmpuint (cut->len, ==, 10);
    for (guint i = 0; i < cut->len; i++)
      g_assert_true (g_utf8_validate (g_ptr_array_index (cut, i), -1, NULL));
  }
}

static void
test_title (void)
{
  g_autofree char *heading = aic_summary_guess_title (document, "x.md");
  g_autofree char *line = aic_summary_guess_title ("Quarterly report\n\nText follows here.", "y.txt");
  g_autofree char *name = aic_summary_guess_title ("This is a sentence that ends.\nMore.", "notes/plan.final.txt");

  g_assert_cmpstr (heading, ==, "Solar power in small towns");
  g_assert_cmpstr (line, ==, "Quarterly report");
  g_assert_cmpstr (name, ==, "plan.final");
}

static void
test_extractive (void)
{
  g_autoptr(GPtrArray) sentences = aic_summary_split_sentences (document);
  g_autoptr(GPtrArray) picked = aic_summary_pick_sentences (sentences, 3);
  g_autoptr(GPtrArray) again = aic_summary_pick_sentences (sentences, 3);
  g_autoptr(AicSummary) summary = aic_summary_combine (sentences, "T");
  guint last = 0;

  /* Deterministic, in document order, and the sentences about the topic
   * ("solar", "panels", "towns") win. */
  g_assert_cmpuint (picked->len, ==, 3);
  for (guint i = 0; i < picked->len; i++)
    {
      guint index;

      g_assert_cmpstr (g_ptr_array_index (picked, i), ==, g_ptr_array_index (again, i));
      g_assert_true (g_ptr_array_find_with_equal_func (sentences, g_ptr_array_index (picked, i), g_str_equal, &index));
      g_assert_cmpuint (index, >=, last);
      last = index;
    }
  g_assert_cmpstr (g_ptr_array_index (picked, 0), ==, g_ptr_array_index (sentences, 0));

  g_assert_cmpstr (summary->title, ==, "T");
  g_assert_true (g_str_has_prefix (summary->summary, "Solar panels have become cheap"));
  g_assert_cmpuint (g_strv_length (summary->key_points), ==, 3);
  for (guint i = 0; summary->key_points[i] != NULL; i++)
    g_assert_null (strstr (summary->summary, summary->key_points[i]));
}

static void
test_parse_reply (void)
{
  g_autoptr(AicSummary) structured =
    aic_summary_parse_reply ("**TITLE:** Solar towns\n\nSUMMARY: Towns use solar.\nIt saves money.\n\n"
                             "Key points:\n- Cheaper power\n* Storage at night\n• Co-ops\n", "fallback");
  g_autoptr(AicSummary) loose = aic_summary_parse_reply ("Just a paragraph of text.", "fallback");

  g_assert_cmpstr (structured->title, ==, "Solar towns");
  g_assert_cmpstr (structured->summary, ==, "Towns use solar. It saves money.");
  g_assert_cmpuint (g_strv_length (structured->key_points), ==, 3);
  g_assert_cmpstr (structured->key_points[0], ==, "Cheaper power");
  g_assert_cmpstr (structured->key_points[2], ==, "Co-ops");

  g_assert_cmpstr (loose->title, ==, "fallback");
  g_assert_cmpstr (loose->summary, ==, "Just a paragraph of text.");
  g_assert_cmpuint (g_strv_length (loose->key_points), ==, 0);
}

typedef struct
{
  GMainLoop    *loop;
  AicJobStatus  status;
  guint         n_changes;
} JobRun;

static void
job_changed_cb (AicJobQueue  *queue,
                AicJobRecord *record,
                JobRun       *run)
{
  run->n_changes++;
  if (aic_job_status_is_final (record->status))
    {
      run->status = record->status;
      g_main_loop_quit (run->loop);
    }
}

/* Issue 14: a job's cost grew with its size times its number of parts.
 * Whatever the sizes, the text is read once to cut it into parts and once
 * more, part by part, to summarize it; and the job table reads and writes
 * the document once, not at every step the job takes. */
static void
test_large_document_read_once (void)
{
  g_autoptr(GString) text = g_string_new ("# Field notes\n\n");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("aic-summary-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *wal = NULL;
  g_autofree char *shm = NULL;
  g_autoptr(AicJobStore) store = NULL;
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicJobQueue) queue = NULL;
  g_autoptr(AicJobRecord) stored = NULL;
  static const AicDocumentLimits no_limits = { 0 };
  AicJobRecord record = { .api = (char *) "analyze", .filename = (char *) "notes.txt", .mime = (char *) "text/plain" };
  JobRun run = { 0 };
  gboolean existing;
  gsize bytes_read, n_parts, document_pages;
  gint64 pages;

  g_assert_no_error (error);
  for (guint i = 0; text->len < 1024 * 1024; i++)
    g_string_append_printf (text, "Survey %u counted %u birds near the river in spring. "
                                  "The team walked the northern path %s.\nA second count followed in autumn.\n\n",
                            i, (i * 7919) % 1000, i % 3 ? "before noon" : "after the rain");
  n_parts = text->len / 1000;
  document_pages = text->len / 4096;
  bytes = g_bytes_new (text->str, text->len);

  path = g_build_filename (dir, "jobs.db", NULL);
  store = aic_job_store_open (path, &error);
  g_assert_no_error (error);
  aic_engine_set_demo_delay (engine, 0);
  queue = aic_job_queue_new (store, engine, 1);
  aic_job_queue_set_step_delay (queue, 0);
  aic_job_queue_set_document_limits (queue, &no_limits);
  aic_job_queue_set_part_size (queue, 1000);
  run.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (queue, "job-changed", G_CALLBACK (job_changed_cb), &run);

  bytes_read = aic_summary_debug_get_bytes_read ();
  pages = aic_job_store_debug_get_pages (store);
  stored = aic_job_queue_submit (queue, &record, bytes, &existing, &error);
  g_assert_no_error (error);
  g_main_loop_run (run.loop);
  bytes_read = aic_summary_debug_get_bytes_read () - bytes_read;
  pages = aic_job_store_debug_get_pages (store) - pages;

  g_assert_cmpint (run.status, ==, AIC_JOB_DONE);
  /* One step per part at least, so that the bound on pages means something. */
  g_assert_cmpuint (run.n_changes, >, n_parts);
  g_test_message ("%zu bytes: %zu read, %u changes, %" G_GINT64_FORMAT " pages for %zu of document",
                  text->len, bytes_read, run.n_changes, pages, document_pages);
  g_assert_cmpuint (bytes_read, >=, 2 * text->len * 9 / 10);
  g_assert_cmpuint (bytes_read, <=, 2 * text->len + 2 * n_parts);
  /* A step's few pages each, and the document's pages a few times. */
  g_assert_cmpint (pages, <=, 4 * (gint64) document_pages + 16 * (gint64) run.n_changes);

  g_clear_object (&queue);
  g_clear_object (&store);
  g_main_loop_unref (run.loop);
  wal = g_strconcat (path, "-wal", NULL);
  shm = g_strconcat (path, "-shm", NULL);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (path);
  g_rmdir (dir);
}

/* A jobs.db written before documents had a table of their own (schema 1,
 * the document in the job's row): a queued job keeps its document, which
 * moves to the new table, and the job row no longer carries it. */
static void
test_store_migrates_documents (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("aic-jobs-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "jobs.db", NULL);
  g_autoptr(AicJobStore) store = NULL;
  g_autoptr(AicJobRecord) record = NULL;
  g_autoptr(GBytes) kept = NULL;
  sqlite3 *db = aic_sqlite_open (path, &error);

  g_assert_no_error (error);
  g_assert_true (aic_sqlite_exec (db,
                                  "CREATE TABLE jobs (id TEXT PRIMARY KEY, api TEXT NOT NULL, filename TEXT NOT NULL,"
                                  " mime TEXT NOT NULL, instructions TEXT, model TEXT, idempotency_key TEXT UNIQUE,"
                                  " status TEXT NOT NULL, progress INTEGER NOT NULL DEFAULT 0, stage TEXT, message TEXT,"
                                  " result TEXT, error_code TEXT, error_message TEXT, version INTEGER NOT NULL DEFAULT 1,"
                                  " attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
                                  " updated_at INTEGER NOT NULL, document BLOB);"
                                  "INSERT INTO jobs (id, api, filename, mime, status, created_at, updated_at, document)"
                                  " VALUES ('j-old', 'analyze', 'tide.md', 'text/markdown', 'queued', 1, 1,"
                                  "         CAST('# Tides\nHigh water at noon.' AS BLOB)),"
                                  "        ('j-done', 'analyze', 'old.md', 'text/markdown', 'done', 1, 1, CAST('x' AS BLOB));"
                                  "PRAGMA user_version = 1;", &error));
  g_assert_no_error (error);
  sqlite3_close (db);

  store = aic_job_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  record = aic_job_store_get (store, "j-old", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (record->filename, ==, "tide.md");
  kept = aic_job_store_get_document (store, "j-old", &error);
  g_assert_no_error (error);
  g_assert_nonnull (kept);
  g_assert_cmpmem (g_bytes_get_data (kept, NULL), g_bytes_get_size (kept),
                   "# Tides\nHigh water at noon.", strlen ("# Tides\nHigh water at noon."));
  g_clear_object (&store);

  db = aic_sqlite_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (aic_sqlite_get_user_version (db, &error), ==, 2);
  {
    sqlite3_stmt *statement = NULL;

    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM jobs WHERE document IS NOT NULL", -1, &statement, NULL),
                     ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (statement, 0), ==, 0);
    sqlite3_finalize (statement);
    /* A finished job's document is not kept at all. */
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM documents", -1, &statement, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (statement, 0), ==, 1);
    sqlite3_finalize (statement);
  }
  sqlite3_close (db);
  g_unlink (path);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    g_unlink (wal);
    g_unlink (shm);
  }
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/summary/sentences", test_sentences);
  g_test_add_func ("/summary/parts", test_parts);
  g_test_add_func ("/summary/title", test_title);
  g_test_add_func ("/summary/extractive", test_extractive);
  g_test_add_func ("/summary/parse-reply", test_parse_reply);
  g_test_add_func ("/summary/large-document-read-once", test_large_document_read_once);
  g_test_add_func ("/summary/store-migrates-documents", test_store_migrates_documents);

  return g_test_run ();
}
