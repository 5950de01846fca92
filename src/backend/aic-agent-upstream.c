/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-agent-planner-private.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-source.h"

/* One request of the tool loop to a provider. The answer decides its own
 * shape: an event stream goes through core's SSE parser to the caller's
 * event function as it arrives; any other successful answer comes back
 * whole as JSON (a server may ignore "stream"); an error keeps its JSON
 * body, so the caller can tell "this model cannot use tools" from other
 * refusals. The stream session has no I/O timeout, since a model may
 * think for minutes; a watchdog ends a request silent for too long. */

#define READ_CHUNK      16384
#define MAX_BODY        (4 * 1024 * 1024)
#define MAX_ERROR_BODY  (64 * 1024)
#define IDLE_S          180

typedef struct
{
  SoupMessage       *message;
  GInputStream      *stream;
  AicSseParser      *parser;
  GByteArray        *body;
  gboolean           is_stream;
  gboolean           is_error;
  AicAgentEventFunc  on_event;
  gpointer           event_data;
  GError            *event_error;
  JsonNode          *error_body;     /* an HTTP error's JSON body */
  GCancellable      *io_cancellable;
  GCancellable      *user_cancellable;
  gulong             cancel_handler;
  guint              idle_source;
  gboolean           idle_fired;
} Exchange;

static void
exchange_free (Exchange *ex)
{
  g_clear_handle_id (&ex->idle_source, aic_source_remove);
  if (ex->cancel_handler != 0)
    g_cancellable_disconnect (ex->user_cancellable, ex->cancel_handler);
  g_clear_object (&ex->user_cancellable);
  g_clear_object (&ex->io_cancellable);
  g_clear_object (&ex->message);
  g_clear_object (&ex->stream);
  g_clear_pointer (&ex->parser, aic_sse_parser_free);
  g_clear_pointer (&ex->body, g_byte_array_unref);
  g_clear_error (&ex->event_error);
  g_clear_pointer (&ex->error_body, json_node_unref);
  g_free (ex);
}

static gboolean
idle_cb (gpointer data)
{
  Exchange *ex = data;

  ex->idle_source = 0;
  ex->idle_fired = TRUE;
  g_cancellable_cancel (ex->io_cancellable);
  return G_SOURCE_REMOVE;
}

static void
arm_idle (Exchange *ex)
{
  g_clear_handle_id (&ex->idle_source, aic_source_remove);
  ex->idle_source = aic_timeout_add_seconds (IDLE_S, idle_cb, ex);
}

static void
user_cancelled_cb (GCancellable *cancellable,
                   GCancellable *io_cancellable)
{
  g_cancellable_cancel (io_cancellable);
}

/* Ends the exchange with @error (taken), or with success; @task is
 * the caller's. */
static void
complete (GTask  *task,
          GError *error)
{
  Exchange *ex = g_task_get_task_data (task);
  g_autoptr(JsonNode) body = NULL;

  g_clear_handle_id (&ex->idle_source, aic_source_remove);
  if (g_task_return_error_if_cancelled (task))
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL)
    {
      if (ex->idle_fired)
        {
          g_clear_error (&error);
          error = g_error_new (AIC_ERROR, AIC_ERROR_TIMEOUT,
                               _("The model sent nothing for %u seconds."), IDLE_S);
        }
      g_task_return_error (task, error);
      return;
    }

  if (!ex->is_stream)
    {
      g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&ex->body));
      g_autoptr(GError) parse_error = NULL;

      body = aic_json_parse_bytes (bytes, &parse_error);
      if (ex->is_error)
        {
          /* The body rides along with the error; see _finish(). */
          ex->error_body = body ? json_node_ref (body) : NULL;
          g_task_return_error (task, aic_http_error_from_status (ex->message, body));
          return;
        }
      if (body == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&parse_error));
          return;
        }
      g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) json_node_unref);
      return;
    }
  g_task_return_pointer (task, NULL, NULL);
}

static void
sse_event_cb (gpointer           user_data,
              const AicSseEvent *event)
{
  Exchange *ex = user_data;

  if (ex->event_error != NULL)
    return;
  ex->on_event (event, ex->event_data, &ex->event_error);
}

static const AicSseCallbacks sse_callbacks = { sse_event_cb, NULL, NULL };

static void read_next (GTask *task);

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Exchange *ex = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  gsize size;

  if (chunk == NULL)
    {
      complete (task, aic_http_error_from_transport (error, soup_message_get_uri (ex->message)));
      return;
    }
  size = g_bytes_get_size (chunk);
  arm_idle (ex);

  if (ex->is_stream)
    {
      GError *parse_error = NULL;

      if (size == 0)
        {
          /* Providers end with EOF; what was complete counts. */
          if (!aic_sse_parser_finish (ex->parser, TRUE, &parse_error))
            complete (task, parse_error);
          else
            complete (task, g_steal_pointer (&ex->event_error));
          return;
        }
      if (!aic_sse_parser_feed (ex->parser, g_bytes_get_data (chunk, NULL), size, &parse_error))
        {
          complete (task, parse_error);
          return;
        }
      if (ex->event_error != NULL)
        {
          complete (task, g_steal_pointer (&ex->event_error));
          return;
        }
    }
  else
    {
      gsize limit = ex->is_error ? MAX_ERROR_BODY : MAX_BODY;

      if (size == 0 || (ex->is_error && ex->body->len + size > limit))
        {
          complete (task, NULL);
          return;
        }
      if (ex->body->len + size > limit)
        {
          g_autofree char *text = g_format_size (limit);

          complete (task, g_error_new (AIC_ERROR, AIC_ERROR_TOO_LARGE,
                                       _("The server’s answer is larger than %s."), text));
          return;
        }
      g_byte_array_append (ex->body, g_bytes_get_data (chunk, NULL), size);
    }
  read_next (g_steal_pointer (&task));
}

