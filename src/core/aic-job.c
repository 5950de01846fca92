/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-job.h"
#include "aic-json.h"

/* One document job as the client sees it: what was sent, what the server
 * last said about it, and whether following it is paused because the
 * server cannot be reached. Read by the Documents view and the CLI,
 * written by AicJobClient, saved by AicStore. */

struct _AicJob
{
  GObject       parent_instance;

  char         *id;
  char         *filename;
  char         *idempotency_key;
  char         *source_path;
  char         *instructions;
  char         *owner;
  char         *connection_id;
  char         *remote_id;
  AicJobShape   shape;

  AicJobStatus  status;
  int           progress;
  char         *stage;
  char         *message;
  char         *error;
  char         *title;
  char         *summary;
  char        **key_points;
  char         *note;
  gboolean      result_unread;  /* in the store, not read in yet */
  gboolean      paused;
  char         *pause_reason;
  gint64        created_at;
  gint64        updated_at;
};

G_DEFINE_FINAL_TYPE (AicJob, aic_job, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (AicJobStatus, aic_job_status,
  G_DEFINE_ENUM_VALUE (AIC_JOB_SUBMITTING, "submitting"),
  G_DEFINE_ENUM_VALUE (AIC_JOB_QUEUED, "queued"),
  G_DEFINE_ENUM_VALUE (AIC_JOB_RUNNING, "running"),
  G_DEFINE_ENUM_VALUE (AIC_JOB_DONE, "done"),
  G_DEFINE_ENUM_VALUE (AIC_JOB_FAILED, "failed"),
  G_DEFINE_ENUM_VALUE (AIC_JOB_CANCELLED, "cancelled"))

enum {
  PROP_0,
  PROP_STATUS,
  PROP_PROGRESS,
  PROP_STAGE,
  PROP_MESSAGE,
  PROP_ERROR,
  PROP_TITLE,
  PROP_PAUSED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const status_names[] = {
  [AIC_JOB_SUBMITTING] = "submitting",
  [AIC_JOB_QUEUED] = "queued",
  [AIC_JOB_RUNNING] = "running",
  [AIC_JOB_DONE] = "done",
  [AIC_JOB_FAILED] = "failed",
  [AIC_JOB_CANCELLED] = "cancelled",
};

/* Other servers' words for the same states. */
static const struct
{
  const char   *name;
  AicJobStatus  status;
} status_aliases[] = {
  { "pending",     AIC_JOB_QUEUED },
  { "waiting",     AIC_JOB_QUEUED },
  { "processing",  AIC_JOB_RUNNING },
  { "in_progress", AIC_JOB_RUNNING },
  { "started",     AIC_JOB_RUNNING },
  { "completed",   AIC_JOB_DONE },
  { "complete",    AIC_JOB_DONE },
  { "succeeded",   AIC_JOB_DONE },
  { "success",     AIC_JOB_DONE },
  { "finished",    AIC_JOB_DONE },
  { "error",       AIC_JOB_FAILED },
  { "canceled",    AIC_JOB_CANCELLED },
};

const char *
aic_job_status_to_string (AicJobStatus status)
{
  g_return_val_if_fail (status <= AIC_JOB_CANCELLED, "failed");
  return status_names[status];
}

gboolean
aic_job_status_from_string (const char   *string,
                            AicJobStatus *out_status)
{
  if (string == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
    if (g_ascii_strcasecmp (string, status_names[i]) == 0)
      {
        *out_status = i;
        return TRUE;
      }
  for (guint i = 0; i < G_N_ELEMENTS (status_aliases); i++)
    if (g_ascii_strcasecmp (string, status_aliases[i].name) == 0)
      {
        *out_status = status_aliases[i].status;
        return TRUE;
      }
  return FALSE;
}

gboolean
aic_job_status_is_final (AicJobStatus status)
{
  return status == AIC_JOB_DONE || status == AIC_JOB_FAILED || status == AIC_JOB_CANCELLED;
}

const char *
aic_job_shape_to_string (AicJobShape shape)
{
  switch (shape)
    {
    case AIC_JOB_SHAPE_ANALYZE:
      return "analyze";
    case AIC_JOB_SHAPE_TASKS:
      return "tasks";
    case AIC_JOB_SHAPE_UNKNOWN:
    default:
      return NULL;
    }
}

AicJobShape
aic_job_shape_from_string (const char *string)
{
  if (g_strcmp0 (string, "analyze") == 0)
    return AIC_JOB_SHAPE_ANALYZE;
  if (g_strcmp0 (string, "tasks") == 0)
    return AIC_JOB_SHAPE_TASKS;
  return AIC_JOB_SHAPE_UNKNOWN;
}

static void
aic_job_finalize (GObject *object)
{
  AicJob *self = AIC_JOB (object);

  g_free (self->id);
  g_free (self->filename);
  g_free (self->idempotency_key);
  g_free (self->source_path);
  g_free (self->instructions);
  g_free (self->owner);
  g_free (self->connection_id);
  g_free (self->remote_id);
  g_free (self->stage);
  g_free (self->message);
  g_free (self->error);
  g_free (self->title);
  g_free (self->summary);
  g_strfreev (self->key_points);
  g_free (self->note);
  g_free (self->pause_reason);

  G_OBJECT_CLASS (aic_job_parent_class)->finalize (object);
}

static void
aic_job_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  AicJob *self = AIC_JOB (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_PROGRESS:
      g_value_set_int (value, self->progress);
      break;
    case PROP_STAGE:
      g_value_set_string (value, self->stage);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_PAUSED:
      g_value_set_boolean (value, self->paused);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_job_class_init (AicJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = aic_job_finalize;
  object_class->get_property = aic_job_get_property;

  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, AIC_TYPE_JOB_STATUS, AIC_JOB_SUBMITTING,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROGRESS] =
    g_param_spec_int ("progress", NULL, NULL, 0, 100, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STAGE] =
    g_param_spec_string ("stage", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PAUSED] =
    g_param_spec_boolean ("paused", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_job_init (AicJob *self)
{
}

/**
 * aic_job_new:
 * A job not yet sent: a fresh local id and idempotency key, so a submit
 * repeated after a crash or a lost answer finds the same server job.
 */
AicJob *
aic_job_new (const char *filename)
{
  AicJob *self = g_object_new (AIC_TYPE_JOB, NULL);

  self->id = g_uuid_string_random ();
  self->idempotency_key = g_uuid_string_random ();
  self->filename = g_strdup (filename ? filename : "");
  self->created_at = self->updated_at = g_get_real_time ();
  return self;
}

AicJob *
aic_job_restore (const char   *id,
                 const char   *filename,
                 const char   *idempotency_key,
                 AicJobStatus  status,
                 int           progress,
                 const char   *stage,
                 const char   *message,
                 const char   *error,
                 gint64        created_at,
                 gint64        updated_at)
{
  AicJob *self = g_object_new (AIC_TYPE_JOB, NULL);

  self->id = g_strdup (id);
  self->filename = g_strdup (filename);
  self->idempotency_key = g_strdup (idempotency_key);
  self->status = status;
  self->progress = CLAMP (progress, 0, 100);
  self->stage = g_strdup (stage);
  self->message = g_strdup (message);
  self->error = g_strdup (error);
  self->created_at = created_at;
  self->updated_at = updated_at;
  return self;
}

#define GETTER(type, name, field) \
  type aic_job_get_##name (AicJob *self) \
  { \
    g_return_val_if_fail (AIC_IS_JOB (self), 0); \
    return self->field; \
  }

GETTER (const char *, id, id)
GETTER (const char *, filename, filename)
GETTER (const char *, idempotency_key, idempotency_key)
GETTER (const char *, source_path, source_path)
GETTER (const char *, instructions, instructions)
GETTER (const char *, owner, owner)
GETTER (const char *, connection_id, connection_id)
GETTER (const char *, remote_id, remote_id)
GETTER (AicJobShape, shape, shape)
GETTER (AicJobStatus, status, status)
GETTER (int, progress, progress)
GETTER (const char *, stage, stage)
GETTER (const char *, message, message)
GETTER (const char *, error, error)
GETTER (const char *, title, title)
GETTER (const char *, summary, summary)
GETTER (const char *, note, note)
GETTER (gboolean, paused, paused)
GETTER (const char *, pause_reason, pause_reason)
GETTER (gint64, created_at, created_at)
GETTER (gint64, updated_at, updated_at)

#undef GETTER

const char * const *
aic_job_get_key_points (AicJob *self)
{
  g_return_val_if_fail (AIC_IS_JOB (self), NULL);
  return (const char * const *) self->key_points;
}

gboolean
aic_job_is_finished (AicJob *self)
{
  g_return_val_if_fail (AIC_IS_JOB (self), FALSE);
  return aic_job_status_is_final (self->status);
}

void
aic_job_set_source_path (AicJob     *self,
                         const char *path)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_free (self->source_path);
  self->source_path = g_strdup (path);
}

/* What the reader asked the summary to attend to; sent with the document. */
void
aic_job_set_instructions (AicJob     *self,
                          const char *instructions)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_free (self->instructions);
  self->instructions = instructions && instructions[0] ? g_strdup (instructions) : NULL;
}

void
aic_job_set_owner (AicJob     *self,
                   const char *owner)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_free (self->owner);
  self->owner = g_strdup (owner);
}

void
aic_job_set_connection_id (AicJob     *self,
                           const char *connection_id)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_free (self->connection_id);
  self->connection_id = g_strdup (connection_id);
}

void
aic_job_set_remote (AicJob      *self,
                    const char  *remote_id,
                    AicJobShape  shape)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_free (self->remote_id);
  self->remote_id = g_strdup (remote_id);
  self->shape = shape;
}

