/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-event-stream.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-source.h"
#include "aic-ws-guard.h"

/* One server-side event stream and everyone reading it: the shape the
 * chat, job and agent hubs share (PROTOCOL.md "Chat: SSE", "Additions").
 *
 * Events carry ids that only grow. Each subscriber is a paused response
 * that gets every event after the id it came in with, written once; the
 * first event it gets carries the retry field. A stream that keeps its
 * events (chat) replays them itself; one that does not (jobs, agent runs,
 * whose history lives in a database) lets its hub send the backlog to a
 * new subscriber with aic_event_stream_send_to(). Quiet stretches get a
 * keep-alive comment. When the stream ends, every body is completed, and a
 * client that comes back for more than there is gets 204: the standard
 * EventSource's only "do not reconnect". */

#define DEFAULT_KEEP_ALIVE_MS (15 * 1000)

/* Kept events are one buffer of their text, back to back, and where
 * each ends: a few bytes of bookkeeping per event, not an allocation or
 * three. */
typedef struct
{
  guint64  id;
  gsize    end;     /* in the kept text */
} Kept;

/* A subscriber's connection is taken from libsoup once the response's
 * headers are written (as a WebSocket's is after its 101), and its body
 * written here as chunks: libsoup keeps, for each response it streams, a
 * 16 KiB buffer that read the request's headers and a source that every
 * main loop iteration walks, which made a held stream cost 30 KiB and a
 * token's cost grow with the number of streams. */
typedef struct
{
  AicEventStream    *stream;
  SoupServerMessage *message;       /* until the connection is taken */
  GIOStream         *io;            /* the connection, once taken */
  GQueue             queue;         /* GBytes: chunks not written yet */
  gsize              queued;        /* their bytes */
  gsize              written;       /* of the first */
  GSource           *writable;      /* while the connection is full */
  guint              gone_source;   /* to leave the list, outside a loop over it */
  guint64            last;          /* the last id it has been sent */
  gboolean           retry_sent;
  gboolean           chunked;       /* HTTP/1.1; 1.0 ends the body by closing */
  gboolean           ending;        /* the last chunk is queued */
  gboolean           over;          /* written all, or lost */
} Subscriber;

/* A client that reads nothing may not make us hold more for it. */
#define MAX_QUEUED (16 * 1024 * 1024)

struct _AicEventStream
{
  GObject                 parent_instance;

  guint8                 *kept_text;        /* the events, when retain */
  gsize                   kept_len;
  gsize                   kept_size;
  GArray                 *kept;             /* Kept */
  GString                *scratch;          /* the event being appended */
  GPtrArray              *subscribers;
  guint64                 last_id;
  gint64                  last_write;
  guint                   retry_ms;
  guint                   keep_alive_ms;
  struct _Ticker         *ticker;           /* while keep-alives are due */
  GList                   ticker_link;      /* in its streams; data is self */
  AicEventStreamIdleFunc  idle_func;
  gpointer                idle_data;
  gboolean                retain;
  gboolean                ended;
};

G_DEFINE_FINAL_TYPE (AicEventStream, aic_event_stream, G_TYPE_OBJECT)

static void
keep_text (AicEventStream *self,
           const char     *text,
           gsize           len)
{
  if (self->kept_len + len > self->kept_size)
    {
      self->kept_size = MAX (self->kept_len + len, MAX (self->kept_size + self->kept_size / 2, 256));
      self->kept_text = g_realloc (self->kept_text, self->kept_size);
    }
  memcpy (self->kept_text + self->kept_len, text, len);
  self->kept_len += len;
}

static void
closed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (object), result, NULL);
}

