/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-job-client.h"
#include "aic-job-manager.h"
#include "aic-json.h"
#include "aic-server-private.h"
#include "aic-sse-client.h"
#include "aic-test-pdf.h"
#include "aic-test-util.h"

/* Document jobs end to end, in one process: the real AicServer on
 * 127.0.0.1 (job table in SQLite, worker queue, demo engine) spoken to by
 * raw libsoup requests and by the app's own AicJobClient and
 * AicJobManager; and a tutorial-shaped tasks server for compatibility. */

static const char document[] =
  "# Wind and water\n\n"
  "Small hydro plants turn river flow into steady electricity for villages. "
  "Wind turbines add power in winter when rivers freeze and hydro output drops. "
  "Together the two sources cover most of the yearly demand in mountain valleys.\n\n"
  "Maintenance is the main cost: turbines need yearly checks and hydro intakes need cleaning. "
  "Villages that share technicians cut these costs by a third.\n";

typedef struct
{
  AicServer    *server;
  char         *url;
  char         *dir;
  SoupSession  *session;
  AicClient    *client;
  AicJobClient *jobs;
  guint         n_304;
  guint         n_status_200;
} Fixture;

static void
request_finished_cb (SoupServer        *soup,
                     SoupServerMessage *message,
                     Fixture           *f)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (message));

  if (g_str_has_prefix (path, "/api/analyze/j-") && !g_str_has_suffix (path, "/events") &&
      g_str_equal (soup_server_message_get_method (message), "GET"))
    {
      if (soup_server_message_get_status (message) == SOUP_STATUS_NOT_MODIFIED)
        f->n_304++;
      else
        f->n_status_200++;
    }
}

static AicServer *
start_server (Fixture *f,
              guint    port,
              guint    step_delay_ms)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GError) error = NULL;
  AicServer *server;

  aic_engine_set_demo_delay (engine, step_delay_ms / 10);
  server = aic_server_new (engine, NULL);
  aic_server_set_max_upload_bytes (server, 64 * 1024);
  g_assert_true (aic_server_open_jobs (server, f->dir, &error));
  g_assert_no_error (error);
  g_assert_true (aic_server_listen (server, "127.0.0.1", port, &error));
  g_assert_no_error (error);
  return server;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("aic-jobs-XXXXXX", &error);
  g_assert_no_error (error);
  f->server = start_server (f, 0, GPOINTER_TO_UINT (data));
  f->url = aic_server_dup_url (f->server);
  f->session = aic_http_session_new (10);
  connection = aic_connection_new ("test", "Test", AIC_CONNECTION_KIND_CONSOLE, f->url);
  f->client = aic_client_new (connection, NULL);
  f->jobs = aic_job_client_new (f->client);
  aic_job_client_set_max_delay (f->jobs, 200);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->jobs);
  g_clear_object (&f->client);
  g_clear_object (&f->session);
  g_clear_object (&f->server);
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->url);
}

typedef AicTestAnswer Answer;

static void
send_message (Fixture     *f,
              SoupMessage *message,
              Answer      *answer)
{
  aic_test_send (f->session, message, answer);
}

static SoupMessage *
upload_message (Fixture    *f,
                const char *filename,
                const char *type,
                GBytes     *bytes,
                const char *key)
{
  g_autofree char *url = g_strconcat (f->url, "/api/analyze/start", NULL);
  SoupMessage *message = soup_message_new ("POST", url);
  g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  g_autoptr(GBytes) body = NULL;

  soup_multipart_append_form_file (multipart, "file", filename, type, bytes);
  soup_multipart_to_message (multipart, soup_message_get_request_headers (message), &body);
  soup_message_set_request_body_from_bytes (message, NULL, body);
  if (key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "Idempotency-Key", key);
  return message;
}

static void
get (Fixture    *f,
     const char *path,
     const char *if_none_match,
     Answer     *answer)
{
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);

  if (if_none_match != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "If-None-Match", if_none_match);
  send_message (f, message, answer);
}

static const char *
member (Answer     *answer,
        const char *name)
{
  return json_object_get_string_member (json_node_get_object (answer->body), name);
}

static guint
n_jobs (Fixture *f)
{
  g_auto(AicTestAnswer) answer = { 0 };

  get (f, "/api/analyze", NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 200);
  return json_array_get_length (json_object_get_array_member (json_node_get_object (answer.body), "jobs"));
}

static char *
submit (Fixture    *f,
        const char *text)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr(SoupMessage) message = upload_message (f, "wind.md", "text/markdown", bytes, NULL);
  g_auto(AicTestAnswer) answer = { 0 };

  send_message (f, message, &answer);
  g_assert_cmpuint (answer.status, ==, 202);
  return g_strdup (member (&answer, "job_id"));
}

