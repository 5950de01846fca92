/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define AIC_TYPE_SERVICE_INFO (aic_service_info_get_type ())

/* What a server said about itself: a console backend's /api/health, or a
 * provider's model list. */
typedef struct
{
  char     *status;            /* "ok" for a console backend, NULL otherwise */
  char     *version;
  char    **features;          /* never NULL */
  char     *engine_kind;       /* "openai", "demo" or NULL */
  char     *engine_upstream;
  char    **models;            /* never NULL */
  gint64    max_upload_bytes;  /* 0 when not said */
  JsonNode *raw;               /* the whole answer */
} AicServiceInfo;

GType           aic_service_info_get_type     (void) G_GNUC_CONST;
AicServiceInfo *aic_service_info_copy         (const AicServiceInfo  *self);
void            aic_service_info_free         (AicServiceInfo        *self);
AicServiceInfo *aic_service_info_parse_health (JsonNode              *root,
                                               GError               **error);
AicServiceInfo *aic_service_info_parse_models (JsonNode              *root,
                                               GError               **error);
gboolean        aic_service_info_has_feature  (const AicServiceInfo  *self,
                                               const char            *feature);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicServiceInfo, aic_service_info_free)

G_END_DECLS
