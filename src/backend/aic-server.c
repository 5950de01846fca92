/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>

#include "aic-agent-hub.h"
#include "aic-chat-hub.h"
#include "aic-error.h"
#include "aic-job-hub.h"
#include "aic-json.h"
#include "aic-reply.h"
#include "aic-server-private.h"
#include "aic-token.h"
#include "aic-voice-hub.h"
#include "aic-ws-guard.h"

/* The console backend's HTTP side (PROTOCOL.md). Every request passes the
 * same gate before any route sees it: Host must name this machine (against
 * DNS rebinding), Origin must be allowed (against cross-site requests from
 * a browser), then the bearer token. Runs on whichever thread's main
 * context it was created in. */
struct _AicServer
{
  GObject     parent_instance;

  SoupServer *soup;
  AicEngine  *engine;
  AicChatHub *chat;
  AicJobHub  *jobs;
  AicVoiceHub *voice;
  AicAgentHub *agents;
  char       *token;            /* NULL with --no-auth */
  char      **allowed_origins;
  char       *host;
  guint       port;
  gint64      max_upload_bytes;
  guint       n_workers;
  AicDocumentLimits document_limits;

  /* Our own listener and accept loop (see accept_cb). */
  GMainContext   *context;
  GSocket        *listener;
  GSocketAddress *listen_address;   /* with the bound port, to listen again */
  GSource        *accept_source;
  GSource        *resume_source;
  GHashTable     *connections;      /* "address:port" of the peer → Connection */
  GHashTable     *peers;            /* peer address → its open connections */
  guint           n_connections;
  guint           max_connections;  /* 0: half the descriptor limit */
  guint           max_per_peer;
  guint           header_timeout_ms;
  GTlsCertificate *tls_certificate; /* NULL: plain HTTP */
};

/* One accepted connection, for as long as its stream lives (libsoup's
 * and, after an upgrade, the WebSocket's). */
typedef struct
{
  AicServer *server;                /* NULL once the server is gone */
  char      *key;
  char      *peer;
  GSocket   *socket;                /* the stream's */
  GSource   *deadline;              /* while a request's headers or body are due */
  GCancellable *cancellable;        /* until libsoup has it: the sniff and handshake */
  gboolean   in_body;
  gint64     body_since;
  guint64    body_bytes;
} Connection;

G_DEFINE_FINAL_TYPE (AicServer, aic_server, G_TYPE_OBJECT)

typedef void (*RouteHandler) (AicServer         *self,
                              SoupServerMessage *message,
                              const char        *path);

typedef struct
{
  const char   *method;
  const char   *path;
  RouteHandler  handler;
} Route;