static void
set_string (AicJob     *self,
            char      **field,
            const char *value,
            int         prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_status (AicJob       *self,
            AicJobStatus  status)
{
  if (self->status == status)
    return;
  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static void
set_progress (AicJob *self,
              int     progress)
{
  progress = CLAMP (progress, 0, 100);
  if (self->progress == progress)
    return;
  self->progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

/**
 * aic_job_set_paused:
 * @reason: (nullable): why following has stopped for now, in words; %NULL
 *   when it goes on
 */
void
aic_job_set_paused (AicJob     *self,
                    const char *reason)
{
  g_return_if_fail (AIC_IS_JOB (self));

  if (g_strcmp0 (self->pause_reason, reason) == 0)
    return;
  g_free (self->pause_reason);
  self->pause_reason = g_strdup (reason);
  self->paused = reason != NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAUSED]);
}

static void
touch (AicJob *self)
{
  self->updated_at = g_get_real_time ();
}

/**
 * aic_job_fail:
 * @error: the sentence to show
 */
void
aic_job_fail (AicJob     *self,
              const char *error)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->error, error, PROP_ERROR);
  set_status (self, AIC_JOB_FAILED);
  aic_job_set_paused (self, NULL);
  touch (self);
  g_object_thaw_notify (G_OBJECT (self));
}