static void
subscriber_free (Subscriber *subscriber)
{
  if (subscriber->message != NULL)
    {
      g_signal_handlers_disconnect_by_data (subscriber->message, subscriber);
      g_object_unref (subscriber->message);
    }
  if (subscriber->writable != NULL)
    {
      g_source_destroy (subscriber->writable);
      g_source_unref (subscriber->writable);
    }
  g_clear_handle_id (&subscriber->gone_source, aic_source_remove);
  g_queue_clear_full (&subscriber->queue, (GDestroyNotify) g_bytes_unref);
  if (subscriber->io != NULL)
    {
      g_io_stream_close_async (subscriber->io, G_PRIORITY_DEFAULT, NULL, closed_cb, NULL);
      g_object_unref (subscriber->io);
    }
  g_free (subscriber);
}

static void subscriber_gone (Subscriber *subscriber);

static gboolean
gone_cb (gpointer data)
{
  Subscriber *subscriber = data;

  subscriber->gone_source = 0;
  subscriber_gone (subscriber);
  return G_SOURCE_REMOVE;
}

/* Done with it (all written, or the client lost): it leaves the list
 * soon, never from inside a loop over the list. */
static void
subscriber_over (Subscriber *subscriber)
{
  if (subscriber->over)
    return;
  subscriber->over = TRUE;
  subscriber->gone_source = aic_idle_add (G_PRIORITY_DEFAULT, gone_cb, subscriber);
}

static gboolean flush_cb (GObject *stream, gpointer data);

static void
subscriber_flush (Subscriber *subscriber)
{
  GPollableOutputStream *out;

  if (subscriber->io == NULL || subscriber->over || subscriber->writable != NULL)
    return;
  out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (subscriber->io));
  while (subscriber->queue.head != NULL)
    {
      GBytes *chunk = subscriber->queue.head->data;
      gsize len;
      const char *data = g_bytes_get_data (chunk, &len);
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (out, data + subscriber->written,
                                                             len - subscriber->written, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          subscriber->writable = g_pollable_output_stream_create_source (out, NULL);
          g_source_set_callback (subscriber->writable, (GSourceFunc) (void (*) (void)) flush_cb, subscriber, NULL);
          g_source_attach (subscriber->writable, g_main_context_get_thread_default ());
          return;
        }
      if (n <= 0)
        {
          g_debug ("An event stream's client is gone: %s", error ? error->message : "nothing written");
          subscriber_over (subscriber);
          return;
        }
      subscriber->written += n;
      if (subscriber->written < len)
        continue;
      subscriber->queued -= len;
      subscriber->written = 0;
      g_bytes_unref (g_queue_pop_head (&subscriber->queue));
    }
  if (subscriber->ending)
    subscriber_over (subscriber);
}

static gboolean
flush_cb (GObject  *stream,
          gpointer  data)
{
  Subscriber *subscriber = data;

  g_clear_pointer (&subscriber->writable, g_source_unref);
  subscriber_flush (subscriber);
  return G_SOURCE_REMOVE;
}

/* Queues @chunk (framed already) and writes what it can. */
static void
subscriber_send (Subscriber *subscriber,
                 GBytes     *chunk)
{
  if (subscriber->over || subscriber->ending)
    return;
  subscriber->queued += g_bytes_get_size (chunk);
  g_queue_push_tail (&subscriber->queue, g_bytes_ref (chunk));
  if (subscriber->queued > MAX_QUEUED)
    {
      g_debug ("An event stream's client reads nothing; dropping it");
      subscriber_over (subscriber);
      return;
    }
  subscriber_flush (subscriber);
}

/* One HTTP/1.1 chunk of @prefix and @data, or the two as they are. */
static GBytes *
frame_chunk (const char *prefix,
             gsize       prefix_len,
             const char *data,
             gsize       len,
             gboolean    chunked)
{
  char head[24];
  int n = chunked ? g_snprintf (head, sizeof head, "%" G_GSIZE_MODIFIER "x\r\n", prefix_len + len) : 0;
  gsize tail = chunked ? 2 : 0;
  char *chunk = g_malloc (n + prefix_len + len + tail);

  memcpy (chunk, head, n);
  if (prefix_len > 0)
    memcpy (chunk + n, prefix, prefix_len);
  memcpy (chunk + n + prefix_len, data, len);
  memcpy (chunk + n + prefix_len + len, "\r\n", tail);
  return g_bytes_new_take (chunk, n + prefix_len + len + tail);
}

