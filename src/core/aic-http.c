/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"

#define READ_CHUNK 16384

typedef struct
{
  SoupMessage *message;
  GInputStream *stream;
  GByteArray *body;
  gsize max_body;
} ReadState;

static void
read_state_free (ReadState *state)
{
  g_clear_object (&state->message);
  g_clear_object (&state->stream);
  g_clear_pointer (&state->body, g_byte_array_unref);
  g_free (state);
}

SoupSession *
aic_http_session_new (guint timeout_seconds)
{
  return aic_http_session_new_full (timeout_seconds, 0);
}

/**
 * aic_http_session_new_full:
 * @max_per_host: connections to one server at once, or 0 for libsoup's
 *   default of 2. Each open event stream holds one for as long as it
 *   lasts, so a session for streams needs more.
 */
SoupSession *
aic_http_session_new_full (guint timeout_seconds,
                           guint max_per_host)
{
  if (max_per_host == 0)
    return g_object_new (SOUP_TYPE_SESSION,
                         "user-agent", "AiConsole/" PACKAGE_VERSION " ",
                         "timeout", timeout_seconds,
                         "idle-timeout", 60,
                         NULL);
  return g_object_new (SOUP_TYPE_SESSION,
                       "user-agent", "AiConsole/" PACKAGE_VERSION " ",
                       "timeout", timeout_seconds,
                       "idle-timeout", 60,
                       "max-conns-per-host", max_per_host,
                       "max-conns", MAX (max_per_host * 2, 10),
                       NULL);
}

void
aic_http_set_bearer (SoupMessage *message,
                     const char  *token)
{
  g_autofree char *value = NULL;

  if (token == NULL || token[0] == '\0')
    return;
  value = g_strconcat ("Bearer ", token, NULL);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", value);
}

/**
 * aic_http_error_from_transport:
 * Turns an error from libsoup or GIO into an AicError whose message says
 * what went wrong in words, keeping G_IO_ERROR_CANCELLED as it is.
 */
/**
 * aic_http_describe_uri:
 * Returns: (transfer full): "host", "host:port" or "[v6]:port", the way a
 *   person recognises the server: the port only when it is not the
 *   scheme's default
 */
char *
aic_http_describe_uri (GUri *uri)
{
  const char *host, *scheme;
  int port;
  gboolean default_port;
  g_autofree char *bracketed = NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup ("?");

  host = g_uri_get_host (uri);
  scheme = g_uri_get_scheme (uri);
  port = g_uri_get_port (uri);
  default_port = port <= 0 ||
                 (port == 80 && g_strcmp0 (scheme, "http") == 0) ||
                 (port == 443 && g_strcmp0 (scheme, "https") == 0);
  if (strchr (host, ':') != NULL)
    host = bracketed = g_strdup_printf ("[%s]", host);
  if (default_port)
    return g_strdup (host);
  return g_strdup_printf ("%s:%d", host, port);
}

GError *
aic_http_error_from_transport (const GError *error,
                               GUri         *uri)
{
  g_autofree char *where = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  where = aic_http_describe_uri (uri);

  if (error->domain == G_RESOLVER_ERROR)
    return g_error_new (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                        _("The server name in “%s” could not be found. Check the address and your network."), where);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (AIC_ERROR, AIC_ERROR_TIMEOUT,
                        _("%s did not answer in time."), where);

  if (error->domain == G_TLS_ERROR)
    {
      if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
        return g_error_new (AIC_ERROR, AIC_ERROR_TLS,
                            _("The certificate of %s is not trusted: it may be self-signed, expired or issued for another name."), where);
      if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS))
        return g_error_new (AIC_ERROR, AIC_ERROR_TLS,
                            _("%s does not speak HTTPS. Try an address starting with http://."), where);
      return g_error_new (AIC_ERROR, AIC_ERROR_TLS,
                          _("A secure connection to %s could not be made (%s). If the server does not use HTTPS, start the address with http://."),
                          where, error->message);
    }

  /* Something answered, but not in HTTP: most often http:// to an HTTPS
   * port, or a service that is not a web server at all. */
  if (error->domain == SOUP_SESSION_ERROR &&
      (error->code == SOUP_SESSION_ERROR_PARSING || error->code == SOUP_SESSION_ERROR_ENCODING))
    return g_error_new (AIC_ERROR, AIC_ERROR_WRONG_SERVER,
                        _("%s did not answer in HTTP. If it uses HTTPS, start the address with https://."), where);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    return g_error_new (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                        _("%s closed the connection without an answer. If it uses HTTPS, start the address with https://."), where);
  if (error->domain == SOUP_SESSION_ERROR)
    return g_error_new (AIC_ERROR, AIC_ERROR_PROTOCOL,
                        _("The answer of %s could not be used: %s"), where, error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                        _("Nothing is listening at %s. Is the server running?"), where);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return g_error_new (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                        _("%s cannot be reached from this network."), where);

  if (error->domain == AIC_ERROR)
    return g_error_copy (error);

  return g_error_new (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                      _("The connection to %s failed: %s"), where, error->message);
}

