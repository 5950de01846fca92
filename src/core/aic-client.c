/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-client.h"
#include "aic-ws-guard.h"
#include "aic-error.h"
#include "aic-http.h"

#define ANTHROPIC_VERSION "2023-06-01"

/* One connection's HTTP side: its SoupSession, and how each kind of server
 * wants to be addressed and authenticated. Lives on the main thread. */
struct _AicClient
{
  GObject        parent_instance;

  AicConnection *connection;
  SoupSession   *session;
  SoupSession   *stream_session;   /* no I/O timeout; see AicSseClient */
  guint          max_streams;
  char          *key;
};

/* A chat reply and a handful of followed documents at once, with room. */
#define DEFAULT_MAX_STREAMS 16

G_DEFINE_FINAL_TYPE (AicClient, aic_client, G_TYPE_OBJECT)

static void
aic_client_finalize (GObject *object)
{
  AicClient *self = (AicClient *)object;

  g_clear_object (&self->connection);
  g_clear_object (&self->session);
  g_clear_object (&self->stream_session);
  g_clear_pointer (&self->key, g_free);

  G_OBJECT_CLASS (aic_client_parent_class)->finalize (object);
}

static void
aic_client_class_init (AicClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_client_finalize;
}

static void
aic_client_init (AicClient *self)
{
  self->session = aic_http_session_new (30);
}

/**
 * aic_client_new:
 * @key: (nullable): the key or token, already looked up in the keyring
 */
AicClient *
aic_client_new (AicConnection *connection,
                const char    *key)
{
  AicClient *self;

  g_return_val_if_fail (AIC_IS_CONNECTION (connection), NULL);

  self = g_object_new (AIC_TYPE_CLIENT, NULL);
  self->connection = g_object_ref (connection);
  self->key = g_strdup (key);
  return self;
}

AicConnection *
aic_client_get_connection (AicClient *self)
{
  g_return_val_if_fail (AIC_IS_CLIENT (self), NULL);
  return self->connection;
}

SoupSession *
aic_client_get_session (AicClient *self)
{
  g_return_val_if_fail (AIC_IS_CLIENT (self), NULL);
  return self->session;
}

/**
 * aic_client_get_stream_session:
 * Returns: (transfer none): a session for long streams: no I/O timeout,
 *   since a model may think for minutes between tokens; AicSseClient
 *   watches for silence itself.
 */
SoupSession *
aic_client_get_stream_session (AicClient *self)
{
  g_return_val_if_fail (AIC_IS_CLIENT (self), NULL);

  if (self->stream_session == NULL)
    {
      g_autoptr(GProxyResolver) resolver = aic_counting_proxy_resolver_new ();

      self->stream_session = aic_http_session_new_full (0, self->max_streams ? self->max_streams : DEFAULT_MAX_STREAMS);
      /* So that a WebSocket's messages can be limited as they assemble. */
      soup_session_set_proxy_resolver (self->stream_session, resolver);
    }
  return self->stream_session;
}

/**
 * aic_client_set_max_streams:
 * How many streams (chat replies, job events) may be open to the server at
 * once; more wait their turn. Takes effect only before the first stream.
 */
void
aic_client_set_max_streams (AicClient *self,
                            guint      max_streams)
{
  g_return_if_fail (AIC_IS_CLIENT (self));
  g_return_if_fail (self->stream_session == NULL);
  self->max_streams = max_streams;
}

const char *
aic_client_get_key (AicClient *self)
{
  g_return_val_if_fail (AIC_IS_CLIENT (self), NULL);
  return self->key;
}

void
aic_client_set_timeout (AicClient *self,
                        guint      seconds)
{
  g_return_if_fail (AIC_IS_CLIENT (self));
  soup_session_set_timeout (self->session, seconds);
}

/**
 * aic_client_new_message:
 * Returns: (transfer full) (nullable): a request for @path on the
 *   connection, authenticated the way its kind expects, or %NULL when the
 *   base URL cannot be parsed.
 */
SoupMessage *
aic_client_new_message (AicClient  *self,
                        const char *method,
                        const char *path)
{
  g_autofree char *url = NULL;
  SoupMessageHeaders *headers;
  SoupMessage *message;

  g_return_val_if_fail (AIC_IS_CLIENT (self), NULL);

  url = aic_connection_build_url (self->connection, path);
  message = soup_message_new (method, url);
  if (message == NULL)
    return NULL;

  /* libsoup drops Authorization on a redirect to another origin, but not
   * x-api-key; following none is simpler and safer. A 3xx becomes an
   * error that names the problem. */
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);

  headers = soup_message_get_request_headers (message);
  switch (aic_connection_get_kind (self->connection))
    {
    case AIC_CONNECTION_KIND_ANTHROPIC:
      soup_message_headers_replace (headers, "anthropic-version", ANTHROPIC_VERSION);
      if (self->key != NULL && self->key[0] != '\0')
        soup_message_headers_replace (headers, "x-api-key", self->key);
      break;
    case AIC_CONNECTION_KIND_CONSOLE:
    case AIC_CONNECTION_KIND_OPENAI:
    default:
      aic_http_set_bearer (message, self->key);
      break;
    }

  return message;
}

