/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-source.h"
#include "aic-sse-client.h"

#define READ_CHUNK        16384
#define MAX_ERROR_BODY    (64 * 1024)
#define DEFAULT_RETRY_MS  2000
#define DEFAULT_IDLE_S    90

/* Reads one text/event-stream, GET or POST, and emits its events as they
 * are dispatched. It checks status and content type, treats 204 as "stop",
 * reconnects with Last-Event-ID after the server's retry delay when asked
 * to — when the connection is cut, not when the stream ends cleanly
 * (unless aic_sse_client_set_resume_at_end() says the protocol has a last
 * event of its own), and never by sending a POST again: a POST stream is
 * resumed with GET at the address its response named in Location, or not
 * at all, since sending it again could pay for a second generation. It
 * has its own idle watchdog: the session it is given must have no
 * I/O timeout (libsoup's default of 60 s would cut slow generations), and
 * a stream silent for longer than the idle timeout (keep-alive comments
 * count as traffic) fails with AIC_ERROR_TIMEOUT or reconnects. */
struct _AicSseClient
{
  GObject              parent_instance;

  SoupSession         *session;
  SoupMessage         *message;        /* the current connection's */
  char                *body_type;
  GBytes              *body;
  AicSseParser        *parser;

  GTask               *task;
  GCancellable        *connection_cancellable;
  gulong               cancel_handler;
  GInputStream        *stream;
  GByteArray          *error_body;
  guint                idle_source;
  guint                retry_source;

  AicSseReconnectFunc  reconnect_func;
  gpointer             reconnect_data;
  GDestroyNotify       reconnect_destroy;
  guint                max_attempts;
  guint                attempts;       /* failures since the last event */
  guint                reconnects;

  GUri                *resume_uri;     /* from the response's Location */

  guint                retry_ms;
  guint                idle_seconds;
  gboolean             keep_complete;
  gboolean             resume_at_end;
  gboolean             stopped;
  gboolean             idle_fired;
  const AicSseEvent   *emitting;       /* while "event" is emitted */
};

G_DEFINE_FINAL_TYPE (AicSseClient, aic_sse_client, G_TYPE_OBJECT)

