/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <string.h>

#include "aic-error.h"
#include "aic-secrets.h"

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

/* libsecret's errors speak of D-Bus; a person needs to hear about the keyring. */
static void
return_keyring_error (GTask  *task,
                      GError *error)
{
  g_autofree char *reason = NULL;
  gsize len;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, error);
      return;
    }
  reason = g_strdup (error->message);
  len = strlen (reason);

  /* libsecret's messages sometimes end in a period; the sentence adds one. */
  while (len > 0 && (reason[len - 1] == '.' || g_ascii_isspace (reason[len - 1])))
    reason[--len] = '\0';
  g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_KEYRING,
                           _("The keyring could not be used: %s. Make sure a Secret Service such as GNOME Keyring is running and unlocked."),
                           reason);
  g_error_free (error);
}

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!secret_password_store_finish (result, &error))
    return_keyring_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
aic_secrets_store_async (const char          *connection_id,
                         const char          *label,
                         const char          *secret,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *full_label = NULL;

  g_return_if_fail (connection_id != NULL);
  g_return_if_fail (secret != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_secrets_store_async);

  /* Translators: the label of a key in the keyring; %s is a connection name */
  full_label = g_strdup_printf (_("AI Console key for “%s”"), label);
  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, full_label, secret,
                         cancellable, store_cb, g_steal_pointer (&task),
                         "connection", connection_id,
                         NULL);
}

gboolean
aic_secrets_store_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
lookup_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *secret;

  secret = secret_password_lookup_finish (result, &error);
  if (error != NULL)
    return_keyring_error (task, error);
  else
    g_task_return_pointer (task, secret, (GDestroyNotify) secret_password_free);
}

void
aic_secrets_lookup_async (const char          *connection_id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (connection_id != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_secrets_lookup_async);
  secret_password_lookup (get_schema (), cancellable, lookup_cb, task,
                          "connection", connection_id,
                          NULL);
}

/**
 * aic_secrets_lookup_finish:
 * Returns: (transfer full) (nullable): the secret, or %NULL with no error
 *   when none is stored. Free with g_free().
 */
char *
aic_secrets_lookup_finish (GAsyncResult  *result,
                           GError       **error)
{
  char *secret;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  secret = g_task_propagate_pointer (G_TASK (result), error);
  if (secret != NULL)
    {
      /* Hand out plain g_free()able memory; wipe libsecret's copy. */
      char *copy = g_strdup (secret);
      secret_password_free (secret);
      return copy;
    }
  return NULL;
}

static void
clear_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* FALSE without an error only means there was nothing to remove. */
  secret_password_clear_finish (result, &error);
  if (error != NULL)
    return_keyring_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
aic_secrets_clear_async (const char          *connection_id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (connection_id != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_secrets_clear_async);
  secret_password_clear (get_schema (), cancellable, clear_cb, task,
                         "connection", connection_id,
                         NULL);
}

gboolean
aic_secrets_clear_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
