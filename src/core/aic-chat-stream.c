/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-chat-dialect.h"
#include "aic-chat-stream.h"
#include "aic-error.h"
#include "aic-json.h"
#include "aic-sse-client.h"

#define ANTHROPIC_MAX_TOKENS 4096
#define DEFAULT_MAX_RESUMES  5

/* One reply, streamed: builds the request each dialect wants, reads its
 * SSE through AicSseClient and AicChatDialect, and keeps the text, the
 * finish reason, usage and timings. A console-backend stream that drops is
 * resumed at GET /api/chat/streams/{id} with Last-Event-ID, so the text is
 * the same as if nothing had happened. Stop cancels the request itself,
 * and on a console backend also tells the server to stop generating. */
struct _AicChatStream
{
  GObject              parent_instance;

  AicClient           *client;
  GPtrArray           *turns;          /* pairs: role, content */
  char                *model;
  char                *conversation_id;
  guint                max_resumes;

  AicSseClient        *sse;
  GCancellable        *cancellable;    /* ours, chained to the caller's */
  gulong               cancel_handler;
  GTask               *task;
  AicChatDialectState  dialect;
  GPtrArray           *events;
  GError              *stream_error;

  GString             *text;
  char                *stream_id;
  char                *reply_model;
  char                *finish_reason;
  gint64               prompt_tokens;
  gint64               completion_tokens;
  guint                n_tokens;
  gint64               started_at;
  gint64               first_token_us;
  gint64               duration_us;
  gboolean             done;
};

G_DEFINE_FINAL_TYPE (AicChatStream, aic_chat_stream, G_TYPE_OBJECT)

enum {
  STARTED,
  TOKEN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
aic_chat_stream_dispose (GObject *object)
{
  AicChatStream *self = AIC_CHAT_STREAM (object);

  if (self->sse != NULL)
    g_signal_handlers_disconnect_by_data (self->sse, self);
  g_clear_object (&self->sse);

  G_OBJECT_CLASS (aic_chat_stream_parent_class)->dispose (object);
}

static void
aic_chat_stream_finalize (GObject *object)
{
  AicChatStream *self = AIC_CHAT_STREAM (object);

  g_clear_object (&self->client);
  g_clear_pointer (&self->turns, g_ptr_array_unref);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->conversation_id, g_free);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->events, g_ptr_array_unref);
  g_clear_error (&self->stream_error);
  aic_chat_dialect_state_clear (&self->dialect);
  g_string_free (self->text, TRUE);
  g_clear_pointer (&self->stream_id, g_free);
  g_clear_pointer (&self->reply_model, g_free);
  g_clear_pointer (&self->finish_reason, g_free);

  G_OBJECT_CLASS (aic_chat_stream_parent_class)->finalize (object);
}

