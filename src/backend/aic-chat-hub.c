/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-chat-hub.h"
#include "aic-event-stream.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-source.h"
#include "aic-token.h"

/* The chat streams of a console backend (PROTOCOL.md "Chat: SSE").
 *
 * Each POST /api/chat/stream starts a run: the engine generates, and every
 * event (start, token…, done or error) is numbered, kept, and written to
 * whoever is subscribed. A client whose connection drops comes back with
 * GET /api/chat/streams/{id} and Last-Event-ID, gets what it missed, and
 * continues live; the response's Location names that address. A POST that
 * repeats its Idempotency-Key or carries Last-Event-ID resumes the run its
 * request started instead of paying for another. A finished stream with
 * nothing more to send answers 204. Runs are kept 5 minutes after they
 * end; a run nobody
 * listens to for 30 s is cancelled, and so is one whose cancel route is
 * called: both stop the engine, not just the delivery. Silent stretches
 * get a keep-alive comment every 15 s. Everything runs on the server's
 * main context. */

#define DEFAULT_KEEP_ALIVE_MS (15 * 1000)
#define DEFAULT_ORPHAN_MS     (30 * 1000)
#define DEFAULT_RETENTION_MS  (5 * 60 * 1000)
/* Sent with the first event: a client that lost the connection should
 * come back quickly, the run goes on meanwhile. */
#define RETRY_MS              250

typedef struct
{
  AicChatHub     *hub;
  char           *id;
  char           *idempotency_key;   /* nullable */
  char           *digest;            /* of the request body */
  AicEventStream *stream;            /* keeps every event */
  GCancellable   *cancellable;
  guint           orphan_source;
  guint           expire_source;
} Run;

struct _AicChatHub
{
  GObject     parent_instance;

  AicEngine  *engine;
  GHashTable *runs;                /* id → Run */
  GHashTable *by_key;              /* Idempotency-Key → id */
  GHashTable *by_digest;           /* body digest → id of the newest run */
  guint       keep_alive_ms;
  guint       orphan_ms;
  guint       retention_ms;
  GString    *scratch;             /* a token's data, being written */
};

G_DEFINE_FINAL_TYPE (AicChatHub, aic_chat_hub, G_TYPE_OBJECT)

static void
run_free (Run *run)
{
  g_cancellable_cancel (run->cancellable);
  g_clear_handle_id (&run->orphan_source, aic_source_remove);
  g_clear_handle_id (&run->expire_source, aic_source_remove);
  g_clear_object (&run->stream);
  g_clear_object (&run->cancellable);
  g_free (run->idempotency_key);
  g_free (run->digest);
  g_free (run->id);
  g_free (run);
}

static gboolean
run_is_finished (Run *run)
{
  return aic_event_stream_is_ended (run->stream);
}

static gboolean
orphaned_cb (gpointer data)
{
  Run *run = data;

  run->orphan_source = 0;
  g_debug ("Chat stream %s: nobody resumed it; stopping the engine", run->id);
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_REMOVE;
}

static void
stream_idle_cb (AicEventStream *stream,
                gpointer        user_data)
{
  Run *run = user_data;

  if (run->orphan_source == 0)
    run->orphan_source = aic_timeout_add (run->hub->orphan_ms, orphaned_cb, run);
}

static void
subscribe (Run               *run,
           SoupServerMessage *message,
           guint64            after)
{
  g_autofree char *location = g_strdup_printf ("/api/chat/streams/%s", run->id);

  /* Where to come back to: a client resumes with GET there, never by
   * sending the POST again. */
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "Location", location);
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "X-Stream-Id", run->id);
  g_clear_handle_id (&run->orphan_source, aic_source_remove);
  aic_event_stream_subscribe (run->stream, message, after);
}

/* id, event name, and data whose "type" repeats the name: clients keyed on
 * either work (PROTOCOL.md). */
static void
append_event (Run         *run,
              const char  *type,
              JsonBuilder *fields)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_if_fail (!run_is_finished (run));

  json_builder_set_member_name (fields, "type");
  json_builder_add_string_value (fields, type);
  json_builder_end_object (fields);
  root = json_builder_get_root (fields);
  aic_event_stream_append (run->stream, 0, type, root);
}

static JsonBuilder *
begin_fields (void)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  return builder;
}

static gboolean
expire_cb (gpointer data)
{
  Run *run = data;
  AicChatHub *hub = run->hub;

  run->expire_source = 0;
  if (run->idempotency_key != NULL)
    g_hash_table_remove (hub->by_key, run->idempotency_key);
  if (g_strcmp0 (g_hash_table_lookup (hub->by_digest, run->digest), run->id) == 0)
    g_hash_table_remove (hub->by_digest, run->digest);
  g_hash_table_remove (hub->runs, run->id);
  return G_SOURCE_REMOVE;
}