void
aic_job_set_cancelled (AicJob *self)
{
  g_return_if_fail (AIC_IS_JOB (self));
  g_object_freeze_notify (G_OBJECT (self));
  set_status (self, AIC_JOB_CANCELLED);
  aic_job_set_paused (self, NULL);
  touch (self);
  g_object_thaw_notify (G_OBJECT (self));
}

static gboolean
protocol_error (GError     **error,
                const char  *member)
{
  g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
               _("The server’s job status has an unexpected “%s”."), member);
  return FALSE;
}

/* Progress as a number 0–100, integer or not; "pct" in the plainer shapes. */
static gboolean
read_progress (JsonObject  *object,
               int         *out,
               GError     **error)
{
  const char *names[] = { "progress", "pct" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      JsonNode *node = json_object_get_member (object, names[i]);
      GType type;

      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      if (!JSON_NODE_HOLDS_VALUE (node))
        return protocol_error (error, names[i]);
      type = json_node_get_value_type (node);
      if (type == G_TYPE_INT64)
        *out = (int) CLAMP (json_node_get_int (node), 0, 100);
      else if (type == G_TYPE_DOUBLE)
        *out = (int) CLAMP (json_node_get_double (node), 0.0, 100.0);
      else
        return protocol_error (error, names[i]);
      return TRUE;
    }
  return TRUE;
}

