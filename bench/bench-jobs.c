/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Following document jobs: what each way of following costs.
 *
 *   bench-jobs SERVER-BINARY [JOBS] [SECONDS]
 *
 * Starts the real ai-console-server (demo engine, its own data folder),
 * then, for each mode, submits JOBS documents at once and follows all of
 * them to the end with the app's own AicJobClient:
 *   plain   – a full GET every second (the reference: what a naive client does)
 *   etag    – If-None-Match, Retry-After, backoff
 *   sse     – the /events stream
 * and prints requests, bytes on the wire and the server's CPU time.
 * Then a load generator asks the server for one job's status as fast as
 * 64 connections allow for SECONDS, once with the current ETag (304s) and
 * once without (200s, the reference), and prints requests/s and latency.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "aic-client.h"
#include "aic-http.h"
#include "aic-job-client.h"

#define DOCUMENT \
  "# Valley energy\n\nSmall hydro plants turn river flow into steady electricity for villages. " \
  "Wind turbines add power in winter when rivers freeze and hydro output drops. " \
  "Together the two sources cover most of the yearly demand in mountain valleys.\n"

typedef struct
{
  guint64 requests;
  guint64 bytes;
} Traffic;

static void
message_finished_cb (SoupMessage *message,
                     Traffic     *traffic)
{
  SoupMessageMetrics *metrics = soup_message_get_metrics (message);

  if (metrics != NULL)
    traffic->bytes += soup_message_metrics_get_request_header_bytes_sent (metrics) +
                      soup_message_metrics_get_request_body_bytes_sent (metrics) +
                      soup_message_metrics_get_response_header_bytes_received (metrics) +
                      soup_message_metrics_get_response_body_bytes_received (metrics);
}

static void
request_queued_cb (SoupSession *session,
                   SoupMessage *message,
                   Traffic     *traffic)
{
  traffic->requests++;
  soup_message_add_flags (message, SOUP_MESSAGE_COLLECT_METRICS);
  g_signal_connect (message, "finished", G_CALLBACK (message_finished_cb), traffic);
}

static double
server_cpu_s (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  /* Fields after the command name, which is in parentheses. */
  after = strrchr (text, ')');
  fields = g_strsplit (after + 2, " ", -1);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

typedef struct
{
  guint pending;
} Count;

static void
done_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Count *count = user_data;
  g_autoptr(GError) error = NULL;

  if (g_task_get_source_tag (G_TASK (result)) == aic_job_client_submit_async)
    aic_job_client_submit_finish (AIC_JOB_CLIENT (object), result, &error);
  else
    aic_job_client_follow_finish (AIC_JOB_CLIENT (object), result, &error);
  if (error != NULL)
    g_printerr ("bench-jobs: %s\n", error->message);
  count->pending--;
}