static void
aic_chat_stream_class_init (AicChatStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_chat_stream_dispose;
  object_class->finalize = aic_chat_stream_finalize;

  signals[STARTED] =
    g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * AicChatStream::token:
   * @text: the new text, to append to what came before
   */
  signals[TOKEN] =
    g_signal_new ("token", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
aic_chat_stream_init (AicChatStream *self)
{
  self->turns = g_ptr_array_new_with_free_func (g_free);
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_chat_event_free);
  self->text = g_string_new (NULL);
  self->prompt_tokens = -1;
  self->completion_tokens = -1;
  self->first_token_us = -1;
  self->max_resumes = DEFAULT_MAX_RESUMES;
}

AicChatStream *
aic_chat_stream_new (AicClient *client)
{
  AicChatStream *self;

  g_return_val_if_fail (AIC_IS_CLIENT (client), NULL);

  self = g_object_new (AIC_TYPE_CHAT_STREAM, NULL);
  self->client = g_object_ref (client);
  aic_chat_dialect_state_init (&self->dialect,
                               aic_connection_get_kind (aic_client_get_connection (client)));
  return self;
}

/**
 * aic_chat_stream_add_turn:
 * @role: "system", "user" or "assistant"
 */
void
aic_chat_stream_add_turn (AicChatStream *self,
                          const char    *role,
                          const char    *content)
{
  g_return_if_fail (AIC_IS_CHAT_STREAM (self));
  g_return_if_fail (role != NULL && content != NULL);

  g_ptr_array_add (self->turns, g_strdup (role));
  g_ptr_array_add (self->turns, g_strdup (content));
}

void
aic_chat_stream_set_model (AicChatStream *self,
                           const char    *model)
{
  g_return_if_fail (AIC_IS_CHAT_STREAM (self));
  g_free (self->model);
  self->model = model && model[0] ? g_strdup (model) : NULL;
}

void
aic_chat_stream_set_conversation_id (AicChatStream *self,
                                     const char    *conversation_id)
{
  g_return_if_fail (AIC_IS_CHAT_STREAM (self));
  g_free (self->conversation_id);
  self->conversation_id = g_strdup (conversation_id);
}

/**
 * aic_chat_stream_set_max_resumes:
 * How often a dropped console-backend stream is resumed in a row; 0 never.
 */
void
aic_chat_stream_set_max_resumes (AicChatStream *self,
                                 guint          max_resumes)
{
  g_return_if_fail (AIC_IS_CHAT_STREAM (self));
  self->max_resumes = max_resumes;
}

static void
add_messages (AicChatStream *self,
              JsonBuilder   *builder,
              gboolean       without_system)
{
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  for (guint i = 0; i + 1 < self->turns->len; i += 2)
    {
      const char *role = g_ptr_array_index (self->turns, i);

      if (without_system && g_str_equal (role, "system"))
        continue;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "role");
      json_builder_add_string_value (builder, role);
      json_builder_set_member_name (builder, "content");
      json_builder_add_string_value (builder, g_ptr_array_index (self->turns, i + 1));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static const char *
last_user_turn (AicChatStream *self)
{
  for (guint i = self->turns->len; i >= 2; i -= 2)
    if (g_str_equal (g_ptr_array_index (self->turns, i - 2), "user"))
      return g_ptr_array_index (self->turns, i - 1);
  return NULL;
}

static char *
system_prompt (AicChatStream *self)
{
  g_autoptr(GString) system = g_string_new (NULL);

  for (guint i = 0; i + 1 < self->turns->len; i += 2)
    if (g_str_equal (g_ptr_array_index (self->turns, i), "system"))
      g_string_append_printf (system, "%s%s", system->len ? "\n\n" : "",
                              (const char *) g_ptr_array_index (self->turns, i + 1));
  return system->len ? g_string_free (g_steal_pointer (&system), FALSE) : NULL;
}

/* The request body each dialect expects. */
static GBytes *
build_body (AicChatStream  *self,
            const char    **out_path,
            GError        **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  AicConnectionKind kind = self->dialect.kind;
  const char *model = self->model;
  char *text;

  if (model == NULL)
    {
      const char *fallback = aic_connection_get_model (aic_client_get_connection (self->client));
      model = fallback && fallback[0] ? fallback : NULL;
    }

  if (model == NULL && kind != AIC_CONNECTION_KIND_CONSOLE)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("Choose a model: this server needs to be told which one to use."));
      return NULL;
    }
  if (last_user_turn (self) == NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("There is no message to answer."));
      return NULL;
    }

  json_builder_begin_object (builder);
  switch (kind)
    {
    case AIC_CONNECTION_KIND_OPENAI:
      *out_path = "/chat/completions";
      json_builder_set_member_name (builder, "model");
      json_builder_add_string_value (builder, model);
      add_messages (self, builder, FALSE);
      json_builder_set_member_name (builder, "stream");
      json_builder_add_boolean_value (builder, TRUE);
      json_builder_set_member_name (builder, "stream_options");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "include_usage");
      json_builder_add_boolean_value (builder, TRUE);
      json_builder_end_object (builder);
      break;

    case AIC_CONNECTION_KIND_ANTHROPIC:
      {
        g_autofree char *system = system_prompt (self);

        *out_path = "/v1/messages";
        json_builder_set_member_name (builder, "model");
        json_builder_add_string_value (builder, model);
        json_builder_set_member_name (builder, "max_tokens");
        json_builder_add_int_value (builder, ANTHROPIC_MAX_TOKENS);
        if (system != NULL)
          {
            json_builder_set_member_name (builder, "system");
            json_builder_add_string_value (builder, system);
          }
        add_messages (self, builder, TRUE);
        json_builder_set_member_name (builder, "stream");
        json_builder_add_boolean_value (builder, TRUE);
      }
      break;

    case AIC_CONNECTION_KIND_CONSOLE:
    default:
      *out_path = "/api/chat/stream";
      if (self->conversation_id != NULL)
        {
          json_builder_set_member_name (builder, "conversation_id");
          json_builder_add_string_value (builder, self->conversation_id);
        }
      if (model != NULL)
        {
          json_builder_set_member_name (builder, "model");
          json_builder_add_string_value (builder, model);
        }
      add_messages (self, builder, FALSE);
      /* The short form too, for servers that read only that. */
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, last_user_turn (self));
      break;
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = aic_json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static void
fail_stream (AicChatStream *self,
             GError        *error)
{
  if (self->stream_error == NULL)
    self->stream_error = error;
  else
    g_error_free (error);
  aic_sse_client_stop (self->sse);
}