static void
follow (Fixture *f,
        AicJob  *job)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_job_client_follow_async (f->jobs, job, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  g_assert_true (aic_job_client_follow_finish (f->jobs, result, &error));
  g_assert_no_error (error);
}

static AicJob *
remote_job (const char *id)
{
  AicJob *job = aic_job_new ("wind.md");

  aic_job_set_remote (job, id, AIC_JOB_SHAPE_ANALYZE);
  return job;
}

static void
test_submit_idempotent (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (document, strlen (document));
  g_autoptr(SoupMessage) first = upload_message (f, "wind.md", "text/markdown", bytes, "key-1");
  g_autoptr(SoupMessage) again = upload_message (f, "wind.md", "text/markdown", bytes, "key-1");
  g_autoptr(SoupMessage) other = upload_message (f, "wind.md", "text/markdown", bytes, "key-2");
  g_auto(AicTestAnswer) a = { 0 };
  g_auto(AicTestAnswer) b = { 0 };
  g_auto(AicTestAnswer) c = { 0 };
  g_autofree char *location = NULL;
  g_autoptr(AicJob) job = NULL;

  send_message (f, first, &a);
  g_assert_cmpuint (a.status, ==, 202);
  g_assert_true (g_str_has_prefix (member (&a, "job_id"), "j-"));
  g_assert_cmpstr (member (&a, "status"), ==, "queued");
  location = g_strconcat ("/api/analyze/", member (&a, "job_id"), NULL);
  g_assert_cmpstr (aic_test_answer_header (&a, "Location"), ==, location);

  send_message (f, again, &b);
  g_assert_cmpuint (b.status, ==, 200);
  g_assert_cmpstr (member (&b, "job_id"), ==, member (&a, "job_id"));
  g_assert_cmpstr (aic_test_answer_header (&b, "Location"), ==, location);

  send_message (f, other, &c);
  g_assert_cmpuint (c.status, ==, 202);
  g_assert_cmpstr (member (&c, "job_id"), !=, member (&a, "job_id"));
  g_assert_cmpuint (n_jobs (f), ==, 2);

  job = remote_job (member (&a, "job_id"));
  follow (f, job);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_title (job), ==, "Wind and water");
  g_assert_nonnull (strstr (aic_job_get_summary (job), "hydro"));
  g_assert_cmpuint (g_strv_length ((char **) aic_job_get_key_points (job)), >=, 1);
  /* The demo says what its summary is. */
  g_assert_nonnull (strstr (aic_job_get_note (job), "demo engine"));
}

/* Text that is not a file goes up as JSON. */
static void
test_submit_text (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(AicJob) job = aic_job_new ("pasted.md");
  g_autoptr(AicJob) again = aic_job_new ("pasted.md");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_job_client_submit_text_async (f->jobs, job, document, "Focus on costs", NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_submit_finish (f->jobs, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (aic_job_get_shape (job), ==, AIC_JOB_SHAPE_ANALYZE);
  g_assert_true (g_str_has_prefix (aic_job_get_remote_id (job), "j-"));
  follow (f, job);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_title (job), ==, "Wind and water");
  g_clear_object (&result);

  /* Whitespace only: 400, in words, nothing stored. */
  aic_job_client_submit_text_async (f->jobs, again, "  \n ", NULL, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_false (aic_job_client_submit_finish (f->jobs, result, &error));
  g_assert_nonnull (strstr (error->message, "empty"));
  g_assert_cmpuint (n_jobs (f), ==, 1);
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GByteArray) big = g_byte_array_new ();
  struct {
    const char *filename;
    const char *type;
    const char *data;
    gsize len;
    guint status;
    const char *code;
  } cases[] = {
    { "empty.txt", "text/plain", "", 0, 400, "empty_document" },
    { "blank.txt", "text/plain", "  \n\n ", 5, 400, "empty_document" },
    { "photo.png", "image/png", "\x89PNG\r\n\x1a\n", 8, 415, "unsupported_type" },
    { "latin1.txt", "text/plain", "caf\xe9", 4, 415, "unsupported_type" },
    { "big.txt", "text/plain", NULL, 0, 413, "too_large" },
  };

  for (guint i = 0; i < 70 * 1024; i++)
    g_byte_array_append (big, (const guint8 *) "a", 1);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = cases[i].data ? g_bytes_new (cases[i].data, cases[i].len)
                                              : g_bytes_new (big->data, big->len);
      g_autoptr(SoupMessage) message = upload_message (f, cases[i].filename, cases[i].type, bytes, NULL);
      g_auto(AicTestAnswer) answer = { 0 };
      JsonObject *error;

      send_message (f, message, &answer);
      g_assert_cmpuint (answer.status, ==, cases[i].status);
      error = json_object_get_object_member (json_node_get_object (answer.body), "error");
      g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, cases[i].code);
    }

  /* Wrong JSON types, and a body of unknown length. */
  {
    g_autofree char *url = g_strconcat (f->url, "/api/analyze/start", NULL);
    g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
    g_autoptr(SoupMessage) chunked = soup_message_new ("POST", url);
    g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data ("{\"text\": \"x\"}", 13, NULL);
    g_auto(AicTestAnswer) answer = { 0 };
    g_auto(AicTestAnswer) chunked_answer = { 0 };
    g_autoptr(GBytes) body = g_bytes_new_static ("{\"filename\": 3, \"text\": \"Some text here.\"}", 42);

    soup_message_set_request_body_from_bytes (message, "application/json", body);
    send_message (f, message, &answer);
    g_assert_cmpuint (answer.status, ==, 400);

    soup_message_set_request_body (chunked, "application/json", stream, -1);
    send_message (f, chunked, &chunked_answer);
    g_assert_cmpuint (chunked_answer.status, ==, 411);
  }

  /* A chunked body elsewhere is counted as it comes, and refused past the
   * limit without being kept. */
  {
    g_autofree char *url = g_strconcat (f->url, "/api/chat/stream", NULL);
    g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
    g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data (g_memdup2 (big->data, big->len), big->len, g_free);
    g_auto(AicTestAnswer) answer = { 0 };

    soup_message_set_request_body (message, "application/json", stream, -1);
    send_message (f, message, &answer);
    g_assert_cmpuint (answer.status, ==, 413);
  }

  /* Nothing was stored. */
  g_assert_cmpuint (n_jobs (f), ==, 0);
}