static gboolean
read_optional_string (JsonObject  *object,
                      const char  *member,
                      gboolean    *present,
                      const char **out,
                      GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *present = node != NULL;
  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return protocol_error (error, member);
  *out = json_node_get_string (node);
  return TRUE;
}

/* A result is an object {title, summary, key_points} (console), or just
 * text (the plainer shapes). */
static gboolean
read_result (AicJob      *self,
             JsonNode    *node,
             GError     **error)
{
  g_auto(GStrv) points = NULL;
  const char *title = NULL, *summary = NULL, *note = NULL;
  JsonObject *object;

  self->result_unread = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      g_free (self->summary);
      self->summary = g_strdup (json_node_get_string (node));
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return protocol_error (error, "result");

  object = json_node_get_object (node);
  if (!aic_json_get_string (object, "title", FALSE, &title, NULL) ||
      !aic_json_get_string (object, "summary", FALSE, &summary, NULL) ||
      !aic_json_get_strv (object, "key_points", FALSE, &points, NULL) ||
      !aic_json_get_string (object, "note", FALSE, &note, NULL))
    return protocol_error (error, "result");
  if (summary == NULL && !aic_json_get_string (object, "text", FALSE, &summary, NULL))
    return protocol_error (error, "result");

  set_string (self, &self->title, title, PROP_TITLE);
  g_free (self->summary);
  self->summary = g_strdup (summary);
  g_strfreev (self->key_points);
  self->key_points = g_steal_pointer (&points);
  g_free (self->note);
  self->note = g_strdup (note);
  return TRUE;
}

/* {"error": {"code", "message"}}, {"error": "text"}, or null. */
static gboolean
read_error (JsonNode    *node,
            char       **out,
            GError     **error)
{
  const char *message = NULL;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    message = json_node_get_string (node);
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      if (!aic_json_get_string (json_node_get_object (node), "message", FALSE, &message, NULL))
        return protocol_error (error, "error");
      if (message == NULL &&
          !aic_json_get_string (json_node_get_object (node), "code", FALSE, &message, NULL))
        return protocol_error (error, "error");
    }
  else
    return protocol_error (error, "error");
  *out = g_strdup (message ? message : _("The server gave no reason."));
  return TRUE;
}

/**
 * aic_job_update_from_json:
 * Takes a status answer or event data in either shape. Members that are
 * absent leave the job as it is (progress events carry only some);
 * members of the wrong type are an %AIC_ERROR_PROTOCOL error and change
 * nothing.
 */