/* Servers put their reason in several shapes: {"error": {"message"}},
 * {"error": "text"}, {"message": "text"} or {"detail": "text"}. */
static const char *
find_server_message (JsonNode *body)
{
  JsonObject *object, *inner;
  JsonNode *node;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    return NULL;
  object = json_node_get_object (body);

  node = json_object_get_member (object, "error");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      inner = json_node_get_object (node);
      node = json_object_get_member (inner, "message");
    }
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    node = json_object_get_member (object, "message");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    node = json_object_get_member (object, "detail");

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

static gboolean
sent_credentials (SoupMessage *message)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);

  return soup_message_headers_get_one (headers, "Authorization") != NULL ||
         soup_message_headers_get_one (headers, "x-api-key") != NULL;
}

/**
 * aic_http_error_from_status:
 * @message: the request, answered with a status that is not 2xx
 * @body: (nullable): the answer, if it was JSON
 */
GError *
aic_http_error_from_status (SoupMessage *message,
                            JsonNode    *body)
{
  guint status = soup_message_get_status (message);
  const char *reason = soup_message_get_reason_phrase (message);
  const char *said = find_server_message (body);
  g_autofree char *detail = NULL;
  AicError code;
  const char *sentence;

  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      code = AIC_ERROR_AUTH;
      sentence = sent_credentials (message)
        ? _("The server refused the key or token.")
        : _("The server needs a key or token.");
      break;
    case 429:  /* Too Many Requests; libsoup 3.2 has no name for it */
    case 529:  /* Anthropic: overloaded */
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
      code = AIC_ERROR_BUSY;
      sentence = _("The server is busy or limiting requests. Try again in a moment.");
      break;
    case SOUP_STATUS_FORBIDDEN:
      code = AIC_ERROR_FORBIDDEN;
      sentence = _("The server refused access.");
      break;
    case SOUP_STATUS_NOT_FOUND:
      code = AIC_ERROR_NOT_FOUND;
      sentence = _("The server does not know this address.");
      break;
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
      code = AIC_ERROR_TOO_LARGE;
      sentence = _("The server says the request is too large.");
      break;
    case SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE:
      code = AIC_ERROR_UNSUPPORTED;
      sentence = _("The server cannot read this kind of data.");
      break;
    case SOUP_STATUS_INSUFFICIENT_STORAGE:
      code = AIC_ERROR_DISK_FULL;
      sentence = _("The server’s disk is full.");
      break;
    case SOUP_STATUS_REQUEST_TIMEOUT:
    case SOUP_STATUS_GATEWAY_TIMEOUT:
      code = AIC_ERROR_TIMEOUT;
      sentence = _("The server took too long.");
      break;
    default:
      if (SOUP_STATUS_IS_REDIRECTION (status))
        {
          code = AIC_ERROR_WRONG_SERVER;
          sentence = _("The server sends this request to another address. Use the address it redirects to as the base URL.");
        }
      else if (status >= 500)
        {
          code = AIC_ERROR_SERVER;
          sentence = _("The server had a problem.");
        }
      else
        {
          code = AIC_ERROR_FAILED;
          sentence = _("The server turned the request down.");
        }
      break;
    }

  if (said != NULL && said[0] != '\0')
    detail = g_strdup_printf ("%s (%u: %s)", sentence, status, said);
  else if (reason != NULL && reason[0] != '\0')
    detail = g_strdup_printf ("%s (%u %s)", sentence, status, reason);
  else
    detail = g_strdup_printf ("%s (%u)", sentence, status);
  return g_error_new_literal (AIC_ERROR, code, detail);
}

static void read_next (GTask *task);