/* @framed: @text as a chunk already, or %NULL */
static void
subscriber_write_framed (Subscriber *subscriber,
                         guint64     id,
                         const char *text,
                         gsize       len,
                         GBytes     *framed)
{
  AicEventStream *self = subscriber->stream;
  g_autoptr(GBytes) chunk = NULL;

  if (!subscriber->retry_sent && self->retry_ms > 0)
    {
      /* Inside the event's block, never a block of its own: some clients
       * fire an empty message for one. */
      char prefix[32];
      int n = g_snprintf (prefix, sizeof prefix, "retry: %u\n", self->retry_ms);

      chunk = frame_chunk (prefix, n, text, len, subscriber->chunked);
    }
  else
    {
      chunk = framed != NULL && subscriber->chunked ? g_bytes_ref (framed)
                                                    : frame_chunk (NULL, 0, text, len, subscriber->chunked);
    }
  subscriber_send (subscriber, chunk);
  subscriber->retry_sent = TRUE;
  if (id > subscriber->last)
    subscriber->last = id;
}

static void
subscriber_write (Subscriber *subscriber,
                  guint64     id,
                  GBytes     *text)
{
  gsize len;
  const char *data = g_bytes_get_data (text, &len);

  subscriber_write_framed (subscriber, id, data, len, NULL);
}

static void
subscriber_end (Subscriber *subscriber)
{
  static const char last[] = "0\r\n\r\n";
  g_autoptr(GBytes) chunk = g_bytes_new_static (last, sizeof last - 1);

  if (subscriber->chunked)
    subscriber_send (subscriber, chunk);
  subscriber->ending = TRUE;
  subscriber_flush (subscriber);
}

static void
keep_alive (AicEventStream *self,
            gint64          now)
{
  static const char comment[] = "e\r\n: keep-alive\n\n\r\n";   /* a chunk */
  g_autoptr(GBytes) chunk = NULL;
  g_autoptr(GBytes) plain = NULL;

  if (now - self->last_write < (gint64) self->keep_alive_ms * 1000)
    return;

  chunk = g_bytes_new_static (comment, sizeof comment - 1);
  plain = g_bytes_new_static (comment + 3, sizeof comment - 1 - 5);
  for (guint i = 0; i < self->subscribers->len; i++)
    {
      Subscriber *subscriber = g_ptr_array_index (self->subscribers, i);

      subscriber_send (subscriber, subscriber->chunked ? chunk : plain);
    }
  self->last_write = g_get_monotonic_time ();
}

/* One timer for the keep-alives of every stream on a main context, not
 * one a stream: a GMainContext walks all its sources on every iteration,
 * so ten thousand idle timers made every event dearer. It ticks at a
 * third of the shortest keep-alive among its streams, and each stream
 * sends a comment when its own silence has lasted long enough. */
typedef struct _Ticker
{
  GMainContext *context;
  GSource      *source;
  guint         interval_ms;
  GQueue        streams;
} Ticker;

static GMutex      tickers_lock;
static GHashTable *tickers;        /* GMainContext → Ticker */

static gboolean
ticker_cb (gpointer data)
{
  Ticker *ticker = data;
  g_autoptr(GPtrArray) streams = g_ptr_array_new_full (ticker->streams.length, g_object_unref);
  gint64 now = g_get_monotonic_time ();

  /* Writing may end a subscriber and so take its stream off the list. */
  for (GList *l = ticker->streams.head; l != NULL; l = l->next)
    g_ptr_array_add (streams, g_object_ref (l->data));
  for (guint i = 0; i < streams->len; i++)
    {
      AicEventStream *stream = g_ptr_array_index (streams, i);

      if (stream->ticker == ticker)
        keep_alive (stream, now);
    }
  return G_SOURCE_CONTINUE;
}

