/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "aic-connection-store.h"

G_BEGIN_DECLS

#define AIC_TYPE_CONNECTION_EDITOR (aic_connection_editor_get_type ())

G_DECLARE_FINAL_TYPE (AicConnectionEditor, aic_connection_editor, AIC, CONNECTION_EDITOR, AdwWindow)

AicConnectionEditor *aic_connection_editor_new (AicConnectionStore *store,
                                                AicConnection      *connection,
                                                AicConnectionKind   kind);

G_END_DECLS
