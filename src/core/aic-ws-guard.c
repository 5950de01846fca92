/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <string.h>

#include "aic-ws-guard.h"

/* ---- the counting stream ----
 *
 * A GIOStream over the accepted GSocketConnection whose two halves pass
 * every call on to the socket's and count what went through. They are
 * pollable, as libsoup needs, by wrapping the socket's sources. */

typedef void (*OverFunc) (gpointer data);

struct _AicCountingStream
{
  GIOStream      parent_instance;

  GIOStream     *base;
  GInputStream  *input;
  GOutputStream *output;
  guint64        read;
  guint64        written;
  guint8         tail[AIC_COUNTING_TAIL];   /* the last bytes read, oldest first */
  gsize          tail_len;

  /* The read budget: more than @budget bytes since @mark calls @over
   * once, and everything after is dropped. */
  guint64        budget;
  guint64        mark;
  gboolean       over_budget;
  OverFunc       over;
  gpointer       over_data;
};

G_DEFINE_FINAL_TYPE (AicCountingStream, aic_counting_stream, G_TYPE_IO_STREAM)

/* Counts @n bytes just read; FALSE when they are to be dropped. */
static gboolean
took_bytes (AicCountingStream *self,
            gssize             n)
{
  if (n <= 0 || self == NULL)
    return TRUE;
  self->read += n;
  if (self->over_budget)
    return FALSE;
  if (self->budget > 0 && self->read - self->mark > self->budget)
    {
      self->over_budget = TRUE;
      /* These bytes still go to libsoup: what it does with a message it
       * has not finished is its business; nothing more follows them. */
      if (self->over != NULL)
        self->over (self->over_data);
    }
  return TRUE;
}

static void
keep_tail (AicCountingStream *self,
           const guint8      *bytes,
           gssize             n)
{
  gsize keep;

  if (n <= 0 || self == NULL)
    return;
  if ((gsize) n >= AIC_COUNTING_TAIL)
    {
      memcpy (self->tail, bytes + n - AIC_COUNTING_TAIL, AIC_COUNTING_TAIL);
      self->tail_len = AIC_COUNTING_TAIL;
      return;
    }
  keep = MIN (self->tail_len, AIC_COUNTING_TAIL - (gsize) n);
  memmove (self->tail, self->tail + self->tail_len - keep, keep);
  memcpy (self->tail + keep, bytes, n);
  self->tail_len = keep + n;
}

#define AIC_TYPE_COUNTING_INPUT (aic_counting_input_get_type ())
G_DECLARE_FINAL_TYPE (AicCountingInput, aic_counting_input, AIC, COUNTING_INPUT, GInputStream)

struct _AicCountingInput
{
  GInputStream       parent_instance;
  AicCountingStream *owner;   /* (unowned) (nullable) it owns us, unless libsoup outlives it */
  GInputStream      *base;
};

static void aic_counting_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (AicCountingInput, aic_counting_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      aic_counting_input_pollable_init))

static gssize
aic_counting_input_read (GInputStream  *stream,
                         void          *buffer,
                         gsize          count,
                         GCancellable  *cancellable,
                         GError       **error)
{
  AicCountingInput *self = AIC_COUNTING_INPUT (stream);

  for (;;)
    {
      gssize n = g_input_stream_read (self->base, buffer, count, cancellable, error);

      keep_tail (self->owner, buffer, n);
      if (took_bytes (self->owner, n))
        return n;
    }
}

static gboolean
aic_counting_input_close (GInputStream  *stream,
                          GCancellable  *cancellable,
                          GError       **error)
{
  /* The socket is closed once, by the GIOStream. */
  return TRUE;
}

static gboolean
aic_counting_input_can_poll (GPollableInputStream *stream)
{
  return g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (AIC_COUNTING_INPUT (stream)->base));
}

static gboolean
aic_counting_input_is_readable (GPollableInputStream *stream)
{
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (AIC_COUNTING_INPUT (stream)->base));
}

