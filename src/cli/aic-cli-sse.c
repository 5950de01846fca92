/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aic-cli.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-sse-client.h"
#include "aic-sse-parser.h"
#include "aic-ws-guard.h"

/* A JSON string of @len bytes. json-glib's strings end at the first NUL,
 * and U+0000 is valid in an event's data: the pieces between NULs are
 * escaped by json-glib, the NULs here. */
static void
append_json_string (GString    *out,
                    const char *text,
                    gsize       len)
{
  const char *end = text + len;

  g_string_append_c (out, '"');
  for (;;)
    {
      const char *nul = memchr (text, '\0', end - text);
      gsize piece = (nul != NULL ? nul : end) - text;

      if (piece > 0)
        {
          g_autofree char *copy = g_strndup (text, piece);
          g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), copy);
          g_autofree char *quoted = aic_json_to_string (node, FALSE);

          g_string_append_len (out, quoted + 1, strlen (quoted) - 2);
        }
      if (nul == NULL)
        break;
      g_string_append (out, "\\u0000");
      text = nul + 1;
    }
  g_string_append_c (out, '"');
}

/**
 * aic_cli_sse_event_to_json:
 * Returns: (transfer full): the line sse prints for an event:
 *   {"event": …, "data": …, "id": …}, with all @data_len bytes of @data
 */
char *
aic_cli_sse_event_to_json (const char *type,
                           const char *data,
                           gsize       data_len,
                           const char *id)
{
  GString *line = g_string_new ("{\"event\":");

  append_json_string (line, type, strlen (type));
  g_string_append (line, ",\"data\":");
  append_json_string (line, data, data_len);
  g_string_append (line, ",\"id\":");
  append_json_string (line, id, strlen (id));
  g_string_append_c (line, '}');
  return g_string_free (line, FALSE);
}

static void
print_event (const char *type,
             const char *data,
             gsize       data_len,
             const char *id)
{
  g_autofree char *line = aic_cli_sse_event_to_json (type, data, data_len, id);

  g_print ("%s\n", line);
  fflush (stdout);
}

static void
on_stdin_event (gpointer           user_data,
                const AicSseEvent *event)
{
  print_event (event->type, event->data, event->data_len, event->id);
}

static int
sse_from_stdin (gsize max_line,
                gsize max_event)
{
  static const AicSseCallbacks callbacks = { on_stdin_event, NULL, NULL };
  g_autoptr(AicSseParser) parser = aic_sse_parser_new (&callbacks, NULL);
  g_autoptr(GError) error = NULL;
  char buffer[65536];
  ssize_t n;

  aic_sse_parser_set_limits (parser, max_line, max_event);
  while ((n = read (STDIN_FILENO, buffer, sizeof buffer)) > 0)
    if (!aic_sse_parser_feed (parser, buffer, n, &error))
      {
        g_printerr (_("Error: %s\n"), error->message);
        return 1;
      }
  if (n < 0)
    {
      g_printerr (_("Error: could not read the standard input: %s\n"), g_strerror (errno));
      return 1;
    }
  aic_sse_parser_finish (parser, FALSE, NULL);
  return 0;
}

typedef struct
{
  GMainLoop *loop;
  GError *error;
  gboolean ok;
} RunWait;

/* The connection under the newest request, to see how its body ended. */
typedef struct
{
  SoupMessage       *message;
  AicCountingStream *connection;
} Watch;

static void
watch_network_event (SoupMessage        *message,
                     GSocketClientEvent  event,
                     GIOStream          *connection,
                     Watch              *watch)
{
  if (event == G_SOCKET_CLIENT_COMPLETE)
    g_set_object (&watch->connection, aic_counting_stream_find (connection));
}

static void
watch_request_queued (SoupSession *session,
                      SoupMessage *message,
                      Watch       *watch)
{
  g_set_object (&watch->message, message);
  g_signal_connect (message, "network-event", G_CALLBACK (watch_network_event), watch);
}

/* Says, on stderr, why a stream that ended without an error is still
 * incomplete: a chunked body whose last chunk never came. */
static gboolean
watch_says_truncated (Watch *watch)
{
  const guint8 *tail;
  gsize len;

  if (watch->message == NULL || watch->connection == NULL ||
      soup_message_get_status (watch->message) != SOUP_STATUS_OK ||
      soup_message_headers_get_encoding (soup_message_get_response_headers (watch->message)) != SOUP_ENCODING_CHUNKED ||
      /* Under TLS the bytes are encrypted: nothing to read there. */
      soup_message_get_tls_peer_certificate (watch->message) != NULL)
    return FALSE;
  tail = aic_counting_stream_get_tail (watch->connection, &len);
  return !aic_http_chunked_tail_is_complete (tail, len);
}

static void
watch_clear (Watch *watch)
{
  g_clear_object (&watch->message);
  g_clear_object (&watch->connection);
}

static void
on_client_event (AicSseClient *client,
                 const char   *type,
                 const char   *data,
                 const char   *id,
                 gpointer      user_data)
{
  print_event (type, data, aic_sse_client_get_event_data_length (client), id);
}

