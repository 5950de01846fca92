/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-job-client.h"
#include "aic-job-client-private.h"
#include "aic-json.h"
#include "aic-source.h"
#include "aic-sse-client.h"

/* Submits documents and follows their jobs (PROTOCOL.md "Document
 * analysis", and the tasks shape).
 *
 * Submitting sends the job's Idempotency-Key, so sending again after a
 * lost answer or a crash finds the job the server already has. Which
 * shape the server speaks is learnt on the first submit: a 404 or 405 on
 * /api/analyze/start means the plainer /api/tasks.
 *
 * Following prefers the job's event stream; without one (404), or once it
 * drops, it polls with If-None-Match, waiting as long as Retry-After says
 * or else backing off 1, 2, 4 … 15 s while nothing changes. When the
 * server cannot be reached the job is paused, not failed: following goes
 * on with the same backoff until the server answers again or the caller
 * cancels. Only the server saying it does not know the job ends it. */

#define INITIAL_DELAY_MS 1000
#define DEFAULT_MAX_DELAY_MS 15000
#define MAX_RETRY_AFTER_S 60
#define STREAM_IDLE_S 45
#define MAX_STATUS_BODY (1024 * 1024)
/* Event streams open at once; jobs beyond these are polled, so a long
 * list of documents leaves room for a chat reply. */
#define DEFAULT_MAX_STREAMS 6

struct _AicJobClient
{
  GObject           parent_instance;

  AicClient        *client;
  AicJobShape       shape;
  AicJobFollowMode  mode;
  guint             max_delay_ms;
  guint             max_streams;
  guint             n_streams;
};

G_DEFINE_FINAL_TYPE (AicJobClient, aic_job_client, G_TYPE_OBJECT)

static void
aic_job_client_finalize (GObject *object)
{
  AicJobClient *self = AIC_JOB_CLIENT (object);

  g_clear_object (&self->client);

  G_OBJECT_CLASS (aic_job_client_parent_class)->finalize (object);
}

static void
aic_job_client_class_init (AicJobClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_job_client_finalize;
}

static void
aic_job_client_init (AicJobClient *self)
{
  self->max_delay_ms = DEFAULT_MAX_DELAY_MS;
  self->max_streams = DEFAULT_MAX_STREAMS;
}

AicJobClient *
aic_job_client_new (AicClient *client)
{
  AicJobClient *self;

  g_return_val_if_fail (AIC_IS_CLIENT (client), NULL);

  self = g_object_new (AIC_TYPE_JOB_CLIENT, NULL);
  self->client = g_object_ref (client);
  return self;
}

AicClient *
aic_job_client_get_client (AicJobClient *self)
{
  g_return_val_if_fail (AIC_IS_JOB_CLIENT (self), NULL);
  return self->client;
}

AicJobShape
aic_job_client_get_shape (AicJobClient *self)
{
  g_return_val_if_fail (AIC_IS_JOB_CLIENT (self), AIC_JOB_SHAPE_UNKNOWN);
  return self->shape;
}

void
aic_job_client_set_follow_mode (AicJobClient     *self,
                                AicJobFollowMode  mode)
{
  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  self->mode = mode;
}

/* How many jobs are followed by their event stream at once (6); the
 * rest are polled. Keep it below aic_client_set_max_streams(). */
void
aic_job_client_set_max_streams (AicJobClient *self,
                                guint         max_streams)
{
  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  self->max_streams = max_streams;
}

/* The longest wait between polls when nothing changes (15 s); tests
 * shorten it. */
void
aic_job_client_set_max_delay (AicJobClient *self,
                              guint         milliseconds)
{
  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  self->max_delay_ms = MAX (milliseconds, 10);
}

/**
 * aic_job_guess_content_type:
 * Returns: (transfer full): the MIME type to send @filename as
 */
char *
aic_job_guess_content_type (const char *filename,
                            GBytes     *data)
{
  g_autofree char *lower = g_ascii_strdown (filename ? filename : "", -1);
  g_autofree char *type = NULL;
  gsize len = 0;
  const guchar *bytes = data ? g_bytes_get_data (data, &len) : NULL;

  /* The shared MIME database does not agree everywhere on these. */
  if (g_str_has_suffix (lower, ".md") || g_str_has_suffix (lower, ".markdown"))
    return g_strdup ("text/markdown");
  if (len >= 5 && memcmp (bytes, "%PDF-", 5) == 0)
    return g_strdup ("application/pdf");

  type = g_content_type_guess (filename, bytes, MIN (len, 4096), NULL);
  if (type != NULL)
    {
      g_autofree char *mime = g_content_type_get_mime_type (type);

      if (mime != NULL)
        return g_steal_pointer (&mime);
    }
  return g_strdup ("application/octet-stream");
}