static void handle_health (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_chat_stream (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_chat_resume (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_chat_cancel (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_analyze_start (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_analyze_list (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_analyze_status (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_analyze_events (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_analyze_cancel (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_tasks_start (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_tasks_status (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_tasks_stream (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_runs_create (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_runs_list (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_runs_status (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_runs_cancel (AicServer *self, SoupServerMessage *message, const char *path);
static void handle_runs_tokens (AicServer *self, SoupServerMessage *message, const char *path);

/* A "*" in a path matches one segment: an id of letters, digits, - and _. */
static const Route routes[] = {
  { "GET",  "/api/health",                   handle_health },
  { "POST", "/api/chat/stream",              handle_chat_stream },
  { "GET",  "/api/chat/streams/*",           handle_chat_resume },
  { "POST", "/api/chat/streams/*/cancel",    handle_chat_cancel },
  { "POST", "/api/analyze/start",            handle_analyze_start },
  { "GET",  "/api/analyze",                  handle_analyze_list },
  { "GET",  "/api/analyze/*",                handle_analyze_status },
  { "GET",  "/api/analyze/*/events",         handle_analyze_events },
  { "POST", "/api/analyze/*/cancel",         handle_analyze_cancel },
  { "POST", "/api/tasks",                    handle_tasks_start },
  { "GET",  "/api/tasks/*",                  handle_tasks_status },
  { "GET",  "/api/tasks/*/stream",           handle_tasks_stream },
  { "POST", "/api/runs",                     handle_runs_create },
  { "GET",  "/api/runs",                     handle_runs_list },
  { "GET",  "/api/runs/*",                   handle_runs_status },
  { "POST", "/api/runs/*/cancel",            handle_runs_cancel },
  { "GET",  "/api/runs/*/tokens",            handle_runs_tokens },
};

/* Where whole documents come in: these refuse a body of unknown length,
 * so that nothing past the limit is ever read. */
static const char * const upload_paths[] = { "/api/analyze/start", "/api/tasks", NULL };

static const char * const features[] = { "chat", "analyze", "voice", "agent", NULL };

/* Matches @path against @pattern; the "*" segment, if any, goes to @id. */
static gboolean
route_matches (const char  *pattern,
               const char  *path,
               char       **id)
{
  const char *star = strchr (pattern, '*');
  gsize prefix, suffix, path_len = strlen (path), id_len;

  if (star == NULL)
    return strcmp (pattern, path) == 0;

  prefix = star - pattern;
  suffix = strlen (star + 1);
  if (path_len <= prefix + suffix ||
      strncmp (pattern, path, prefix) != 0 ||
      strcmp (path + path_len - suffix, star + 1) != 0)
    return FALSE;

  id_len = path_len - prefix - suffix;
  for (gsize i = 0; i < id_len; i++)
    {
      char c = path[prefix + i];
      if (!g_ascii_isalnum (c) && c != '-' && c != '_')
        return FALSE;
    }
  if (id != NULL)
    *id = g_strndup (path + prefix, id_len);
  return TRUE;
}

static char *
path_id (const char *pattern,
         const char *path)
{
  char *id = NULL;

  route_matches (pattern, path, &id);
  return id;
}

static void
handle_chat_stream (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  aic_chat_hub_start (self->chat, message);
}

static void
handle_chat_resume (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  g_autofree char *id = path_id ("/api/chat/streams/*", path);

  aic_chat_hub_resume (self->chat, message, id);
}

static void
handle_chat_cancel (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  g_autofree char *id = path_id ("/api/chat/streams/*/cancel", path);

  aic_chat_hub_cancel (self->chat, message, id);
}

static void
handle_analyze_start (AicServer         *self,
                      SoupServerMessage *message,
                      const char        *path)
{
  aic_job_hub_start (self->jobs, message, AIC_JOB_API_ANALYZE);
}

static void
handle_analyze_list (AicServer         *self,
                     SoupServerMessage *message,
                     const char        *path)
{
  aic_job_hub_list (self->jobs, message);
}

static void
handle_analyze_status (AicServer         *self,
                       SoupServerMessage *message,
                       const char        *path)
{
  g_autofree char *id = path_id ("/api/analyze/*", path);

  aic_job_hub_status (self->jobs, message, id, AIC_JOB_API_ANALYZE);
}

static void
handle_analyze_events (AicServer         *self,
                       SoupServerMessage *message,
                       const char        *path)
{
  g_autofree char *id = path_id ("/api/analyze/*/events", path);

  aic_job_hub_events (self->jobs, message, id, AIC_JOB_API_ANALYZE);
}

static void
handle_analyze_cancel (AicServer         *self,
                       SoupServerMessage *message,
                       const char        *path)
{
  g_autofree char *id = path_id ("/api/analyze/*/cancel", path);

  aic_job_hub_cancel (self->jobs, message, id);
}

static void
handle_tasks_start (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  aic_job_hub_start (self->jobs, message, AIC_JOB_API_TASKS);
}

static void
handle_tasks_status (AicServer         *self,
                     SoupServerMessage *message,
                     const char        *path)
{
  g_autofree char *id = path_id ("/api/tasks/*", path);

  aic_job_hub_status (self->jobs, message, id, AIC_JOB_API_TASKS);
}

static void
handle_tasks_stream (AicServer         *self,
                     SoupServerMessage *message,
                     const char        *path)
{
  g_autofree char *id = path_id ("/api/tasks/*/stream", path);

  aic_job_hub_events (self->jobs, message, id, AIC_JOB_API_TASKS);
}

static void
handle_runs_create (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  aic_agent_hub_create (self->agents, message);
}

static void
handle_runs_list (AicServer         *self,
                  SoupServerMessage *message,
                  const char        *path)
{
  aic_agent_hub_list (self->agents, message);
}

static void
handle_runs_status (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  g_autofree char *id = path_id ("/api/runs/*", path);

  aic_agent_hub_status (self->agents, message, id);
}

static void
handle_runs_cancel (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  g_autofree char *id = path_id ("/api/runs/*/cancel", path);

  aic_agent_hub_cancel (self->agents, message, id);
}

static void
handle_runs_tokens (AicServer         *self,
                    SoupServerMessage *message,
                    const char        *path)
{
  g_autofree char *id = path_id ("/api/runs/*/tokens", path);

  aic_agent_hub_tokens (self->agents, message, id);
}

static void
add_strv (JsonBuilder *builder,
          const char  *member,
          char       **values)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

static void
handle_health (AicServer         *self,
               SoupServerMessage *message,
               const char        *path)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_auto(GStrv) models = aic_engine_dup_models (self->engine);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "ok");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  /* Features appear here as their routes land; the app hides what a
   * backend does not list. */
  add_strv (builder, "features", (char **) features);

  json_builder_set_member_name (builder, "engine");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, aic_engine_get_kind_string (self->engine));
  json_builder_set_member_name (builder, "upstream");
  if (aic_engine_get_upstream (self->engine) != NULL)
    json_builder_add_string_value (builder, aic_engine_get_upstream (self->engine));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  add_strv (builder, "models", models);

  json_builder_set_member_name (builder, "limits");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "max_upload_bytes");
  json_builder_add_int_value (builder, self->max_upload_bytes);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  aic_reply_json (message, SOUP_STATUS_OK, root);
}

static gboolean
is_wildcard (const char *host)
{
  return g_strcmp0 (host, "0.0.0.0") == 0 || g_strcmp0 (host, "::") == 0;
}

/**
 * aic_server_host_allowed:
 * @bound_host: the address the server listens on
 * @host_header: the request's Host header, with or without a port
 *
 * A web page can make a browser send requests to 127.0.0.1 under a name it
 * controls (DNS rebinding); the Host header still carries that name. Only
 * loopback names, the bound address and, when bound to every interface,
 * IP literals are accepted.
 */
gboolean
aic_server_host_allowed (const char *bound_host,
                         const char *host_header)
{
  g_autofree char *name = NULL;
  const char *port = NULL;
  const char *end;

  if (host_header == NULL || host_header[0] == '\0')
    return FALSE;

  if (host_header[0] == '[')
    {
      end = strchr (host_header, ']');
      if (end == NULL)
        return FALSE;
      name = g_strndup (host_header + 1, end - host_header - 1);
      if (end[1] == ':')
        port = end + 2;
      else if (end[1] != '\0')
        return FALSE;
    }
  else
    {
      end = strchr (host_header, ':');
      name = end ? g_strndup (host_header, end - host_header) : g_strdup (host_header);
      port = end ? end + 1 : NULL;
    }

  if (port != NULL && (*port == '\0' || strspn (port, "0123456789") != strlen (port)))
    return FALSE;

  if (g_ascii_strcasecmp (name, "localhost") == 0 ||
      g_strcmp0 (name, "127.0.0.1") == 0 ||
      g_strcmp0 (name, "::1") == 0)
    return TRUE;

  if (bound_host != NULL && g_ascii_strcasecmp (name, bound_host) == 0)
    return TRUE;

  return is_wildcard (bound_host) && g_hostname_is_ip_address (name);
}

/* Origins compare as scheme://host[:port], case-insensitively, with no
 * trailing slash (browsers send none; people sometimes write one). */
static gboolean
origin_equal (const char *a,
              const char *b)
{
  gsize la = strlen (a), lb = strlen (b);

  while (la > 0 && a[la - 1] == '/')
    la--;
  while (lb > 0 && b[lb - 1] == '/')
    lb--;
  return la == lb && g_ascii_strncasecmp (a, b, la) == 0;
}

static gboolean
origin_allowed (AicServer  *self,
                const char *origin)
{
  if (origin == NULL)
    return TRUE;
  for (guint i = 0; self->allowed_origins != NULL && self->allowed_origins[i] != NULL; i++)
    if (origin_equal (self->allowed_origins[i], origin))
      return TRUE;
  return FALSE;
}

/* CORS, for the origins named with --allow-origin (and no others, which
 * the gate refuses outright): their responses say so, and expose the
 * headers clients act on; their preflights are answered here, before the
 * token is asked for, since a browser sends none with them. */
static void
add_cors_headers (SoupServerMessage *message,
                  const char        *origin)
{
  SoupMessageHeaders *response = soup_server_message_get_response_headers (message);

  soup_message_headers_replace (response, "Access-Control-Allow-Origin", origin);
  soup_message_headers_replace (response, "Access-Control-Expose-Headers", "Location, ETag, Retry-After");
  soup_message_headers_replace (response, "Vary", "Origin");
}

static gboolean
is_preflight (SoupServerMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);

  return g_str_equal (soup_server_message_get_method (message), "OPTIONS") &&
         soup_message_headers_get_one (headers, "Origin") != NULL &&
         soup_message_headers_get_one (headers, "Access-Control-Request-Method") != NULL;
}

static void
answer_preflight (SoupServerMessage *message)
{
  SoupMessageHeaders *response = soup_server_message_get_response_headers (message);

  soup_message_headers_replace (response, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
  soup_message_headers_replace (response, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Last-Event-ID, Idempotency-Key, If-None-Match");
  soup_message_headers_replace (response, "Access-Control-Max-Age", "600");
  soup_server_message_set_status (message, SOUP_STATUS_NO_CONTENT, NULL);
}

#define KEY_PROTOCOL "openai-insecure-api-key."

static gboolean
authorized (AicServer          *self,
            SoupMessageHeaders *headers)
{
  const char *value;

  if (self->token == NULL)
    return TRUE;

  value = soup_message_headers_get_one (headers, "Authorization");
  if (value != NULL && g_ascii_strncasecmp (value, "Bearer ", 7) == 0)
    {
      value += 7;
      while (*value == ' ')
        value++;
      return aic_token_equal (self->token, value);
    }

  /* Browsers cannot set headers on a WebSocket: OpenAI's SDK sends the
   * key as a subprotocol, "realtime, openai-insecure-api-key.KEY". */
  value = soup_message_headers_get_list (headers, "Sec-WebSocket-Protocol");
  if (value != NULL)
    {
      GSList *protocols = soup_header_parse_list (value);
      gboolean found = FALSE;

      for (GSList *l = protocols; l != NULL && !found; l = l->next)
        if (g_str_has_prefix (l->data, KEY_PROTOCOL))
          found = aic_token_equal (self->token, (const char *) l->data + strlen (KEY_PROTOCOL));
      soup_header_free_list (protocols);
      return found;
    }
  return FALSE;
}

static void
too_large (AicServer         *self,
           SoupServerMessage *message)
{
  g_autofree char *text = g_strdup_printf ("The request body is larger than %" G_GINT64_FORMAT " bytes.",
                                           self->max_upload_bytes);
  aic_reply_error (message, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_large", text);
}

/* Every body is counted as it comes, whatever its framing; past the limit
 * it is no longer kept, and the request is answered 413 once it has been
 * read. A declared length is checked before, but counting does not trust
 * the framing to be what the headers said. */
static void
got_chunk_cb (SoupServerMessage *message,
              GBytes            *chunk,
              AicServer         *self)
{
  gint64 received = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (message), "aic-received"));

  received += g_bytes_get_size (chunk);
  g_object_set_data (G_OBJECT (message), "aic-received", GSIZE_TO_POINTER ((gsize) received));
  if (received > self->max_upload_bytes)
    {
      g_object_set_data (G_OBJECT (message), "aic-too-large", GINT_TO_POINTER (TRUE));
      soup_message_body_set_accumulate (soup_server_message_get_request_body (message), FALSE);
      soup_message_body_truncate (soup_server_message_get_request_body (message));
    }
}

/* libsoup reads Content-Length with strtoull and hands it back as a
 * signed goffset: "-1", 2^64-1 and 10^20 all come out negative, pass any
 * "larger than the limit" test, and the body is then read until the peer
 * stops. So the header is judged here as text: one run of digits that
 * fits in a gint64 (duplicates arrive joined by commas and are refused). */
static gboolean
content_length_valid (SoupMessageHeaders *headers,
                      gint64             *out_length)
{
  const char *value = soup_message_headers_get_list (headers, "Content-Length");
  g_autofree char *text = NULL;
  guint64 length = 0;

  *out_length = -1;
  if (value == NULL)
    return TRUE;
  text = g_strstrip (g_strdup (value));
  if (text[0] == '\0' || strspn (text, "0123456789") != strlen (text) ||
      !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &length, NULL))
    return FALSE;
  *out_length = (gint64) length;
  return TRUE;
}

/* Runs on the headers alone, before libsoup reads a body: a refused
 * request must not get to make the server hold megabytes first. */
static gboolean
gate (AicServer         *self,
      SoupServerMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  gint64 length;

  /* Framing first: with a length that cannot be read, where this request
   * ends (and the next begins) is unknown, whoever sends it. */
  if (!content_length_valid (headers, &length))
    {
      g_object_set_data (G_OBJECT (message), "aic-hang-up", GINT_TO_POINTER (TRUE));
      aic_reply_error (message, SOUP_STATUS_BAD_REQUEST, "bad_request",
                       "The Content-Length header is not a number of bytes.");
      return FALSE;
    }

  if (!aic_server_host_allowed (self->host, soup_message_headers_get_one (headers, "Host")))
    {
      aic_reply_error (message, SOUP_STATUS_FORBIDDEN, "host_not_allowed",
                   "The Host header does not name this server.");
      return FALSE;
    }

  if (!origin_allowed (self, soup_message_headers_get_one (headers, "Origin")))
    {
      aic_reply_error (message, SOUP_STATUS_FORBIDDEN, "origin_not_allowed",
                   "Requests from this origin are not allowed.");
      return FALSE;
    }
  if (soup_message_headers_get_one (headers, "Origin") != NULL)
    {
      add_cors_headers (message, soup_message_headers_get_one (headers, "Origin"));
      if (is_preflight (message))
        {
          answer_preflight (message);
          return FALSE;
        }
    }

  if (!authorized (self, headers))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                    "WWW-Authenticate", "Bearer realm=\"ai-console\"");
      aic_reply_error (message, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                   "A valid bearer token is required.");
      return FALSE;
    }

  /* A declared length over the limit is answered once the body has gone
   * by unkept: clients send the whole body before they read an answer,
   * and would otherwise see a reset instead of the 413. */
  if (length > self->max_upload_bytes)
    {
      too_large (self, message);
      return FALSE;
    }

  if (g_object_get_data (G_OBJECT (message), "aic-too-large") != NULL)
    {
      too_large (self, message);
      return FALSE;
    }

  return TRUE;
}

static void
refusal_closed_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (object), result, NULL);
  g_object_unref (object);
}

static void
refusal_written_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GIOStream *stream = user_data;

  /* The peer may be gone already; the connection is closed either way. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, refusal_closed_cb, NULL);
}

/* libsoup reads a request's whole body before it writes any answer, even
 * one an early handler has set; for a length it could not read, that is
 * "until the peer stops". A request whose length cannot be read is
 * therefore answered here, on the connection taken from libsoup, which is then
 * closed without reading another byte. */
static void
answer_and_hang_up (SoupServerMessage *message)
{
  guint status = soup_server_message_get_status (message);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (message);
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_response_body (message));
  g_autoptr(GString) text = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  GIOStream *stream;
  GBytes *bytes;

  g_string_printf (text, "HTTP/1.1 %u %s\r\n", status, soup_status_get_phrase (status));
  soup_message_headers_iter_init (&iter, response_headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    if (g_ascii_strcasecmp (name, "Content-Length") != 0 && g_ascii_strcasecmp (name, "Connection") != 0)
      g_string_append_printf (text, "%s: %s\r\n", name, value);
  g_string_append_printf (text, "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
                          g_bytes_get_size (body));
  g_string_append_len (text, g_bytes_get_data (body, NULL), g_bytes_get_size (body));

  stream = soup_server_message_steal_connection (message);
  if (stream == NULL)
    return;
  bytes = g_string_free_to_bytes (g_steal_pointer (&text));
  g_object_set_data_full (G_OBJECT (stream), "aic-refusal", bytes, (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream),
                                   g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   G_PRIORITY_DEFAULT, NULL, refusal_written_cb, stream);
}

/* What every early handler does with a request the gate refused. */
static void
refuse_early (SoupServerMessage *message)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (message), FALSE);
  if (g_object_get_data (G_OBJECT (message), "aic-hang-up") != NULL)
    answer_and_hang_up (message);
}

static void
early_gate (SoupServer        *server,
            SoupServerMessage *message,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  AicServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);

  if (!gate (self, message))
    {
      refuse_early (message);
      return;
    }

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED &&
      g_strv_contains (upload_paths, path))
    {
      soup_message_body_set_accumulate (soup_server_message_get_request_body (message), FALSE);
      aic_reply_error (message, SOUP_STATUS_LENGTH_REQUIRED, "length_required",
                       "Send documents with a Content-Length, so their size can be checked first.");
      return;
    }
  g_signal_connect (message, "got-chunk", G_CALLBACK (got_chunk_cb), self);
}

static void
reply_nothing_at (SoupServerMessage *message,
                  const char        *path)
{
  g_autofree char *text = g_strdup_printf ("There is nothing at %s.", path);

  aic_reply_error (message, SOUP_STATUS_NOT_FOUND, "not_found", text);
}

/* A WebSocket path answers anything but an upgrade with 426, in JSON like
 * every other route, instead of libsoup's page. */
static gboolean
is_upgrade (SoupServerMessage *message,
            const char        *what)
{
  const char *upgrade = soup_message_headers_get_one (soup_server_message_get_request_headers (message), "Upgrade");
  g_autofree char *text = NULL;

  if (upgrade != NULL && g_ascii_strcasecmp (upgrade, "websocket") == 0)
    return TRUE;
  text = g_strdup_printf ("%s is a WebSocket: connect with an Upgrade: websocket request.", what);
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "Upgrade", "websocket");
  aic_reply_error (message, 426, "upgrade_required", text);
  return FALSE;
}

static void
dispatch (SoupServer        *server,
          SoupServerMessage *message,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  AicServer *self = user_data;
  const char *method = soup_server_message_get_method (message);
  g_autoptr(GString) allow = NULL;

  /* The early gate has run already; checking again costs nothing and keeps
   * the rule in one place should a route ever be reached another way. */
  if (!gate (self, message))
    return;

  allow = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      if (!route_matches (routes[i].path, path, NULL))
        continue;
      if (strcmp (routes[i].method, method) == 0 ||
          (strcmp (method, "HEAD") == 0 && strcmp (routes[i].method, "GET") == 0))
        {
          routes[i].handler (self, message, path);
          return;
        }
      g_string_append_printf (allow, "%s%s", allow->len ? ", " : "", routes[i].method);
    }

  if (allow->len > 0)
    {
      g_autofree char *text = g_strdup_printf ("%s is not allowed on %s.", method, path);

      soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                    "Allow", allow->str);
      aic_reply_error (message, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", text);
      return;
    }

  reply_nothing_at (message, path);
}