static GSource *
aic_counting_input_create_source (GPollableInputStream *stream,
                                  GCancellable         *cancellable)
{
  AicCountingInput *self = AIC_COUNTING_INPUT (stream);
  g_autoptr(GSource) base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
aic_counting_input_read_nonblocking (GPollableInputStream  *stream,
                                     void                  *buffer,
                                     gsize                  count,
                                     GError               **error)
{
  AicCountingInput *self = AIC_COUNTING_INPUT (stream);
  gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base),
                                                       buffer, count, NULL, error);

  keep_tail (self->owner, buffer, n);
  if (took_bytes (self->owner, n))
    return n;
  /* Dropped: as far as libsoup knows, nothing has come yet. */
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Nothing to read");
  return -1;
}

static void
aic_counting_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = aic_counting_input_can_poll;
  iface->is_readable = aic_counting_input_is_readable;
  iface->create_source = aic_counting_input_create_source;
  iface->read_nonblocking = aic_counting_input_read_nonblocking;
}

static void
aic_counting_input_finalize (GObject *object)
{
  g_clear_object (&AIC_COUNTING_INPUT (object)->base);
  G_OBJECT_CLASS (aic_counting_input_parent_class)->finalize (object);
}

static void
aic_counting_input_class_init (AicCountingInputClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = aic_counting_input_finalize;
  input_class->read_fn = aic_counting_input_read;
  input_class->close_fn = aic_counting_input_close;
}

static void
aic_counting_input_init (AicCountingInput *self)
{
}

#define AIC_TYPE_COUNTING_OUTPUT (aic_counting_output_get_type ())
G_DECLARE_FINAL_TYPE (AicCountingOutput, aic_counting_output, AIC, COUNTING_OUTPUT, GOutputStream)

struct _AicCountingOutput
{
  GOutputStream      parent_instance;
  AicCountingStream *owner;   /* (unowned) (nullable) */
  GOutputStream     *base;

  /* libsoup writes a chunked body's chunk as three writes: its size
   * line, its data, a CRLF; a server's event stream is a chunk per
   * event. Coalescing sends the three at once, one syscall and one
   * packet instead of three, which was most of the cost of a token. */
  gboolean           coalesce;
  char               header[20];    /* a size line taken, not sent yet */
  gsize              header_len;
  guint64            chunk_size;
  gsize              crlf_ahead;    /* bytes of the chunk's CRLF sent with its data */
};

static void aic_counting_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (AicCountingOutput, aic_counting_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      aic_counting_output_pollable_init))

static void
wrote_bytes (AicCountingOutput *self,
             gssize             n)
{
  if (n > 0 && self->owner != NULL)
    self->owner->written += n;
}

/* "1a2\r\n": the size line of a chunk with data. */
static gboolean
is_chunk_header (const char *buffer,
                 gsize       count,
                 guint64    *size)
{
  char digits[20];

  if (count < 3 || count > 18 || buffer[count - 2] != '\r' || buffer[count - 1] != '\n')
    return FALSE;
  for (gsize i = 0; i < count - 2; i++)
    if (!g_ascii_isxdigit (buffer[i]))
      return FALSE;
  memcpy (digits, buffer, count - 2);
  digits[count - 2] = '\0';
  *size = g_ascii_strtoull (digits, NULL, 16);
  return *size > 0;
}

