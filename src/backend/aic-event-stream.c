/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-event-stream.h"
#include "aic-json.h"
#include "aic-reply.h"

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

typedef struct
{
  AicEventStream    *stream;
  SoupServerMessage *message;
  guint64            last;          /* the last id it has been sent */
  gboolean           retry_sent;
} Subscriber;

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
subscriber_free (Subscriber *subscriber)
{
  g_signal_handlers_disconnect_by_data (subscriber->message, subscriber);
  g_object_unref (subscriber->message);
  g_free (subscriber);
}

static void
subscriber_write (Subscriber *subscriber,
                  guint64     id,
                  GBytes     *text)
{
  AicEventStream *self = subscriber->stream;

  if (!subscriber->retry_sent && self->retry_ms > 0)
    {
      /* Inside the event's block, never a block of its own: some clients
       * fire an empty message for one. */
      g_autofree char *prefix = g_strdup_printf ("retry: %u\n", self->retry_ms);
      GByteArray *joined = g_byte_array_new ();
      g_autoptr(GBytes) bytes = NULL;

      g_byte_array_append (joined, (const guint8 *) prefix, strlen (prefix));
      g_byte_array_append (joined, g_bytes_get_data (text, NULL), g_bytes_get_size (text));
      bytes = g_byte_array_free_to_bytes (joined);
      aic_reply_write (subscriber->message, bytes);
    }
  else
    {
      aic_reply_write (subscriber->message, text);
    }
  subscriber->retry_sent = TRUE;
  if (id > subscriber->last)
    subscriber->last = id;
}

static void
keep_alive (AicEventStream *self,
            gint64          now)
{
  static const char comment[] = ": keep-alive\n\n";
  g_autoptr(GBytes) bytes = NULL;

  if (now - self->last_write < (gint64) self->keep_alive_ms * 1000)
    return;

  bytes = g_bytes_new_static (comment, sizeof comment - 1);
  for (guint i = 0; i < self->subscribers->len; i++)
    aic_reply_write (((Subscriber *) g_ptr_array_index (self->subscribers, i))->message, bytes);
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
subscriber_gone_cb (SoupServerMessage *message,
                    Subscriber        *subscriber)
{
  AicEventStream *self = subscriber->stream;

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

      if (subscriber->message == message)
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
  if (self->subscribers != NULL)
    g_ptr_array_set_size (self->subscribers, 0);

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
      if (text == NULL)
        text = g_bytes_new (self->scratch->str, self->scratch->len);
      subscriber_write (subscriber, id, text);
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
  /* Each stays listed until libsoup says the response is finished. */
  for (guint i = 0; i < self->subscribers->len; i++)
    aic_reply_end (((Subscriber *) g_ptr_array_index (self->subscribers, i))->message);
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
  /* A client that goes away mid-stream may only say "disconnected". */
  g_signal_connect (message, "finished", G_CALLBACK (subscriber_gone_cb), subscriber);
  g_signal_connect (message, "disconnected", G_CALLBACK (subscriber_gone_cb), subscriber);
  g_ptr_array_add (self->subscribers, subscriber);
  update_keep_alive (self);

  aic_reply_start_event_stream (message);
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
    aic_reply_end (message);
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
