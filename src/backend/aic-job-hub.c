/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-document.h"
#include "aic-error.h"
#include "aic-event-stream.h"
#include "aic-job-hub.h"
#include "aic-json.h"
#include "aic-reply.h"

/* The document routes (PROTOCOL.md "Document analysis: REST jobs", and
 * the tasks shape under "Compatibility").
 *
 * Submitting checks everything before storing anything: a refused
 * document (400, 413, 415) leaves no trace. Status answers carry an ETag
 * (the job's version) and, while the job is unfinished, Retry-After; the
 * /events stream sends the full status first, then each change, then the
 * end, numbered by version so a reconnecting client is not sent what it
 * has. */

#define DEFAULT_KEEP_ALIVE_MS (15 * 1000)
#define RETRY_AFTER_QUEUED 3
#define RETRY_AFTER_RUNNING 2
#define EVENT_RETRY_MS 1000
#define MAX_IDEMPOTENCY_KEY 200
#define MAX_FILENAME 255
#define LIST_LIMIT 200

struct _AicJobHub
{
  GObject      parent_instance;

  AicJobQueue *queue;
  GHashTable  *streams;          /* "api:job id" → AicEventStream, while read */
  gint64       max_bytes;
  guint        keep_alive_ms;
};

G_DEFINE_FINAL_TYPE (AicJobHub, aic_job_hub, G_TYPE_OBJECT)


/* ---- JSON ---- */

static const char *
api_status (const AicJobRecord *record,
            AicJobApi           api)
{
  /* The tasks shape knows four states; a cancelled task has failed. */
  if (api == AIC_JOB_API_TASKS && record->status == AIC_JOB_CANCELLED)
    return "failed";
  return aic_job_status_to_string (record->status);
}

static void
add_time (JsonBuilder *builder,
          const char  *member,
          gint64       usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autofree char *text = g_date_time_format_iso8601 (time);

  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, text);
}

static void
add_nullable_string (JsonBuilder *builder,
                     const char  *member,
                     const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static JsonNode *
parse_result (const AicJobRecord *record)
{
  g_autoptr(GBytes) bytes = NULL;

  if (record->result == NULL)
    return NULL;
  bytes = g_bytes_new_static (record->result, strlen (record->result));
  return aic_json_parse_bytes (bytes, NULL);
}

static void
add_result (JsonBuilder        *builder,
            const AicJobRecord *record,
            AicJobApi           api)
{
  g_autoptr(JsonNode) result = parse_result (record);

  json_builder_set_member_name (builder, "result");
  if (result == NULL)
    json_builder_add_null_value (builder);
  else if (api == AIC_JOB_API_TASKS)
    {
      const char *summary = NULL;

      if (JSON_NODE_HOLDS_OBJECT (result))
        aic_json_get_string (json_node_get_object (result), "summary", FALSE, &summary, NULL);
      json_builder_add_string_value (builder, summary ? summary : "");
    }
  else
    json_builder_add_value (builder, g_steal_pointer (&result));
}

static void
add_error (JsonBuilder        *builder,
           const AicJobRecord *record,
           AicJobApi           api)
{
  const char *message = record->error_message;

  if (message == NULL && record->status == AIC_JOB_CANCELLED)
    message = "The job was cancelled.";

  json_builder_set_member_name (builder, "error");
  if (message == NULL)
    json_builder_add_null_value (builder);
  else if (api == AIC_JOB_API_TASKS)
    json_builder_add_string_value (builder, message);
  else
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "code");
      json_builder_add_string_value (builder, record->error_code ? record->error_code : "cancelled");
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, message);
      json_builder_end_object (builder);
    }
}

static void
add_id (JsonBuilder        *builder,
        const AicJobRecord *record,
        AicJobApi           api)
{
  json_builder_set_member_name (builder, api == AIC_JOB_API_TASKS ? "task_id" : "job_id");
  json_builder_add_string_value (builder, record->id);
}