static void
finish_body (GTask *task)
{
  ReadState *state = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&state->body));
  guint status = soup_message_get_status (state->message);
  const char *content_type;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  /* Not Modified: the caller asked with If-None-Match; there is no body. */
  if (status == SOUP_STATUS_NOT_MODIFIED)
    {
      g_task_return_pointer (task, json_node_new (JSON_NODE_NULL), (GDestroyNotify) json_node_unref);
      return;
    }

  content_type = soup_message_headers_get_content_type (soup_message_get_response_headers (state->message), NULL);
  root = aic_json_parse_bytes (bytes, &error);

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_task_return_error (task, aic_http_error_from_status (state->message, root));
      return;
    }

  if (root == NULL)
    {
      /* Say what came instead: an HTML page means "wrong kind of server". */
      if (content_type != NULL && g_str_has_prefix (content_type, "text/html"))
        g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_WRONG_SERVER,
                                 _("The server answered with a web page, not with data."));
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&root), (GDestroyNotify) json_node_unref);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ReadState *state = g_task_get_task_data (task);
  g_autoptr(GBytes) chunk = NULL;
  GError *error = NULL;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (chunk == NULL)
    {
      g_task_return_error (task, aic_http_error_from_transport (error, soup_message_get_uri (state->message)));
      g_error_free (error);
      return;
    }

  if (g_bytes_get_size (chunk) == 0)
    {
      finish_body (task);
      return;
    }

  if (state->body->len + g_bytes_get_size (chunk) > state->max_body)
    {
      g_autofree char *limit = g_format_size (state->max_body);

      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_TOO_LARGE,
                               _("The server’s answer is larger than %s."), limit);
      return;
    }

  g_byte_array_append (state->body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  read_next (g_steal_pointer (&task));
}

static void
read_next (GTask *task)
{
  ReadState *state = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (state->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), read_cb, task);
}

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ReadState *state = g_task_get_task_data (task);
  GError *error = NULL;

  state->stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (state->stream == NULL)
    {
      g_task_return_error (task, aic_http_error_from_transport (error, soup_message_get_uri (state->message)));
      g_error_free (error);
      return;
    }

  read_next (g_steal_pointer (&task));
}

/**
 * aic_http_get_json_async:
 * Sends @message and reads a JSON answer of at most @max_body bytes.
 * Non-2xx statuses become AicErrors carrying the server's own reason,
 * except 304, which returns a JSON null: only a request sent with
 * If-None-Match gets one.
 */
void
aic_http_get_json_async (SoupSession         *session,
                         SoupMessage         *message,
                         gsize                max_body,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadState *state;

  g_return_if_fail (SOUP_IS_SESSION (session));
  g_return_if_fail (SOUP_IS_MESSAGE (message));

  task = g_task_new (session, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_http_get_json_async);

  state = g_new0 (ReadState, 1);
  state->message = g_object_ref (message);
  state->body = g_byte_array_new ();
  state->max_body = max_body ? max_body : AIC_HTTP_DEFAULT_MAX_BODY;
  g_task_set_task_data (task, state, (GDestroyNotify) read_state_free);

  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "application/json");
  soup_session_send_async (session, message, G_PRIORITY_DEFAULT, cancellable,
                           send_cb, g_steal_pointer (&task));
}

JsonNode *
aic_http_get_json_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == aic_http_get_json_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* One line of @tail, from @start to just before @end (a LF), without a CR. */
static gboolean
line_is_last_chunk (const guint8 *start,
                    const guint8 *end)
{
  const guint8 *p = start;

  if (end > start && end[-1] == '\r')
    end--;
  if (p == end || *p != '0')
    return FALSE;
  while (p < end && *p == '0')
    p++;
  return p == end || *p == ';';   /* a chunk extension may follow */
}

/**
 * aic_http_chunked_tail_is_complete:
 * @tail: the last bytes a connection received (aic_counting_stream_get_tail())
 *
 * libsoup 3.2 takes a connection closed between two chunks of a chunked
 * body for the body's end: the body looks complete while the last chunk
 * never came (curl says "transfer closed with outstanding read data").
 * A body that really ended, ends the connection's bytes with the last
 * chunk ("0"), maybe trailers, and a blank line; this looks for that.
 *
 * Returns: %TRUE when @tail ends with the end of a chunked body
 */
gboolean
aic_http_chunked_tail_is_complete (const guint8 *tail,
                                   gsize         len)
{
  const guint8 *end = tail + len;
  const guint8 *line_end, *line_start;

  /* The blank line: "\r\n" or "\n" after the LF of the line before. */
  if (len < 3 || end[-1] != '\n')
    return FALSE;
  line_end = end - 1;
  if (line_end > tail && line_end[-1] == '\r')
    line_end--;
  if (line_end == tail || line_end[-1] != '\n')
    return FALSE;
  line_end--;

  /* Back over trailers (header lines) to the last chunk's "0". */
  for (;;)
    {
      line_start = line_end;
      while (line_start > tail && line_start[-1] != '\n')
        line_start--;
      if (line_start == tail)
        return FALSE;   /* no whole line left to read */
      if (line_is_last_chunk (line_start, line_end))
        return TRUE;
      if (memchr (line_start, ':', line_end - line_start) == NULL)
        return FALSE;
      line_end = line_start - 1;
    }
}
