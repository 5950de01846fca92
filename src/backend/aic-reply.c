/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-json.h"
#include "aic-reply.h"

void
aic_reply_json (SoupServerMessage *message,
                guint              status,
                JsonNode          *root)
{
  g_autofree char *body = aic_json_to_string (root, FALSE);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);
  gsize len = strlen (body);

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, "application/json; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_steal_pointer (&body), len);
}

/* {"error": {"code": "…", "message": "…"}}, the one error shape. */
void
aic_reply_error (SoupServerMessage *message,
                 guint              status,
                 const char        *code,
                 const char        *text)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, text);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  aic_reply_json (message, status, root);
}

/**
 * aic_request_json:
 * Reads the request body as a JSON object, or answers 400/415 itself and
 * returns %NULL.
 */
JsonObject *
aic_request_json (SoupServerMessage  *message,
                  JsonNode          **out_root)
{
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  const char *type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (message), NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (type != NULL && g_ascii_strcasecmp (type, "application/json") != 0)
    {
      aic_reply_error (message, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                       "The request body must be application/json.");
      return NULL;
    }

  bytes = soup_message_body_flatten (body);
  root = aic_json_parse_bytes (bytes, &error);
  if (root == NULL)
    {
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_json", error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      json_node_unref (root);
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "invalid_json",
                       "The request body must be a JSON object.");
      return NULL;
    }

  *out_root = root;
  return json_node_get_object (root);
}

/**
 * aic_reply_set_event_stream_head:
 * 200, text/event-stream, no caching or proxy buffering; chunked, or to
 * the end of the connection for an HTTP/1.0 client, which knows no chunks.
 */
void
aic_reply_set_event_stream_head (SoupServerMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Accel-Buffering", "no");
  soup_message_headers_set_encoding (headers, soup_server_message_get_http_version (message) != SOUP_HTTP_1_0
                                              ? SOUP_ENCODING_CHUNKED : SOUP_ENCODING_EOF);
}

/**
 * aic_reply_start_event_stream:
 * Answers 200 text/event-stream, chunked, and pauses the message:
 * aic_reply_write() sends as it appends.
 */
void
aic_reply_start_event_stream (SoupServerMessage *message)
{
  aic_reply_set_event_stream_head (message);
  /* libsoup keeps a response's chunks until it ends, and finds the next
   * one to write by walking them all: for a stream, memory and time per
   * event that grow with the stream. Written chunks are dropped instead
   * (a stream that replays keeps its events itself). */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (message), FALSE);
  soup_server_message_pause (message);
}

void
aic_reply_write (SoupServerMessage *message,
                 GBytes            *bytes)
{
  soup_message_body_append_bytes (soup_server_message_get_response_body (message), bytes);
  soup_server_message_unpause (message);
}

void
aic_reply_end (SoupServerMessage *message)
{
  soup_message_body_complete (soup_server_message_get_response_body (message));
  soup_server_message_unpause (message);
}

/**
 * aic_reply_format_event:
 * @retry_ms: a retry field to put first, or 0 for none
 * @root: the data, written as one line of JSON
 * Returns: (transfer full): one SSE event
 */
GBytes *
aic_reply_format_event (guint64     id,
                        const char *name,
                        JsonNode   *root,
                        guint       retry_ms)
{
  g_autofree char *data = aic_json_to_string (root, FALSE);
  g_autofree char *retry = retry_ms ? g_strdup_printf ("retry: %u\n", retry_ms) : g_strdup ("");
  /* The id last: a client that takes it as soon as it reads it (as
   * fetch-event-source does) must not count an event a cut lands in. */
  char *text = g_strdup_printf ("%sevent: %s\ndata: %s\nid: %" G_GUINT64_FORMAT "\n\n", retry, name, data, id);

  return g_bytes_new_take (text, strlen (text));
}

/**
 * aic_reply_append_event:
 * @data: the event's data, one line of JSON
 *
 * Appends one SSE event to @out, byte for byte what
 * aic_reply_format_event() makes of the same JSON without a retry field.
 */
void
aic_reply_append_event (GString    *out,
                        guint64     id,
                        const char *name,
                        const char *data,
                        gsize       data_len)
{
  char digits[24];
  int n = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, id);

  g_string_append_len (out, "event: ", 7);
  g_string_append (out, name);
  g_string_append_len (out, "\ndata: ", 7);
  g_string_append_len (out, data, data_len);
  g_string_append_len (out, "\nid: ", 5);
  g_string_append_len (out, digits, n);
  g_string_append_len (out, "\n\n", 2);
}

/**
 * aic_reply_append_json_string:
 * Appends @text (UTF-8) to @out as a JSON string, quotes included,
 * escaped as json-glib's generator escapes it: the short forms \" \\
 * \b \f \n \r \t, other control characters and DEL as \u00xx, the rest
 * as it is. (json-glib 1.6 leaves U+001F bare, which JSON forbids; here
 * it is escaped too.) For the hot path: no JsonNode per token.
 */
void
aic_reply_append_json_string (GString    *out,
                              const char *text)
{
  static const char hex[] = "0123456789abcdef";
  const guchar *p = (const guchar *) text;
  const guchar *run = p;

  g_string_append_c (out, '"');
  for (; *p != '\0'; p++)
    {
      const char *shorter = NULL;

      if (*p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7f)
        continue;
      g_string_append_len (out, (const char *) run, p - run);
      run = p + 1;
      switch (*p)
        {
        case '"':  shorter = "\\\""; break;
        case '\\': shorter = "\\\\"; break;
        case '\b': shorter = "\\b"; break;
        case '\f': shorter = "\\f"; break;
        case '\n': shorter = "\\n"; break;
        case '\r': shorter = "\\r"; break;
        case '\t': shorter = "\\t"; break;
        default: break;
        }
      if (shorter != NULL)
        {
          g_string_append_len (out, shorter, 2);
        }
      else
        {
          char escape[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xf] };

          g_string_append_len (out, escape, 6);
        }
    }
  g_string_append_len (out, (const char *) run, p - run);
  g_string_append_c (out, '"');
}
