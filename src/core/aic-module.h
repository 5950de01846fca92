/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Loadable parts: libraries that only one feature needs, and that are
 * large to map, are loaded when that feature is first used rather than
 * with the program (issue 14: start-up memory). The backend's are in
 * backend/modules/aic-module-api.h (poppler, eSpeak NG); the Voice
 * view's GStreamer is in audio/aic-audio-module.h. Each module exports one
 * table under a fixed name, starting with its abi (a guint); a table
 * whose abi differs from the program's is refused. */
#define AIC_MODULE_ABI 1

char          *aic_module_dup_dir (void);
gconstpointer  aic_module_get     (const char  *name,
                                   const char  *symbol,
                                   GError     **error);
gboolean       aic_module_is_loaded (const char *name);

G_END_DECLS
