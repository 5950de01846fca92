/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-job.h"
#include "aic-job-client-private.h"
#include "aic-json.h"
#include "aic-store.h"

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(GBytes) bytes = g_bytes_new (json, strlen (json));
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);

  g_assert_nonnull (root);
  return json_object_ref (json_node_get_object (root));
}

static gboolean
apply (AicJob      *job,
       const char  *json,
       GError     **error)
{
  g_autoptr(JsonObject) object = parse_object (json);

  return aic_job_update_from_json (job, object, error);
}

static void
test_console_shape (void)
{
  g_autoptr(AicJob) job = aic_job_new ("report.pdf");
  g_autoptr(GError) error = NULL;
  const char * const *points;

  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_SUBMITTING);
  g_assert_nonnull (aic_job_get_idempotency_key (job));

  g_assert_true (apply (job, "{\"job_id\": \"j-1\", \"status\": \"running\", \"progress\": 40, "
                             "\"stage\": \"summarizing\", \"message\": \"Summarizing part 2 of 5\", "
                             "\"result\": null, \"error\": null}", &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_RUNNING);
  g_assert_cmpint (aic_job_get_progress (job), ==, 40);
  g_assert_cmpstr (aic_job_get_stage (job), ==, "summarizing");
  g_assert_cmpstr (aic_job_get_message (job), ==, "Summarizing part 2 of 5");

  /* A progress event with only some members leaves the rest alone. */
  g_assert_true (apply (job, "{\"progress\": 55.5}", &error));
  g_assert_cmpint (aic_job_get_progress (job), ==, 55);
  g_assert_cmpstr (aic_job_get_stage (job), ==, "summarizing");

  g_assert_true (apply (job, "{\"status\": \"done\", \"result\": {\"title\": \"T\", \"summary\": \"S.\", "
                             "\"key_points\": [\"a\", \"b\"]}, \"extra\": [1, 2]}", &error));
  g_assert_no_error (error);
  g_assert_true (aic_job_is_finished (job));
  g_assert_cmpint (aic_job_get_progress (job), ==, 100);
  g_assert_cmpstr (aic_job_get_title (job), ==, "T");
  g_assert_cmpstr (aic_job_get_summary (job), ==, "S.");
  points = aic_job_get_key_points (job);
  g_assert_cmpstr (points[1], ==, "b");
}