/* ---- submit ---- */

typedef struct
{
  AicJob       *job;
  GBytes       *document;
  char         *content_type;
  char         *instructions;
  AicJobShape   shape;
  SoupMessage  *message;
  gboolean      as_json;        /* text as {"filename", "text"}, not a file */
} SubmitState;

static void
submit_state_free (SubmitState *state)
{
  g_clear_object (&state->job);
  g_clear_pointer (&state->document, g_bytes_unref);
  g_free (state->content_type);
  g_free (state->instructions);
  g_clear_object (&state->message);
  g_free (state);
}

static void send_submission (GTask *task);

/* A string or a number: plain servers use either for ids. */
static char *
read_id (JsonObject *object,
         const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_STRING && json_node_get_string (node)[0] != '\0')
    return g_strdup (json_node_get_string (node));
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return NULL;
}

/* The last path segment of a Location header. */
static char *
id_from_location (SoupMessage *message)
{
  const char *location = soup_message_headers_get_one (soup_message_get_response_headers (message), "Location");
  const char *slash;

  if (location == NULL)
    return NULL;
  slash = strrchr (location, '/');
  return slash && slash[1] ? g_strdup (slash + 1) : NULL;
}

static GError *
submission_error (GError      *error,
                  SubmitState *state)
{
  /* Translators: a document's name, then why the server refused it */
  return g_error_new (error->domain, error->code, _("“%s”: %s"), aic_job_get_filename (state->job), error->message);
}

static void
submitted_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicJobClient *self = g_task_get_source_object (task);
  SubmitState *state = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);
  g_autofree char *remote_id = NULL;
  JsonObject *answer;

  if (root == NULL)
    {
      guint status = soup_message_get_status (state->message);

      /* No analyze routes here: try the tasks shape once. */
      if (state->shape == AIC_JOB_SHAPE_ANALYZE && self->shape == AIC_JOB_SHAPE_UNKNOWN &&
          (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_METHOD_NOT_ALLOWED))
        {
          state->shape = AIC_JOB_SHAPE_TASKS;
          send_submission (g_steal_pointer (&task));
          return;
        }
      g_task_return_error (task, submission_error (error, state));
      return;
    }

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_PROTOCOL,
                               _("The server accepted the document but did not say which job it is."));
      return;
    }
  answer = json_node_get_object (root);
  remote_id = read_id (answer, state->shape == AIC_JOB_SHAPE_TASKS ? "task_id" : "job_id");
  if (remote_id == NULL)
    remote_id = read_id (answer, "id");
  if (remote_id == NULL)
    remote_id = id_from_location (state->message);
  if (remote_id == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_PROTOCOL,
                               _("The server accepted the document but did not say which job it is."));
      return;
    }

  self->shape = state->shape;
  aic_job_set_remote (state->job, remote_id, state->shape);
  if (json_object_has_member (answer, "status"))
    {
      if (!aic_job_update_from_json (state->job, answer, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  else
    {
      g_autoptr(JsonObject) queued = json_object_new ();

      json_object_set_string_member (queued, "status", "queued");
      aic_job_update_from_json (state->job, queued, NULL);
    }
  g_task_return_boolean (task, TRUE);
}

static void
send_submission (GTask *task)
{
  AicJobClient *self = g_task_get_source_object (task);
  SubmitState *state = g_task_get_task_data (task);
  SoupMessageHeaders *headers;
  g_autoptr(GBytes) body = NULL;

  g_clear_object (&state->message);
  if (state->shape == AIC_JOB_SHAPE_TASKS)
    {
      g_autoptr(JsonBuilder) builder = NULL;
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *json = NULL;
      gsize len;
      const char *data = g_bytes_get_data (state->document, &len);

      if (!g_str_has_prefix (state->content_type, "text/") || !g_utf8_validate_len (data, len, NULL))
        {
          g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_UNSUPPORTED,
                                   _("This server takes only text (it has the simpler tasks interface), and “%s” is not text."),
                                   aic_job_get_filename (state->job));
          g_object_unref (task);
          return;
        }

      builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "prompt");
      {
        g_autofree char *text = g_strndup (data, len);
        json_builder_add_string_value (builder, text);
      }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json = aic_json_to_string (root, FALSE);
      state->message = aic_client_new_message (self->client, "POST", "/api/tasks");
      body = g_bytes_new (json, strlen (json));
      soup_message_set_request_body_from_bytes (state->message, "application/json", body);
    }
  else if (state->as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *json = NULL;
      g_autofree char *text = g_strndup (g_bytes_get_data (state->document, NULL), g_bytes_get_size (state->document));

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "filename");
      json_builder_add_string_value (builder, aic_job_get_filename (state->job));
      json_builder_set_member_name (builder, "text");
      json_builder_add_string_value (builder, text);
      if (state->instructions != NULL && state->instructions[0] != '\0')
        {
          json_builder_set_member_name (builder, "instructions");
          json_builder_add_string_value (builder, state->instructions);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json = aic_json_to_string (root, FALSE);
      state->message = aic_client_new_message (self->client, "POST", "/api/analyze/start");
      body = g_bytes_new (json, strlen (json));
      soup_message_set_request_body_from_bytes (state->message, "application/json", body);
    }
  else
    {
      g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);

      soup_multipart_append_form_file (multipart, "file", aic_job_get_filename (state->job),
                                       state->content_type, state->document);
      if (state->instructions != NULL && state->instructions[0] != '\0')
        soup_multipart_append_form_string (multipart, "instructions", state->instructions);
      state->message = aic_client_new_message (self->client, "POST", "/api/analyze/start");
      soup_multipart_to_message (multipart, soup_message_get_request_headers (state->message), &body);
      soup_message_set_request_body_from_bytes (state->message, NULL, body);
    }

  headers = soup_message_get_request_headers (state->message);
  soup_message_headers_replace (headers, "Idempotency-Key", aic_job_get_idempotency_key (state->job));
  aic_http_get_json_async (aic_client_get_session (self->client), state->message, MAX_STATUS_BODY,
                           g_task_get_cancellable (task), submitted_cb, task);
}

