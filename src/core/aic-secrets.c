/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-keyring-module.h"
#include "aic-secrets.h"

/* libsecret is loaded with the first key stored, read or removed: a
 * start with no connection chosen never maps it (aic-keyring-module.h).
 *
 * Returns: (transfer full) (nullable): a task for @callback, holding the
 * module's table as its data; or %NULL once @callback was told that the
 * module could not be loaded */
static GTask *
new_task (GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data,
          gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  const AicKeyringModule *table = aic_module_get (AIC_KEYRING_MODULE_NAME, AIC_KEYRING_MODULE_SYMBOL, &error);

  g_task_set_source_tag (task, source_tag);
  if (table == NULL)
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_KEYRING,
                               _("The keyring could not be used: %s"), error->message);
      return NULL;
    }
  g_task_set_task_data (task, (gpointer) table, NULL);
  return g_steal_pointer (&task);
}

static const AicKeyringModule *
table_of (GTask *task)
{
  return g_task_get_task_data (task);
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

  if (!table_of (task)->store_finish (result, &error))
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
  const AicKeyringModule *table;

  g_return_if_fail (connection_id != NULL);
  g_return_if_fail (secret != NULL);

  task = new_task (cancellable, callback, user_data, aic_secrets_store_async);
  if (task == NULL)
    return;

  /* Translators: the label of a key in the keyring; %s is a connection name */
  full_label = g_strdup_printf (_("AI Console key for “%s”"), label);
  table = table_of (task);
  table->store (connection_id, full_label, secret, cancellable, store_cb, g_steal_pointer (&task));
}

gboolean
aic_secrets_store_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A key nobody took from its task is wiped before it is freed. */
static void
wipe_free (gpointer secret)
{
  if (secret != NULL)
    memset (secret, 0, strlen (secret));
  g_free (secret);
}

static void
lookup_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *secret;

  secret = table_of (task)->lookup_finish (result, &error);
  if (error != NULL)
    return_keyring_error (task, error);
  else
    g_task_return_pointer (task, secret, wipe_free);
}

void
aic_secrets_lookup_async (const char          *connection_id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (connection_id != NULL);

  task = new_task (cancellable, callback, user_data, aic_secrets_lookup_async);
  if (task != NULL)
    table_of (task)->lookup (connection_id, cancellable, lookup_cb, task);
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
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
clear_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* FALSE without an error only means there was nothing to remove. */
  table_of (task)->clear_finish (result, &error);
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

  task = new_task (cancellable, callback, user_data, aic_secrets_clear_async);
  if (task != NULL)
    table_of (task)->clear (connection_id, cancellable, clear_cb, task);
}

gboolean
aic_secrets_clear_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