static void
finish_run (Run         *run,
            const char  *type,
            JsonBuilder *fields)
{
  /* Subscribers get the last event, then the end of the body. */
  append_event (run, type, fields);
  aic_event_stream_end (run->stream);
  g_clear_handle_id (&run->orphan_source, aic_source_remove);
  run->expire_source = aic_timeout_add (run->hub->retention_ms, expire_cb, run);
}

typedef struct
{
  AicChatHub *hub;
  char       *id;
} RunRef;

/* Engine callbacks find their run by id: it may have expired meanwhile. */
static Run *
run_ref_get (RunRef *ref)
{
  return ref->hub ? g_hash_table_lookup (ref->hub->runs, ref->id) : NULL;
}

static void
run_ref_free (RunRef *ref)
{
  g_clear_weak_pointer (&ref->hub);
  g_free (ref->id);
  g_free (ref);
}

/* The hot path: a token's data written straight, byte for byte what
 * append_event() makes of it through json-glib, without a JsonNode. */
static void
on_token (const char *text,
          gpointer    user_data)
{
  RunRef *ref = user_data;
  Run *run = run_ref_get (ref);
  GString *data;

  if (run == NULL || run_is_finished (run))
    return;
  data = ref->hub->scratch;
  g_string_assign (data, "{\"content\":");
  aic_reply_append_json_string (data, text);
  g_string_append (data, ",\"type\":\"token\"}");
  aic_event_stream_append_data (run->stream, 0, "token", data->str, data->len);
}

static void
chat_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  RunRef *ref = user_data;
  Run *run = run_ref_get (ref);
  g_autoptr(AicEngineReply) reply = NULL;
  g_autoptr(JsonBuilder) fields = begin_fields ();
  g_autoptr(GError) error = NULL;

  reply = aic_engine_chat_finish (AIC_ENGINE (object), result, &error);
  if (run == NULL || run_is_finished (run))
    {
      run_ref_free (ref);
      return;
    }

  if (reply == NULL)
    {
      json_builder_set_member_name (fields, "code");
      json_builder_add_string_value (fields, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                             ? "cancelled" : "engine_failed");
      json_builder_set_member_name (fields, "message");
      json_builder_add_string_value (fields, error->message);
      finish_run (run, "error", fields);
      run_ref_free (ref);
      return;
    }

  json_builder_set_member_name (fields, "finish_reason");
  json_builder_add_string_value (fields, reply->finish_reason ? reply->finish_reason : "stop");
  json_builder_set_member_name (fields, "usage");
  json_builder_begin_object (fields);
  if (reply->prompt_tokens >= 0)
    {
      json_builder_set_member_name (fields, "prompt_tokens");
      json_builder_add_int_value (fields, reply->prompt_tokens);
    }
  if (reply->completion_tokens >= 0)
    {
      json_builder_set_member_name (fields, "completion_tokens");
      json_builder_add_int_value (fields, reply->completion_tokens);
    }
  json_builder_end_object (fields);
  finish_run (run, "done", fields);
  run_ref_free (ref);
}

static gboolean
is_role (const char *role)
{
  return g_strcmp0 (role, "system") == 0 || g_strcmp0 (role, "user") == 0 ||
         g_strcmp0 (role, "assistant") == 0;
}

/* The full form {"messages": […]} or the short form {"message": "…"}; the
 * first wins when both come. Every member's type is checked. */
static GPtrArray *
read_turns (JsonObject  *object,
            GError     **error)
{
  g_autoptr(GPtrArray) turns = g_ptr_array_new_with_free_func (g_free);
  JsonNode *messages = json_object_get_member (object, "messages");
  const char *message = NULL;

  if (messages != NULL && !JSON_NODE_HOLDS_NULL (messages))
    {
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (messages))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "“messages” must be a list.");
          return NULL;
        }
      array = json_node_get_array (messages);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *node = json_array_get_element (array, i);
          const char *role, *content;

          if (!JSON_NODE_HOLDS_OBJECT (node) ||
              !aic_json_get_string (json_node_get_object (node), "role", TRUE, &role, NULL) ||
              !aic_json_get_string (json_node_get_object (node), "content", TRUE, &content, NULL) ||
              !is_role (role))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "Message %u must be {\"role\": \"system\"|\"user\"|\"assistant\", \"content\": \"…\"}.", i);
              return NULL;
            }
          g_ptr_array_add (turns, g_strdup (role));
          g_ptr_array_add (turns, g_strdup (content));
        }
    }
  else
    {
      if (!aic_json_get_string (object, "message", FALSE, &message, NULL))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "“message” must be a string.");
          return NULL;
        }
      if (message != NULL)
        {
          g_ptr_array_add (turns, g_strdup ("user"));
          g_ptr_array_add (turns, g_strdup (message));
        }
    }

  if (turns->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "Send {\"messages\": […]} or {\"message\": \"…\"}.");
      return NULL;
    }
  return g_steal_pointer (&turns);
}