static void
wait_all (Count *count)
{
  while (count->pending > 0)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
drained_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Streams stopped at a job's end finish a moment later: let their byte
 * counts come in. */
static void
drain (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, drained_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
run_mode (const char       *name,
          AicJobFollowMode  mode,
          const char       *url,
          GPid              pid,
          guint             n_jobs,
          Traffic          *traffic)   /* outlives the messages */
{
  g_autoptr(AicConnection) connection = aic_connection_new ("bench", "Bench", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(AicJobClient) jobs = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GBytes) document = g_bytes_new_static (DOCUMENT, strlen (DOCUMENT));
  Count count = { 0 };
  double cpu_before, cpu_after;
  gint64 start, end;
  guint done = 0;

  aic_client_set_max_streams (client, n_jobs + 4);
  jobs = aic_job_client_new (client);
  aic_job_client_set_follow_mode (jobs, mode);
  aic_job_client_set_max_streams (jobs, n_jobs);

  for (guint i = 0; i < n_jobs; i++)
    {
      AicJob *job = aic_job_new ("valley.md");

      g_ptr_array_add (list, job);
      count.pending++;
      aic_job_client_submit_async (jobs, job, document, "text/markdown", NULL, NULL, done_cb, &count);
    }
  wait_all (&count);

  /* Only following is measured: the uploads are the same for every mode. */
  g_signal_connect (aic_client_get_session (client), "request-queued", G_CALLBACK (request_queued_cb), traffic);
  g_signal_connect (aic_client_get_stream_session (client), "request-queued", G_CALLBACK (request_queued_cb), traffic);
  cpu_before = server_cpu_s (pid);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n_jobs; i++)
    {
      count.pending++;
      aic_job_client_follow_async (jobs, g_ptr_array_index (list, i), NULL, done_cb, &count);
    }
  wait_all (&count);
  end = g_get_monotonic_time ();
  drain (500);
  cpu_after = server_cpu_s (pid);
  g_signal_handlers_disconnect_by_data (aic_client_get_session (client), traffic);
  g_signal_handlers_disconnect_by_data (aic_client_get_stream_session (client), traffic);

  for (guint i = 0; i < n_jobs; i++)
    done += aic_job_get_status (g_ptr_array_index (list, i)) == AIC_JOB_DONE;

  printf ("| %-6s | %4u/%u | %8" G_GUINT64_FORMAT " | %10.1f | %12.3f | %7.2f |\n",
          name, done, n_jobs, traffic->requests, traffic->bytes / 1024.0, cpu_after - cpu_before,
          (end - start) / 1e6);
  fflush (stdout);
}

/* ---- the load generator ---- */

typedef struct
{
  SoupSession *session;
  char        *url;
  char        *etag;
  gint64       deadline;
  GArray      *latencies;      /* µs */
  guint        in_flight;
  guint        wrong;
} Load;

static void send_one (Load *load);

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Load *load = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (object), result);
  gint64 started = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (message), "started"));
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, NULL);
  gint64 latency = g_get_monotonic_time () - started;
  guint expected = load->etag ? SOUP_STATUS_NOT_MODIFIED : SOUP_STATUS_OK;

  g_array_append_val (load->latencies, latency);
  if (soup_message_get_status (message) != expected)
    load->wrong++;
  load->in_flight--;
  if (g_get_monotonic_time () < load->deadline)
    send_one (load);
}

static void
send_one (Load *load)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", load->url);

  if (load->etag != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "If-None-Match", load->etag);
  g_object_set_data (G_OBJECT (message), "started", GSIZE_TO_POINTER ((gsize) g_get_monotonic_time ()));
  load->in_flight++;
  soup_session_send_and_read_async (load->session, message, G_PRIORITY_DEFAULT, NULL, sent_cb, load);
}