/* Where the job is: what a progress event says. */
static void
add_progress_members (JsonBuilder        *builder,
                      const AicJobRecord *record,
                      AicJobApi           api)
{
  add_id (builder, record, api);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, api_status (record, api));
  json_builder_set_member_name (builder, "progress");
  json_builder_add_int_value (builder, record->progress);
  add_nullable_string (builder, "stage", record->stage);
  add_nullable_string (builder, "message", record->message);
}

/* The whole status, as GET answers it. */
static void
add_job_members (JsonBuilder        *builder,
                 const AicJobRecord *record,
                 AicJobApi           api)
{
  add_progress_members (builder, record, api);
  add_result (builder, record, api);
  add_error (builder, record, api);
  add_nullable_string (builder, "filename", record->filename);
  add_time (builder, "created_at", record->created_at);
  add_time (builder, "updated_at", record->updated_at);
}

static JsonNode *
job_json (const AicJobRecord *record,
          AicJobApi           api)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  add_job_members (builder, record, api);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* ---- helpers ---- */

static void
unknown_job (SoupServerMessage *message,
             const char        *job_id)
{
  g_autofree char *text = g_strdup_printf ("There is no job %s.", job_id);

  aic_reply_error (message, SOUP_STATUS_NOT_FOUND, "unknown_job", text);
}

static AicJobRecord *
find_job (AicJobHub         *self,
          SoupServerMessage *message,
          const char        *job_id)
{
  g_autoptr(GError) error = NULL;
  AicJobRecord *record = aic_job_queue_get (self->queue, job_id, &error);

  if (record != NULL)
    return record;
  if (g_error_matches (error, AIC_ERROR, AIC_ERROR_NOT_FOUND))
    unknown_job (message, job_id);
  else
    aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
  return NULL;
}

static char *
job_path (const AicJobRecord *record,
          AicJobApi           api)
{
  return g_strdup_printf (api == AIC_JOB_API_TASKS ? "/api/tasks/%s" : "/api/analyze/%s", record->id);
}

static char *
etag (const AicJobRecord *record)
{
  return g_strdup_printf ("\"%s.%" G_GINT64_FORMAT "\"", record->id + 2, record->version);
}

/* If-None-Match holds a list of tags, possibly weak, or "*". */
static gboolean
etag_matches (const char *header,
              const char *tag)
{
  g_auto(GStrv) tags = NULL;

  if (header == NULL)
    return FALSE;
  tags = g_strsplit (header, ",", -1);
  for (guint i = 0; tags[i] != NULL; i++)
    {
      const char *candidate = g_strstrip (tags[i]);

      if (g_str_has_prefix (candidate, "W/"))
        candidate += 2;
      if (strcmp (candidate, "*") == 0 || strcmp (candidate, tag) == 0)
        return TRUE;
    }
  return FALSE;
}

/* ---- submit ---- */

static char *
clean_filename (const char *name)
{
  g_autofree char *valid = NULL;
  g_autofree char *base = NULL;
  const char *slash;

  if (name == NULL || name[0] == '\0')
    return g_strdup ("document.txt");
  valid = g_utf8_make_valid (name, -1);
  slash = strrchr (valid, '/');
  base = g_strdup (slash ? slash + 1 : valid);
  g_strdelimit (base, "\\\r\n\t", '_');
  if (base[0] == '\0')
    return g_strdup ("document.txt");
  if (strlen (base) > MAX_FILENAME)
    base[g_utf8_find_prev_char (base, base + MAX_FILENAME) - base] = '\0';
  return g_steal_pointer (&base);
}

typedef struct
{
  char   *filename;
  char   *declared_type;
  GBytes *document;
  char   *instructions;
  char   *model;
} Submission;

static void
submission_clear (Submission *submission)
{
  g_free (submission->filename);
  g_free (submission->declared_type);
  g_clear_pointer (&submission->document, g_bytes_unref);
  g_free (submission->instructions);
  g_free (submission->model);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Submission, submission_clear)

static char *
text_field (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  if (!g_utf8_validate_len (data, len, NULL))
    return NULL;
  return g_strndup (data, len);
}