static void
ticker_start (Ticker *ticker,
              guint   interval_ms)
{
  if (ticker->source != NULL)
    {
      g_source_destroy (ticker->source);
      g_source_unref (ticker->source);
    }
  ticker->interval_ms = interval_ms;
  ticker->source = g_timeout_source_new (interval_ms);
  g_source_set_static_name (ticker->source, "[aic] event stream keep-alive");
  g_source_set_callback (ticker->source, ticker_cb, ticker, NULL);
  g_source_attach (ticker->source, ticker->context);
}

static void
ticker_add (AicEventStream *self)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  guint interval_ms = MAX (self->keep_alive_ms / 3, 10);
  Ticker *ticker;

  g_mutex_lock (&tickers_lock);
  if (tickers == NULL)
    tickers = g_hash_table_new (NULL, NULL);
  ticker = g_hash_table_lookup (tickers, context);
  if (ticker == NULL)
    {
      ticker = g_new0 (Ticker, 1);
      ticker->context = g_main_context_ref (context);
      g_hash_table_insert (tickers, context, ticker);
    }
  g_mutex_unlock (&tickers_lock);

  if (ticker->source == NULL || interval_ms < ticker->interval_ms)
    ticker_start (ticker, interval_ms);
  self->ticker = ticker;
  self->ticker_link.data = self;
  g_queue_push_tail_link (&ticker->streams, &self->ticker_link);
}

static void
ticker_remove (AicEventStream *self)
{
  Ticker *ticker = self->ticker;

  g_queue_unlink (&ticker->streams, &self->ticker_link);
  self->ticker = NULL;
  if (ticker->streams.length > 0)
    return;
  /* The last: the context keeps no timer of ours. */
  g_mutex_lock (&tickers_lock);
  g_hash_table_remove (tickers, ticker->context);
  g_mutex_unlock (&tickers_lock);
  g_source_destroy (ticker->source);
  g_source_unref (ticker->source);
  g_main_context_unref (ticker->context);
  g_free (ticker);
}

static void
update_keep_alive (AicEventStream *self)
{
  gboolean wanted = !self->ended && self->subscribers->len > 0 && self->keep_alive_ms > 0;

  if (wanted && self->ticker == NULL)
    ticker_add (self);
  else if (!wanted && self->ticker != NULL)
    ticker_remove (self);
}

static void
subscriber_gone (Subscriber *subscriber)
{
  AicEventStream *self = subscriber->stream;

  if (self == NULL)
    {
      /* Outlived its stream (see dispose): nobody lists it. */
      subscriber_free (subscriber);
      return;
    }
  /* Frees @subscriber. */
  g_ptr_array_remove_fast (self->subscribers, subscriber);
  update_keep_alive (self);
  if (!self->ended && self->subscribers->len == 0 && self->idle_func != NULL)
    self->idle_func (self, self->idle_data);
}

static Subscriber *
find_subscriber (AicEventStream    *self,
                 SoupServerMessage *message)
{
  for (guint i = 0; i < self->subscribers->len; i++)
    {
      Subscriber *subscriber = g_ptr_array_index (self->subscribers, i);

      if (subscriber->message == message && message != NULL)
        return subscriber;
    }
  return NULL;
}

static void
aic_event_stream_dispose (GObject *object)
{
  AicEventStream *self = AIC_EVENT_STREAM (object);

  if (self->ticker != NULL)
    ticker_remove (self);
  /* A stream dropped as soon as it is ended (a finished job's) still
   * gets to its readers whole: each subscriber ends its body and goes on
   * by itself until written, or its client is gone. */
  while (self->subscribers != NULL && self->subscribers->len > 0)
    {
      Subscriber *subscriber = g_ptr_array_steal_index_fast (self->subscribers, self->subscribers->len - 1);

      if (!subscriber->ending && !subscriber->over)
        subscriber_end (subscriber);
      subscriber->stream = NULL;
      if (subscriber->over && subscriber->gone_source == 0)
        subscriber_free (subscriber);
    }

  G_OBJECT_CLASS (aic_event_stream_parent_class)->dispose (object);
}

