/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  AIC_CONNECTION_KIND_CONSOLE,
  AIC_CONNECTION_KIND_OPENAI,
  AIC_CONNECTION_KIND_ANTHROPIC,
} AicConnectionKind;

#define AIC_TYPE_CONNECTION_KIND (aic_connection_kind_get_type ())
GType aic_connection_kind_get_type (void) G_GNUC_CONST;

const char *aic_connection_kind_to_string     (AicConnectionKind  kind);
gboolean    aic_connection_kind_from_string   (const char        *string,
                                               AicConnectionKind *out_kind);
const char *aic_connection_kind_get_label     (AicConnectionKind  kind);
const char *aic_connection_kind_get_default_url (AicConnectionKind kind);

#define AIC_TYPE_CONNECTION (aic_connection_get_type ())

G_DECLARE_FINAL_TYPE (AicConnection, aic_connection, AIC, CONNECTION, GObject)

AicConnection     *aic_connection_new          (const char         *id,
                                                const char         *name,
                                                AicConnectionKind   kind,
                                                const char         *base_url);
const char        *aic_connection_get_id       (AicConnection      *self);
const char        *aic_connection_get_name     (AicConnection      *self);
void               aic_connection_set_name     (AicConnection      *self,
                                                const char         *name);
AicConnectionKind  aic_connection_get_kind     (AicConnection      *self);
void               aic_connection_set_kind     (AicConnection      *self,
                                                AicConnectionKind   kind);
const char        *aic_connection_get_base_url (AicConnection      *self);
void               aic_connection_set_base_url (AicConnection      *self,
                                                const char         *base_url);
const char        *aic_connection_get_model    (AicConnection      *self);
void               aic_connection_set_model    (AicConnection      *self,
                                                const char         *model);
gboolean           aic_connection_get_realtime_voice (AicConnection *self);
void               aic_connection_set_realtime_voice (AicConnection *self,
                                                      gboolean       realtime_voice);
char              *aic_connection_build_url    (AicConnection      *self,
                                                const char         *path);
gboolean           aic_connection_validate     (AicConnection      *self,
                                                GError            **error);
gboolean           aic_connection_check_url    (const char         *url,
                                                GError            **error);

G_END_DECLS
