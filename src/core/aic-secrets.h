/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Keys and tokens, stored only in the Secret Service (libsecret; inside
 * Flatpak, through the secret portal). Indexed by connection id. */
void      aic_secrets_store_async   (const char           *connection_id,
                                     const char           *label,
                                     const char           *secret,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean  aic_secrets_store_finish  (GAsyncResult         *result,
                                     GError              **error);
void      aic_secrets_lookup_async  (const char           *connection_id,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
char     *aic_secrets_lookup_finish (GAsyncResult         *result,
                                     GError              **error);
void      aic_secrets_clear_async   (const char           *connection_id,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean  aic_secrets_clear_finish  (GAsyncResult         *result,
                                     GError              **error);

G_END_DECLS