static void
aic_event_stream_finalize (GObject *object)
{
  AicEventStream *self = AIC_EVENT_STREAM (object);

  g_clear_pointer (&self->subscribers, g_ptr_array_unref);
  g_clear_pointer (&self->kept, g_array_unref);
  g_clear_pointer (&self->kept_text, g_free);
  if (self->scratch != NULL)
    g_string_free (self->scratch, TRUE);

  G_OBJECT_CLASS (aic_event_stream_parent_class)->finalize (object);
}

static void
aic_event_stream_class_init (AicEventStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_event_stream_dispose;
  object_class->finalize = aic_event_stream_finalize;
}

static void
aic_event_stream_init (AicEventStream *self)
{
  self->kept = g_array_new (FALSE, FALSE, sizeof (Kept));
  self->subscribers = g_ptr_array_new_with_free_func ((GDestroyNotify) subscriber_free);
  self->keep_alive_ms = DEFAULT_KEEP_ALIVE_MS;
  self->last_write = g_get_monotonic_time ();
}

/**
 * aic_event_stream_new:
 * @retain: keep every event, so that a subscriber can be sent any of them
 * @retry_ms: the retry field sent with each subscriber's first event, or 0
 */
AicEventStream *
aic_event_stream_new (gboolean retain,
                      guint    retry_ms)
{
  AicEventStream *self = g_object_new (AIC_TYPE_EVENT_STREAM, NULL);

  self->retain = retain;
  self->retry_ms = retry_ms;
  return self;
}

/**
 * aic_event_stream_set_keep_alive:
 * @milliseconds: the longest silence before a comment is sent (PROTOCOL.md:
 *   15 s), or 0 for none
 */
void
aic_event_stream_set_keep_alive (AicEventStream *self,
                                 guint           milliseconds)
{
  g_return_if_fail (AIC_IS_EVENT_STREAM (self));

  self->keep_alive_ms = milliseconds;
  if (self->ticker != NULL)
    ticker_remove (self);
  update_keep_alive (self);
}

void
aic_event_stream_set_idle_func (AicEventStream         *self,
                                AicEventStreamIdleFunc  func,
                                gpointer                user_data)
{
  g_return_if_fail (AIC_IS_EVENT_STREAM (self));
  self->idle_func = func;
  self->idle_data = user_data;
}

/**
 * aic_event_stream_append_data:
 * @id: the event's id, above every earlier one; 0 for the next number
 * @data: the event's data, one line of JSON already written
 *
 * Sends an event to every subscriber that has not had it, and keeps it if
 * the stream retains its events. The event is formatted once, whoever
 * reads it and however often it is replayed.
 */
void
aic_event_stream_append_data (AicEventStream *self,
                              guint64         id,
                              const char     *name,
                              const char     *data,
                              gsize           data_len)
{
  g_autoptr(GBytes) text = NULL;

  g_return_if_fail (AIC_IS_EVENT_STREAM (self));
  g_return_if_fail (!self->ended);
  g_return_if_fail (id == 0 || id > self->last_id);

  if (id == 0)
    id = self->last_id + 1;
  self->last_id = id;
  if (self->scratch == NULL)
    self->scratch = g_string_sized_new (128);
  g_string_truncate (self->scratch, 0);
  aic_reply_append_event (self->scratch, id, name, data, data_len);
  if (self->retain)
    {
      Kept kept;

      keep_text (self, self->scratch->str, self->scratch->len);
      kept.id = id;
      kept.end = self->kept_len;
      g_array_append_val (self->kept, kept);
    }

  for (guint i = 0; i < self->subscribers->len; i++)
    {
      Subscriber *subscriber = g_ptr_array_index (self->subscribers, i);

      if (subscriber->last >= id)
        continue;
      /* Framed once for everyone who takes it as it is. */
      if (text == NULL)
        text = frame_chunk (NULL, 0, self->scratch->str, self->scratch->len, TRUE);
      subscriber_write_framed (subscriber, id, self->scratch->str, self->scratch->len, text);
    }
  self->last_write = g_get_monotonic_time ();
}