static gboolean
read_multipart (SoupServerMessage  *message,
                GBytes             *body,
                Submission         *submission,
                GError            **error)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  g_autoptr(SoupMultipart) multipart = soup_multipart_new_from_message (headers, body);

  if (multipart == NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "The multipart body could not be read.");
      return FALSE;
    }

  for (int i = 0; i < soup_multipart_get_length (multipart); i++)
    {
      SoupMessageHeaders *part_headers;
      GBytes *part_body;
      g_autofree char *disposition = NULL;
      g_autoptr(GHashTable) params = NULL;
      const char *name;

      if (!soup_multipart_get_part (multipart, i, &part_headers, &part_body) ||
          !soup_message_headers_get_content_disposition (part_headers, &disposition, &params))
        continue;
      name = g_hash_table_lookup (params, "name");
      if (g_strcmp0 (name, "file") == 0 && submission->document == NULL)
        {
          submission->filename = clean_filename (g_hash_table_lookup (params, "filename"));
          submission->declared_type = g_strdup (soup_message_headers_get_content_type (part_headers, NULL));
          submission->document = g_bytes_ref (part_body);
        }
      else if (g_strcmp0 (name, "instructions") == 0 || g_strcmp0 (name, "model") == 0)
        {
          char *value = text_field (part_body);

          if (value == NULL)
            {
              g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "The field “%s” is not UTF-8 text.", name);
              return FALSE;
            }
          if (name[0] == 'i')
            submission->instructions = value;
          else
            submission->model = value;
        }
    }

  if (submission->document == NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           "Send the document as the multipart part “file”.");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_json (JsonObject  *object,
           AicJobApi    api,
           Submission  *submission,
           GError     **error)
{
  const char *filename = NULL, *text = NULL, *instructions = NULL, *model = NULL;
  const char *text_member = api == AIC_JOB_API_TASKS ? "prompt" : "text";

  if (!aic_json_get_string (object, text_member, TRUE, &text, error) ||
      !aic_json_get_string (object, "filename", FALSE, &filename, error) ||
      !aic_json_get_string (object, "instructions", FALSE, &instructions, error) ||
      !aic_json_get_string (object, "model", FALSE, &model, error))
    return FALSE;

  submission->filename = clean_filename (filename ? filename : api == AIC_JOB_API_TASKS ? "prompt.txt" : NULL);
  submission->declared_type = g_strdup (g_str_has_suffix (submission->filename, ".md") ? "text/markdown" : "text/plain");
  submission->document = g_bytes_new (text, strlen (text));
  submission->instructions = g_strdup (instructions);
  submission->model = g_strdup (model);
  return TRUE;
}

static gboolean
valid_key (const char *key)
{
  gsize len = strlen (key);

  if (len == 0 || len > MAX_IDEMPOTENCY_KEY)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (key[i] < 0x21 || key[i] > 0x7e)
      return FALSE;
  return TRUE;
}

/**
 * aic_job_hub_start:
 * Handles POST /api/analyze/start and POST /api/tasks.
 */