static gssize
output_write (AicCountingOutput  *self,
              const void         *buffer,
              gsize               count,
              gboolean            blocking,
              GCancellable       *cancellable,
              GError            **error)
{
  static const char crlf[] = "\r\n";
  GOutputVector vectors[3];
  gsize n_vectors = 2, written = 0, header_len;
  gssize n;

  if (!self->coalesce)
    {
      n = g_pollable_stream_write (self->base, buffer, count, blocking, cancellable, error);
      wrote_bytes (self, n);
      return n;
    }

  if (self->crlf_ahead > 0 && count == 2 && memcmp (buffer, crlf, 2) == 0)
    {
      /* The CRLF closing the chunk: sent already, or its last byte now. */
      if (self->crlf_ahead < 2)
        {
          n = g_pollable_stream_write (self->base, crlf + 1, 1, blocking, cancellable, error);
          if (n <= 0)
            return n;
          wrote_bytes (self, n);
        }
      self->crlf_ahead = 0;
      return 2;
    }
  self->crlf_ahead = 0;

  if (self->header_len == 0)
    {
      if (is_chunk_header (buffer, count, &self->chunk_size))
        {
          memcpy (self->header, buffer, count);
          self->header_len = count;
          return count;
        }
      n = g_pollable_stream_write (self->base, buffer, count, blocking, cancellable, error);
      wrote_bytes (self, n);
      return n;
    }

  /* The data of the chunk whose size line we hold: both, and its CRLF
   * when this is the whole chunk (libsoup writes the CRLF next). */
  header_len = self->header_len;
  vectors[0] = (GOutputVector) { self->header, header_len };
  vectors[1] = (GOutputVector) { buffer, count };
  if (count == self->chunk_size)
    {
      vectors[2] = (GOutputVector) { crlf, 2 };
      n_vectors = 3;
    }
  if (blocking)
    {
      if (!g_output_stream_writev (self->base, vectors, n_vectors, &written, cancellable, error))
        return -1;
    }
  else
    {
      switch (g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base), vectors,
                                                           n_vectors, &written, cancellable, error))
        {
        case G_POLLABLE_RETURN_FAILED:
          return -1;
        case G_POLLABLE_RETURN_WOULD_BLOCK:
          written = 0;
          break;
        case G_POLLABLE_RETURN_OK:
        default:
          break;
        }
    }
  wrote_bytes (self, written);

  if (written <= header_len)
    {
      /* Not one byte of the data: libsoup waits and writes it again. */
      memmove (self->header, self->header + written, header_len - written);
      self->header_len = header_len - written;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Would block");
      return -1;
    }
  self->header_len = 0;
  written -= header_len;
  if (written > count)
    {
      self->crlf_ahead = written - count;
      written = count;
    }
  return written;
}

static gssize
aic_counting_output_write (GOutputStream  *stream,
                           const void     *buffer,
                           gsize           count,
                           GCancellable   *cancellable,
                           GError        **error)
{
  return output_write (AIC_COUNTING_OUTPUT (stream), buffer, count, TRUE, cancellable, error);
}

static gboolean
aic_counting_output_flush (GOutputStream  *stream,
                           GCancellable   *cancellable,
                           GError        **error)
{
  return g_output_stream_flush (AIC_COUNTING_OUTPUT (stream)->base, cancellable, error);
}

static gboolean
aic_counting_output_close (GOutputStream  *stream,
                           GCancellable   *cancellable,
                           GError        **error)
{
  return TRUE;
}

static gboolean
aic_counting_output_can_poll (GPollableOutputStream *stream)
{
  return g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (AIC_COUNTING_OUTPUT (stream)->base));
}

static gboolean
aic_counting_output_is_writable (GPollableOutputStream *stream)
{
  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (AIC_COUNTING_OUTPUT (stream)->base));
}

static GSource *
aic_counting_output_create_source (GPollableOutputStream *stream,
                                   GCancellable          *cancellable)
{
  AicCountingOutput *self = AIC_COUNTING_OUTPUT (stream);
  g_autoptr(GSource) base_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (self->base), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
aic_counting_output_write_nonblocking (GPollableOutputStream  *stream,
                                       const void             *buffer,
                                       gsize                   count,
                                       GError                **error)
{
  return output_write (AIC_COUNTING_OUTPUT (stream), buffer, count, FALSE, NULL, error);
}

static void
aic_counting_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = aic_counting_output_can_poll;
  iface->is_writable = aic_counting_output_is_writable;
  iface->create_source = aic_counting_output_create_source;
  iface->write_nonblocking = aic_counting_output_write_nonblocking;
}

static void
aic_counting_output_finalize (GObject *object)
{
  g_clear_object (&AIC_COUNTING_OUTPUT (object)->base);
  G_OBJECT_CLASS (aic_counting_output_parent_class)->finalize (object);
}

static void
aic_counting_output_class_init (AicCountingOutputClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = aic_counting_output_finalize;
  output_class->write_fn = aic_counting_output_write;
  output_class->flush = aic_counting_output_flush;
  output_class->close_fn = aic_counting_output_close;
}

static void
aic_counting_output_init (AicCountingOutput *self)
{
}

static GInputStream *
aic_counting_stream_get_input_stream (GIOStream *stream)
{
  return AIC_COUNTING_STREAM (stream)->input;
}

static GOutputStream *
aic_counting_stream_get_output_stream (GIOStream *stream)
{
  return AIC_COUNTING_STREAM (stream)->output;
}