static void
disarm (Connection *connection)
{
  if (connection->deadline != NULL)
    g_source_destroy (connection->deadline);
  g_clear_pointer (&connection->deadline, g_source_unref);
}

/* A request's headers must all arrive within the header timeout (which
 * also bounds an idle kept-alive connection), and its body at an average
 * of AIC_SERVER_MIN_BODY_RATE once that long has passed: otherwise a few
 * slow peers hold every connection the server allows. */
static gboolean
stalled_cb (gpointer data)
{
  Connection *connection = data;
  AicServer *self = connection->server;

  if (self != NULL && connection->in_body)
    {
      gint64 elapsed_ms = (g_get_monotonic_time () - connection->body_since) / 1000;

      if (elapsed_ms <= self->header_timeout_ms ||
          connection->body_bytes * 1000 >= (guint64) AIC_SERVER_MIN_BODY_RATE * (elapsed_ms - self->header_timeout_ms))
        return G_SOURCE_CONTINUE;
    }
  g_debug ("Closing a connection from %s: its request %s", connection->peer,
           connection->in_body ? "body came too slowly" : "headers did not come in time");
  g_clear_pointer (&connection->deadline, g_source_unref);
  /* Shut down, not closed: libsoup sees the end of the stream and lets
   * the connection go in its own time, descriptor included. */
  g_socket_shutdown (connection->socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
arm (Connection *connection,
     guint       interval_ms)
{
  disarm (connection);
  connection->deadline = g_timeout_source_new (interval_ms);
  g_source_set_callback (connection->deadline, stalled_cb, connection, NULL);
  g_source_attach (connection->deadline, connection->server->context);
}

static char *
connection_key (GSocketAddress *remote)
{
  g_autofree char *peer = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  peer = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return g_strdup_printf ("%s:%u", peer, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
}

static Connection *
connection_of (AicServer         *self,
               SoupServerMessage *message)
{
  const char *key = g_object_get_data (G_OBJECT (message), "aic-connection");

  return key != NULL ? g_hash_table_lookup (self->connections, key) : NULL;
}

static void
request_headers_cb (SoupServerMessage *message,
                    AicServer         *self)
{
  Connection *connection = connection_of (self, message);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  if (connection == NULL)
    return;
  if (encoding == SOUP_ENCODING_CHUNKED ||
      (encoding == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length (headers) > 0))
    {
      connection->in_body = TRUE;
      connection->body_since = g_get_monotonic_time ();
      connection->body_bytes = 0;
      arm (connection, 1000);
    }
  else
    disarm (connection);
}

static void
request_chunk_cb (SoupServerMessage *message,
                  GBytes            *chunk,
                  AicServer         *self)
{
  Connection *connection = connection_of (self, message);

  if (connection != NULL)
    connection->body_bytes += g_bytes_get_size (chunk);
}

static void
request_body_cb (SoupServerMessage *message,
                 AicServer         *self)
{
  Connection *connection = connection_of (self, message);

  if (connection == NULL)
    return;
  connection->in_body = FALSE;
  disarm (connection);
}

/* libsoup starts reading a request as soon as a connection is taken and
 * again once the previous answer is written. */
static void
request_started_cb (SoupServer        *soup,
                    SoupServerMessage *message,
                    AicServer         *self)
{
  char *key = connection_key (soup_server_message_get_remote_address (message));
  Connection *connection = key != NULL ? g_hash_table_lookup (self->connections, key) : NULL;

  if (connection == NULL)
    {
      g_free (key);
      return;
    }
  g_object_set_data_full (G_OBJECT (message), "aic-connection", key, g_free);
  connection->in_body = FALSE;
  arm (connection, self->header_timeout_ms);
  g_signal_connect (message, "got-headers", G_CALLBACK (request_headers_cb), self);
  g_signal_connect (message, "got-chunk", G_CALLBACK (request_chunk_cb), self);
  g_signal_connect (message, "got-body", G_CALLBACK (request_body_cb), self);
}

static void
connection_gone (gpointer  data,
                 GObject  *where_the_stream_was)
{
  Connection *connection = data;
  AicServer *self = connection->server;

  disarm (connection);

  if (self != NULL)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->peers, connection->peer));

      g_hash_table_remove (self->connections, connection->key);
      if (count <= 1)
        g_hash_table_remove (self->peers, connection->peer);
      else
        g_hash_table_insert (self->peers, g_strdup (connection->peer), GUINT_TO_POINTER (count - 1));
      self->n_connections--;
    }
  g_clear_object (&connection->cancellable);
  g_free (connection->key);
  g_free (connection->peer);
  g_free (connection);
}