enum {
  EVENT,
  RECONNECTING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void connect_now (AicSseClient *self);
static gboolean can_resume (AicSseClient *self);

static void
on_parser_event (gpointer           user_data,
                 const AicSseEvent *event)
{
  AicSseClient *self = user_data;

  if (self->stopped)
    return;
  self->attempts = 0;
  self->emitting = event;
  g_signal_emit (self, signals[EVENT], 0, event->type, event->data, event->id);
  self->emitting = NULL;
}

static void
on_parser_retry (gpointer user_data,
                 guint64  milliseconds)
{
  AicSseClient *self = user_data;

  self->retry_ms = (guint) MIN (milliseconds, (guint64) G_MAXUINT);
}

static const AicSseCallbacks parser_callbacks = { on_parser_event, on_parser_retry, NULL };

static void
clear_connection (AicSseClient *self)
{
  g_clear_handle_id (&self->idle_source, aic_source_remove);
  if (self->cancel_handler != 0 && self->task != NULL)
    g_cancellable_disconnect (g_task_get_cancellable (self->task), self->cancel_handler);
  self->cancel_handler = 0;
  g_clear_object (&self->connection_cancellable);
  g_clear_object (&self->stream);
  g_clear_pointer (&self->error_body, g_byte_array_unref);
}

static void
complete (AicSseClient *self,
          GError       *error)
{
  g_autoptr(GTask) task = NULL;

  clear_connection (self);
  task = g_steal_pointer (&self->task);
  g_clear_handle_id (&self->retry_source, aic_source_remove);
  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
retry_cb (gpointer data)
{
  AicSseClient *self = data;
  g_autoptr(SoupMessage) message = NULL;

  self->retry_source = 0;
  message = self->reconnect_func (self, aic_sse_parser_get_last_event_id (self->parser),
                                  self->reconnect_data);
  if (message == NULL)
    {
      complete (self, g_error_new_literal (AIC_ERROR, AIC_ERROR_FAILED,
                                           _("The event stream could not be resumed.")));
      return G_SOURCE_REMOVE;
    }
  g_set_object (&self->message, message);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* The connection ended without a stop: reconnect if allowed, else finish
 * with @error (or cleanly at a plain end of stream). */
static void
connection_lost (AicSseClient *self,
                 GError       *error)
{
  clear_connection (self);

  if (self->stopped)
    {
      g_clear_error (&error);
      complete (self, NULL);
      return;
    }

  if (self->reconnect_func != NULL && self->attempts < self->max_attempts && can_resume (self))
    {
      self->attempts++;
      self->reconnects++;
      if (error != NULL)
        g_debug ("Event stream dropped (%s); reconnecting in %u ms", error->message, self->retry_ms);
      g_clear_error (&error);
      aic_sse_parser_reset (self->parser);
      g_signal_emit (self, signals[RECONNECTING], 0, self->attempts);
      self->retry_source = aic_timeout_add (self->retry_ms, retry_cb, self);
      return;
    }

  complete (self, error);
}

static gboolean
idle_cb (gpointer data)
{
  AicSseClient *self = data;

  self->idle_source = 0;
  self->idle_fired = TRUE;
  g_cancellable_cancel (self->connection_cancellable);
  return G_SOURCE_REMOVE;
}

static void
arm_idle (AicSseClient *self)
{
  g_clear_handle_id (&self->idle_source, aic_source_remove);
  if (self->idle_seconds > 0)
    self->idle_source = aic_timeout_add_seconds (self->idle_seconds, idle_cb, self);
}

/* Maps a failed read or send; NULL means "the user cancelled". */
static GError *
transport_error (AicSseClient *self,
                 GError       *error)
{
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (!self->idle_fired)
        return NULL;
      self->idle_fired = FALSE;
      return g_error_new (AIC_ERROR, AIC_ERROR_TIMEOUT,
                          _("The server sent nothing for %u seconds."), self->idle_seconds);
    }
  mapped = aic_http_error_from_transport (error, soup_message_get_uri (self->message));
  return mapped;
}

static void read_next (AicSseClient *self);

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(AicSseClient) self = user_data;
  g_autoptr(GBytes) chunk = NULL;
  g_autoptr(GError) error = NULL;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (self->task == NULL)
    return;

  if (chunk == NULL)
    {
      GError *mapped;

      /* Once the stream has begun, a closed connection is a cut, not a
       * server that never answered. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        mapped = g_error_new_literal (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                                      _("The connection was cut off before the event stream ended."));
      else
        mapped = transport_error (self, error);

      if (mapped == NULL)
        complete (self, g_steal_pointer (&error));
      else
        connection_lost (self, mapped);
      return;
    }

  if (g_bytes_get_size (chunk) == 0)
    {
      GError *parse_error = NULL;

      /* A stream that stops inside an event was cut, even where the
       * transfer encoding cannot tell (a chunked body cut between two
       * chunks reads as a plain end in libsoup). */
      if (!self->keep_complete && !aic_sse_parser_is_between_events (self->parser))
        {
          connection_lost (self, g_error_new_literal (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                                                      _("The event stream was cut off in the middle of an event.")));
          return;
        }
      if (!aic_sse_parser_finish (self->parser, self->keep_complete, &parse_error))
        complete (self, parse_error);
      else if (self->resume_at_end)
        connection_lost (self, NULL);
      else
        complete (self, NULL);
      return;
    }

  arm_idle (self);
  {
    GError *parse_error = NULL;

    if (!aic_sse_parser_feed (self->parser, g_bytes_get_data (chunk, NULL),
                              g_bytes_get_size (chunk), &parse_error))
      {
        complete (self, parse_error);
        return;
      }
  }

  if (self->stopped)
    {
      complete (self, NULL);
      return;
    }
  read_next (self);
}

static void
read_next (AicSseClient *self)
{
  g_input_stream_read_bytes_async (self->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->connection_cancellable, read_cb, g_object_ref (self));
}

static void error_body_read_cb (GObject *object, GAsyncResult *result, gpointer user_data);

static void
finish_http_error (AicSseClient *self)
{
  g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&self->error_body));
  g_autoptr(JsonNode) body = aic_json_parse_bytes (bytes, NULL);
  complete (self, aic_http_error_from_status (self->message, body));
}