static gboolean
aic_counting_stream_close (GIOStream     *stream,
                           GCancellable  *cancellable,
                           GError       **error)
{
  return g_io_stream_close (AIC_COUNTING_STREAM (stream)->base, cancellable, error);
}

static void
base_closed_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (g_io_stream_close_finish (G_IO_STREAM (object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* On the caller's context, as the socket's own close is, rather than in
 * a thread as GIOStream's default would. */
static void
aic_counting_stream_close_async (GIOStream           *stream,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, aic_counting_stream_close_async);
  g_io_stream_close_async (AIC_COUNTING_STREAM (stream)->base, io_priority, cancellable, base_closed_cb, task);
}

static gboolean
aic_counting_stream_close_finish (GIOStream     *stream,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
aic_counting_stream_finalize (GObject *object)
{
  AicCountingStream *self = AIC_COUNTING_STREAM (object);

  AIC_COUNTING_INPUT (self->input)->owner = NULL;
  AIC_COUNTING_OUTPUT (self->output)->owner = NULL;
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (aic_counting_stream_parent_class)->finalize (object);
}

static void
aic_counting_stream_class_init (AicCountingStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = aic_counting_stream_finalize;
  stream_class->get_input_stream = aic_counting_stream_get_input_stream;
  stream_class->get_output_stream = aic_counting_stream_get_output_stream;
  stream_class->close_fn = aic_counting_stream_close;
  stream_class->close_async = aic_counting_stream_close_async;
  stream_class->close_finish = aic_counting_stream_close_finish;
}

static void
aic_counting_stream_init (AicCountingStream *self)
{
}

/**
 * aic_counting_stream_set_coalesce_chunks:
 * Sends each chunk of a chunked body written by libsoup (size line,
 * data, CRLF) in one go. Only for a stream whose writes are HTTP
 * messages: a WebSocket's frames are left alone (aic_ws_guard_attach()
 * turns it off).
 */
void
aic_counting_stream_set_coalesce_chunks (AicCountingStream *self,
                                         gboolean           coalesce)
{
  AicCountingOutput *output;

  g_return_if_fail (AIC_IS_COUNTING_STREAM (self));

  output = AIC_COUNTING_OUTPUT (self->output);
  g_return_if_fail (output->header_len == 0);
  output->coalesce = coalesce;
}

AicCountingStream *
aic_counting_stream_new (GIOStream *base)
{
  AicCountingStream *self;
  AicCountingInput *input;
  AicCountingOutput *output;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  self = g_object_new (AIC_TYPE_COUNTING_STREAM, NULL);
  self->base = g_object_ref (base);
  input = g_object_new (AIC_TYPE_COUNTING_INPUT, NULL);
  input->owner = self;
  input->base = g_object_ref (g_io_stream_get_input_stream (base));
  output = g_object_new (AIC_TYPE_COUNTING_OUTPUT, NULL);
  output->owner = self;
  output->base = g_object_ref (g_io_stream_get_output_stream (base));
  self->input = G_INPUT_STREAM (input);
  self->output = G_OUTPUT_STREAM (output);
  return self;
}

/* ---- the WebSocket guard ---- */

/* Room for frame headers and masks around a message's payload: a
 * message of many tiny fragments costs more than its payload. */
#define FRAMING_ALLOWANCE (64 * 1024)

typedef struct
{
  SoupWebsocketConnection *connection;   /* (unowned) */
  AicCountingStream       *stream;
  guint64                  max_backlog;
  guint64                  queued;       /* bytes handed to libsoup, headers included */
  gboolean                 masked;       /* a client's frames carry a 4-byte mask */
  guint64                  written_at_start;
} Guard;

static void
guard_free (Guard *guard)
{
  if (guard->stream->over_data == guard)
    {
      guard->stream->over = NULL;
      guard->stream->over_data = NULL;
    }
  g_clear_object (&guard->stream);
  g_free (guard);
}

static void
message_cb (SoupWebsocketConnection *connection,
            int                      type,
            GBytes                  *message,
            Guard                   *guard)
{
  /* A whole message arrived: the next one starts with a full budget. */
  guard->stream->mark = guard->stream->read;
}

static gboolean
close_too_big (gpointer data)
{
  SoupWebsocketConnection *connection = data;

  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "The message is too large.");
  return G_SOURCE_REMOVE;
}

/* Called from inside libsoup's read: the close waits for it to return. */
static void
over_budget (gpointer data)
{
  Guard *guard = data;
  GSource *source = g_idle_source_new ();

  g_debug ("A WebSocket message grew past its limit; closing with 1009");
  /* Ahead of the reads, which a flooding client keeps ready for ever. */
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, close_too_big, g_object_ref (guard->connection), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static void
closed_cb (SoupWebsocketConnection *connection,
           Guard                   *guard)
{
  guard->stream->over = NULL;
  guard->stream->over_data = NULL;
}

static AicCountingStream *find_counting (GIOStream *stream);

/**
 * aic_ws_guard_attach:
 *
 * See the header. Returns: whether the limits apply beyond libsoup's
 */
gboolean
aic_ws_guard_attach (SoupWebsocketConnection *connection,
                     guint64                  max_message,
                     guint64                  max_backlog)
{
  AicCountingStream *stream;
  Guard *guard;

  g_return_val_if_fail (SOUP_IS_WEBSOCKET_CONNECTION (connection), FALSE);

  soup_websocket_connection_set_max_incoming_payload_size (connection, max_message);
  stream = find_counting (soup_websocket_connection_get_io_stream (connection));
  if (stream == NULL)
    return FALSE;
  /* Frames from now on, not HTTP chunks. */
  aic_counting_stream_set_coalesce_chunks (stream, FALSE);

  guard = g_new0 (Guard, 1);
  guard->connection = connection;
  guard->stream = g_object_ref (stream);
  guard->max_backlog = max_backlog;
  /* A client's frames carry a mask. */
  guard->masked = soup_websocket_connection_get_connection_type (connection) == SOUP_WEBSOCKET_CONNECTION_CLIENT;
  guard->written_at_start = stream->written;
  stream->budget = max_message + FRAMING_ALLOWANCE;
  stream->mark = stream->read;
  stream->over = over_budget;
  stream->over_data = guard;
  g_signal_connect (connection, "message", G_CALLBACK (message_cb), guard);
  g_signal_connect (connection, "closed", G_CALLBACK (closed_cb), guard);
  g_object_set_data_full (G_OBJECT (connection), "aic-ws-guard", guard, (GDestroyNotify) guard_free);
  return TRUE;
}

/* The size of a frame around @len bytes: a length of 1, 3 or 9 bytes
 * after the first, and a client's mask. */
static guint64
frame_size (gsize    len,
            gboolean masked)
{
  guint64 mask = masked ? 4 : 0;

  if (len < 126)
    return len + 2 + mask;
  if (len < 65536)
    return len + 4 + mask;
  return len + 10 + mask;
}

guint64
aic_ws_guard_get_backlog (SoupWebsocketConnection *connection)
{
  Guard *guard = g_object_get_data (G_OBJECT (connection), "aic-ws-guard");
  guint64 written;

  if (guard == NULL)
    return 0;
  written = guard->stream->written - guard->written_at_start;
  /* libsoup's own pings and pongs are written too: never below none. */
  return guard->queued > written ? guard->queued - written : 0;
}

/**
 * aic_ws_guard_send_text:
 *
 * Sends @text, unless the client has left more than the guard's backlog
 * unread: then the connection is closed with 1008 and nothing more is
 * queued for it.
 *
 * Returns: whether @text was sent
 */
gboolean
aic_ws_guard_send_text (SoupWebsocketConnection *connection,
                        const char              *text)
{
  Guard *guard = g_object_get_data (G_OBJECT (connection), "aic-ws-guard");
  gsize len = strlen (text);

  if (soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  if (guard != NULL && guard->max_backlog > 0 &&
      aic_ws_guard_get_backlog (connection) + frame_size (len, guard->masked) > guard->max_backlog)
    {
      g_debug ("A WebSocket client left %" G_GUINT64_FORMAT " bytes unread; closing with 1008",
               aic_ws_guard_get_backlog (connection));
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                       "The client does not read its messages.");
      return FALSE;
    }
  if (guard != NULL)
    guard->queued += frame_size (len, guard->masked);
  soup_websocket_connection_send_text (connection, text);
  return TRUE;
}

/* ---- the client side ---- */

/* Finds the counting stream under the streams libsoup and GIO put over
 * it: libsoup's own, TLS, and (on a client) GSocketClient's wrapper for
 * a stream that came from a proxy. */
static AicCountingStream *
find_counting (GIOStream *stream)
{
  for (guint depth = 0; stream != NULL && depth < 6; depth++)
    {
      GIOStream *below = NULL;

      if (AIC_IS_COUNTING_STREAM (stream))
        return AIC_COUNTING_STREAM (stream);
      if (G_IS_TCP_WRAPPER_CONNECTION (stream))
        below = g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (stream));
      else if (g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "base-iostream") != NULL)
        {
          g_object_get (stream, "base-iostream", &below, NULL);
          g_object_unref (below);   /* it lives as long as @stream */
        }
      else if (g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "base-io-stream") != NULL)
        {
          g_object_get (stream, "base-io-stream", &below, NULL);
          g_object_unref (below);
        }
      stream = below;
    }
  return NULL;
}