void
aic_job_hub_start (AicJobHub         *self,
                   SoupServerMessage *message,
                   AicJobApi          api)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  g_auto(Submission) submission = { NULL };
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  g_autoptr(GError) error = NULL;
  g_autoptr(AicJobRecord) stored = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *location = NULL;
  AicJobRecord record = { NULL };
  AicDocumentType document_type;
  gboolean existing;

  if (key != NULL && !valid_key (key))
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request",
                       "Idempotency-Key must be 1 to 200 visible ASCII characters.");
      return;
    }

  if ((gint64) g_bytes_get_size (body) > self->max_bytes)
    {
      g_autofree char *text = g_strdup_printf ("The document is larger than the limit of %" G_GINT64_FORMAT " bytes.",
                                               self->max_bytes);
      aic_reply_error (message, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_large", text);
      return;
    }

  if (api == AIC_JOB_API_ANALYZE && type != NULL && g_ascii_strcasecmp (type, "multipart/form-data") == 0)
    {
      if (!read_multipart (message, body, &submission, &error))
        {
          aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", error->message);
          return;
        }
    }
  else if (type == NULL || g_ascii_strcasecmp (type, "application/json") == 0)
    {
      g_autoptr(JsonNode) request = NULL;
      JsonObject *object = aic_request_json (message, &request);

      if (object == NULL)
        return;
      if (!read_json (object, api, &submission, &error))
        {
          aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", error->message);
          return;
        }
    }
  else
    {
      aic_reply_error (message, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                       api == AIC_JOB_API_TASKS ? "Send {\"prompt\": \"…\"} as application/json."
                                                : "Send multipart/form-data with a “file” part, or application/json.");
      return;
    }

  if (!aic_document_check (submission.filename, submission.declared_type, submission.document,
                           &document_type, &error))
    {
      if (g_error_matches (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_EMPTY))
        aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "empty_document", error->message);
      else
        aic_reply_error (message, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_type", error->message);
      return;
    }

  record.api = (char *) (api == AIC_JOB_API_TASKS ? "tasks" : "analyze");
  record.filename = submission.filename;
  record.mime = (char *) aic_document_type_to_mime (document_type);
  record.instructions = submission.instructions;
  record.model = submission.model;
  record.idempotency_key = (char *) key;
  record.message = (char *) "Waiting for a worker";

  stored = aic_job_queue_submit (self->queue, &record, submission.document, &existing, &error);
  if (stored == NULL && g_error_matches (error, AIC_ERROR, AIC_ERROR_DISK_FULL))
    {
      /* Nothing is lost: the client still has the document. */
      aic_reply_error (message, SOUP_STATUS_INSUFFICIENT_STORAGE, "disk_full",
                       "The server’s disk is full, so the document could not be stored. "
                       "Free some space on the server and send it again.");
      return;
    }
  if (stored == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }

  location = job_path (stored, api);
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "Location", location);
  builder = json_builder_new ();
  json_builder_begin_object (builder);
  add_id (builder, stored, api);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, api_status (stored, api));
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  aic_reply_json (message, existing || api == AIC_JOB_API_TASKS ? SOUP_STATUS_OK : SOUP_STATUS_ACCEPTED, root);
}

/* ---- status ---- */

/**
 * aic_job_hub_status:
 * Handles GET /api/analyze/{id} and GET /api/tasks/{id}.
 */
void
aic_job_hub_status (AicJobHub         *self,
                    SoupServerMessage *message,
                    const char        *job_id,
                    AicJobApi          api)
{
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (message);
  g_autoptr(AicJobRecord) record = find_job (self, message, job_id);
  g_autofree char *tag = NULL;
  g_autoptr(JsonNode) root = NULL;

  if (record == NULL)
    return;

  tag = etag (record);
  soup_message_headers_replace (response_headers, "ETag", tag);
  soup_message_headers_replace (response_headers, "Cache-Control", "no-cache");
  if (!aic_job_status_is_final (record->status))
    soup_message_headers_replace (response_headers, "Retry-After",
                                  record->status == AIC_JOB_QUEUED ? G_STRINGIFY (RETRY_AFTER_QUEUED)
                                                                   : G_STRINGIFY (RETRY_AFTER_RUNNING));

  if (etag_matches (soup_message_headers_get_one (soup_server_message_get_request_headers (message), "If-None-Match"),
                    tag))
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_MODIFIED, NULL);
      return;
    }

  root = job_json (record, api);
  aic_reply_json (message, SOUP_STATUS_OK, root);
  /* aic_reply_json forbids caching altogether; a tag wants revalidation. */
  soup_message_headers_replace (response_headers, "Cache-Control", "no-cache");
}

/* ---- events ---- */

typedef struct
{
  AicJobHub *hub;
  char      *key;
} StreamRef;

static char *
stream_key (const char *job_id,
            AicJobApi   api)
{
  return g_strdup_printf ("%d:%s", (int) api, job_id);
}