static void
unknown_stream (SoupServerMessage *message,
                const char        *stream_id)
{
  g_autofree char *text = g_strdup_printf ("There is no chat stream %s (streams are kept 5 minutes after they end).",
                                           stream_id);

  aic_reply_error (message, SOUP_STATUS_NOT_FOUND, "unknown_stream", text);
}

/* A POST that repeats an Idempotency-Key, or that carries Last-Event-ID
 * (a client reconnecting by sending its request again, as EventSource
 * polyfills do), resumes the stream that request started: it never pays
 * for a second generation. Returns whether @message was answered; else
 * @digest is the body's, for the new run. */
static gboolean
resume_by_request (AicChatHub         *self,
                   SoupServerMessage  *message,
                   char              **digest)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  const char *last = soup_message_headers_get_one (headers, "Last-Event-ID");
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  const char *id = NULL;
  guint64 after = 0;
  Run *run;

  *digest = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  if (!aic_event_stream_parse_last_id (message, &after))
    return TRUE;

  if (key != NULL && key[0] != '\0')
    id = g_hash_table_lookup (self->by_key, key);
  if (id == NULL && last != NULL && last[0] != '\0')
    {
      id = g_hash_table_lookup (self->by_digest, *digest);
      if (id == NULL)
        {
          aic_reply_error (message, SOUP_STATUS_CONFLICT, "stream_gone",
                           "The stream this request resumes is no longer kept (streams are kept 5 minutes "
                           "after they end); send the request without Last-Event-ID to start a new one.");
          return TRUE;
        }
    }
  if (id == NULL)
    return FALSE;

  run = g_hash_table_lookup (self->runs, id);
  g_return_val_if_fail (run != NULL, FALSE);
  g_debug ("Chat stream %s resumed by a repeated POST after event %" G_GUINT64_FORMAT, run->id, after);
  subscribe (run, message, after);
  return TRUE;
}

/**
 * aic_chat_hub_start:
 * Handles POST /api/chat/stream. Errors before the stream starts are plain
 * JSON error responses.
 */
void
aic_chat_hub_start (AicChatHub        *self,
                    SoupServerMessage *message)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) turns = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) fields = NULL;
  g_autofree char *digest = NULL;
  const char *key;
  JsonObject *object;
  const char *model = NULL, *conversation_id = NULL;
  JsonNode *temperature;
  RunRef *ref;
  Run *run;

  if (resume_by_request (self, message, &digest))
    return;

  object = aic_request_json (message, &root);
  if (object == NULL)
    return;

  turns = read_turns (object, &error);
  if (turns == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", error->message);
      return;
    }
  if (!aic_json_get_string (object, "model", FALSE, &model, &error) ||
      !aic_json_get_string (object, "conversation_id", FALSE, &conversation_id, &error))
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", error->message);
      return;
    }
  temperature = json_object_get_member (object, "temperature");
  if (temperature != NULL && !JSON_NODE_HOLDS_NULL (temperature) &&
      (!JSON_NODE_HOLDS_VALUE (temperature) ||
       (json_node_get_value_type (temperature) != G_TYPE_DOUBLE &&
        json_node_get_value_type (temperature) != G_TYPE_INT64)))
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_request", "“temperature” must be a number.");
      return;
    }

  run = g_new0 (Run, 1);
  run->hub = self;
  run->id = aic_token_new_id ("s");
  run->digest = g_steal_pointer (&digest);
  run->stream = aic_event_stream_new (TRUE, RETRY_MS);
  aic_event_stream_set_keep_alive (run->stream, self->keep_alive_ms);
  aic_event_stream_set_idle_func (run->stream, stream_idle_cb, run);
  run->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->runs, run->id, run);
  g_hash_table_replace (self->by_digest, g_strdup (run->digest), g_strdup (run->id));
  key = soup_message_headers_get_one (soup_server_message_get_request_headers (message), "Idempotency-Key");
  if (key != NULL && key[0] != '\0')
    {
      run->idempotency_key = g_strdup (key);
      g_hash_table_replace (self->by_key, g_strdup (key), g_strdup (run->id));
    }

  subscribe (run, message, 0);

  fields = begin_fields ();
  json_builder_set_member_name (fields, "stream_id");
  json_builder_add_string_value (fields, run->id);
  json_builder_set_member_name (fields, "model");
  {
    g_autofree char *resolved = aic_engine_resolve_model (self->engine, model);
    json_builder_add_string_value (fields, resolved);
  }
  append_event (run, "start", fields);

  ref = g_new0 (RunRef, 1);
  g_set_weak_pointer (&ref->hub, self);
  ref->id = g_strdup (run->id);
  aic_engine_chat_async (self->engine, turns, model, on_token, ref, run->cancellable, chat_done_cb, ref);
}

