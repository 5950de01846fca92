/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-engine.h"

G_BEGIN_DECLS

#define AIC_TYPE_EMBEDDED_BACKEND (aic_embedded_backend_get_type ())

G_DECLARE_FINAL_TYPE (AicEmbeddedBackend, aic_embedded_backend, AIC, EMBEDDED_BACKEND, GObject)

AicEmbeddedBackend *aic_embedded_backend_new              (const char           *data_dir);
void                aic_embedded_backend_start_async      (AicEmbeddedBackend   *self,
                                                           AicEngine            *engine,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
gboolean            aic_embedded_backend_start_finish     (AicEmbeddedBackend   *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);
void                aic_embedded_backend_stop             (AicEmbeddedBackend   *self);
gboolean            aic_embedded_backend_is_running       (AicEmbeddedBackend   *self);
const char         *aic_embedded_backend_get_url          (AicEmbeddedBackend   *self);
const char         *aic_embedded_backend_get_token        (AicEmbeddedBackend   *self);
const char         *aic_embedded_backend_get_engine_label (AicEmbeddedBackend   *self);
gboolean            aic_embedded_backend_is_demo          (AicEmbeddedBackend   *self);

G_END_DECLS