static const char *
check_path (AicConnectionKind kind)
{
  switch (kind)
    {
    case AIC_CONNECTION_KIND_OPENAI:    return "/models";
    case AIC_CONNECTION_KIND_ANTHROPIC: return "/v1/models";
    case AIC_CONNECTION_KIND_CONSOLE:
    default:                            return "/api/health";
    }
}

/* A 404 or a body of the wrong shape on the check path almost always means
 * the connection's kind or base URL is wrong. */
static GError *
wrong_server_error (AicConnectionKind  kind,
                    const GError      *cause)
{
  gboolean missing = g_error_matches (cause, AIC_ERROR, AIC_ERROR_NOT_FOUND);
  const char *sentence;

  switch (kind)
    {
    case AIC_CONNECTION_KIND_OPENAI:
      sentence = missing
        ? _("This does not look like an OpenAI-compatible server: it has no model list at /models. The base URL usually ends in /v1.")
        : _("This does not look like an OpenAI-compatible server: its answer at /models is not a model list.");
      break;
    case AIC_CONNECTION_KIND_ANTHROPIC:
      sentence = missing
        ? _("This does not look like the Anthropic API: it has no model list at /v1/models.")
        : _("This does not look like the Anthropic API: its answer at /v1/models is not a model list.");
      break;
    case AIC_CONNECTION_KIND_CONSOLE:
    default:
      sentence = missing
        ? _("This does not look like an AI Console backend: it has no /api/health. If it is an OpenAI-compatible server, change the kind.")
        : _("This does not look like an AI Console backend: its answer at /api/health is not a health report.");
      break;
    }
  return g_error_new (AIC_ERROR, AIC_ERROR_WRONG_SERVER, "%s (%s)", sentence, cause->message);
}

static void
check_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicClient *self = g_task_get_source_object (task);
  AicConnectionKind kind = aic_connection_get_kind (self->connection);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(AicServiceInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  root = aic_http_get_json_finish (result, &error);
  if (root != NULL)
    {
      if (kind == AIC_CONNECTION_KIND_CONSOLE)
        info = aic_service_info_parse_health (root, &error);
      else
        info = aic_service_info_parse_models (root, &error);
    }

  if (info == NULL)
    {
      if (g_error_matches (error, AIC_ERROR, AIC_ERROR_NOT_FOUND) ||
          g_error_matches (error, AIC_ERROR, AIC_ERROR_PROTOCOL) ||
          g_error_matches (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER))
        g_task_return_error (task, wrong_server_error (kind, error));
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (info->status != NULL && g_strcmp0 (info->status, "ok") != 0)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_SERVER,
                               _("The backend answered but reports status “%s”."), info->status);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&info), (GDestroyNotify) aic_service_info_free);
}

/**
 * aic_client_check_async:
 * Asks the server about itself: `/api/health` on a console backend, the
 * model list on a provider. Used by "Test" in Preferences, by the CLI's
 * `health`, and to probe this machine for local servers.
 */
void
aic_client_check_async (AicClient           *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  AicConnectionKind kind;

  g_return_if_fail (AIC_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_client_check_async);

  if (!aic_connection_check_url (aic_connection_get_base_url (self->connection), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  kind = aic_connection_get_kind (self->connection);
  message = aic_client_new_message (self, SOUP_METHOD_GET, check_path (kind));
  if (message == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not a web address."),
                               aic_connection_get_base_url (self->connection));
      return;
    }

  aic_http_get_json_async (self->session, message, AIC_HTTP_DEFAULT_MAX_BODY,
                           cancellable, check_cb, g_steal_pointer (&task));
}

AicServiceInfo *
aic_client_check_finish (AicClient     *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (AIC_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * aic_service_info_describe:
 * Returns: (transfer full): a sentence for a successful check
 */
char *
aic_service_info_describe (const AicServiceInfo *info)
{
  guint n_models;

  g_return_val_if_fail (info != NULL, NULL);

  n_models = g_strv_length (info->models);
  if (info->status != NULL && g_strcmp0 (info->engine_kind, "demo") == 0)
    return g_strdup (_("Connected to an AI Console backend running the offline demo engine."));
  if (info->status != NULL)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "Connected to an AI Console backend with %u model.",
                                         "Connected to an AI Console backend with %u models.",
                                         n_models),
                            n_models);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "Connected. %u model is available.",
                                       "Connected. %u models are available.",
                                       n_models),
                          n_models);
}