static void
error_body_read_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(AicSseClient) self = user_data;
  g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  if (self->task == NULL)
    return;
  if (chunk == NULL || g_bytes_get_size (chunk) == 0 ||
      self->error_body->len + g_bytes_get_size (chunk) > MAX_ERROR_BODY)
    {
      finish_http_error (self);
      return;
    }
  g_byte_array_append (self->error_body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  g_input_stream_read_bytes_async (self->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->connection_cancellable, error_body_read_cb, g_object_ref (self));
}

static gboolean
is_event_stream (SoupMessage *message)
{
  const char *type = soup_message_headers_get_content_type (soup_message_get_response_headers (message), NULL);

  return type != NULL && g_ascii_strcasecmp (type, "text/event-stream") == 0;
}

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(AicSseClient) self = user_data;
  g_autoptr(GError) error = NULL;
  GInputStream *stream;
  guint status;

  stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (self->task == NULL)
    {
      g_clear_object (&stream);
      return;
    }
  if (stream == NULL)
    {
      GError *mapped = transport_error (self, error);

      if (mapped == NULL)
        complete (self, g_steal_pointer (&error));
      else if (self->reconnects > 0 || self->attempts > 0)
        connection_lost (self, mapped);   /* a failed reconnection: try again */
      else
        complete (self, mapped);          /* never connected: say why now */
      return;
    }
  self->stream = stream;

  status = soup_message_get_status (self->message);
  if (status == SOUP_STATUS_NO_CONTENT)
    {
      /* The server's way of saying "do not reconnect". */
      complete (self, NULL);
      return;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      self->error_body = g_byte_array_new ();
      g_input_stream_read_bytes_async (self->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                       self->connection_cancellable, error_body_read_cb, g_object_ref (self));
      return;
    }

  if (!is_event_stream (self->message))
    {
      const char *type = soup_message_headers_get_content_type (soup_message_get_response_headers (self->message), NULL);

      complete (self, g_error_new (AIC_ERROR, AIC_ERROR_WRONG_SERVER,
                                   _("The server answered with “%s” instead of an event stream."),
                                   type ? type : _("no content type")));
      return;
    }

  {
    const char *location = soup_message_headers_get_one (soup_message_get_response_headers (self->message),
                                                         "Location");
    GUri *resolved = location ? g_uri_parse_relative (soup_message_get_uri (self->message), location,
                                                      SOUP_HTTP_URI_FLAGS, NULL)
                              : NULL;

    if (resolved != NULL)
      {
        g_clear_pointer (&self->resume_uri, g_uri_unref);
        self->resume_uri = resolved;
      }
  }

  arm_idle (self);
  read_next (self);
}

static void
user_cancelled_cb (GCancellable *cancellable,
                   GCancellable *connection_cancellable)
{
  g_cancellable_cancel (connection_cancellable);
}

static void
connect_now (AicSseClient *self)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (self->message);
  GCancellable *user_cancellable = g_task_get_cancellable (self->task);
  const char *last_id = aic_sse_parser_get_last_event_id (self->parser);

  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  if (last_id[0] != '\0')
    soup_message_headers_replace (headers, "Last-Event-ID", last_id);
  if (self->body != NULL && soup_message_get_method (self->message) != SOUP_METHOD_GET)
    soup_message_set_request_body_from_bytes (self->message, self->body_type, self->body);

  self->idle_fired = FALSE;
  self->connection_cancellable = g_cancellable_new ();
  if (user_cancellable != NULL)
    self->cancel_handler = g_cancellable_connect (user_cancellable, G_CALLBACK (user_cancelled_cb),
                                                  g_object_ref (self->connection_cancellable),
                                                  g_object_unref);

  /* The watchdog also covers a server that accepts and never answers. */
  arm_idle (self);
  soup_session_send_async (self->session, self->message, G_PRIORITY_DEFAULT,
                           self->connection_cancellable, send_cb, g_object_ref (self));
}

