/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-error.h"
#include "aic-json.h"
#include "aic-service-info.h"

G_DEFINE_BOXED_TYPE (AicServiceInfo, aic_service_info,
                     aic_service_info_copy, aic_service_info_free)

static AicServiceInfo *
aic_service_info_new (JsonNode *root)
{
  AicServiceInfo *self = g_new0 (AicServiceInfo, 1);

  self->raw = json_node_copy (root);
  return self;
}

AicServiceInfo *
aic_service_info_copy (const AicServiceInfo *self)
{
  AicServiceInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (AicServiceInfo, 1);
  copy->status = g_strdup (self->status);
  copy->version = g_strdup (self->version);
  copy->features = g_strdupv (self->features);
  copy->engine_kind = g_strdup (self->engine_kind);
  copy->engine_upstream = g_strdup (self->engine_upstream);
  copy->models = g_strdupv (self->models);
  copy->max_upload_bytes = self->max_upload_bytes;
  copy->raw = self->raw ? json_node_copy (self->raw) : NULL;
  return copy;
}

void
aic_service_info_free (AicServiceInfo *self)
{
  if (self == NULL)
    return;
  g_free (self->status);
  g_free (self->version);
  g_strfreev (self->features);
  g_free (self->engine_kind);
  g_free (self->engine_upstream);
  g_strfreev (self->models);
  g_clear_pointer (&self->raw, json_node_unref);
  g_free (self);
}

static gboolean
require_object (JsonNode  *root,
                GError   **error)
{
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    return TRUE;
  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                       _("The answer is not a JSON object."));
  return FALSE;
}

static void
ensure_lists (AicServiceInfo *self)
{
  if (self->features == NULL)
    self->features = g_new0 (char *, 1);
  if (self->models == NULL)
    self->models = g_new0 (char *, 1);
}

/**
 * aic_service_info_parse_health:
 * Reads `GET /api/health` as PROTOCOL.md describes it. `status` is required;
 * everything else is optional so that older or plainer backends still pass,
 * but a member of the wrong type is an error.
 */
AicServiceInfo *
aic_service_info_parse_health (JsonNode  *root,
                               GError   **error)
{
  g_autoptr(AicServiceInfo) self = NULL;
  JsonObject *object, *engine, *limits;
  const char *status, *version, *kind = NULL, *upstream = NULL;

  if (!require_object (root, error))
    return NULL;

  object = json_node_get_object (root);
  self = aic_service_info_new (root);

  if (!aic_json_get_string (object, "status", TRUE, &status, error) ||
      !aic_json_get_string (object, "version", FALSE, &version, error) ||
      !aic_json_get_strv (object, "features", FALSE, &self->features, error) ||
      !aic_json_get_strv (object, "models", FALSE, &self->models, error) ||
      !aic_json_get_object (object, "engine", FALSE, &engine, error) ||
      !aic_json_get_object (object, "limits", FALSE, &limits, error))
    return NULL;

  if (engine != NULL &&
      (!aic_json_get_string (engine, "kind", FALSE, &kind, error) ||
       !aic_json_get_string (engine, "upstream", FALSE, &upstream, error)))
    return NULL;

  if (limits != NULL &&
      !aic_json_get_int (limits, "max_upload_bytes", FALSE, &self->max_upload_bytes, error))
    return NULL;

  self->status = g_strdup (status);
  self->version = g_strdup (version);
  self->engine_kind = g_strdup (kind);
  self->engine_upstream = g_strdup (upstream);
  ensure_lists (self);

  return g_steal_pointer (&self);
}

/**
 * aic_service_info_parse_models:
 * Reads a model list in the OpenAI shape (`{"data": [{"id": …}]}`), which
 * Anthropic's `/v1/models`, Ollama, llama.cpp, vLLM and LM Studio share.
 */
AicServiceInfo *
aic_service_info_parse_models (JsonNode  *root,
                               GError   **error)
{
  g_autoptr(AicServiceInfo) self = NULL;
  g_autoptr(GStrvBuilder) models = g_strv_builder_new ();
  JsonObject *object;
  JsonNode *data;
  JsonArray *array;
  guint n;

  if (!require_object (root, error))
    return NULL;

  object = json_node_get_object (root);
  data = json_object_get_member (object, "data");
  if (data == NULL || !JSON_NODE_HOLDS_ARRAY (data))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER,
                           _("The answer has no model list."));
      return NULL;
    }

  array = json_node_get_array (data);
  n = json_array_get_length (array);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *id;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                               _("The model list has an entry that is not an object."));
          return NULL;
        }
      if (!aic_json_get_string (json_node_get_object (element), "id", TRUE, &id, error))
        return NULL;
      g_strv_builder_add (models, id);
    }

  self = aic_service_info_new (root);
  self->models = g_strv_builder_end (models);
  ensure_lists (self);
  return g_steal_pointer (&self);
}

gboolean
aic_service_info_has_feature (const AicServiceInfo *self,
                              const char           *feature)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->features != NULL && g_strv_contains ((const char * const *) self->features, feature);
}