static void
test_etag (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *id = submit (f, document);
  g_autofree char *path = g_strconcat ("/api/analyze/", id, NULL);
  g_autofree char *tag = NULL;
  g_autoptr(AicJob) job = remote_job (id);
  g_auto(AicTestAnswer) first = { 0 };
  g_auto(AicTestAnswer) same = { 0 };
  g_auto(AicTestAnswer) later = { 0 };
  g_auto(AicTestAnswer) unknown = { 0 };

  /* The job moves on by itself (a stage every 100 ms), so it may change
   * between two requests: then the second is a 200 with a new ETag, and
   * the pair is tried again. An unchanged job must give a 304. */
  for (guint attempt = 0; ; attempt++)
    {
      g_assert_cmpuint (attempt, <, 20);
      aic_test_answer_clear (&first);
      aic_test_answer_clear (&same);
      get (f, path, NULL, &first);
      g_assert_cmpuint (first.status, ==, 200);
      g_assert_cmpstr (member (&first, "status"), !=, "done");
      g_assert_nonnull (aic_test_answer_header (&first, "ETag"));
      g_assert_nonnull (aic_test_answer_header (&first, "Retry-After"));
      g_assert_cmpint (atoi (aic_test_answer_header (&first, "Retry-After")), >=, 1);
      g_free (tag);
      tag = g_strdup (aic_test_answer_header (&first, "ETag"));

      get (f, path, tag, &same);
      if (same.status == 304)
        break;
      g_assert_cmpuint (same.status, ==, 200);
      g_assert_cmpstr (aic_test_answer_header (&same, "ETag"), !=, tag);
    }
  g_assert_null (same.body);
  g_assert_cmpstr (aic_test_answer_header (&same, "ETag"), ==, tag);

  follow (f, job);
  get (f, path, tag, &later);
  g_assert_cmpuint (later.status, ==, 200);
  g_assert_cmpstr (member (&later, "status"), ==, "done");
  g_assert_cmpstr (aic_test_answer_header (&later, "ETag"), !=, tag);
  g_assert_null (aic_test_answer_header (&later, "Retry-After"));

  get (f, "/api/analyze/j-nothing", NULL, &unknown);
  g_assert_cmpuint (unknown.status, ==, 404);
}

typedef struct
{
  GPtrArray *names;
  GPtrArray *ids;
} Events;

static void
event_cb (AicSseClient *client,
          const char   *type,
          const char   *data,
          const char   *id,
          Events       *events)
{
  g_ptr_array_add (events->names, g_strdup (type));
  g_ptr_array_add (events->ids, g_strdup (id));
}