/**
 * aic_event_stream_append:
 * @data: the event's data, written as one line of JSON
 *
 * As aic_event_stream_append_data(), for data held as a JsonNode.
 */
void
aic_event_stream_append (AicEventStream *self,
                         guint64         id,
                         const char     *name,
                         JsonNode       *data)
{
  g_autofree char *text = NULL;

  g_return_if_fail (AIC_IS_EVENT_STREAM (self));

  text = aic_json_to_string (data, FALSE);
  aic_event_stream_append_data (self, id, name, text, strlen (text));
}

/**
 * aic_event_stream_end:
 * Completes every subscriber's body. Later subscribers get what is kept
 * after their id, or 204 when there is nothing.
 */
void
aic_event_stream_end (AicEventStream *self)
{
  g_return_if_fail (AIC_IS_EVENT_STREAM (self));

  if (self->ended)
    return;
  self->ended = TRUE;
  update_keep_alive (self);
  /* Each stays listed until its last chunk is written. */
  for (guint i = 0; i < self->subscribers->len; i++)
    subscriber_end (g_ptr_array_index (self->subscribers, i));
}

gboolean
aic_event_stream_is_ended (AicEventStream *self)
{
  g_return_val_if_fail (AIC_IS_EVENT_STREAM (self), FALSE);
  return self->ended;
}

guint64
aic_event_stream_get_last_id (AicEventStream *self)
{
  g_return_val_if_fail (AIC_IS_EVENT_STREAM (self), 0);
  return self->last_id;
}

guint
aic_event_stream_get_n_subscribers (AicEventStream *self)
{
  g_return_val_if_fail (AIC_IS_EVENT_STREAM (self), 0);
  return self->subscribers->len;
}

/**
 * aic_event_stream_has_after:
 * Whether an event with an id above @after was appended.
 */
gboolean
aic_event_stream_has_after (AicEventStream *self,
                            guint64         after)
{
  g_return_val_if_fail (AIC_IS_EVENT_STREAM (self), FALSE);
  return self->last_id > after;
}

/* 200 text/event-stream, chunked; libsoup writes the head, then the
 * connection is ours (take_connection_cb) and is closed after the
 * stream. No "Connection: close": with it, fetch() (undici) takes a
 * connection cut mid-stream for the end of the body, and does not
 * resume. "Keep-Alive: timeout=0" says the same close in a way that
 * keeps the body strict: without it, a client that keeps connections
 * (undici) sends its next request on this one as our close is on its
 * way, and that request fails ("fetch failed", 1 run in 5 of
 * test-sse-resume). */
static void
start_response (SoupServerMessage *message)
{
  aic_reply_set_event_stream_head (message);
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "Keep-Alive", "timeout=0");
}

static void
take_connection_cb (SoupServerMessage *message,
                    Subscriber        *subscriber)
{
  AicCountingStream *counting;

  g_signal_handlers_disconnect_by_data (message, subscriber);
  subscriber->io = soup_server_message_steal_connection (message);
  g_clear_object (&subscriber->message);
  if (subscriber->io == NULL)
    {
      subscriber_over (subscriber);
      return;
    }
  /* Our chunks go out whole already (see aic-ws-guard.c). */
  counting = aic_counting_stream_find (subscriber->io);
  if (counting != NULL)
    aic_counting_stream_set_coalesce_chunks (counting, FALSE);
  subscriber_flush (subscriber);
}