static void
handle_event (AicChatStream *self,
              AicChatEvent  *event)
{
  switch (event->kind)
    {
    case AIC_CHAT_EVENT_START:
      if (event->stream_id != NULL && self->stream_id == NULL)
        self->stream_id = g_strdup (event->stream_id);
      if (event->model != NULL)
        {
          g_free (self->reply_model);
          self->reply_model = g_strdup (event->model);
        }
      g_signal_emit (self, signals[STARTED], 0);
      break;

    case AIC_CHAT_EVENT_TOKEN:
      if (self->first_token_us < 0)
        self->first_token_us = g_get_monotonic_time () - self->started_at;
      self->n_tokens++;
      g_string_append (self->text, event->text);
      g_signal_emit (self, signals[TOKEN], 0, event->text);
      break;

    case AIC_CHAT_EVENT_USAGE:
      if (event->prompt_tokens >= 0)
        self->prompt_tokens = event->prompt_tokens;
      if (event->completion_tokens >= 0)
        self->completion_tokens = event->completion_tokens;
      break;

    case AIC_CHAT_EVENT_DONE:
      self->done = TRUE;
      g_free (self->finish_reason);
      self->finish_reason = g_strdup (event->finish_reason);
      aic_sse_client_stop (self->sse);
      break;

    case AIC_CHAT_EVENT_ERROR:
      /* Overloaded or limiting is a busy server, not a broken one: the
       * caller may try again later. */
      fail_stream (self, g_error_new (AIC_ERROR,
                                      g_strcmp0 (event->code, "overloaded_error") == 0 ||
                                      g_strcmp0 (event->code, "rate_limit_error") == 0 ||
                                      g_strcmp0 (event->code, "rate_limit_exceeded") == 0
                                        ? AIC_ERROR_BUSY : AIC_ERROR_SERVER,
                                      /* Translators: %s is the server's own message */
                                      _("The server stopped with an error: %s"), event->text));
      break;

    default:
      break;
    }
}

static void
on_sse_event (AicSseClient  *sse,
              const char    *type,
              const char    *data,
              const char    *id,
              AicChatStream *self)
{
  g_autoptr(GError) error = NULL;

  if (self->done || self->stream_error != NULL)
    return;

  g_ptr_array_set_size (self->events, 0);
  if (!aic_chat_dialect_parse (&self->dialect, type, data, self->events, &error))
    {
      fail_stream (self, g_steal_pointer (&error));
      return;
    }
  for (guint i = 0; i < self->events->len && !self->done && self->stream_error == NULL; i++)
    handle_event (self, g_ptr_array_index (self->events, i));
}

/* A console backend keeps each stream's events: continue where we were. */
static SoupMessage *
resume_message (AicSseClient *sse,
                const char   *last_event_id,
                gpointer      user_data)
{
  AicChatStream *self = user_data;
  g_autofree char *path = NULL;

  if (self->stream_id == NULL)
    return NULL;
  path = g_strdup_printf ("/api/chat/streams/%s", self->stream_id);
  return aic_client_new_message (self->client, SOUP_METHOD_GET, path);
}