/**
 * aic_chat_hub_resume:
 * Handles GET /api/chat/streams/{id}: every event after Last-Event-ID,
 * then live ones.
 */
void
aic_chat_hub_resume (AicChatHub        *self,
                     SoupServerMessage *message,
                     const char        *stream_id)
{
  Run *run = g_hash_table_lookup (self->runs, stream_id);
  guint64 after = 0;

  if (run == NULL)
    {
      unknown_stream (message, stream_id);
      return;
    }
  if (!aic_event_stream_parse_last_id (message, &after))
    return;
  subscribe (run, message, after);
}

/**
 * aic_chat_hub_cancel:
 * Handles POST /api/chat/streams/{id}/cancel: the engine stops, and
 * listeners get a last "done" with finish_reason "cancelled".
 */
void
aic_chat_hub_cancel (AicChatHub        *self,
                     SoupServerMessage *message,
                     const char        *stream_id)
{
  g_autoptr(JsonBuilder) answer = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  Run *run = g_hash_table_lookup (self->runs, stream_id);
  gboolean was_running;

  if (run == NULL)
    {
      unknown_stream (message, stream_id);
      return;
    }

  was_running = !run_is_finished (run);
  if (was_running)
    {
      g_autoptr(JsonBuilder) fields = begin_fields ();

      g_cancellable_cancel (run->cancellable);
      json_builder_set_member_name (fields, "finish_reason");
      json_builder_add_string_value (fields, "cancelled");
      finish_run (run, "done", fields);
    }

  json_builder_begin_object (answer);
  json_builder_set_member_name (answer, "stream_id");
  json_builder_add_string_value (answer, stream_id);
  json_builder_set_member_name (answer, "status");
  json_builder_add_string_value (answer, was_running ? "cancelled" : "finished");
  json_builder_end_object (answer);
  root = json_builder_get_root (answer);
  aic_reply_json (message, SOUP_STATUS_OK, root);
}

guint
aic_chat_hub_get_n_active (AicChatHub *self)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_return_val_if_fail (AIC_IS_CHAT_HUB (self), 0);

  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!run_is_finished (value))
      n++;
  return n;
}

static void
aic_chat_hub_dispose (GObject *object)
{
  AicChatHub *self = AIC_CHAT_HUB (object);

  g_clear_pointer (&self->runs, g_hash_table_unref);
  g_clear_pointer (&self->by_key, g_hash_table_unref);
  g_clear_pointer (&self->by_digest, g_hash_table_unref);
  g_clear_object (&self->engine);
  if (self->scratch != NULL)
    g_string_free (g_steal_pointer (&self->scratch), TRUE);

  G_OBJECT_CLASS (aic_chat_hub_parent_class)->dispose (object);
}

static void
aic_chat_hub_class_init (AicChatHubClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = aic_chat_hub_dispose;
}

static void
aic_chat_hub_init (AicChatHub *self)
{
  self->runs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) run_free);
  self->by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->by_digest = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->keep_alive_ms = DEFAULT_KEEP_ALIVE_MS;
  self->orphan_ms = DEFAULT_ORPHAN_MS;
  self->retention_ms = DEFAULT_RETENTION_MS;
  self->scratch = g_string_sized_new (128);
}

AicChatHub *
aic_chat_hub_new (AicEngine *engine)
{
  AicChatHub *self;

  g_return_val_if_fail (AIC_IS_ENGINE (engine), NULL);

  self = g_object_new (AIC_TYPE_CHAT_HUB, NULL);
  self->engine = g_object_ref (engine);
  return self;
}

/**
 * aic_chat_hub_set_timings:
 * PROTOCOL.md's 15 s, 30 s and 5 min, shortened by tests.
 */
void
aic_chat_hub_set_timings (AicChatHub *self,
                          guint       keep_alive_ms,
                          guint       orphan_ms,
                          guint       retention_ms)
{
  g_return_if_fail (AIC_IS_CHAT_HUB (self));
  self->keep_alive_ms = keep_alive_ms;
  self->orphan_ms = orphan_ms;
  self->retention_ms = retention_ms;
}
