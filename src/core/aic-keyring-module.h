/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-module.h"

G_BEGIN_DECLS

/* aic-keyring: the Secret Service, through libsecret (with libgcrypt and
 * libgpg-error, about 0.5 MiB of RSS mapped at start). A start with no
 * connection chosen never reads a key: aic-secrets.c loads this module
 * the first time a key is stored, read or removed. */
#define AIC_KEYRING_MODULE_NAME   "aic-keyring"
#define AIC_KEYRING_MODULE_SYMBOL "aic_keyring_module"

typedef struct
{
  guint      abi;
  /* Each pair is libsecret's call and its finish, on the item of one
   * connection id. */
  void     (*store)         (const char          *connection_id,
                             const char          *label,
                             const char          *secret,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  gboolean (*store_finish)  (GAsyncResult        *result,
                             GError             **error);
  void     (*lookup)        (const char          *connection_id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  /* Returns: (transfer full) (nullable): a g_free()able copy; libsecret's
   * own is wiped */
  char    *(*lookup_finish) (GAsyncResult        *result,
                             GError             **error);
  void     (*clear)         (const char          *connection_id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  gboolean (*clear_finish)  (GAsyncResult        *result,
                             GError             **error);
} AicKeyringModule;

G_END_DECLS