static void
run_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(AicChatStream) self = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&self->task);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = aic_sse_client_run_finish (AIC_SSE_CLIENT (object), result, &error);
  self->duration_us = g_get_monotonic_time () - self->started_at;
  if (self->cancel_handler != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), self->cancel_handler);
  self->cancel_handler = 0;

  if (self->stream_error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&self->stream_error));
      return;
    }
  if (self->done)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!ok)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* The stream ended by itself: complete only if the dialect says so. */
  g_ptr_array_set_size (self->events, 0);
  if (!aic_chat_dialect_finish (&self->dialect, self->events, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  for (guint i = 0; i < self->events->len; i++)
    handle_event (self, g_ptr_array_index (self->events, i));
  g_task_return_boolean (task, TRUE);
}

static void
caller_cancelled_cb (GCancellable  *cancellable,
                     GCancellable  *ours)
{
  g_cancellable_cancel (ours);
}

/**
 * aic_chat_stream_run_async:
 * Sends the conversation and streams the reply: "token" is emitted for
 * each piece of text. Completes when the reply is complete, failed or was
 * stopped; the text received so far stays available in every case.
 */
void
aic_chat_stream_run_async (AicChatStream       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  const char *path = NULL;

  g_return_if_fail (AIC_IS_CHAT_STREAM (self));
  g_return_if_fail (self->task == NULL && self->sse == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_chat_stream_run_async);

  body = build_body (self, &path, &error);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  message = aic_client_new_message (self->client, SOUP_METHOD_POST, path);
  if (message == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not a web address."),
                               aic_connection_get_base_url (aic_client_get_connection (self->client)));
      return;
    }

  self->sse = aic_sse_client_new (aic_client_get_stream_session (self->client), message);
  aic_sse_client_set_request_body (self->sse, "application/json", body);
  if (self->dialect.kind == AIC_CONNECTION_KIND_CONSOLE)
    {
      aic_sse_client_set_reconnect (self->sse, self->max_resumes, resume_message, self, NULL);
      aic_sse_client_set_resume_at_end (self->sse, TRUE);
    }
  else
    aic_sse_client_set_keep_complete (self->sse, TRUE);
  g_signal_connect (self->sse, "event", G_CALLBACK (on_sse_event), self);

  self->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    self->cancel_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                  g_object_ref (self->cancellable), g_object_unref);

  self->started_at = g_get_monotonic_time ();
  self->task = g_steal_pointer (&task);
  aic_sse_client_run_async (self->sse, self->cancellable, run_cb, g_object_ref (self));
}

gboolean
aic_chat_stream_run_finish (AicChatStream  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cancel_sent_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  if (body == NULL)
    g_debug ("Could not ask the server to stop: %s", error->message);
}

/**
 * aic_chat_stream_stop:
 * Stops the reply: the request is cancelled, and a console backend is
 * asked to stop generating upstream (closing the connection alone would
 * leave it 30 s in case the client resumes). The run then completes with
 * G_IO_ERROR_CANCELLED, the text so far kept.
 */
void
aic_chat_stream_stop (AicChatStream *self)
{
  g_return_if_fail (AIC_IS_CHAT_STREAM (self));

  if (self->task == NULL)
    return;

  if (self->dialect.kind == AIC_CONNECTION_KIND_CONSOLE && self->stream_id != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/api/chat/streams/%s/cancel", self->stream_id);
      g_autoptr(SoupMessage) message = aic_client_new_message (self->client, SOUP_METHOD_POST, path);

      if (message != NULL)
        soup_session_send_and_read_async (aic_client_get_session (self->client), message,
                                          G_PRIORITY_DEFAULT, NULL, cancel_sent_cb, NULL);
    }
  g_cancellable_cancel (self->cancellable);
}

const char *
aic_chat_stream_get_text (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), NULL);
  return self->text->str;
}

const char *
aic_chat_stream_get_model (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), NULL);
  return self->reply_model ? self->reply_model : self->model;
}

const char *
aic_chat_stream_get_stream_id (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), NULL);
  return self->stream_id;
}

const char *
aic_chat_stream_get_finish_reason (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), NULL);
  return self->finish_reason;
}

gint64
aic_chat_stream_get_prompt_tokens (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), -1);
  return self->prompt_tokens;
}

gint64
aic_chat_stream_get_completion_tokens (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), -1);
  return self->completion_tokens;
}

/* Pieces of text received; servers send about one token per piece. */
guint
aic_chat_stream_get_n_tokens (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), 0);
  return self->n_tokens;
}

gint64
aic_chat_stream_get_first_token_us (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), -1);
  return self->first_token_us;
}

gint64
aic_chat_stream_get_duration_us (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), 0);
  return self->duration_us;
}

guint
aic_chat_stream_get_resumes (AicChatStream *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_STREAM (self), 0);
  return self->sse ? aic_sse_client_get_reconnects (self->sse) : 0;
}