/**
 * aic_counting_stream_find:
 * @stream: a connection, as in SoupMessage::network-event
 * Returns: (transfer none) (nullable): the counting stream under it
 */
AicCountingStream *
aic_counting_stream_find (GIOStream *stream)
{
  g_return_val_if_fail (stream == NULL || G_IS_IO_STREAM (stream), NULL);

  return find_counting (stream);
}

/**
 * aic_counting_stream_get_tail:
 * Returns: the last bytes read from the connection (up to
 *   AIC_COUNTING_TAIL), as they came: under TLS, encrypted
 */
const guint8 *
aic_counting_stream_get_tail (AicCountingStream *self,
                              gsize             *len)
{
  g_return_val_if_fail (AIC_IS_COUNTING_STREAM (self), NULL);

  *len = self->tail_len;
  return self->tail;
}

/* The GProxy: "aic-count://HOST:PORT" is HOST:PORT itself, reached
 * directly; the proxy's part is only to put the counting stream on. */

#define AIC_TYPE_COUNTING_PROXY (aic_counting_proxy_get_type ())
G_DECLARE_FINAL_TYPE (AicCountingProxy, aic_counting_proxy, AIC, COUNTING_PROXY, GObject)

struct _AicCountingProxy
{
  GObject parent_instance;
};