static void
read_next (GTask *task)
{
  Exchange *ex = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (ex->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   ex->io_cancellable, read_cb, task);
}

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Exchange *ex = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  const char *type;

  ex->stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (ex->stream == NULL)
    {
      complete (task, aic_http_error_from_transport (error, soup_message_get_uri (ex->message)));
      return;
    }

  type = soup_message_headers_get_content_type (soup_message_get_response_headers (ex->message), NULL);
  ex->is_error = !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (ex->message));
  ex->is_stream = !ex->is_error && type != NULL && g_ascii_strcasecmp (type, "text/event-stream") == 0;
  if (ex->is_stream)
    ex->parser = aic_sse_parser_new (&sse_callbacks, ex);
  else
    ex->body = g_byte_array_new ();
  arm_idle (ex);
  read_next (g_steal_pointer (&task));
}

/**
 * aic_agent_upstream_send_async:
 * @body: the JSON request
 * @on_event: called for each event when the answer is an event stream
 */
void
aic_agent_upstream_send_async (AicClient           *client,
                               SoupMessage         *message,
                               GBytes              *body,
                               AicAgentEventFunc    on_event,
                               gpointer             event_data,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Exchange *ex = g_new0 (Exchange, 1);

  g_task_set_source_tag (task, aic_agent_upstream_send_async);
  ex->message = g_object_ref (message);
  ex->on_event = on_event;
  ex->event_data = event_data;
  ex->io_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, ex, (GDestroyNotify) exchange_free);
  if (cancellable != NULL)
    {
      ex->user_cancellable = g_object_ref (cancellable);
      ex->cancel_handler = g_cancellable_connect (cancellable, G_CALLBACK (user_cancelled_cb),
                                                  g_object_ref (ex->io_cancellable), g_object_unref);
    }

  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept",
                                "text/event-stream, application/json");
  soup_message_set_request_body_from_bytes (message, "application/json", body);
  /* The watchdog also covers a server that accepts and never answers. */
  arm_idle (ex);
  soup_session_send_async (aic_client_get_stream_session (client), message, G_PRIORITY_DEFAULT,
                           ex->io_cancellable, send_cb, g_steal_pointer (&task));
}

/**
 * aic_agent_upstream_send_finish:
 * @out_status: (out): the HTTP status, 0 when there was none
 * @out_body: (out) (transfer full): the answer when it was not an event
 *   stream; on an HTTP error, its JSON body if it had one
 *
 * Returns: %TRUE when the provider answered successfully
 */
gboolean
aic_agent_upstream_send_finish (GAsyncResult  *result,
                                guint         *out_status,
                                JsonNode     **out_body,
                                GError       **error)
{
  Exchange *ex = g_task_get_task_data (G_TASK (result));
  GError *local_error = NULL;
  JsonNode *body;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  *out_status = soup_message_get_status (ex->message);
  body = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      *out_body = ex->error_body ? json_node_ref (ex->error_body) : NULL;
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *out_body = body;
  return TRUE;
}

/* What a provider said in an error body: {"error": "text"},
 * {"error": {"message": "text"}} or {"message": "text"}. */
const char *
aic_agent_upstream_said (JsonNode *body)
{
  JsonObject *object;
  JsonNode *node;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    return NULL;
  object = json_node_get_object (body);
  node = json_object_get_member (object, "error");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    node = json_object_get_member (json_node_get_object (node), "message");
  if (node == NULL)
    node = json_object_get_member (object, "message");
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

/* The one sentence a run ends with when its model cannot call tools. */
GError *
aic_agent_no_tools_error (const char *model)
{
  if (model == NULL || model[0] == '\0')
    return g_error_new_literal (AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_NO_TOOLS,
                                _("This model cannot use tools, which agents need. Pick a model that "
                                  "supports tool calling (for example llama3.1 or qwen2.5) in Preferences."));
  return g_error_new (AIC_AGENT_PLAN_ERROR, AIC_AGENT_PLAN_ERROR_NO_TOOLS,
                      /* Translators: %s is a model's name, such as gemma:2b */
                      _("The model “%s” cannot use tools, which agents need. Pick a model that "
                        "supports tool calling (for example llama3.1 or qwen2.5) in Preferences."),
                      model);
}

GBytes *
aic_agent_json_bytes (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  char *text = aic_json_to_string (root, FALSE);

  return g_bytes_new_take (text, strlen (text));
}
