/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-client.h"
#include "aic-engine.h"

/* What produces the backend's text. "openai" forwards to any
 * OpenAI-compatible upstream through core's own client; "demo" is offline
 * and deterministic, and always says that it is the demo. */
struct _AicEngine
{
  GObject        parent_instance;

  AicEngineKind  kind;
  char          *upstream;
  char          *provider_name;
  char          *api_key;

  GMutex         lock;    /* models are read by request handlers */
  char         **models;
};

G_DEFINE_FINAL_TYPE (AicEngine, aic_engine, G_TYPE_OBJECT)

static void
aic_engine_finalize (GObject *object)
{
  AicEngine *self = (AicEngine *)object;

  g_clear_pointer (&self->upstream, g_free);
  g_clear_pointer (&self->provider_name, g_free);
  g_clear_pointer (&self->api_key, g_free);
  g_clear_pointer (&self->models, g_strfreev);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (aic_engine_parent_class)->finalize (object);
}

static void
aic_engine_class_init (AicEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_engine_finalize;
}

static void
aic_engine_init (AicEngine *self)
{
  g_mutex_init (&self->lock);
}

AicEngine *
aic_engine_new_demo (void)
{
  AicEngine *self = g_object_new (AIC_TYPE_ENGINE, NULL);
  const char *models[] = { "demo", NULL };

  self->kind = AIC_ENGINE_KIND_DEMO;
  self->models = g_strdupv ((char **) models);
  return self;
}

/**
 * aic_engine_new_openai:
 * @upstream: base URL of the upstream, such as "http://127.0.0.1:11434/v1"
 * @provider_name: (nullable): what to call it, such as "Ollama"
 * @api_key: (nullable): the upstream's key
 */
AicEngine *
aic_engine_new_openai (const char *upstream,
                       const char *provider_name,
                       const char *api_key)
{
  AicEngine *self;

  g_return_val_if_fail (upstream != NULL, NULL);

  self = g_object_new (AIC_TYPE_ENGINE, NULL);
  self->kind = AIC_ENGINE_KIND_OPENAI;
  self->upstream = g_strdup (upstream);
  self->provider_name = g_strdup (provider_name);
  self->api_key = g_strdup (api_key);
  self->models = g_new0 (char *, 1);
  return self;
}

gboolean
aic_engine_kind_from_string (const char    *string,
                             AicEngineKind *out_kind)
{
  if (g_strcmp0 (string, "demo") == 0)
    *out_kind = AIC_ENGINE_KIND_DEMO;
  else if (g_strcmp0 (string, "openai") == 0)
    *out_kind = AIC_ENGINE_KIND_OPENAI;
  else
    return FALSE;
  return TRUE;
}

AicEngineKind
aic_engine_get_kind (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), AIC_ENGINE_KIND_DEMO);
  return self->kind;
}

const char *
aic_engine_get_kind_string (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);
  return self->kind == AIC_ENGINE_KIND_OPENAI ? "openai" : "demo";
}

const char *
aic_engine_get_upstream (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);
  return self->upstream;
}

/**
 * aic_engine_dup_label:
 * Returns: (transfer full): what the window shows, such as
 *   "Ollama at 127.0.0.1:11434" or "Demo engine (offline)"
 */
char *
aic_engine_dup_label (AicEngine *self)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *where = NULL;

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    return g_strdup (_("Demo engine (offline)"));

  uri = g_uri_parse (self->upstream, G_URI_FLAGS_NONE, NULL);
  if (uri != NULL && g_uri_get_port (uri) > 0)
    where = g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
  else if (uri != NULL)
    where = g_strdup (g_uri_get_host (uri));
  else
    where = g_strdup (self->upstream);

  /* Translators: “Ollama at 127.0.0.1:11434” */
  return g_strdup_printf (_("%s at %s"),
                          self->provider_name ? self->provider_name : _("OpenAI-compatible server"),
                          where);
}

/**
 * aic_engine_dup_models:
 * Returns: (transfer full): the models the engine can use; thread-safe
 */
char **
aic_engine_dup_models (AicEngine *self)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  locker = g_mutex_locker_new (&self->lock);
  return g_strdupv (self->models);
}

static void
refresh_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicEngine *self = g_task_get_source_object (task);
  g_autoptr(AicServiceInfo) info = NULL;
  GError *error = NULL;

  info = aic_client_check_finish (AIC_CLIENT (object), result, &error);
  if (info == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_mutex_lock (&self->lock);
  g_strfreev (self->models);
  self->models = g_strdupv (info->models);
  g_mutex_unlock (&self->lock);

  g_task_return_boolean (task, TRUE);
}

/**
 * aic_engine_refresh_async:
 * Asks the upstream for its models. The demo engine has nothing to ask.
 */
void
aic_engine_refresh_async (AicEngine           *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;

  g_return_if_fail (AIC_IS_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_engine_refresh_async);

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  connection = aic_connection_new (NULL, "upstream", AIC_CONNECTION_KIND_OPENAI, self->upstream);
  client = aic_client_new (connection, self->api_key);
  aic_client_set_timeout (client, 10);
  aic_client_check_async (client, cancellable, refresh_cb, g_steal_pointer (&task));
}

gboolean
aic_engine_refresh_finish (AicEngine     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