static void
copy_header (const char *name,
             const char *value,
             gpointer    user_data)
{
  /* What described the POST's body does not go with a GET. */
  if (g_ascii_strcasecmp (name, "Content-Type") == 0 || g_ascii_strcasecmp (name, "Content-Length") == 0)
    return;
  soup_message_headers_append (user_data, name, value);
}

/* A GET is asked again; anything else only at the address its response
 * named, with GET. */
static SoupMessage *
default_reconnect (AicSseClient *self,
                   const char   *last_event_id,
                   gpointer      user_data)
{
  SoupMessage *message;

  if (soup_message_get_method (self->message) == SOUP_METHOD_GET)
    message = soup_message_new_from_uri (SOUP_METHOD_GET, soup_message_get_uri (self->message));
  else if (self->resume_uri != NULL)
    message = soup_message_new_from_uri (SOUP_METHOD_GET, self->resume_uri);
  else
    return NULL;

  soup_message_add_flags (message, soup_message_get_flags (self->message));
  soup_message_headers_foreach (soup_message_get_request_headers (self->message),
                                copy_header, soup_message_get_request_headers (message));
  return message;
}

static gboolean
can_resume (AicSseClient *self)
{
  if (self->reconnect_func != default_reconnect)
    return TRUE;
  return soup_message_get_method (self->message) == SOUP_METHOD_GET || self->resume_uri != NULL;
}

static void
aic_sse_client_dispose (GObject *object)
{
  AicSseClient *self = AIC_SSE_CLIENT (object);

  clear_connection (self);
  g_clear_handle_id (&self->retry_source, aic_source_remove);

  G_OBJECT_CLASS (aic_sse_client_parent_class)->dispose (object);
}

static void
aic_sse_client_finalize (GObject *object)
{
  AicSseClient *self = AIC_SSE_CLIENT (object);

  g_assert (self->task == NULL);
  g_clear_object (&self->session);
  g_clear_object (&self->message);
  g_clear_pointer (&self->body_type, g_free);
  g_clear_pointer (&self->body, g_bytes_unref);
  g_clear_pointer (&self->resume_uri, g_uri_unref);
  g_clear_pointer (&self->parser, aic_sse_parser_free);
  if (self->reconnect_destroy != NULL)
    self->reconnect_destroy (self->reconnect_data);

  G_OBJECT_CLASS (aic_sse_client_parent_class)->finalize (object);
}

static void
aic_sse_client_class_init (AicSseClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_sse_client_dispose;
  object_class->finalize = aic_sse_client_finalize;

  /**
   * AicSseClient::event:
   * @type: the event name, "message" when unnamed
   * @data: the data, without the final LF
   * @id: the last event id, "" when none
   */
  signals[EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[RECONNECTING] =
    g_signal_new ("reconnecting", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
aic_sse_client_init (AicSseClient *self)
{
  self->parser = aic_sse_parser_new (&parser_callbacks, self);
  self->retry_ms = DEFAULT_RETRY_MS;
  self->idle_seconds = DEFAULT_IDLE_S;
}

/**
 * aic_sse_client_new:
 * @session: a session with no I/O timeout ("timeout" 0)
 * @message: the first request; Accept and Cache-Control are set here
 */
AicSseClient *
aic_sse_client_new (SoupSession *session,
                    SoupMessage *message)
{
  AicSseClient *self;

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (SOUP_IS_MESSAGE (message), NULL);

  self = g_object_new (AIC_TYPE_SSE_CLIENT, NULL);
  self->session = g_object_ref (session);
  self->message = g_object_ref (message);
  return self;
}

/**
 * aic_sse_client_set_request_body:
 * The body of a POST, kept so that a reconnection can send it again.
 */
void
aic_sse_client_set_request_body (AicSseClient *self,
                                 const char   *content_type,
                                 GBytes       *body)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));

  g_free (self->body_type);
  self->body_type = g_strdup (content_type);
  g_clear_pointer (&self->body, g_bytes_unref);
  self->body = body ? g_bytes_ref (body) : NULL;
}