/* Both kinds of submission: one task, one state, one way up. */
static void
start_submission (AicJobClient        *self,
                  AicJob              *job,
                  GBytes              *document,
                  const char          *content_type,
                  const char          *instructions,
                  gboolean             as_json,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  SubmitState *state = g_new0 (SubmitState, 1);

  g_task_set_source_tag (task, aic_job_client_submit_async);
  state->job = g_object_ref (job);
  state->document = g_bytes_ref (document);
  state->content_type = g_strdup (content_type);
  state->instructions = g_strdup (instructions);
  state->as_json = as_json;
  state->shape = self->shape == AIC_JOB_SHAPE_TASKS ? AIC_JOB_SHAPE_TASKS : AIC_JOB_SHAPE_ANALYZE;
  g_task_set_task_data (task, state, (GDestroyNotify) submit_state_free);
  send_submission (task);
}

/**
 * aic_job_client_submit_async:
 * @document: the document's bytes
 * @content_type: its MIME type (see aic_job_guess_content_type())
 * @instructions: (nullable): what the reader wants from the summary
 *
 * Sends @job's document. On success @job has its remote id and status.
 */
void
aic_job_client_submit_async (AicJobClient        *self,
                             AicJob              *job,
                             GBytes              *document,
                             const char          *content_type,
                             const char          *instructions,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  g_return_if_fail (AIC_IS_JOB (job));
  g_return_if_fail (document != NULL);

  start_submission (self, job, document, content_type ? content_type : "application/octet-stream",
                    instructions, FALSE, cancellable, callback, user_data);
}

/**
 * aic_job_client_submit_text_async:
 * @text: UTF-8 text, such as something pasted
 *
 * Like aic_job_client_submit_async(), for text that is not a file: it goes
 * up as JSON (`{"filename", "text"}`), or as the prompt of the tasks shape.
 * @job's file name tells the server whether it is Markdown (".md").
 */
void
aic_job_client_submit_text_async (AicJobClient        *self,
                                  AicJob              *job,
                                  const char          *text,
                                  const char          *instructions,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GBytes) document = NULL;

  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  g_return_if_fail (AIC_IS_JOB (job));
  g_return_if_fail (text != NULL && g_utf8_validate (text, -1, NULL));

  document = g_bytes_new (text, strlen (text));
  start_submission (self, job, document, "text/plain", instructions, TRUE, cancellable, callback, user_data);
}

