/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-module-api.h"

G_BEGIN_DECLS

char          *aic_module_dup_dir (void);
gconstpointer  aic_module_get     (const char  *name,
                                   const char  *symbol,
                                   GError     **error);
gboolean       aic_module_is_loaded (const char *name);

G_END_DECLS