/* Past the cap a client gets a short answer written without waiting and
 * the connection is closed: it costs one descriptor for a moment. */
static void
refuse_busy (GSocket *client)
{
  static const char body[] =
    "{\"error\":{\"code\":\"busy\",\"message\":\"The server has too many connections open; try again shortly.\"}}";
  g_autofree char *answer = g_strdup_printf ("HTTP/1.1 503 Service Unavailable\r\n"
                                             "Content-Type: application/json\r\n"
                                             "Retry-After: 5\r\nConnection: close\r\n"
                                             "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                                             strlen (body), body);

  g_socket_set_blocking (client, FALSE);
  g_socket_send (client, answer, strlen (answer), NULL, NULL);
  g_socket_shutdown (client, FALSE, TRUE, NULL);
  g_socket_close (client, NULL);
}

/* A connection between accept and libsoup: its first byte says what it
 * speaks (0x16 opens a TLS handshake). A peer speaking the other of TLS
 * and plain HTTP is told so at once and let go, rather than waiting out
 * the header timeout; over TLS the handshake comes first, within that
 * same timeout. */
typedef struct
{
  Connection        *connection;
  AicCountingStream *stream;
  GTlsConnection    *tls;        /* NULL on a plain port */
  GSocketAddress    *local;
  GSocketAddress    *remote;
} Pending;

static void
pending_free (Pending *pending)
{
  g_object_unref (pending->stream);
  g_clear_object (&pending->tls);
  g_object_unref (pending->local);
  g_object_unref (pending->remote);
  g_free (pending);
}

/* The streams close as the last reference goes. */
static void
pending_drop (Pending *pending)
{
  g_socket_shutdown (pending->connection->socket, TRUE, TRUE, NULL);
  pending_free (pending);
}

static void
hand_over (Pending *pending)
{
  AicServer *self = pending->connection->server;
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    {
      pending_drop (pending);
      return;
    }
  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (pending->stream), pending->local, pending->remote, &error))
    g_debug ("Could not take a connection from %s: %s", pending->connection->peer, error->message);
  pending_free (pending);
}