static void aic_counting_proxy_iface_init (GProxyInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (AicCountingProxy, aic_counting_proxy, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_PROXY, aic_counting_proxy_iface_init))

static GIOStream *
aic_counting_proxy_connect (GProxy        *proxy,
                            GIOStream     *connection,
                            GProxyAddress *address,
                            GCancellable  *cancellable,
                            GError       **error)
{
  return G_IO_STREAM (aic_counting_stream_new (connection));
}

static void
aic_counting_proxy_connect_async (GProxy              *proxy,
                                  GIOStream           *connection,
                                  GProxyAddress       *address,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (proxy, cancellable, callback, user_data);

  g_task_set_source_tag (task, aic_counting_proxy_connect_async);
  g_task_return_pointer (task, aic_counting_stream_new (connection), g_object_unref);
}

static GIOStream *
aic_counting_proxy_connect_finish (GProxy        *proxy,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
aic_counting_proxy_supports_hostname (GProxy *proxy)
{
  return TRUE;
}

static void
aic_counting_proxy_iface_init (GProxyInterface *iface)
{
  iface->connect = aic_counting_proxy_connect;
  iface->connect_async = aic_counting_proxy_connect_async;
  iface->connect_finish = aic_counting_proxy_connect_finish;
  iface->supports_hostname = aic_counting_proxy_supports_hostname;
}

static void
aic_counting_proxy_class_init (AicCountingProxyClass *klass)
{
}

static void
aic_counting_proxy_init (AicCountingProxy *self)
{
}

/* The resolver: the system's answer, with "direct://" made "aic-count". */

#define AIC_TYPE_COUNTING_RESOLVER (aic_counting_resolver_get_type ())
G_DECLARE_FINAL_TYPE (AicCountingResolver, aic_counting_resolver, AIC, COUNTING_RESOLVER, GObject)

struct _AicCountingResolver
{
  GObject         parent_instance;
  GProxyResolver *system;
};

static void aic_counting_resolver_iface_init (GProxyResolverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (AicCountingResolver, aic_counting_resolver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_PROXY_RESOLVER, aic_counting_resolver_iface_init))

static char **
counted (const char  *uri,
         char       **proxies)
{
  g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);
  const char *host = parsed != NULL ? g_uri_get_host (parsed) : NULL;
  int port = parsed != NULL ? g_uri_get_port (parsed) : -1;

  if (host == NULL)
    return proxies;
  if (port < 0)
    port = g_str_equal (g_uri_get_scheme (parsed), "https") || g_str_equal (g_uri_get_scheme (parsed), "wss") ? 443 : 80;
  for (guint i = 0; proxies != NULL && proxies[i] != NULL; i++)
    if (g_str_equal (proxies[i], "direct://"))
      {
        g_free (proxies[i]);
        proxies[i] = strchr (host, ':') != NULL ? g_strdup_printf ("aic-count://[%s]:%d", host, port)
                                                : g_strdup_printf ("aic-count://%s:%d", host, port);
      }
  return proxies;
}