gboolean
aic_job_client_submit_finish (AicJobClient  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- follow ---- */

typedef struct
{
  AicJob        *job;
  AicSseClient  *stream;
  char          *etag;
  guint          delay_ms;       /* next poll, while the job changes slowly */
  guint          outage_ms;      /* next try, while the server is away */
  guint          timer;
  gboolean       stream_absent;
  GCancellable  *cancellable;
} FollowState;

static void
follow_state_free (FollowState *state)
{
  g_clear_handle_id (&state->timer, aic_source_remove);
  g_clear_object (&state->job);
  g_clear_object (&state->stream);
  g_free (state->etag);
  g_clear_object (&state->cancellable);
  g_free (state);
}

static char *
job_path (AicJob     *job,
          const char *suffix)
{
  g_autofree char *id = g_uri_escape_string (aic_job_get_remote_id (job), NULL, FALSE);

  if (aic_job_get_shape (job) == AIC_JOB_SHAPE_TASKS)
    return g_strdup_printf ("/api/tasks/%s%s", id, suffix);
  return g_strdup_printf ("/api/analyze/%s%s", id, suffix);
}

static void poll_now (GTask *task);
static void open_stream (GTask *task);

static gboolean
timer_cb (gpointer data)
{
  GTask *task = data;
  FollowState *state = g_task_get_task_data (task);

  state->timer = 0;
  poll_now (task);
  return G_SOURCE_REMOVE;
}

static void
poll_later (GTask *task,
            guint  milliseconds)
{
  FollowState *state = g_task_get_task_data (task);

  state->timer = aic_timeout_add (milliseconds, timer_cb, task);
}

static void
follow_done (GTask  *task,
             GError *error)
{
  FollowState *state = g_task_get_task_data (task);

  g_clear_handle_id (&state->timer, aic_source_remove);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
forget_job (GTask *task)
{
  FollowState *state = g_task_get_task_data (task);

  aic_job_fail (state->job, _("The server no longer knows this job. Its data may have been reset."));
  follow_done (task, NULL);
}

/* The server is away or in trouble: the job waits, following goes on. */
static void
pause_following (GTask        *task,
                 const GError *error)
{
  AicJobClient *self = g_task_get_source_object (task);
  FollowState *state = g_task_get_task_data (task);

  aic_job_set_paused (state->job, error->message);
  poll_later (task, state->outage_ms);
  state->outage_ms = MIN (state->outage_ms * 2, self->max_delay_ms);
}

guint
aic_job_client_retry_after_ms (const char *value,
                               GDateTime  *now)
{
  g_autofree char *text = NULL;
  guint64 seconds = 0;

  if (value == NULL)
    return 0;
  text = g_strstrip (g_strdup (value));
  if (text[0] == '\0')
    return 0;

  if (g_ascii_isdigit (text[0]))
    {
      /* A server that asks for an hour, or for more seconds than fit in
       * 64 bits, is still asking to wait: that is the longest wait we
       * allow, not no wait at all. */
      for (const char *p = text; *p != '\0'; p++)
        {
          if (!g_ascii_isdigit (*p))
            return 0;
          if (seconds < MAX_RETRY_AFTER_S)
            seconds = seconds * 10 + (guint64) (*p - '0');
        }
    }
  else
    {
      g_autoptr(GDateTime) when = soup_date_time_new_from_http_string (text);
      GTimeSpan span;

      if (when == NULL)
        return 0;
      span = g_date_time_difference (when, now);
      seconds = span <= 0 ? 0 : (guint64) ((span + G_TIME_SPAN_SECOND - 1) / G_TIME_SPAN_SECOND);
    }
  return (guint) CLAMP (seconds, 1, MAX_RETRY_AFTER_S) * 1000;
}

static guint
retry_after_ms (SoupMessage *message)
{
  const char *value = soup_message_headers_get_one (soup_message_get_response_headers (message), "Retry-After");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return aic_job_client_retry_after_ms (value, now);
}

static void
polled_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  AicJobClient *self = g_task_get_source_object (task);
  FollowState *state = g_task_get_task_data (task);
  SoupMessage *message = g_object_get_data (G_OBJECT (task), "message");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);
  gboolean changed = FALSE;
  guint wait;

  if (root == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        follow_done (task, g_steal_pointer (&error));
      else if (g_error_matches (error, AIC_ERROR, AIC_ERROR_NOT_FOUND))
        forget_job (task);
      else
        pause_following (task, error);
      return;
    }

  state->outage_ms = INITIAL_DELAY_MS;
  aic_job_set_paused (state->job, NULL);

  if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *status = json_node_get_object (root);
      const char *etag = soup_message_headers_get_one (soup_message_get_response_headers (message), "ETag");

      /* The tasks shape may say 200 {"error": "not found"}. */
      if (!json_object_has_member (status, "status") && json_object_has_member (status, "error"))
        {
          forget_job (task);
          return;
        }
      if (!aic_job_update_from_json (state->job, status, &error))
        {
          pause_following (task, error);
          return;
        }
      changed = TRUE;
      if (self->mode != AIC_JOB_FOLLOW_POLL_PLAIN)
        {
          g_free (state->etag);
          state->etag = g_strdup (etag);
        }
    }
  else if (!JSON_NODE_HOLDS_NULL (root))
    {
      g_set_error (&error, AIC_ERROR, AIC_ERROR_PROTOCOL, _("The server’s job status is not a JSON object."));
      pause_following (task, error);
      return;
    }

  if (aic_job_is_finished (state->job))
    {
      follow_done (task, NULL);
      return;
    }

  if (self->mode == AIC_JOB_FOLLOW_POLL_PLAIN)
    wait = INITIAL_DELAY_MS;
  else if ((wait = retry_after_ms (message)) == 0)
    {
      state->delay_ms = changed ? INITIAL_DELAY_MS : MIN (state->delay_ms * 2, self->max_delay_ms);
      wait = state->delay_ms;
    }
  poll_later (task, wait);
}