/* An answer the peer can read whichever it speaks: a TLS client fails on
 * it at once ("wrong version number"), a person sees why. */
static void
refuse_scheme (Pending  *pending,
               gboolean  peer_speaks_tls)
{
  const char *message = peer_speaks_tls ? "This server speaks plain HTTP, not TLS: use http:// and ws://."
                                        : "This server speaks HTTPS: use https:// and wss://.";
  g_autofree char *body = g_strdup_printf ("{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                                           peer_speaks_tls ? "tls_not_enabled" : "tls_required", message);
  g_autofree char *answer = g_strdup_printf ("HTTP/1.1 400 Bad Request\r\n"
                                             "Content-Type: application/json\r\nConnection: close\r\n"
                                             "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                                             strlen (body), body);
  char discard[16 * 1024];

  g_debug ("Refusing a connection from %s: it speaks %s", pending->connection->peer, peer_speaks_tls ? "TLS" : "plain HTTP");
  /* What came is read first: closing on unread bytes resets the
   * connection, and the peer may lose the answer. */
  g_socket_receive_with_blocking (pending->connection->socket, discard, sizeof discard, FALSE, NULL, NULL);
  g_socket_send_with_blocking (pending->connection->socket, answer, strlen (answer), FALSE, NULL, NULL);
  pending_drop (pending);
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pending *pending = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, &error))
    {
      g_debug ("TLS handshake with %s failed: %s", pending->connection->peer, error->message);
      pending_drop (pending);
      return;
    }
  hand_over (pending);
}

static gboolean
sniffed_cb (GSocket      *socket,
            GIOCondition  condition,
            gpointer      user_data)
{
  Pending *pending = user_data;
  Connection *connection = pending->connection;
  g_autoptr(GError) error = NULL;
  guint8 first = 0;
  gssize n = -1;
  gboolean speaks_tls;

  if (connection->server != NULL && !g_cancellable_is_cancelled (connection->cancellable))
    {
      GInputVector vector = { &first, 1 };
      int flags = G_SOCKET_MSG_PEEK;

      n = g_socket_receive_message (socket, NULL, &vector, 1, NULL, NULL, &flags, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
    }
  /* Gone, timed out (the deadline shuts the socket down), or failed. */
  if (n != 1)
    {
      pending_drop (pending);
      return G_SOURCE_REMOVE;
    }

  speaks_tls = first == 0x16;
  if (speaks_tls != (pending->tls != NULL))
    refuse_scheme (pending, speaks_tls);
  else if (pending->tls != NULL)
    g_tls_connection_handshake_async (pending->tls, G_PRIORITY_DEFAULT, connection->cancellable,
                                      handshake_cb, pending);
  else
    hand_over (pending);
  return G_SOURCE_REMOVE;
}

static void
sniff (Connection        *connection,
       AicCountingStream *stream,
       GIOStream         *tls,
       GSocketAddress    *local,
       GSocketAddress    *remote)
{
  Pending *pending = g_new0 (Pending, 1);
  GSource *source;

  pending->connection = connection;
  pending->stream = g_object_ref (stream);
  pending->tls = tls != NULL ? g_object_ref (G_TLS_CONNECTION (tls)) : NULL;
  pending->local = g_object_ref (local);
  pending->remote = g_object_ref (remote);
  arm (connection, connection->server->header_timeout_ms);
  source = g_socket_create_source (connection->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, connection->cancellable);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) sniffed_cb, pending, NULL);
  g_source_attach (source, connection->server->context);
  g_source_unref (source);
}

static void
take_client (AicServer *self,
             GSocket   *client)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (client, NULL);
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (client, NULL);
  g_autoptr(GSocketConnection) socket_stream = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(AicCountingStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *peer = NULL;
  GInetAddress *address;
  Connection *connection;
  guint from_peer;

  if (!G_IS_INET_SOCKET_ADDRESS (remote) || local == NULL)
    {
      g_socket_close (client, NULL);
      return;
    }
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  peer = g_inet_address_to_string (address);
  from_peer = GPOINTER_TO_UINT (g_hash_table_lookup (self->peers, peer));

  /* Every local program is the same peer (loopback): a per-peer cap there
   * would be a second global one, so it applies to other machines only. */
  if (self->n_connections >= self->max_connections ||
      (!g_inet_address_get_is_loopback (address) && from_peer >= self->max_per_peer))
    {
      g_debug ("Refusing a connection from %s: %u open (%u from it)", peer, self->n_connections, from_peer);
      refuse_busy (client);
      return;
    }

  /* As libsoup's own listener does: small frames (voice, events) go out
   * at once rather than waiting on the previous one's acknowledgement. */
  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  socket_stream = g_socket_connection_factory_create_connection (client);
  if (self->tls_certificate != NULL)
    {
      tls = g_tls_server_connection_new (G_IO_STREAM (socket_stream), self->tls_certificate, &error);
      if (tls == NULL)
        {
          g_warning ("Could not make a TLS connection: %s", error->message);
          return;
        }
      /* Clients often just close; that is not an attack on a request
       * whose length was framed anyway. */
      g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
    }
  /* Over TLS the count is of plain bytes, as the WebSocket guard wants. */
  stream = aic_counting_stream_new (tls != NULL ? G_IO_STREAM (tls) : G_IO_STREAM (socket_stream));
  /* An event a send, not three (size line, data, CRLF): see there. */
  aic_counting_stream_set_coalesce_chunks (stream, TRUE);
  connection = g_new0 (Connection, 1);
  connection->server = self;
  connection->peer = g_strdup (peer);
  connection->key = connection_key (remote);
  connection->socket = client;
  connection->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->connections, connection->key, connection);
  g_hash_table_insert (self->peers, g_strdup (peer), GUINT_TO_POINTER (from_peer + 1));
  self->n_connections++;
  g_object_weak_ref (G_OBJECT (stream), connection_gone, connection);

  sniff (connection, stream, tls, local, remote);
}

