/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-connection-store.h"
#include "aic-secrets.h"
#include "aic-test-util.h"

/* Against the real Secret Service: scripts/test runs gnome-keyring in a
 * private D-Bus session and sets AIC_REQUIRE_KEYRING=1, so there a missing
 * keyring fails the test instead of skipping it. */

static gboolean
need_keyring (void)
{
  if (aic_test_have_keyring ())
    return TRUE;
  if (g_strcmp0 (g_getenv ("AIC_REQUIRE_KEYRING"), "1") == 0)
    g_error ("AIC_REQUIRE_KEYRING=1 but no Secret Service answers");
  g_test_skip ("No Secret Service on the session bus");
  return FALSE;
}

static char *
lookup (const char *id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *secret;

  aic_secrets_lookup_async (id, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  secret = aic_secrets_lookup_finish (result, &error);
  g_assert_no_error (error);
  return secret;
}

static void
store (const char *id,
       const char *secret)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_secrets_store_async (id, "Test", secret, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_secrets_store_finish (result, &error));
  g_assert_no_error (error);
}

static void
test_roundtrip (void)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *secret = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (!need_keyring ())
    return;

  secret = lookup (id);
  g_assert_null (secret);

  store (id, "sk-first");
  secret = lookup (id);
  g_assert_cmpstr (secret, ==, "sk-first");
  g_clear_pointer (&secret, g_free);

  store (id, "sk-second ünïcode");
  secret = lookup (id);
  g_assert_cmpstr (secret, ==, "sk-second ünïcode");
  g_clear_pointer (&secret, g_free);

  aic_secrets_clear_async (id, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_secrets_clear_finish (result, &error));
  g_assert_no_error (error);
  secret = lookup (id);
  g_assert_null (secret);

  /* Clearing what is not there is not an error. */
  g_clear_object (&result);
  aic_secrets_clear_async (id, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_secrets_clear_finish (result, &error));
}

static gboolean
key_gone (gpointer data)
{
  g_autofree char *secret = lookup (data);
  return secret == NULL;
}

/* Removing a connection takes its key out of the keyring, and nothing of
 * the key ever lands in GSettings. */
static void
test_store_remove_clears_key (void)
{
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(AicConnectionStore) connections = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(GSettings) child = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *path = NULL;
  g_autofree char *secret = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) keys = NULL;

  if (!need_keyring ())
    return;

  settings = g_settings_new (BASE_APP_ID);
  connections = aic_connection_store_new (settings);
  connection = aic_connection_new (NULL, "Keyed", AIC_CONNECTION_KIND_OPENAI, "https://api.example/v1");
  g_assert_true (aic_connection_store_add (connections, connection, &error));
  store (aic_connection_get_id (connection), "sk-remove-me");

  path = g_strdup_printf ("/io/github/aiconsole/AiConsole/connections/%s/", aic_connection_get_id (connection));
  child = g_settings_new_with_path (AIC_CONNECTION_SCHEMA_ID, path);
  g_object_get (child, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i]; i++)
    {
      g_autoptr(GVariant) value = g_settings_get_value (child, keys[i]);
      g_autofree char *printed = g_variant_print (value, FALSE);
      g_assert_null (strstr (printed, "sk-remove-me"));
    }

  g_assert_true (aic_connection_store_remove (connections, aic_connection_get_id (connection)));
  aic_test_wait_for (key_gone, (gpointer) aic_connection_get_id (connection), 10000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secrets/roundtrip", test_roundtrip);
  g_test_add_func ("/secrets/remove-connection", test_store_remove_clears_key);

  return g_test_run ();
}