/**
 * aic_sse_client_set_resume_at_end:
 *
 * For protocols whose streams end with an event of their own (and which
 * call aic_sse_client_stop() on it): a stream that ends before that event
 * was cut between events, so it is resumed like a cut one. Without this,
 * a stream that ends cleanly is over.
 */
void
aic_sse_client_set_resume_at_end (AicSseClient *self,
                                  gboolean      resume_at_end)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));
  self->resume_at_end = resume_at_end;
}

/**
 * aic_sse_client_set_keep_complete:
 * Provider dialects end the stream at EOF and keep a last event that no
 * blank line completed (see aic_sse_parser_finish()).
 */
void
aic_sse_client_set_keep_complete (AicSseClient *self,
                                  gboolean      keep_complete)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));
  self->keep_complete = keep_complete;
}

/**
 * aic_sse_client_set_reconnect:
 * @max_attempts: consecutive failed attempts before giving up; 0 never
 *   reconnects
 * @func: (nullable): builds the reconnection request; %NULL repeats the
 *   first request (method, URL, headers, body) with Last-Event-ID
 */
void
aic_sse_client_set_reconnect (AicSseClient        *self,
                              guint                max_attempts,
                              AicSseReconnectFunc  func,
                              gpointer             user_data,
                              GDestroyNotify       destroy)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));

  if (self->reconnect_destroy != NULL)
    self->reconnect_destroy (self->reconnect_data);
  self->max_attempts = max_attempts;
  self->reconnect_func = max_attempts == 0 ? NULL : func ? func : default_reconnect;
  self->reconnect_data = user_data;
  self->reconnect_destroy = destroy;
}

void
aic_sse_client_set_idle_timeout (AicSseClient *self,
                                 guint         seconds)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));
  self->idle_seconds = seconds;
}

void
aic_sse_client_set_limits (AicSseClient *self,
                           gsize         max_line,
                           gsize         max_event)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));
  aic_sse_parser_set_limits (self->parser, max_line, max_event);
}

guint
aic_sse_client_get_retry_ms (AicSseClient *self)
{
  g_return_val_if_fail (AIC_IS_SSE_CLIENT (self), 0);
  return self->retry_ms;
}

const char *
aic_sse_client_get_last_event_id (AicSseClient *self)
{
  g_return_val_if_fail (AIC_IS_SSE_CLIENT (self), NULL);
  return aic_sse_parser_get_last_event_id (self->parser);
}

guint
aic_sse_client_get_reconnects (AicSseClient *self)
{
  g_return_val_if_fail (AIC_IS_SSE_CLIENT (self), 0);
  return self->reconnects;
}

/**
 * aic_sse_client_stop:
 * Ends the run successfully after the event being dispatched, without
 * reconnecting: for protocols whose last event says "done".
 */
void
aic_sse_client_stop (AicSseClient *self)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));
  self->stopped = TRUE;
}

void
aic_sse_client_run_async (AicSseClient        *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (AIC_IS_SSE_CLIENT (self));
  g_return_if_fail (self->task == NULL);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, aic_sse_client_run_async);
  self->stopped = FALSE;
  connect_now (self);
}

/**
 * aic_sse_client_run_finish:
 * Returns: %TRUE when the stream ended (EOF without reconnection, 204, or
 *   aic_sse_client_stop()), %FALSE with @error otherwise
 */
gboolean
aic_sse_client_run_finish (AicSseClient  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * aic_sse_client_get_event_data_length:
 * In a handler of AicSseClient::event: the length of its data in bytes,
 * for data that holds U+0000 (valid in an event stream), where a string
 * would end early.
 */
gsize
aic_sse_client_get_event_data_length (AicSseClient *self)
{
  g_return_val_if_fail (AIC_IS_SSE_CLIENT (self), 0);
  g_return_val_if_fail (self->emitting != NULL, 0);

  return self->emitting->data_len;
}