/**
 * aic_event_stream_subscribe:
 * @after: the last id the client has (its Last-Event-ID), or 0
 *
 * Answers @message with the stream: the kept events after @after, then
 * live ones. An ended stream with nothing after @after answers 204.
 */
void
aic_event_stream_subscribe (AicEventStream    *self,
                            SoupServerMessage *message,
                            guint64            after)
{
  Subscriber *subscriber;

  g_return_if_fail (AIC_IS_EVENT_STREAM (self));
  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (message));

  if (self->ended && !aic_event_stream_has_after (self, after))
    {
      aic_event_stream_reply_over (message);
      return;
    }

  subscriber = g_new0 (Subscriber, 1);
  subscriber->stream = self;
  subscriber->message = g_object_ref (message);
  subscriber->last = after;
  subscriber->chunked = soup_server_message_get_http_version (message) != SOUP_HTTP_1_0;
  /* Until the connection is ours, libsoup says when the client is gone;
   * one that goes away may only say "disconnected". */
  g_signal_connect_swapped (message, "finished", G_CALLBACK (subscriber_gone), subscriber);
  g_signal_connect_swapped (message, "disconnected", G_CALLBACK (subscriber_gone), subscriber);
  g_signal_connect (message, "wrote-headers", G_CALLBACK (take_connection_cb), subscriber);
  g_ptr_array_add (self->subscribers, subscriber);
  update_keep_alive (self);

  start_response (message);
  /* The kept events after @after: one write of the text they share. */
  if (self->kept->len > 0 &&
      g_array_index (self->kept, Kept, self->kept->len - 1).id > subscriber->last)
    {
      g_autoptr(GBytes) text = NULL;
      guint first = self->kept->len - 1;
      gsize start;

      while (first > 0 && g_array_index (self->kept, Kept, first - 1).id > subscriber->last)
        first--;
      start = first > 0 ? g_array_index (self->kept, Kept, first - 1).end : 0;
      text = g_bytes_new (self->kept_text + start, self->kept_len - start);
      subscriber_write (subscriber, g_array_index (self->kept, Kept, self->kept->len - 1).id, text);
    }
  if (self->ended)
    subscriber_end (subscriber);
}

/**
 * aic_event_stream_send_to:
 * Sends one event to one subscriber only: the backlog a hub keeps
 * elsewhere, or the state a late subscriber starts from. Events up to
 * @id are not sent to it again.
 */
void
aic_event_stream_send_to (AicEventStream    *self,
                          SoupServerMessage *message,
                          guint64            id,
                          const char        *name,
                          JsonNode          *data)
{
  Subscriber *subscriber;
  g_autoptr(GBytes) text = NULL;

  g_return_if_fail (AIC_IS_EVENT_STREAM (self));

  subscriber = find_subscriber (self, message);
  g_return_if_fail (subscriber != NULL);
  if (id <= subscriber->last)
    return;
  text = aic_reply_format_event (id, name, data, 0);
  subscriber_write (subscriber, id, text);
}

/**
 * aic_event_stream_parse_last_id:
 * Reads Last-Event-ID (0 when absent); on a bad one, answers 400 and
 * returns %FALSE.
 */
gboolean
aic_event_stream_parse_last_id (SoupServerMessage *message,
                                guint64           *after)
{
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (message),
                                                     "Last-Event-ID");

  *after = 0;
  if (header == NULL || header[0] == '\0')
    return TRUE;
  if (g_ascii_string_to_unsigned (header, 10, 0, G_MAXINT64, after, NULL))
    return TRUE;
  aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request",
                   "Last-Event-ID must be an event number.");
  return FALSE;
}

/**
 * aic_event_stream_reply_over:
 * 204: the stream is over and there is nothing more to send; a
 * spec-following EventSource stops reconnecting.
 */
void
aic_event_stream_reply_over (SoupServerMessage *message)
{
  soup_server_message_set_status (message, SOUP_STATUS_NO_CONTENT, NULL);
}