static void
sse_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  RunWait *wait = user_data;

  wait->ok = aic_sse_client_run_finish (AIC_SSE_CLIENT (object), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

static gboolean
cancel_on_signal (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

int
aic_cli_sse (int    argc,
             char **argv)
{
  g_autofree char *method = NULL;
  g_autofree char *data = NULL;
  g_auto(GStrv) header_args = NULL;
  int reconnect = 0, idle = 90, max_line = AIC_SSE_DEFAULT_MAX_LINE, max_event = AIC_SSE_DEFAULT_MAX_EVENT;
  const GOptionEntry entries[] = {
    { "method", 'X', 0, G_OPTION_ARG_STRING, &method, N_("HTTP method (default GET, or POST with --data)"), N_("METHOD") },
    { "data", 'd', 0, G_OPTION_ARG_STRING, &data, N_("Request body, sent as JSON"), N_("JSON") },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &header_args, N_("Extra request header (repeatable)"), N_("“NAME: VALUE”") },
    { "reconnect", 0, 0, G_OPTION_ARG_INT, &reconnect, N_("Reconnect with Last-Event-ID up to N times in a row (default 0)"), "N" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle, N_("Give up after this many silent seconds (default 90)"), N_("SECONDS") },
    { "max-line", 0, 0, G_OPTION_ARG_INT, &max_line, N_("Longest line accepted, in bytes"), N_("BYTES") },
    { "max-event", 0, 0, G_OPTION_ARG_INT, &max_event, N_("Largest event accepted, in bytes"), N_("BYTES") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(AicSseClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GProxyResolver) resolver = NULL;
  RunWait wait = { 0 };
  Watch watch = { 0 };
  int status = 0;

  if (!aic_cli_parse_options (&argc, &argv, entries, _("URL|- — print the events of a stream"),
                      _("Each event is printed as {\"event\": …, \"data\": …, \"id\": …}; \"-\" reads the stream from the standard input.")))
    return 2;
  if (argc != 2)
    {
      g_printerr (_("sse needs one URL, or - for the standard input.\n"));
      return 2;
    }
  if (max_line <= 0 || max_event <= 0 || idle < 0 || reconnect < 0)
    {
      g_printerr (_("Limits and timeouts must be positive numbers.\n"));
      return 2;
    }

  if (g_str_equal (argv[1], "-"))
    return sse_from_stdin (max_line, max_event);

  if (method == NULL)
    method = g_strdup (data ? "POST" : "GET");
  message = soup_message_new (method, argv[1]);
  if (message == NULL)
    {
      g_printerr (_("“%s” is not a web address.\n"), argv[1]);
      return 2;
    }
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  for (guint i = 0; header_args != NULL && header_args[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (header_args[i], ":", 2);

      if (parts[0] == NULL || parts[1] == NULL)
        {
          g_printerr (_("A header looks like “Name: value”, not “%s”.\n"), header_args[i]);
          return 2;
        }
      soup_message_headers_append (soup_message_get_request_headers (message),
                                   g_strstrip (parts[0]), g_strstrip (parts[1]));
    }

  session = aic_http_session_new (0);
  /* The counting stream keeps the last bytes of each connection. */
  resolver = aic_counting_proxy_resolver_new ();
  soup_session_set_proxy_resolver (session, resolver);
  g_signal_connect (session, "request-queued", G_CALLBACK (watch_request_queued), &watch);
  client = aic_sse_client_new (session, message);
  if (data != NULL)
    {
      g_autoptr(GBytes) body = g_bytes_new (data, strlen (data));
      aic_sse_client_set_request_body (client, "application/json", body);
    }
  aic_sse_client_set_reconnect (client, reconnect, NULL, NULL, NULL);
  aic_sse_client_set_idle_timeout (client, idle);
  aic_sse_client_set_limits (client, max_line, max_event);
  g_signal_connect (client, "event", G_CALLBACK (on_client_event), NULL);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  g_unix_signal_add (SIGINT, cancel_on_signal, cancellable);
  aic_sse_client_run_async (client, cancellable, sse_done_cb, &wait);
  g_main_loop_run (loop);

  if (!wait.ok)
    {
      gboolean interrupted = g_error_matches (wait.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

      if (interrupted)
        status = 130;
      else if (g_error_matches (wait.error, AIC_ERROR, AIC_ERROR_UNREACHABLE) &&
               watch.message != NULL && soup_message_get_status (watch.message) == SOUP_STATUS_OK)
        {
          /* It did answer: the connection broke inside the body. */
          g_printerr (_("Error: the server closed the connection in the middle of the event stream.\n"));
          status = 1;
        }
      else
        {
          g_printerr (_("Error: %s\n"), wait.error->message);
          status = 1;
        }
      g_error_free (wait.error);
    }
  else if (watch_says_truncated (&watch))
    {
      g_printerr (_("Error: the server closed the connection before the end of the event stream (its last chunk never came).\n"));
      status = 1;
    }
  g_signal_handlers_disconnect_by_data (session, &watch);
  if (watch.message != NULL)
    g_signal_handlers_disconnect_by_data (watch.message, &watch);
  watch_clear (&watch);
  return status;
}