static void
poll_now (GTask *task)
{
  AicJobClient *self = g_task_get_source_object (task);
  FollowState *state = g_task_get_task_data (task);
  g_autofree char *path = job_path (state->job, "");
  g_autoptr(SoupMessage) message = aic_client_new_message (self->client, "GET", path);

  if (state->etag != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "If-None-Match", state->etag);
  g_object_set_data_full (G_OBJECT (task), "message", g_object_ref (message), g_object_unref);
  aic_http_get_json_async (aic_client_get_session (self->client), message, MAX_STATUS_BODY,
                           state->cancellable, polled_cb, task);
}

/* A tasks stream's "done" may come before its result is written: null,
 * nothing, "" or a word such as "pending" in place of the result. */
static gboolean
is_placeholder_result (JsonNode *result)
{
  static const char * const words[] = { "pending", "queued", "running", "processing", "in_progress", NULL };
  g_autofree char *text = NULL;

  if (result == NULL || JSON_NODE_HOLDS_NULL (result))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (result) || json_node_get_value_type (result) != G_TYPE_STRING)
    return FALSE;
  text = g_strstrip (g_ascii_strdown (json_node_get_string (result), -1));
  return text[0] == '\0' || g_strv_contains (words, text);
}

static void
stream_event_cb (AicSseClient *stream,
                 const char   *type,
                 const char   *data,
                 const char   *id,
                 GTask        *task)
{
  FollowState *state = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, strlen (data));
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);
  JsonObject *object;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_debug ("Job %s: an event that is not a JSON object; ignored", aic_job_get_remote_id (state->job));
      return;
    }
  object = json_node_get_object (root);
  aic_job_set_paused (state->job, NULL);

  /* "done" and "failed" imply their status; the data-only shape says so
   * in "type". */
  if (g_strcmp0 (type, "message") == 0)
    type = json_object_get_string_member_with_default (object, "type", "message");
  if (g_strcmp0 (type, "done") == 0 && aic_job_get_shape (state->job) == AIC_JOB_SHAPE_TASKS &&
      is_placeholder_result (json_object_get_member (object, "result")))
    {
      /* The task resource has the result of record: the stream ends
       * here, and stream_done_cb() reads it. */
      g_debug ("Task %s: done without a result; reading the task", aic_job_get_remote_id (state->job));
      aic_sse_client_stop (stream);
      return;
    }
  if (g_strcmp0 (type, "done") == 0)
    json_object_set_string_member (object, "status", "done");
  else if (g_strcmp0 (type, "failed") == 0 || g_strcmp0 (type, "error") == 0)
    json_object_set_string_member (object, "status", "failed");
  else if (g_strcmp0 (type, "status") != 0 && g_strcmp0 (type, "progress") != 0)
    return;

  {
    g_autoptr(GError) error = NULL;

    if (!aic_job_update_from_json (state->job, object, &error))
      g_debug ("Job %s: %s", aic_job_get_remote_id (state->job), error->message);
  }
  if (aic_job_is_finished (state->job))
    aic_sse_client_stop (stream);
}

