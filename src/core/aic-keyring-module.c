/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The aic-keyring module (aic-keyring-module.h): libsecret's password
 * calls on AI Console's schema, one item per connection. */
#include "config.h"

#include <libsecret/secret.h>

#include "aic-keyring-module.h"

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    BASE_APP_ID ".Key", SECRET_SCHEMA_NONE,
    {
      { "connection", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

static void
store (const char          *connection_id,
       const char          *label,
       const char          *secret,
       GCancellable        *cancellable,
       GAsyncReadyCallback  callback,
       gpointer             user_data)
{
  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label, secret,
                         cancellable, callback, user_data,
                         "connection", connection_id,
                         NULL);
}

static void
lookup (const char          *connection_id,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  secret_password_lookup (get_schema (), cancellable, callback, user_data,
                          "connection", connection_id,
                          NULL);
}

static char *
lookup_finish (GAsyncResult  *result,
               GError       **error)
{
  char *secret = secret_password_lookup_finish (result, error);
  char *copy = g_strdup (secret);

  if (secret != NULL)
    secret_password_free (secret);
  return copy;
}

static void
clear (const char          *connection_id,
       GCancellable        *cancellable,
       GAsyncReadyCallback  callback,
       gpointer             user_data)
{
  secret_password_clear (get_schema (), cancellable, callback, user_data,
                         "connection", connection_id,
                         NULL);
}

G_MODULE_EXPORT const AicKeyringModule aic_keyring_module = {
  .abi = AIC_MODULE_ABI,
  .store = store,
  .store_finish = secret_password_store_finish,
  .lookup = lookup,
  .lookup_finish = lookup_finish,
  .clear = clear,
  .clear_finish = secret_password_clear_finish,
};