static void
stream_idle_cb (AicEventStream *stream,
                gpointer        user_data)
{
  StreamRef *ref = user_data;

  /* Frees @ref and the stream: nobody reads it any more. */
  g_hash_table_remove (ref->hub->streams, ref->key);
}

static void
stream_ref_free (gpointer data)
{
  StreamRef *ref = data;

  g_free (ref->key);
  g_free (ref);
}

/* The event that tells a reader of @api about @record: for a new reader
 * (@first) the whole status, later each change, at last done or failed.
 * Returns the event's name; *@over says whether the stream ends with it. */
static const char *
job_event (const AicJobRecord  *record,
           AicJobApi            api,
           gboolean             first,
           JsonNode           **out_root,
           gboolean            *over)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char *name;

  json_builder_begin_object (builder);
  *over = FALSE;
  if (record->status == AIC_JOB_DONE)
    {
      add_id (builder, record, api);
      add_result (builder, record, api);
      name = "done";
      *over = TRUE;
    }
  else if (record->status == AIC_JOB_FAILED ||
           (record->status == AIC_JOB_CANCELLED && api == AIC_JOB_API_TASKS))
    {
      add_id (builder, record, api);
      add_error (builder, record, api);
      name = "failed";
      *over = TRUE;
    }
  else if (first || record->status == AIC_JOB_CANCELLED)
    {
      add_job_members (builder, record, api);
      name = "status";
      *over = aic_job_status_is_final (record->status);
    }
  else
    {
      add_progress_members (builder, record, api);
      name = "progress";
    }
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, name);
  json_builder_end_object (builder);
  *out_root = json_builder_get_root (builder);
  return name;
}

/**
 * aic_job_hub_events:
 * Handles GET /api/analyze/{id}/events and GET /api/tasks/{id}/stream:
 * the job's status first, then each change, numbered by the job's
 * version; 204 for a finished job whose end the client already has.
 */
void
aic_job_hub_events (AicJobHub         *self,
                    SoupServerMessage *message,
                    const char        *job_id,
                    AicJobApi          api)
{
  g_autoptr(AicJobRecord) record = find_job (self, message, job_id);
  g_autoptr(AicEventStream) finished = NULL;
  g_autoptr(JsonNode) root = NULL;
  AicEventStream *stream;
  gboolean over;
  const char *name;
  guint64 after = 0;

  if (record == NULL || !aic_event_stream_parse_last_id (message, &after))
    return;

  if (aic_job_status_is_final (record->status))
    {
      if ((guint64) record->version <= after)
        {
          aic_event_stream_reply_over (message);
          return;
        }
      stream = finished = aic_event_stream_new (FALSE, EVENT_RETRY_MS);
    }
  else
    {
      g_autofree char *key = stream_key (job_id, api);

      stream = g_hash_table_lookup (self->streams, key);
      if (stream == NULL)
        {
          StreamRef *ref = g_new0 (StreamRef, 1);

          ref->hub = self;
          ref->key = g_strdup (key);
          stream = aic_event_stream_new (FALSE, EVENT_RETRY_MS);
          aic_event_stream_set_keep_alive (stream, self->keep_alive_ms);
          aic_event_stream_set_idle_func (stream, stream_idle_cb, ref);
          g_object_set_data_full (G_OBJECT (stream), "aic-stream-ref", ref, stream_ref_free);
          g_hash_table_insert (self->streams, g_steal_pointer (&key), stream);
        }
    }

  aic_event_stream_subscribe (stream, message, after);
  if ((guint64) record->version > after)
    {
      name = job_event (record, api, TRUE, &root, &over);
      aic_event_stream_send_to (stream, message, (guint64) record->version, name, root);
    }
  if (finished != NULL)
    aic_event_stream_end (finished);
}

