/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char     *aic_token_generate         (void);
char     *aic_token_new_id           (const char  *prefix);
char     *aic_token_load_or_create   (const char  *path,
                                      gboolean    *out_created,
                                      GError     **error);
gboolean  aic_token_equal            (const char  *expected,
                                      const char  *given);

G_END_DECLS