static gboolean accept_cb (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
start_accepting (AicServer *self)
{
  self->accept_source = g_socket_create_source (self->listener, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, (GSourceFunc) (void (*) (void)) accept_cb, self, NULL);
  g_source_attach (self->accept_source, self->context);
}

static GSocket *
open_listener (GSocketAddress  *address,
               GError         **error)
{
  g_autoptr(GSocket) socket = g_socket_new (g_socket_address_get_family (address),
                                            G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);

  if (socket == NULL)
    return NULL;
  /* libsoup 3.2 listens with GSocketListener's backlog of 10: a burst of
   * clients past it waits out SYN retries, a second and more each. Ours
   * holds a thousand clients arriving at once (see aic-server.h); what
   * the kernel made of it reads back as tcpi_sacked of TCP_INFO. */
  g_socket_set_listen_backlog (socket, AIC_SERVER_LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  return g_steal_pointer (&socket);
}

static gboolean
resume_cb (gpointer user_data)
{
  AicServer *self = user_data;

  if (self->listener == NULL)
    {
      g_autoptr(GError) error = NULL;

      self->listener = open_listener (self->listen_address, &error);
      if (self->listener == NULL)
        {
          g_debug ("Could not listen again yet: %s", error->message);
          return G_SOURCE_CONTINUE;
        }
      g_message ("Listening again after the listener failed");
    }
  g_clear_pointer (&self->resume_source, g_source_unref);
  start_accepting (self);
  return G_SOURCE_REMOVE;
}

static void
resume_later (AicServer *self,
              guint      delay_ms)
{
  self->resume_source = g_timeout_source_new (delay_ms);
  g_source_set_callback (self->resume_source, resume_cb, self, NULL);
  g_source_attach (self->resume_source, self->context);
}

/* libsoup 3.2 stops accepting for good on any accept() error, such as
 * running out of descriptors; this loop waits a moment and goes on, and
 * opens the listener again on the same port should it ever break. */
static gboolean
accept_cb (GSocket      *socket,
           GIOCondition  condition,
           gpointer      user_data)
{
  AicServer *self = user_data;

  for (guint i = 0; i < 64; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = g_socket_accept (socket, NULL, &error);

      if (client != NULL)
        {
          take_client (self, client);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;

      g_clear_pointer (&self->accept_source, g_source_unref);
      if ((condition & (G_IO_ERR | G_IO_NVAL)) != 0 ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
        {
          g_warning ("The listener failed (%s); listening again", error->message);
          g_socket_close (self->listener, NULL);
          g_clear_object (&self->listener);
          resume_later (self, 1000);
        }
      else
        {
          /* Out of descriptors or memory: what the peers hold now is
           * freed as they finish or time out. */
          g_debug ("Not accepting for a moment: %s", error->message);
          resume_later (self, 100);
        }
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
stop_listening (AicServer *self)
{
  if (self->accept_source != NULL)
    g_source_destroy (self->accept_source);
  g_clear_pointer (&self->accept_source, g_source_unref);
  if (self->resume_source != NULL)
    g_source_destroy (self->resume_source);
  g_clear_pointer (&self->resume_source, g_source_unref);
  if (self->listener != NULL)
    g_socket_close (self->listener, NULL);
  g_clear_object (&self->listener);
}

/**
 * aic_server_raise_fd_limit:
 *
 * Raises the soft limit on open descriptors to the hard one: each client
 * holds one, and the default soft limit (often 1024) is what a local
 * program exhausts first.
 *
 * Returns: the soft limit now in force
 */
guint
aic_server_raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return 1024;
  if (limit.rlim_cur < limit.rlim_max)
    {
      struct rlimit raised = { limit.rlim_max, limit.rlim_max };

      if (setrlimit (RLIMIT_NOFILE, &raised) == 0)
        limit = raised;
    }
  return limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > G_MAXUINT ? G_MAXUINT : (guint) limit.rlim_cur;
}

/**
 * aic_server_set_max_connections:
 * @max_connections: connections open at once; 0 for half the descriptor
 *   limit (at most 4096)
 *
 * Takes effect at the next aic_server_listen().
 */
void
aic_server_set_max_connections (AicServer *self,
                                guint      max_connections)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  self->max_connections = max_connections;
}

/**
 * aic_server_set_header_timeout:
 * @seconds: how long a request's headers may take to arrive, and how long
 *   a body may go before it must keep up AIC_SERVER_MIN_BODY_RATE
 */
void
aic_server_set_header_timeout (AicServer *self,
                               guint      seconds)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  g_return_if_fail (seconds > 0);
  self->header_timeout_ms = seconds * 1000;
}

/**
 * aic_server_set_tls_certificate:
 * @certificate: (nullable): with its private key; %NULL for plain HTTP
 *
 * Connections accepted from now on speak TLS (https://, wss://).
 */
void
aic_server_set_tls_certificate (AicServer       *self,
                                GTlsCertificate *certificate)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));
  g_set_object (&self->tls_certificate, certificate);
}

static void
aic_server_finalize (GObject *object)
{
  AicServer *self = (AicServer *)object;

  GHashTableIter iter;
  Connection *connection;

  stop_listening (self);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  /* Streams libsoup still holds free their entry when they go. */
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &connection))
    {
      disarm (connection);
      g_cancellable_cancel (connection->cancellable);
      connection->server = NULL;
    }
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_object (&self->listen_address);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->chat);
  g_clear_object (&self->jobs);
  g_clear_object (&self->voice);
  g_clear_object (&self->agents);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->allowed_origins, g_strfreev);
  g_clear_pointer (&self->host, g_free);
  g_clear_object (&self->tls_certificate);

  G_OBJECT_CLASS (aic_server_parent_class)->finalize (object);
}

static void
aic_server_class_init (AicServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_server_finalize;
}