static char **
aic_counting_resolver_lookup (GProxyResolver  *resolver,
                              const char      *uri,
                              GCancellable    *cancellable,
                              GError         **error)
{
  AicCountingResolver *self = AIC_COUNTING_RESOLVER (resolver);
  char **proxies = g_proxy_resolver_lookup (self->system, uri, cancellable, error);

  return proxies != NULL ? counted (uri, proxies) : NULL;
}

static void
system_looked_up_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char **proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (object), result, &error);

  if (proxies == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, counted (g_task_get_task_data (task), proxies), (GDestroyNotify) g_strfreev);
}

static void
aic_counting_resolver_lookup_async (GProxyResolver      *resolver,
                                    const char          *uri,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  AicCountingResolver *self = AIC_COUNTING_RESOLVER (resolver);
  GTask *task = g_task_new (resolver, cancellable, callback, user_data);

  g_task_set_source_tag (task, aic_counting_resolver_lookup_async);
  g_task_set_task_data (task, g_strdup (uri), g_free);
  g_proxy_resolver_lookup_async (self->system, uri, cancellable, system_looked_up_cb, task);
}

static char **
aic_counting_resolver_lookup_finish (GProxyResolver  *resolver,
                                     GAsyncResult    *result,
                                     GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
aic_counting_resolver_is_supported (GProxyResolver *resolver)
{
  return TRUE;
}

static void
aic_counting_resolver_iface_init (GProxyResolverInterface *iface)
{
  iface->is_supported = aic_counting_resolver_is_supported;
  iface->lookup = aic_counting_resolver_lookup;
  iface->lookup_async = aic_counting_resolver_lookup_async;
  iface->lookup_finish = aic_counting_resolver_lookup_finish;
}

static void
aic_counting_resolver_finalize (GObject *object)
{
  g_clear_object (&AIC_COUNTING_RESOLVER (object)->system);
  G_OBJECT_CLASS (aic_counting_resolver_parent_class)->finalize (object);
}

static void
aic_counting_resolver_class_init (AicCountingResolverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_counting_resolver_finalize;
}

static void
aic_counting_resolver_init (AicCountingResolver *self)
{
}

/**
 * aic_counting_proxy_resolver_new:
 *
 * Returns: (transfer full): a resolver for a SoupSession whose WebSockets
 *   aic_ws_guard_attach() can limit
 */
GProxyResolver *
aic_counting_proxy_resolver_new (void)
{
  static gsize registered;
  AicCountingResolver *self;

  if (g_once_init_enter (&registered))
    {
      /* Asking once makes GIO register its extension points. */
      GProxy *none = g_proxy_get_default_for_protocol ("aic-count");

      g_clear_object (&none);
      g_io_extension_point_implement (G_PROXY_EXTENSION_POINT_NAME, AIC_TYPE_COUNTING_PROXY, "aic-count", 0);
      g_once_init_leave (&registered, 1);
    }
  self = g_object_new (AIC_TYPE_COUNTING_RESOLVER, NULL);
  self->system = g_object_ref (g_proxy_resolver_get_default ());
  return G_PROXY_RESOLVER (self);
}
