/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *aic_display_date (gint64      unix_seconds);
char *aic_display_path (const char *path);

G_END_DECLS