static void
aic_server_init (AicServer *self)
{
  self->max_upload_bytes = AIC_SERVER_DEFAULT_MAX_UPLOAD;
  self->n_workers = AIC_JOB_QUEUE_DEFAULT_WORKERS;
  self->document_limits.max_pages = AIC_DOCUMENT_DEFAULT_MAX_PAGES;
  self->document_limits.max_text = AIC_DOCUMENT_DEFAULT_MAX_TEXT;
  self->document_limits.max_parts = AIC_DOCUMENT_DEFAULT_MAX_PARTS;
  self->connections = g_hash_table_new (g_str_hash, g_str_equal);
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->soup = soup_server_new ("server-header", "ai-console-server/" PACKAGE_VERSION " ", NULL);
  self->header_timeout_ms = AIC_SERVER_DEFAULT_HEADER_TIMEOUT_S * 1000;
  g_signal_connect (self->soup, "request-started", G_CALLBACK (request_started_cb), self);
  /* A compressed message can grow a thousandfold before any limit on the
   * message sees it; what clients send here is small or already PCM. */
  soup_server_remove_websocket_extension (self->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_early_handler (self->soup, NULL, early_gate, self, NULL);
  soup_server_add_handler (self->soup, NULL, dispatch, self, NULL);
}

/* The voice session's paths: ours, and the two where OpenAI's SDKs look
 * for a Realtime service ({base}/realtime, base ending in /v1 or not). */
static const char * const voice_paths[] = { "/api/voice", "/v1/realtime", "/realtime", NULL };
/* The subprotocol Realtime clients offer beside the key. */
static const char *voice_protocols[] = { "realtime", NULL };

/* A voice path and everything under it reach the WebSocket handler: what
 * is not an upgrade to exactly that path gets a JSON answer here, like
 * every other route, instead of libsoup's page. */
static void
voice_early_gate (SoupServer        *server,
                  SoupServerMessage *message,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  AicServer *self = user_data;

  if (!gate (self, message))
    {
      refuse_early (message);
      return;
    }
  if (!g_strv_contains (voice_paths, path))
    reply_nothing_at (message, path);
  else
    is_upgrade (message, path);
}

/* The gate has passed the upgrade request already (early handler). */
/* A message from a client is at most 1 MiB however it is fragmented;
 * what it leaves unread is at most 16 MiB (a long spoken answer, sent
 * faster than it is played, is a few MiB), then it is closed. */
#define WS_MAX_MESSAGE (1024 * 1024)
#define WS_MAX_BACKLOG (16 * 1024 * 1024)

static void
guard_websocket (SoupWebsocketConnection *websocket)
{
  /* take_client() put a counting stream under every connection. */
  if (!aic_ws_guard_attach (websocket, WS_MAX_MESSAGE, WS_MAX_BACKLOG))
    g_warning ("A WebSocket without a counting stream: only libsoup's per-fragment limit applies");
}

static void
voice_cb (SoupServer              *server,
          SoupServerMessage       *message,
          const char              *path,
          SoupWebsocketConnection *connection,
          gpointer                 user_data)
{
  AicServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  /* What OpenAI's beta Realtime SDK sends; it wants the beta names. */
  const char *beta = soup_message_headers_get_one (headers, "OpenAI-Beta");

  guard_websocket (connection);
  aic_voice_hub_accept (self->voice, connection, beta != NULL && strstr (beta, "realtime=v1") != NULL);
}

/* /ws/runs/{id} (the control plane of a run made over REST) and
 * /ws/agent/{id} (the plainer shape, where connecting starts the run). */
static void
ws_early_gate (SoupServer        *server,
               SoupServerMessage *message,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  AicServer *self = user_data;
  g_autofree char *id = NULL;

  if (!gate (self, message))
    {
      refuse_early (message);
      return;
    }
  if (!route_matches ("/ws/runs/*", path, NULL) && !route_matches ("/ws/agent/*", path, NULL))
    reply_nothing_at (message, path);
  else if (route_matches ("/ws/runs/*", path, &id) && !aic_agent_hub_knows (self->agents, id))
    {
      g_autofree char *text = g_strdup_printf ("There is no run %s.", id);
      aic_reply_error (message, SOUP_STATUS_NOT_FOUND, "not_found", text);
    }
  else
    is_upgrade (message, "A run's control channel");
}

static void
ws_cb (SoupServer              *server,
       SoupServerMessage       *message,
       const char              *path,
       SoupWebsocketConnection *connection,
       gpointer                 user_data)
{
  AicServer *self = user_data;
  const char *query_text = g_uri_get_query (soup_server_message_get_uri (message));
  g_autoptr(GHashTable) query = query_text ? g_uri_parse_params (query_text, -1, "&", G_URI_PARAMS_NONE, NULL) : NULL;
  g_autofree char *id = NULL;

  guard_websocket (connection);
  if (route_matches ("/ws/runs/*", path, &id))
    aic_agent_hub_accept (self->agents, connection, id, FALSE, query);
  else if (route_matches ("/ws/agent/*", path, &id))
    aic_agent_hub_accept (self->agents, connection, id, TRUE, query);
  else
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
}

/**
 * aic_server_new:
 * @token: (nullable): the bearer token; %NULL turns authentication off
 */
AicServer *
aic_server_new (AicEngine  *engine,
                const char *token)
{
  g_autoptr(GError) error = NULL;
  AicServer *self;

  g_return_val_if_fail (AIC_IS_ENGINE (engine), NULL);

  self = g_object_new (AIC_TYPE_SERVER, NULL);
  self->engine = g_object_ref (engine);
  self->chat = aic_chat_hub_new (engine);
  self->voice = aic_voice_hub_new (engine);
  for (guint i = 0; voice_paths[i] != NULL; i++)
    {
      soup_server_add_websocket_handler (self->soup, voice_paths[i], NULL, (char **) voice_protocols,
                                         voice_cb, self, NULL);
      /* libsoup runs only the early handler of the path that matches
       * best: each upgrade passes the same gate as everything else. */
      soup_server_add_early_handler (self->soup, voice_paths[i], voice_early_gate, self, NULL);
    }
  soup_server_add_websocket_handler (self->soup, "/ws", NULL, NULL, ws_cb, self, NULL);
  soup_server_add_early_handler (self->soup, "/ws", ws_early_gate, self, NULL);
  self->token = g_strdup (token);
  if (!aic_server_open_jobs (self, NULL, &error))
    g_error ("An in-memory job table could not be made: %s", error->message);
  if (!aic_server_open_runs (self, NULL, NULL, &error))
    g_error ("An in-memory run table could not be made: %s", error->message);
  return self;
}

/**
 * aic_server_open_jobs:
 * @data_dir: (nullable): where jobs.db lives; %NULL keeps jobs in memory
 *
 * Opens the job table and picks up what a previous run left unfinished.
 */
gboolean
aic_server_open_jobs (AicServer   *self,
                      const char  *data_dir,
                      GError     **error)
{
  g_autofree char *path = data_dir ? g_build_filename (data_dir, "jobs.db", NULL) : g_strdup (":memory:");
  g_autoptr(AicJobStore) store = NULL;
  g_autoptr(AicJobQueue) queue = NULL;

  g_return_val_if_fail (AIC_IS_SERVER (self), FALSE);

  store = aic_job_store_open (path, error);
  if (store == NULL)
    return FALSE;
  queue = aic_job_queue_new (store, self->engine, self->n_workers);
  aic_job_queue_set_document_limits (queue, &self->document_limits);
  if (!aic_job_queue_start (queue, error))
    return FALSE;
  g_clear_object (&self->jobs);
  self->jobs = aic_job_hub_new (queue);
  aic_job_hub_set_max_bytes (self->jobs, self->max_upload_bytes);
  return TRUE;
}

/**
 * aic_server_open_runs:
 * @data_dir: (nullable): where runs.db lives; %NULL keeps runs in memory
 * @workspace: (nullable): the folder runs work in when they name none;
 *   by default DATA-DIR/workspace
 *
 * Opens the run table and carries on with the runs a previous server
 * left unfinished.
 */
gboolean
aic_server_open_runs (AicServer   *self,
                      const char  *data_dir,
                      const char  *workspace,
                      GError     **error)
{
  g_autofree char *path = data_dir ? g_build_filename (data_dir, "runs.db", NULL) : g_strdup (":memory:");
  g_autofree char *folder = NULL;
  g_autoptr(AicRunStore) store = NULL;

  g_return_val_if_fail (AIC_IS_SERVER (self), FALSE);

  if (workspace != NULL)
    folder = g_strdup (workspace);
  else if (data_dir != NULL)
    folder = g_build_filename (data_dir, "workspace", NULL);
  else
    folder = g_build_filename (g_get_user_data_dir (), "ai-console", "workspace", NULL);

  store = aic_run_store_open (path, error);
  if (store == NULL)
    return FALSE;
  g_clear_object (&self->agents);
  self->agents = aic_agent_hub_new (self->engine, store, folder);
  aic_agent_hub_add_secret (self->agents, self->token);
  aic_agent_hub_resume (self->agents);
  return TRUE;
}

AicAgentHub *
aic_server_get_agent_hub (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);
  return self->agents;
}