static void
stream_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  FollowState *state = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  aic_sse_client_run_finish (AIC_SSE_CLIENT (object), result, &error);
  g_signal_handlers_disconnect_by_data (object, task);
  g_clear_object (&state->stream);
  AIC_JOB_CLIENT (g_task_get_source_object (task))->n_streams--;

  if (aic_job_is_finished (state->job))
    {
      follow_done (task, NULL);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      follow_done (task, g_steal_pointer (&error));
      return;
    }
  /* No stream here, or it dropped: polling takes over. */
  if (error != NULL && (g_error_matches (error, AIC_ERROR, AIC_ERROR_NOT_FOUND) ||
                        g_error_matches (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER) ||
                        g_error_matches (error, AIC_ERROR, AIC_ERROR_FAILED)))
    state->stream_absent = TRUE;
  poll_now (task);
}

static void
open_stream (GTask *task)
{
  AicJobClient *self = g_task_get_source_object (task);
  FollowState *state = g_task_get_task_data (task);
  g_autofree char *path = job_path (state->job, aic_job_get_shape (state->job) == AIC_JOB_SHAPE_TASKS ? "/stream" : "/events");
  g_autoptr(SoupMessage) message = aic_client_new_message (self->client, "GET", path);

  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "text/event-stream");
  self->n_streams++;
  state->stream = aic_sse_client_new (aic_client_get_stream_session (self->client), message);
  aic_sse_client_set_idle_timeout (state->stream, STREAM_IDLE_S);
  g_signal_connect (state->stream, "event", G_CALLBACK (stream_event_cb), task);
  aic_sse_client_run_async (state->stream, state->cancellable, stream_done_cb, task);
}

/**
 * aic_job_client_follow_async:
 * Follows a submitted @job until it is done, failed or cancelled,
 * updating it as news comes. While the server cannot be reached @job is
 * paused and following goes on; it ends only when the job does, when the
 * server says it does not know the job, or when @cancellable is.
 */
void
aic_job_client_follow_async (AicJobClient        *self,
                             AicJob              *job,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;
  FollowState *state;

  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  g_return_if_fail (AIC_IS_JOB (job));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_job_client_follow_async);
  state = g_new0 (FollowState, 1);
  state->job = g_object_ref (job);
  state->delay_ms = INITIAL_DELAY_MS;
  state->outage_ms = INITIAL_DELAY_MS;
  state->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  g_task_set_task_data (task, state, (GDestroyNotify) follow_state_free);

  if (aic_job_is_finished (job))
    {
      follow_done (task, NULL);
      return;
    }
  if (aic_job_get_remote_id (job) == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                               _("The document has not been sent yet."));
      g_object_unref (task);
      return;
    }

  if (self->mode == AIC_JOB_FOLLOW_AUTO && self->n_streams < self->max_streams)
    open_stream (task);
  else
    poll_now (task);
}

gboolean
aic_job_client_follow_finish (AicJobClient  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- cancel ---- */

static void
cancelled_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);

  if (root == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root) || !aic_job_update_from_json (job, json_node_get_object (root), &error))
    {
      /* The server took the cancel; what it answered does not matter much. */
      aic_job_set_cancelled (job);
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * aic_job_client_cancel_async:
 * Asks the server to cancel @job. A job not sent yet, or on a server
 * without a cancel route (the tasks shape), is only cancelled here.
 */
void
aic_job_client_cancel_async (AicJobClient        *self,
                             AicJob              *job,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (AIC_IS_JOB_CLIENT (self));
  g_return_if_fail (AIC_IS_JOB (job));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_job_client_cancel_async);
  g_task_set_task_data (task, g_object_ref (job), g_object_unref);

  if (aic_job_is_finished (job))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (aic_job_get_remote_id (job) == NULL || aic_job_get_shape (job) != AIC_JOB_SHAPE_ANALYZE)
    {
      aic_job_set_cancelled (job);
      g_task_return_boolean (task, TRUE);
      return;
    }

  path = job_path (job, "/cancel");
  message = aic_client_new_message (self->client, "POST", path);
  aic_http_get_json_async (aic_client_get_session (self->client), message, MAX_STATUS_BODY,
                           cancellable, cancelled_cb, g_steal_pointer (&task));
}

gboolean
aic_job_client_cancel_finish (AicJobClient  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