static void
test_plain_shapes (void)
{
  g_autoptr(AicJob) job = aic_job_new ("prompt.txt");
  g_autoptr(GError) error = NULL;

  g_assert_true (apply (job, "{\"status\": \"processing\", \"pct\": 60}", &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_RUNNING);
  g_assert_cmpint (aic_job_get_progress (job), ==, 60);
  g_assert_true (apply (job, "{\"status\": \"completed\", \"result\": \"A plain text result.\"}", &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_summary (job), ==, "A plain text result.");

  g_clear_object (&job);
  job = aic_job_new ("x");
  g_assert_true (apply (job, "{\"status\": \"failed\", \"error\": \"model crashed\"}", &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_FAILED);
  g_assert_cmpstr (aic_job_get_error (job), ==, "model crashed");

  g_clear_object (&job);
  job = aic_job_new ("x");
  g_assert_true (apply (job, "{\"status\": \"failed\", \"error\": {\"code\": \"unreadable\", \"message\": \"The PDF has no text.\"}}", &error));
  g_assert_cmpstr (aic_job_get_error (job), ==, "The PDF has no text.");
}

static void
test_wrong_types (void)
{
  const char *bad[] = {
    "{\"status\": 3}",
    "{\"status\": \"exploded\"}",
    "{\"status\": \"running\", \"progress\": \"half\"}",
    "{\"status\": \"running\", \"stage\": 7}",
    "{\"status\": \"done\", \"result\": [1]}",
    "{\"status\": \"done\", \"result\": {\"key_points\": \"one\"}}",
    "{\"status\": \"failed\", \"error\": 12}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(AicJob) job = aic_job_new ("x");
      g_autoptr(GError) error = NULL;

      g_assert_true (apply (job, "{\"status\": \"queued\", \"progress\": 5}", NULL));
      g_assert_false (apply (job, bad[i], &error));
      g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
      /* Nothing changed. */
      g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_QUEUED);
      g_assert_cmpint (aic_job_get_progress (job), ==, 5);
    }
}

static void
test_markdown (void)
{
  g_autoptr(AicJob) job = aic_job_new ("notes.md");
  g_autofree char *markdown = NULL;

  g_assert_true (apply (job, "{\"status\": \"done\", \"result\": {\"title\": \"Notes\", \"summary\": \"Short.\", "
                             "\"key_points\": [\"One\", \"Two\"]}}", NULL));
  markdown = aic_job_dup_markdown (job);
  g_assert_true (g_str_has_prefix (markdown, "# Notes\n"));
  g_assert_nonnull (strstr (markdown, "notes.md"));
  g_assert_nonnull (strstr (markdown, "\nShort.\n"));
  g_assert_nonnull (strstr (markdown, "- One\n- Two\n"));
}

static void
test_store (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (":memory:", &error);
  g_autoptr(AicJob) done = aic_job_new ("done.md");
  g_autoptr(AicJob) running = aic_job_new ("running.pdf");
  g_autoptr(AicJob) other = aic_job_new ("cli.txt");
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) unfinished = NULL;
  g_autoptr(GPtrArray) cli = NULL;
  AicJob *restored;

  g_assert_no_error (error);
  aic_job_set_owner (done, "app");
  aic_job_set_connection_id (done, "builtin");
  aic_job_set_remote (done, "j-1", AIC_JOB_SHAPE_ANALYZE);
  g_assert_true (apply (done, "{\"status\": \"done\", \"result\": {\"title\": \"T\", \"summary\": \"S\", \"key_points\": [\"k\"]}}", NULL));
  aic_job_set_owner (running, "app");
  aic_job_set_source_path (running, "/tmp/running.pdf");
  aic_job_set_instructions (running, "Costs only");
  aic_job_set_remote (running, "7", AIC_JOB_SHAPE_TASKS);
  g_assert_true (apply (running, "{\"status\": \"running\", \"progress\": 30, \"message\": \"m\"}", NULL));
  aic_job_set_owner (other, "cli");

  g_assert_true (aic_store_save_job (store, done, &error));
  g_assert_true (aic_store_save_job (store, running, &error));
  g_assert_true (aic_store_save_job (store, other, &error));
  /* Saving again replaces. */
  g_assert_true (aic_store_save_job (store, running, &error));

  all = aic_store_list_jobs (store, "app", FALSE, &error);
  g_assert_cmpuint (all->len, ==, 2);
  unfinished = aic_store_list_jobs (store, "app", TRUE, &error);
  g_assert_cmpuint (unfinished->len, ==, 1);
  restored = g_ptr_array_index (unfinished, 0);
  g_assert_cmpstr (aic_job_get_id (restored), ==, aic_job_get_id (running));
  g_assert_cmpstr (aic_job_get_idempotency_key (restored), ==, aic_job_get_idempotency_key (running));
  g_assert_cmpstr (aic_job_get_source_path (restored), ==, "/tmp/running.pdf");
  g_assert_cmpstr (aic_job_get_instructions (restored), ==, "Costs only");
  g_assert_cmpstr (aic_job_get_remote_id (restored), ==, "7");
  g_assert_cmpint (aic_job_get_shape (restored), ==, AIC_JOB_SHAPE_TASKS);
  g_assert_cmpint (aic_job_get_progress (restored), ==, 30);

  for (guint i = 0; i < all->len; i++)
    if (g_str_equal (aic_job_get_id (g_ptr_array_index (all, i)), aic_job_get_id (done)))
      {
        AicJob *back = g_ptr_array_index (all, i);
        g_autoptr(GPtrArray) again = NULL;
        g_autofree char *json = NULL;

        /* The list has the title; the result stays in the store until
         * asked for. */
        g_assert_cmpstr (aic_job_get_title (back), ==, "T");
        g_assert_true (aic_job_get_result_unread (back));
        g_assert_null (aic_job_get_summary (back));
        g_assert_null (aic_job_get_key_points (back));
        g_assert_cmpstr (aic_job_get_connection_id (back), ==, "builtin");
        /* Saved again before it was read, it keeps its result. */
        g_assert_true (aic_store_save_job (store, back, &error));
        g_assert_false (aic_job_get_result_unread (back));
        g_assert_cmpstr (aic_job_get_summary (back), ==, "S");
        again = aic_store_list_jobs (store, "app", FALSE, &error);
        for (guint j = 0; j < again->len; j++)
          if (g_str_equal (aic_job_get_id (g_ptr_array_index (again, j)), aic_job_get_id (done)))
            {
              AicJob *read = g_ptr_array_index (again, j);

              json = aic_store_dup_job_result (store, aic_job_get_id (read), &error);
              g_assert_no_error (error);
              g_assert_true (aic_job_set_result_json (read, json, &error));
              g_assert_false (aic_job_get_result_unread (read));
              g_assert_cmpstr (aic_job_get_summary (read), ==, "S");
              g_assert_cmpstr (aic_job_get_key_points (read)[0], ==, "k");
            }
        g_assert_nonnull (json);
      }
  /* A job with no result has none to read. */
  g_assert_null (aic_store_dup_job_result (store, aic_job_get_id (other), &error));
  g_assert_no_error (error);

  cli = aic_store_list_jobs (store, "cli", TRUE, &error);
  g_assert_cmpuint (cli->len, ==, 1);
  g_assert_cmpint (aic_job_get_status (g_ptr_array_index (cli, 0)), ==, AIC_JOB_SUBMITTING);

  g_assert_true (aic_store_delete_job (store, aic_job_get_id (done), &error));
  g_clear_pointer (&all, g_ptr_array_unref);
  all = aic_store_list_jobs (store, "app", FALSE, &error);
  g_assert_cmpuint (all->len, ==, 1);
}

static void
test_retry_after (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc (2026, 12, 5, 9, 0, 0);
  const struct { const char *value; guint ms; } cases[] = {
    { NULL, 0 },
    { "", 0 },
    { "soon", 0 },
    { "1.5", 0 },
    { "-5", 0 },
    { "0", 1000 },
    { "2", 2000 },
    { " 7 ", 7000 },
    { "60", 60000 },
    /* Over the limit: clamped, not ignored. */
    { "61", 60000 },
    { "3600", 60000 },
    { "18446744073709551615", 60000 },
    { "100000000000000000000", 60000 },
    /* HTTP dates: in 30 s, in a day (clamped), in the past. */
    { "Sat, 05 Dec 2026 09:00:30 GMT", 30000 },
    { "Sun, 06 Dec 2026 09:00:00 GMT", 60000 },
    { "Fri, 04 Dec 2026 09:00:00 GMT", 1000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("Retry-After: %s", cases[i].value ? cases[i].value : "(none)");
      g_assert_cmpuint (aic_job_client_retry_after_ms (cases[i].value, now), ==, cases[i].ms);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/job-client/retry-after", test_retry_after);

  g_test_add_func ("/job/console-shape", test_console_shape);
  g_test_add_func ("/job/plain-shapes", test_plain_shapes);
  g_test_add_func ("/job/wrong-types", test_wrong_types);
  g_test_add_func ("/job/markdown", test_markdown);
  g_test_add_func ("/job/store", test_store);

  return g_test_run ();
}