gboolean
aic_job_update_from_json (AicJob      *self,
                          JsonObject  *object,
                          GError     **error)
{
  const char *status_text = NULL, *stage = NULL, *message = NULL;
  gboolean has_stage, has_message;
  g_autofree char *failure = NULL;
  AicJobStatus status = self->status;
  int progress = self->progress;

  g_return_val_if_fail (AIC_IS_JOB (self), FALSE);

  if (!aic_json_get_string (object, "status", FALSE, &status_text, NULL))
    return protocol_error (error, "status");
  if (status_text != NULL && !aic_job_status_from_string (status_text, &status))
    return protocol_error (error, "status");
  if (!read_progress (object, &progress, error) ||
      !read_optional_string (object, "stage", &has_stage, &stage, error) ||
      !read_optional_string (object, "message", &has_message, &message, error) ||
      !read_error (json_object_get_member (object, "error"), &failure, error))
    return FALSE;

  g_object_freeze_notify (G_OBJECT (self));
  if (!read_result (self, json_object_get_member (object, "result"), error))
    {
      g_object_thaw_notify (G_OBJECT (self));
      return FALSE;
    }
  if (has_stage)
    set_string (self, &self->stage, stage, PROP_STAGE);
  if (has_message)
    set_string (self, &self->message, message, PROP_MESSAGE);
  if (failure != NULL)
    set_string (self, &self->error, failure, PROP_ERROR);
  if (status == AIC_JOB_DONE)
    progress = 100;
  set_progress (self, progress);
  set_status (self, status);
  aic_job_set_paused (self, NULL);
  touch (self);
  g_object_thaw_notify (G_OBJECT (self));
  return TRUE;
}

/**
 * aic_job_dup_result_json:
 * Returns: (transfer full) (nullable): the result as the store keeps it
 */
char *
aic_job_dup_result_json (AicJob *self)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (AIC_IS_JOB (self), NULL);

  if (self->title == NULL && self->summary == NULL && self->key_points == NULL)
    return NULL;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, self->title);
  json_builder_set_member_name (builder, "summary");
  json_builder_add_string_value (builder, self->summary);
  json_builder_set_member_name (builder, "key_points");
  json_builder_begin_array (builder);
  for (guint i = 0; self->key_points != NULL && self->key_points[i] != NULL; i++)
    json_builder_add_string_value (builder, self->key_points[i]);
  json_builder_end_array (builder);
  if (self->note != NULL)
    {
      json_builder_set_member_name (builder, "note");
      json_builder_add_string_value (builder, self->note);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return aic_json_to_string (root, FALSE);
}

gboolean
aic_job_set_result_json (AicJob      *self,
                         const char  *json,
                         GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (AIC_IS_JOB (self), FALSE);

  self->result_unread = FALSE;
  if (json == NULL)
    return TRUE;
  bytes = g_bytes_new_static (json, strlen (json));
  root = aic_json_parse_bytes (bytes, error);
  return root != NULL && read_result (self, root, error);
}

/**
 * aic_job_set_result_unread:
 * @title: (nullable): the result's title, for the list
 *
 * For the store: the job has a result, left in the store until it is
 * shown (a year of summaries is not read at every start). Until
 * aic_job_set_result_json() is given it, the job has only its title.
 */
void
aic_job_set_result_unread (AicJob     *self,
                           const char *title)
{
  g_return_if_fail (AIC_IS_JOB (self));

  self->result_unread = TRUE;
  set_string (self, &self->title, title, PROP_TITLE);
}

gboolean
aic_job_get_result_unread (AicJob *self)
{
  g_return_val_if_fail (AIC_IS_JOB (self), FALSE);
  return self->result_unread;
}

/**
 * aic_job_dup_markdown:
 * Returns: (transfer full): the result as a Markdown document, for Copy
 *   and Export
 */
char *
aic_job_dup_markdown (AicJob *self)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (AIC_IS_JOB (self), NULL);

  g_string_append_printf (out, "# %s\n\n", self->title && self->title[0] ? self->title : self->filename);
  /* Translators: under the title of an exported summary; %s is a file name */
  g_string_append_printf (out, _("_Summary of %s, made with AI Console._"), self->filename);
  g_string_append (out, "\n\n");
  if (self->summary != NULL)
    g_string_append_printf (out, "%s\n\n", self->summary);
  if (self->key_points != NULL && self->key_points[0] != NULL)
    {
      g_string_append_printf (out, "## %s\n\n", _("Key points"));
      for (guint i = 0; self->key_points[i] != NULL; i++)
        g_string_append_printf (out, "- %s\n", self->key_points[i]);
    }
  if (self->note != NULL)
    g_string_append_printf (out, "\n_%s_\n", self->note);
  return g_string_free (out, FALSE);
}