/**
 * aic_server_set_workers:
 * How many document jobs run at once; takes effect at the next
 * aic_server_open_jobs().
 */
void
aic_server_set_workers (AicServer *self,
                        guint      n_workers)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  self->n_workers = MAX (n_workers, 1);
}

/**
 * aic_server_set_document_limits:
 * What a document may become (pages, text, parts) before its job fails;
 * takes effect at the next aic_server_open_jobs().
 */
void
aic_server_set_document_limits (AicServer               *self,
                                const AicDocumentLimits *limits)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  g_return_if_fail (limits != NULL);
  self->document_limits = *limits;
}

AicJobHub *
aic_server_get_job_hub (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);
  return self->jobs;
}

void
aic_server_set_allowed_origins (AicServer          *self,
                                const char * const *origins)
{
  g_return_if_fail (AIC_IS_SERVER (self));

  g_strfreev (self->allowed_origins);
  self->allowed_origins = g_strdupv ((char **) origins);
}

void
aic_server_set_max_upload_bytes (AicServer *self,
                                 gint64     max_bytes)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  g_return_if_fail (max_bytes > 0);
  self->max_upload_bytes = max_bytes;
  if (self->jobs != NULL)
    aic_job_hub_set_max_bytes (self->jobs, max_bytes);
}

/* libsoup 3.2 keeps a connection open after a response only while the
 * SoupServer has a listener of its own (request_finished() closes it when
 * its list of listeners is empty). Our listening socket is accepted by our
 * own loop (see accept_cb()), so it gives libsoup one that can never be
 * reached: a Unix socket whose name is gone as soon as it listens. */
static gboolean
add_keep_alive_listener (AicServer  *self,
                         GError    **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  gboolean ok;

  if (soup_server_get_listeners (self->soup) != NULL)
    return TRUE;

  folder = g_dir_make_tmp ("aic-server-XXXXXX", error);
  if (folder == NULL)
    return FALSE;
  path = g_build_filename (folder, "unused", NULL);
  address = g_unix_socket_address_new (path);

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  ok = socket != NULL &&
       g_socket_bind (socket, address, FALSE, error) &&
       g_socket_listen (socket, error);
  g_unlink (path);
  g_rmdir (folder);
  if (!ok)
    return FALSE;

  return soup_server_listen_socket (self->soup, socket, 0, error);
}

/**
 * aic_server_listen:
 * @host: an IP address or "localhost"
 * @port: a port, or 0 for any free one (see aic_server_get_port())
 */
gboolean
aic_server_listen (AicServer   *self,
                   const char  *host,
                   guint        port,
                   GError     **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) listener = NULL;

  g_return_val_if_fail (AIC_IS_SERVER (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    address = g_inet_address_new_from_string (host);

  if (address == NULL)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not an IP address to listen on."), host);
      return FALSE;
    }
  if (port > G_MAXUINT16)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                   _("%u is not a port number."), port);
      return FALSE;
    }

  socket_address = g_inet_socket_address_new (address, port);
  listener = open_listener (socket_address, error);
  if (listener == NULL || !add_keep_alive_listener (self, error))
    return FALSE;

  stop_listening (self);
  self->listener = g_steal_pointer (&listener);
  g_clear_object (&self->listen_address);
  self->listen_address = g_socket_get_local_address (self->listener, error);
  if (self->listen_address == NULL)
    return FALSE;
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (self->listen_address));

  /* Below the descriptor limit, with room left for files, databases and
   * the pipes of agents' commands. */
  if (self->max_connections == 0)
    {
      struct rlimit limit;
      guint64 soft = getrlimit (RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;

      self->max_connections = (guint) CLAMP (soft / 2, 8, 4096);
    }
  self->max_per_peer = MAX (self->max_connections / 4, 4);

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  start_accepting (self);

  g_free (self->host);
  self->host = g_inet_address_to_string (address);
  return TRUE;
}

void
aic_server_disconnect (AicServer *self)
{
  g_return_if_fail (AIC_IS_SERVER (self));
  stop_listening (self);
  soup_server_disconnect (self->soup);
}

guint
aic_server_get_port (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), 0);
  return self->port;
}

/**
 * aic_server_dup_url:
 * Returns: (transfer full): the base URL clients use, such as
 *   "http://127.0.0.1:8765" (https with a certificate)
 */
char *
aic_server_dup_url (AicServer *self)
{
  const char *host, *scheme;

  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);

  host = is_wildcard (self->host) ? "127.0.0.1" : self->host;
  scheme = self->tls_certificate != NULL ? "https" : "http";
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("%s://[%s]:%u", scheme, host, self->port);
  return g_strdup_printf ("%s://%s:%u", scheme, host, self->port);
}

AicChatHub *
aic_server_get_chat_hub (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);
  return self->chat;
}

AicEngine *
aic_server_get_engine (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);
  return self->engine;
}

/* For tests that watch requests go by. */
SoupServer *
aic_server_get_soup (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);
  return self->soup;
}

AicVoiceHub *
aic_server_get_voice_hub (AicServer *self)
{
  g_return_val_if_fail (AIC_IS_SERVER (self), NULL);
  return self->voice;
}