static void
job_changed_cb (AicJobQueue        *queue,
                const AicJobRecord *record,
                AicJobHub          *self)
{
  for (AicJobApi api = AIC_JOB_API_ANALYZE; api <= AIC_JOB_API_TASKS; api++)
    {
      g_autofree char *key = stream_key (record->id, api);
      AicEventStream *stream = g_hash_table_lookup (self->streams, key);
      g_autoptr(JsonNode) root = NULL;
      const char *name;
      gboolean over;

      if (stream == NULL || (guint64) record->version <= aic_event_stream_get_last_id (stream))
        continue;
      name = job_event (record, api, FALSE, &root, &over);
      aic_event_stream_append (stream, (guint64) record->version, name, root);
      if (over)
        {
          aic_event_stream_end (stream);
          g_hash_table_remove (self->streams, key);
        }
    }
}

/* ---- cancel, list ---- */

/**
 * aic_job_hub_cancel:
 * Handles POST /api/analyze/{id}/cancel.
 */
void
aic_job_hub_cancel (AicJobHub         *self,
                    SoupServerMessage *message,
                    const char        *job_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicJobRecord) record = aic_job_queue_cancel (self->queue, job_id, &error);
  g_autoptr(JsonNode) root = NULL;

  if (record == NULL)
    {
      if (g_error_matches (error, AIC_ERROR, AIC_ERROR_NOT_FOUND))
        unknown_job (message, job_id);
      else
        aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }
  root = job_json (record, AIC_JOB_API_ANALYZE);
  aic_reply_json (message, SOUP_STATUS_OK, root);
}

/**
 * aic_job_hub_list:
 * Handles GET /api/analyze: the newest jobs first.
 */
void
aic_job_hub_list (AicJobHub         *self,
                  SoupServerMessage *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = aic_job_store_list (aic_job_queue_get_store (self->queue), LIST_LIMIT, &error);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;

  if (records == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "storage_failed", error->message);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "jobs");
  json_builder_begin_array (builder);
  for (guint i = 0; i < records->len; i++)
    {
      g_autoptr(AicJobRecord) current = aic_job_queue_get (self->queue, ((AicJobRecord *) g_ptr_array_index (records, i))->id, NULL);

      json_builder_begin_object (builder);
      add_job_members (builder, current ? current : g_ptr_array_index (records, i), AIC_JOB_API_ANALYZE);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  aic_reply_json (message, SOUP_STATUS_OK, root);
}

/* ---- object ---- */

static void
aic_job_hub_dispose (GObject *object)
{
  AicJobHub *self = AIC_JOB_HUB (object);

  if (self->queue != NULL)
    g_signal_handlers_disconnect_by_data (self->queue, self);
  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_object (&self->queue);

  G_OBJECT_CLASS (aic_job_hub_parent_class)->dispose (object);
}

static void
aic_job_hub_class_init (AicJobHubClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = aic_job_hub_dispose;
}

static void
aic_job_hub_init (AicJobHub *self)
{
  self->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->max_bytes = 25 * 1024 * 1024;
}

AicJobHub *
aic_job_hub_new (AicJobQueue *queue)
{
  AicJobHub *self;

  g_return_val_if_fail (AIC_IS_JOB_QUEUE (queue), NULL);

  self = g_object_new (AIC_TYPE_JOB_HUB, NULL);
  self->queue = g_object_ref (queue);
  g_signal_connect (queue, "job-changed", G_CALLBACK (job_changed_cb), self);
  aic_job_hub_set_keep_alive (self, DEFAULT_KEEP_ALIVE_MS);
  return self;
}

AicJobQueue *
aic_job_hub_get_queue (AicJobHub *self)
{
  g_return_val_if_fail (AIC_IS_JOB_HUB (self), NULL);
  return self->queue;
}

void
aic_job_hub_set_max_bytes (AicJobHub *self,
                           gint64     max_bytes)
{
  g_return_if_fail (AIC_IS_JOB_HUB (self));
  self->max_bytes = max_bytes;
}

void
aic_job_hub_set_keep_alive (AicJobHub *self,
                            guint      milliseconds)
{
  g_return_if_fail (AIC_IS_JOB_HUB (self));
  self->keep_alive_ms = milliseconds;
}
