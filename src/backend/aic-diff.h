/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *aic_diff_unified (const char *path,
                        const char *old_text,
                        const char *new_text);

G_END_DECLS