static int
by_value (gconstpointer a,
          gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
run_load (const char *name,
          const char *url,
          const char *etag,
          GPid        pid,
          guint       connections,
          guint       seconds)
{
  Load load = { 0 };
  double cpu_before, cpu_after;
  gint64 start, end;
  gint64 p50, p99;

  load.session = aic_http_session_new_full (30, connections);
  load.url = g_strdup (url);
  load.etag = g_strdup (etag);
  load.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  cpu_before = server_cpu_s (pid);
  start = g_get_monotonic_time ();
  load.deadline = start + seconds * G_USEC_PER_SEC;
  for (guint i = 0; i < connections; i++)
    send_one (&load);
  while (load.in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  end = g_get_monotonic_time ();
  cpu_after = server_cpu_s (pid);

  g_array_sort (load.latencies, by_value);
  p50 = g_array_index (load.latencies, gint64, load.latencies->len / 2);
  p99 = g_array_index (load.latencies, gint64, MIN (load.latencies->len - 1, load.latencies->len * 99 / 100));
  printf ("| %-13s | %9u | %10.0f | %8.2f | %8.2f | %14.1f | %5u |\n",
          name, load.latencies->len, load.latencies->len / ((end - start) / 1e6),
          p50 / 1000.0, p99 / 1000.0, 1e6 * (cpu_after - cpu_before) / load.latencies->len, load.wrong);
  fflush (stdout);

  g_array_unref (load.latencies);
  g_free (load.url);
  g_free (load.etag);
  g_object_unref (load.session);
}

static char *
fetch_etag (const char *url)
{
  g_autoptr(SoupSession) session = aic_http_session_new (10);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

  return g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (message), "ETag"));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  guint n_jobs = argc > 2 ? atoi (argv[2]) : 100;
  guint seconds = argc > 3 ? atoi (argv[3]) : 5;
  static Traffic traffic[3];
  GPid pid;

  if (argc < 2)
    {
      g_printerr ("Usage: bench-jobs SERVER-BINARY [JOBS] [SECONDS]\n");
      return 2;
    }

  dir = g_dir_make_tmp ("bench-jobs-XXXXXX", &error);
  /* 50 workers, 1 s per demo step: each job takes about 3 s of work,
   * and 100 of them about 7 s: short, but long enough for the way of
   * following to show. */
  server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                             argv[1], "--port", "0", "--no-auth", "--data-dir", dir,
                             "--demo-delay", "100", "--workers", "50", NULL);
  if (server == NULL)
    {
      g_printerr ("bench-jobs: %s\n", error->message);
      return 1;
    }
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (line == NULL || !g_str_has_prefix (line, "Listening on "))
    {
      g_printerr ("bench-jobs: the server did not start\n");
      return 1;
    }
  url = g_strdup (line + strlen ("Listening on "));
  pid = atoi (g_subprocess_get_identifier (server));

  printf ("Following %u concurrent document jobs to the end (server: %s, 50 workers, demo engine at 1 s a step)\n\n", n_jobs, url);
  printf ("| mode   |     done | requests | KiB (wire) | server CPU s |  wall s |\n");
  printf ("|--------|---------:|---------:|-----------:|-------------:|--------:|\n");
  run_mode ("plain", AIC_JOB_FOLLOW_POLL_PLAIN, url, pid, n_jobs, &traffic[0]);
  run_mode ("etag", AIC_JOB_FOLLOW_POLL, url, pid, n_jobs, &traffic[1]);
  run_mode ("sse", AIC_JOB_FOLLOW_AUTO, url, pid, n_jobs, &traffic[2]);

  {
    g_autoptr(AicConnection) connection = aic_connection_new ("bench", "Bench", AIC_CONNECTION_KIND_CONSOLE, url);
    g_autoptr(AicClient) client = aic_client_new (connection, NULL);
    g_autoptr(AicJobClient) jobs = aic_job_client_new (client);
    g_autoptr(AicJob) job = aic_job_new ("valley.md");
    g_autoptr(GBytes) document = g_bytes_new_static (DOCUMENT, strlen (DOCUMENT));
    g_autofree char *status_url = NULL;
    g_autofree char *tag = NULL;
    Count count = { 1 };

    aic_job_client_submit_async (jobs, job, document, "text/markdown", NULL, NULL, done_cb, &count);
    wait_all (&count);
    count.pending = 1;
    aic_job_client_follow_async (jobs, job, NULL, done_cb, &count);
    wait_all (&count);
    status_url = g_strdup_printf ("%s/api/analyze/%s", url, aic_job_get_remote_id (job));
    tag = fetch_etag (status_url);

    printf ("\nStatus polls of one finished job, 64 connections, %u s each\n\n", seconds);
    printf ("| answer        |  requests | requests/s | p50 ms   | p99 ms   | server CPU µs/req | wrong |\n");
    printf ("|---------------|----------:|-----------:|---------:|---------:|------------------:|------:|\n");
    run_load ("304 (ETag)", status_url, tag, pid, 64, seconds);
    run_load ("200 (no tag)", status_url, NULL, pid, 64, seconds);
  }

  g_subprocess_send_signal (server, SIGTERM);
  g_subprocess_wait (server, NULL, NULL);
  {
    g_autofree char *db = g_build_filename (dir, "jobs.db", NULL);
    g_autofree char *wal = g_build_filename (dir, "jobs.db-wal", NULL);
    g_autofree char *shm = g_build_filename (dir, "jobs.db-shm", NULL);
    g_autofree char *token = g_build_filename (dir, "token", NULL);
    g_unlink (db);
    g_unlink (wal);
    g_unlink (shm);
    g_unlink (token);
    g_rmdir (dir);
  }
  return 0;
}