/* Returns the answer's status. */
static guint
read_events (Fixture    *f,
             const char *path,
             const char *last_event_id,
             Events     *events)
{
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(AicSseClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (last_event_id)
    soup_message_headers_replace (soup_message_get_request_headers (message), "Last-Event-ID", last_event_id);
  client = aic_sse_client_new (f->session, message);
  events->names = g_ptr_array_new_with_free_func (g_free);
  events->ids = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (client, "event", G_CALLBACK (event_cb), events);
  aic_sse_client_run_async (client, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  g_assert_true (aic_sse_client_run_finish (client, result, &error));
  g_assert_no_error (error);
  return soup_message_get_status (message);
}

static void
test_events (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *id = submit (f, document);
  g_autofree char *path = g_strconcat ("/api/analyze/", id, "/events", NULL);
  Events all = { 0 }, rest = { 0 };
  guint64 previous = 0;

  read_events (f, path, NULL, &all);
  g_assert_cmpuint (all.names->len, >=, 3);
  g_assert_cmpstr (g_ptr_array_index (all.names, 0), ==, "status");
  g_assert_cmpstr (g_ptr_array_index (all.names, all.names->len - 1), ==, "done");
  for (guint i = 1; i < all.names->len - 1; i++)
    g_assert_cmpstr (g_ptr_array_index (all.names, i), ==, "progress");
  for (guint i = 0; i < all.ids->len; i++)
    {
      guint64 value = g_ascii_strtoull (g_ptr_array_index (all.ids, i), NULL, 10);
      g_assert_cmpuint (value, >, previous);
      previous = value;
    }

  /* Resuming at the last id: nothing more to say, which is 204 (an
   * EventSource stops reconnecting); earlier: the end again. */
  g_assert_cmpuint (read_events (f, path, g_ptr_array_index (all.ids, all.ids->len - 1), &rest), ==, 204);
  g_assert_cmpuint (rest.names->len, ==, 0);
  g_ptr_array_unref (rest.names);
  g_ptr_array_unref (rest.ids);
  g_assert_cmpuint (read_events (f, path, g_ptr_array_index (all.ids, 0), &rest), ==, 200);
  g_assert_cmpuint (rest.names->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (rest.names, 0), ==, "done");

  g_ptr_array_unref (all.names);
  g_ptr_array_unref (all.ids);
  g_ptr_array_unref (rest.names);
  g_ptr_array_unref (rest.ids);
}

static gboolean
job_running (gpointer data)
{
  return aic_job_get_status (data) == AIC_JOB_RUNNING && aic_job_get_progress (data) >= 10;
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *id = submit (f, document);
  g_autoptr(AicJob) job = remote_job (id);
  g_autoptr(AicJob) watcher = remote_job (id);
  g_autoptr(GAsyncResult) followed = NULL;
  g_autoptr(GAsyncResult) cancelled = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strconcat ("/api/analyze/", id, NULL);
  g_auto(AicTestAnswer) answer = { 0 };

  aic_job_client_follow_async (f->jobs, watcher, NULL, aic_test_store_result_cb, &followed);
  aic_test_wait_for (job_running, watcher, 10000);

  aic_job_client_cancel_async (f->jobs, job, NULL, aic_test_store_result_cb, &cancelled);
  aic_test_wait_result (&cancelled, 10000);
  g_assert_true (aic_job_client_cancel_finish (f->jobs, cancelled, &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_CANCELLED);

  /* The one following sees it too, and the worker is free again. */
  aic_test_wait_result (&followed, 10000);
  g_assert_true (aic_job_client_follow_finish (f->jobs, followed, &error));
  g_assert_cmpint (aic_job_get_status (watcher), ==, AIC_JOB_CANCELLED);
  g_assert_cmpuint (aic_job_queue_get_n_running (aic_job_hub_get_queue (aic_server_get_job_hub (f->server))), ==, 0);

  get (f, path, NULL, &answer);
  g_assert_cmpstr (member (&answer, "status"), ==, "cancelled");
}

static void
test_poll_with_etags (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *id = submit (f, document);
  g_autoptr(AicJob) job = remote_job (id);

  g_signal_connect (aic_server_get_soup (f->server), "request-finished", G_CALLBACK (request_finished_cb), f);
  aic_job_client_set_follow_mode (f->jobs, AIC_JOB_FOLLOW_POLL);
  follow (f, job);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpuint (f->n_status_200, >=, 2);
  /* Retry-After (2 s while running) spaces the polls: a job of about 1.5 s
   * takes only a few. */
  g_assert_cmpuint (f->n_status_200 + f->n_304, <=, 4);
}

static gboolean
job_paused (gpointer data)
{
  return aic_job_get_paused (data);
}

/* The server goes away mid-job and comes back on the same port with the
 * same data: the job was requeued, the client paused and went on. */
static void
test_outage (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *id = submit (f, document);
  g_autoptr(AicJob) job = remote_job (id);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint port = aic_server_get_port (f->server);

  aic_job_client_follow_async (f->jobs, job, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_for (job_running, job, 10000);

  aic_server_disconnect (f->server);
  g_clear_object (&f->server);
  aic_test_wait_for (job_paused, job, 10000);
  g_assert_nonnull (strstr (aic_job_get_pause_reason (job), "Nothing is listening"));
  g_assert_false (aic_job_is_finished (job));

  f->server = start_server (f, port, GPOINTER_TO_UINT (data));
  aic_test_wait_result (&result, 20000);
  g_assert_true (aic_job_client_follow_finish (f->jobs, result, &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_false (aic_job_get_paused (job));
}

static void
test_pdf (Fixture       *f,
          gconstpointer  data)
{
  cairo_t *cr = aic_test_pdf_new ();
  g_autoptr(GBytes) pdf = NULL;
  g_autoptr(AicJob) job = aic_job_new ("turbines.pdf");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cairo_set_font_size (cr, 12);
  cairo_move_to (cr, 40, 80);
  cairo_show_text (cr, "Turbine blades are inspected every spring for cracks and erosion.");
  cairo_show_page (cr);
  pdf = aic_test_pdf_end (cr);

  aic_job_client_submit_async (f->jobs, job, pdf, "application/pdf", NULL, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_submit_finish (f->jobs, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (aic_job_get_shape (job), ==, AIC_JOB_SHAPE_ANALYZE);
  follow (f, job);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_nonnull (strstr (aic_job_get_summary (job), "Turbine blades are inspected"));
}

/* ---- the manager: saved jobs are taken up again ---- */

static gboolean
manager_idle (gpointer data)
{
  return aic_job_manager_get_n_active (data) == 0;
}

static void
test_manager_resume (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *db = g_build_filename (f->dir, "client.db", NULL);
  g_autofree char *path = g_build_filename (f->dir, "wind.md", NULL);
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = NULL;
  g_autoptr(AicJobManager) manager = NULL;
  g_autofree char *job_id = NULL;
  AicJob *job;

  g_assert_true (g_file_set_contents (path, document, -1, &error));
  file = g_file_new_for_path (path);
  store = aic_store_open (db, &error);
  manager = aic_job_manager_new (store, "app");
  aic_job_manager_set_client (manager, f->client);
  job = aic_job_manager_submit_file (manager, file, NULL);
  job_id = g_strdup (aic_job_get_id (job));
  aic_test_wait_for (job_running, job, 10000);

  /* The app closes mid-job. */
  g_clear_object (&manager);
  g_clear_object (&store);

  store = aic_store_open (db, &error);
  manager = aic_job_manager_new (store, "app");
  aic_job_manager_set_client (manager, f->client);
  g_assert_true (aic_job_manager_load (manager, FALSE, &error));
  g_assert_cmpuint (g_list_model_get_n_items (aic_job_manager_get_jobs (manager)), ==, 1);
  g_assert_cmpuint (aic_job_manager_get_n_active (manager), ==, 1);
  aic_test_wait_for (manager_idle, manager, 20000);
  {
    g_autoptr(AicJob) back = g_list_model_get_item (aic_job_manager_get_jobs (manager), 0);

    g_assert_cmpstr (aic_job_get_id (back), ==, job_id);
    g_assert_cmpint (aic_job_get_status (back), ==, AIC_JOB_DONE);
    g_assert_cmpstr (aic_job_get_title (back), ==, "Wind and water");
  }
  g_assert_cmpuint (n_jobs (f), ==, 1);
}

/* A job saved before the server answered is sent again with the same
 * Idempotency-Key: the server has one job, not two. */
static void
test_manager_resend (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *db = g_build_filename (f->dir, "client.db", NULL);
  g_autofree char *path = g_build_filename (f->dir, "wind.md", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (db, &error);
  g_autoptr(AicJobManager) manager = NULL;
  g_autoptr(AicJob) job = aic_job_new ("wind.md");
  g_autoptr(GBytes) bytes = g_bytes_new_static (document, strlen (document));
  g_autoptr(SoupMessage) message = NULL;
  g_auto(AicTestAnswer) answer = { 0 };

  g_assert_true (g_file_set_contents (path, document, -1, &error));
  /* The first send reached the server; its answer was lost. */
  message = upload_message (f, "wind.md", "text/markdown", bytes, aic_job_get_idempotency_key (job));
  send_message (f, message, &answer);
  g_assert_cmpuint (answer.status, ==, 202);

  aic_job_set_owner (job, "app");
  aic_job_set_connection_id (job, "test");
  aic_job_set_source_path (job, path);
  g_assert_true (aic_store_save_job (store, job, &error));

  manager = aic_job_manager_new (store, "app");
  aic_job_manager_set_client (manager, f->client);
  g_assert_true (aic_job_manager_load (manager, TRUE, &error));
  aic_test_wait_for (manager_idle, manager, 20000);
  {
    g_autoptr(AicJob) back = g_list_model_get_item (aic_job_manager_get_jobs (manager), 0);

    g_assert_cmpint (aic_job_get_status (back), ==, AIC_JOB_DONE);
    g_assert_cmpstr (aic_job_get_remote_id (back), ==, member (&answer, "job_id"));
  }
  g_assert_cmpuint (n_jobs (f), ==, 1);
}

/* ---- the plainer tasks shape ---- */

typedef struct
{
  guint polls;
  char *prompt;
} TasksServer;

static void
tasks_handler (SoupServer        *server,
               SoupServerMessage *message,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  TasksServer *tasks = user_data;
  const char *method = soup_server_message_get_method (message);

  if (g_str_equal (path, "/api/tasks") && g_str_equal (method, "POST"))
    {
      g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));
      g_autoptr(JsonNode) root = aic_json_parse_bytes (body, NULL);

      g_free (tasks->prompt);
      tasks->prompt = g_strdup (json_object_get_string_member (json_node_get_object (root), "prompt"));
      aic_test_reply (message, 200, "application/json", "{\"task_id\": 17}");
    }
  else if (g_str_equal (path, "/api/tasks/17") && g_str_equal (method, "GET"))
    {
      tasks->polls++;
      if (tasks->polls < 3)
        aic_test_reply (message, 200, "application/json", "{\"status\": \"running\", \"progress\": 50}");
      else
        aic_test_reply (message, 200, "application/json", "{\"status\": \"done\", \"progress\": 100, \"result\": \"Short and plain.\"}");
    }
  else if (g_str_has_prefix (path, "/api/tasks/") && g_str_equal (method, "GET") && !g_str_has_suffix (path, "/stream"))
    aic_test_reply (message, 200, "application/json", "{\"error\": \"not found\"}");
  else
    aic_test_reply (message, 404, "text/html", "<h1>Not Found</h1>");
}

static void
test_tasks_shape (void)
{
  TasksServer tasks = { 0 };
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autoptr(AicConnection) connection = aic_connection_new ("t", "T", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(AicJobClient) jobs = aic_job_client_new (client);
  g_autoptr(AicJob) job = aic_job_new ("note.txt");
  g_autoptr(AicJob) lost = aic_job_new ("lost.txt");
  g_autoptr(AicJob) pdf = aic_job_new ("scan.pdf");
  g_autoptr(GBytes) text = g_bytes_new_static ("A note about tasks.", 19);
  g_autoptr(GBytes) binary = g_bytes_new_static ("%PDF-1.4\n\x80\x81", 11);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  soup_server_add_handler (server, NULL, tasks_handler, &tasks, NULL);
  aic_job_client_set_max_delay (jobs, 50);

  aic_job_client_submit_async (jobs, job, text, "text/plain", NULL, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_submit_finish (jobs, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (aic_job_client_get_shape (jobs), ==, AIC_JOB_SHAPE_TASKS);
  g_assert_cmpstr (aic_job_get_remote_id (job), ==, "17");
  g_assert_cmpstr (tasks.prompt, ==, "A note about tasks.");
  g_clear_object (&result);

  aic_job_client_follow_async (jobs, job, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_follow_finish (jobs, result, &error));
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_summary (job), ==, "Short and plain.");
  g_assert_cmpuint (tasks.polls, ==, 3);
  g_clear_object (&result);

  /* An id the server does not know: 200 {"error": "not found"}. */
  aic_job_set_remote (lost, "99", AIC_JOB_SHAPE_TASKS);
  aic_job_client_follow_async (jobs, lost, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_follow_finish (jobs, result, &error));
  g_assert_cmpint (aic_job_get_status (lost), ==, AIC_JOB_FAILED);
  g_assert_nonnull (strstr (aic_job_get_error (lost), "no longer knows"));
  g_clear_object (&result);

  /* The tasks shape takes text only. */
  aic_job_client_submit_async (jobs, pdf, binary, "application/pdf", NULL, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_false (aic_job_client_submit_finish (jobs, result, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNSUPPORTED);
  g_free (tasks.prompt);
}

/* A tasks server whose stream says "done" before the result is written
 * (@placeholder in its place); the task resource has the result. */
typedef struct
{
  const char *placeholder;
  guint       reads;
} RecordServer;

static void
record_handler (SoupServer        *server,
                SoupServerMessage *message,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  RecordServer *record = user_data;

  if (g_str_equal (path, "/api/tasks/5/stream"))
    {
      g_autofree char *body = g_strdup_printf ("event: progress\ndata: {\"task_id\": \"5\", \"progress\": 90, \"message\": \"Almost\"}\n\n"
                                               "event: done\ndata: {\"task_id\": \"5\"%s%s}\n\n",
                                               record->placeholder ? ", \"result\": " : "",
                                               record->placeholder ? record->placeholder : "");

      aic_test_reply (message, 200, "text/event-stream", body);
    }
  else if (g_str_equal (path, "/api/tasks/5"))
    {
      record->reads++;
      aic_test_reply (message, 200, "application/json",
                      "{\"status\": \"done\", \"progress\": 100, \"result\": \"The result of record.\"}");
    }
  else
    aic_test_reply (message, 404, "text/html", "<h1>Not Found</h1>");
}

static void
test_tasks_placeholder (void)
{
  const char *placeholders[] = { "null", "\"pending\"", "\"\"", NULL /* no result at all */, "\"Pending \"" };

  for (guint i = 0; i < G_N_ELEMENTS (placeholders); i++)
    {
      RecordServer record = { placeholders[i], 0 };
      g_autofree char *url = NULL;
      g_autoptr(SoupServer) server = aic_test_server_new (&url);
      g_autoptr(AicConnection) connection = aic_connection_new ("t", "T", AIC_CONNECTION_KIND_CONSOLE, url);
      g_autoptr(AicClient) client = aic_client_new (connection, NULL);
      g_autoptr(AicJobClient) jobs = aic_job_client_new (client);
      g_autoptr(AicJob) job = aic_job_new ("note.txt");
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("placeholder %s", placeholders[i] ? placeholders[i] : "(none)");
      soup_server_add_handler (server, NULL, record_handler, &record, NULL);
      aic_job_set_remote (job, "5", AIC_JOB_SHAPE_TASKS);
      aic_job_client_follow_async (jobs, job, NULL, aic_test_store_result_cb, &result);
      aic_test_wait_result (&result, 10000);
      g_assert_true (aic_job_client_follow_finish (jobs, result, &error));
      g_assert_no_error (error);
      g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
      g_assert_cmpstr (aic_job_get_summary (job), ==, "The result of record.");
      g_assert_cmpuint (record.reads, ==, 1);
    }

  /* A real result on the stream is taken as it is, without a read. */
  {
    RecordServer record = { "\"Straight from the stream.\"", 0 };
    g_autofree char *url = NULL;
    g_autoptr(SoupServer) server = aic_test_server_new (&url);
    g_autoptr(AicConnection) connection = aic_connection_new ("t", "T", AIC_CONNECTION_KIND_CONSOLE, url);
    g_autoptr(AicClient) client = aic_client_new (connection, NULL);
    g_autoptr(AicJobClient) jobs = aic_job_client_new (client);
    g_autoptr(AicJob) job = aic_job_new ("note.txt");
    g_autoptr(GAsyncResult) result = NULL;

    soup_server_add_handler (server, NULL, record_handler, &record, NULL);
    aic_job_set_remote (job, "5", AIC_JOB_SHAPE_TASKS);
    aic_job_client_follow_async (jobs, job, NULL, aic_test_store_result_cb, &result);
    aic_test_wait_result (&result, 10000);
    g_assert_true (aic_job_client_follow_finish (jobs, result, NULL));
    g_assert_cmpstr (aic_job_get_summary (job), ==, "Straight from the stream.");
    g_assert_cmpuint (record.reads, ==, 0);
  }
}

/* The console backend's own tasks aliases. */
static void
test_tasks_aliases (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *url = g_strconcat (f->url, "/api/tasks", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
  static const char request[] = "{\"prompt\": \"Rivers power villages through small hydro plants all year long.\"}";
  g_autoptr(GBytes) body = g_bytes_new_static (request, strlen (request));
  g_auto(AicTestAnswer) answer = { 0 };
  g_autofree char *stream = NULL;
  Events events = { 0 };

  soup_message_set_request_body_from_bytes (message, "application/json", body);
  send_message (f, message, &answer);
  g_assert_cmpuint (answer.status, ==, 200);
  g_assert_nonnull (member (&answer, "task_id"));

  stream = g_strconcat ("/api/tasks/", member (&answer, "task_id"), "/stream", NULL);
  read_events (f, stream, NULL, &events);
  g_assert_cmpstr (g_ptr_array_index (events.names, events.names->len - 1), ==, "done");
  g_ptr_array_unref (events.names);
  g_ptr_array_unref (events.ids);

  {
    g_autofree char *path = g_strconcat ("/api/tasks/", member (&answer, "task_id"), NULL);
    g_auto(AicTestAnswer) status = { 0 };

    get (f, path, NULL, &status);
    g_assert_cmpstr (member (&status, "status"), ==, "done");
    g_assert_nonnull (strstr (member (&status, "result"), "hydro"));
  }
}

/* ---- the openai engine: parts, then one combining call ---- */

typedef struct
{
  guint part_calls;
  guint combine_calls;
  guint with_instructions;
} Upstream;

static void
upstream_handler (SoupServer        *server,
                  SoupServerMessage *message,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  Upstream *upstream = user_data;
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  g_autofree char *request = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  const char *reply;
  g_autofree char *escaped = NULL;
  g_autofree char *stream = NULL;

  if (g_str_equal (path, "/v1/models"))
    {
      aic_test_reply (message, 200, "application/json", "{\"data\": [{\"id\": \"fake-model\"}]}");
      return;
    }
  if (!g_str_equal (path, "/v1/chat/completions"))
    {
      aic_test_reply (message, 404, "application/json", "{\"error\": {\"message\": \"no\"}}");
      return;
    }
  if (strstr (request, "Focus on winter") != NULL)
    upstream->with_instructions++;
  if (strstr (request, "Summarise part") != NULL)
    {
      upstream->part_calls++;
      reply = "Turbines and hydro share the load.";
    }
  else
    {
      upstream->combine_calls++;
      reply = "TITLE: Valley power\nSUMMARY: Hydro and wind power the valleys together.\nKEY POINTS:\n- Hydro is steady\n- Wind helps in winter";
    }
  escaped = g_strescape (reply, NULL);
  stream = g_strdup_printf ("data: {\"choices\": [{\"delta\": {\"content\": \"%s\"}}]}\n\n"
                            "data: {\"choices\": [{\"delta\": {}, \"finish_reason\": \"stop\"}]}\n\n"
                            "data: [DONE]\n\n", escaped);
  aic_test_reply (message, 200, "text/event-stream", stream);
}

static void
test_openai_engine (void)
{
  Upstream upstream = { 0 };
  g_autofree char *upstream_url = NULL;
  g_autoptr(SoupServer) fake = aic_test_server_new (&upstream_url);
  g_autofree char *base = g_strconcat (upstream_url, "/v1", NULL);
  g_autoptr(AicEngine) engine = aic_engine_new_openai (base, "Fake", NULL);
  g_autoptr(AicServer) server = aic_server_new (engine, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicJobClient) jobs = NULL;
  g_autoptr(AicJob) job = aic_job_new ("valley.md");
  g_autoptr(GBytes) upload = NULL;
  g_autoptr(GString) text = g_string_new ("# Valley\n\n");
  g_autoptr(GAsyncResult) result = NULL;

  for (guint i = 0; i < 12; i++)
    g_string_append_printf (text, "Paragraph %u says that the turbines in the valley make power all winter long.\n\n", i);
  upload = g_bytes_new (text->str, text->len);

  soup_server_add_handler (fake, NULL, upstream_handler, &upstream, NULL);
  aic_engine_refresh_async (engine, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_engine_refresh_finish (engine, result, &error));
  g_clear_object (&result);
  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  aic_job_queue_set_part_size (aic_job_hub_get_queue (aic_server_get_job_hub (server)), 300);
  url = aic_server_dup_url (server);
  connection = aic_connection_new ("o", "O", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, NULL);
  jobs = aic_job_client_new (client);

  aic_job_client_submit_async (jobs, job, upload, "text/markdown", "Focus on winter", NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_submit_finish (jobs, result, &error));
  g_clear_object (&result);
  aic_job_client_follow_async (jobs, job, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  g_assert_true (aic_job_client_follow_finish (jobs, result, &error));
  g_assert_no_error (error);

  g_assert_cmpstr (aic_job_get_error (job), ==, NULL);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpuint (upstream.part_calls, >=, 3);
  g_assert_cmpuint (upstream.combine_calls, ==, 1);
  /* The reader's instructions reach every call. */
  g_assert_cmpuint (upstream.with_instructions, ==, upstream.part_calls + upstream.combine_calls);
  g_assert_cmpstr (aic_job_get_title (job), ==, "Valley power");
  g_assert_cmpstr (aic_job_get_summary (job), ==, "Hydro and wind power the valleys together.");
  g_assert_cmpstr (aic_job_get_key_points (job)[1], ==, "Wind helps in winter");
  g_assert_null (aic_job_get_note (job));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, delay) \
  g_test_add (path, Fixture, GUINT_TO_POINTER (delay), fixture_setup, func, fixture_teardown)

  ADD ("/jobs/submit-idempotent", test_submit_idempotent, 10);
  ADD ("/jobs/refused", test_refused, 10);
  ADD ("/jobs/submit-text", test_submit_text, 10);
  ADD ("/jobs/etag", test_etag, 100);
  ADD ("/jobs/events", test_events, 50);
  ADD ("/jobs/cancel", test_cancel, 500);
  ADD ("/jobs/poll-with-etags", test_poll_with_etags, 300);
  ADD ("/jobs/outage", test_outage, 300);
  ADD ("/jobs/pdf", test_pdf, 10);
  ADD ("/jobs/manager-resume", test_manager_resume, 300);
  ADD ("/jobs/manager-resend", test_manager_resend, 10);
  ADD ("/jobs/tasks-aliases", test_tasks_aliases, 10);
  g_test_add_func ("/jobs/tasks-shape", test_tasks_shape);
  g_test_add_func ("/jobs/tasks-placeholder", test_tasks_placeholder);
  g_test_add_func ("/jobs/openai-engine", test_openai_engine);

  return g_test_run ();
}
