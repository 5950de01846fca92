/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "aic-connection-store.h"
#include "aic-error.h"

static void
test_properties (void)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "  Local  ", AIC_CONNECTION_KIND_OPENAI,
                                                           "http://127.0.0.1:11434/v1///");
  g_autofree char *url = aic_connection_build_url (connection, "/models");
  AicConnectionKind kind;

  g_assert_true (g_uuid_string_is_valid (aic_connection_get_id (connection)));
  g_assert_cmpstr (aic_connection_get_name (connection), ==, "Local");
  g_assert_cmpstr (aic_connection_get_base_url (connection), ==, "http://127.0.0.1:11434/v1");
  g_assert_cmpstr (url, ==, "http://127.0.0.1:11434/v1/models");
  g_assert_cmpstr (aic_connection_get_model (connection), ==, "");

  g_assert_true (aic_connection_kind_from_string ("anthropic", &kind));
  g_assert_cmpint (kind, ==, AIC_CONNECTION_KIND_ANTHROPIC);
  g_assert_false (aic_connection_kind_from_string ("gemini", &kind));
  g_assert_cmpstr (aic_connection_kind_to_string (AIC_CONNECTION_KIND_CONSOLE), ==, "console");
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static void
test_notify_only_on_change (void)
{
  g_autoptr(AicConnection) connection = aic_connection_new ("a", "A", AIC_CONNECTION_KIND_CONSOLE, "http://x");
  guint count = 0;

  g_signal_connect (connection, "notify", G_CALLBACK (count_notify), &count);
  aic_connection_set_name (connection, "A");
  aic_connection_set_kind (connection, AIC_CONNECTION_KIND_CONSOLE);
  aic_connection_set_base_url (connection, "http://x/");
  g_assert_cmpuint (count, ==, 0);
  aic_connection_set_name (connection, "B");
  aic_connection_set_model (connection, "m");
  g_assert_cmpuint (count, ==, 2);
}

static void
test_validate (void)
{
  struct { const char *name; const char *url; gboolean ok; } cases[] = {
    { "A", "http://127.0.0.1:8765", TRUE },
    { "A", "https://api.openai.com/v1", TRUE },
    { "A", "http://[::1]:8080", TRUE },
    { "", "http://127.0.0.1", FALSE },
    { "A", "", FALSE },
    { "A", "127.0.0.1:8765", FALSE },
    { "A", "ftp://example.com", FALSE },
    { "A", "http://", FALSE },
    { "A", "http://host/v1?key=1", FALSE },
    { "A", "not a url", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(AicConnection) connection = aic_connection_new (NULL, cases[i].name, AIC_CONNECTION_KIND_CONSOLE, cases[i].url);
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u: “%s” “%s”", i, cases[i].name, cases[i].url);
      g_assert_cmpint (aic_connection_validate (connection, &error), ==, cases[i].ok);
      if (!cases[i].ok)
        g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_store_roundtrip (void)
{
  g_autoptr(GSettings) settings = g_settings_new (BASE_APP_ID);
  g_autoptr(AicConnectionStore) store = aic_connection_store_new (settings);
  g_autoptr(AicConnectionStore) reread = NULL;
  g_autoptr(AicConnection) a = aic_connection_new (NULL, "Ollama", AIC_CONNECTION_KIND_OPENAI, "http://127.0.0.1:11434/v1");
  g_autoptr(AicConnection) b = aic_connection_new (NULL, "Claude", AIC_CONNECTION_KIND_ANTHROPIC, "https://api.anthropic.com");
  g_autoptr(AicConnection) edited = NULL;
  g_autoptr(AicConnection) bad = aic_connection_new (NULL, "", AIC_CONNECTION_KIND_OPENAI, "http://x");
  g_autoptr(GError) error = NULL;
  AicConnection *found;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  g_assert_null (aic_connection_store_get_active (store));

  aic_connection_set_model (a, "llama3");
  g_assert_true (aic_connection_store_add (store, a, &error));
  g_assert_no_error (error);
  g_assert_true (aic_connection_store_add (store, b, &error));
  g_assert_false (aic_connection_store_add (store, a, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (aic_connection_store_add (store, bad, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);

  aic_connection_store_set_active (store, aic_connection_get_id (b));
  g_assert_true (aic_connection_store_get_active (store) == b);

  /* A second store on the same settings sees the same thing. */
  reread = aic_connection_store_new (settings);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (reread)), ==, 2);
  found = aic_connection_store_lookup (reread, aic_connection_get_id (a));
  g_assert_nonnull (found);
  g_assert_cmpstr (aic_connection_get_name (found), ==, "Ollama");
  g_assert_cmpint (aic_connection_get_kind (found), ==, AIC_CONNECTION_KIND_OPENAI);
  g_assert_cmpstr (aic_connection_get_base_url (found), ==, "http://127.0.0.1:11434/v1");
  g_assert_cmpstr (aic_connection_get_model (found), ==, "llama3");
  g_assert_cmpstr (aic_connection_get_id (aic_connection_store_get_active (reread)), ==, aic_connection_get_id (b));

  /* Editing a copy with the same id replaces it in place. */
  edited = aic_connection_new (aic_connection_get_id (a), "Ollama (GPU box)", AIC_CONNECTION_KIND_OPENAI, "http://127.0.0.1:11435/v1");
  g_assert_true (aic_connection_store_save (store, edited, &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
  g_assert_true (aic_connection_store_lookup (store, aic_connection_get_id (a)) == edited);
  g_clear_object (&reread);
  reread = aic_connection_store_new (settings);
  g_assert_cmpstr (aic_connection_get_name (aic_connection_store_lookup (reread, aic_connection_get_id (a))), ==, "Ollama (GPU box)");

  /* Removing the active one falls back to the built-in backend. */
  g_assert_true (aic_connection_store_remove (store, aic_connection_get_id (b)));
  g_assert_false (aic_connection_store_remove (store, "no-such-id"));
  g_assert_null (aic_connection_store_get_active (store));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_clear_object (&reread);
  reread = aic_connection_store_new (settings);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (reread)), ==, 1);
  g_assert_null (aic_connection_store_lookup (reread, aic_connection_get_id (b)));

  /* Let the keyring clean-up of the removal finish or fail quietly. */
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static void
test_store_ignores_bad_ids (void)
{
  g_autoptr(GSettings) settings = g_settings_new (BASE_APP_ID);
  g_autoptr(AicConnectionStore) store = NULL;
  const char *ids[] = { "../escape", "", "ok-id", NULL };

  g_settings_set_strv (settings, AIC_SETTINGS_KEY_CONNECTIONS, ids);
  g_test_expect_message ("aic-core", G_LOG_LEVEL_WARNING, "*invalid id*");
  g_test_expect_message ("aic-core", G_LOG_LEVEL_WARNING, "*invalid id*");
  store = aic_connection_store_new (settings);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_settings_reset (settings, AIC_SETTINGS_KEY_CONNECTIONS);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/connection/properties", test_properties);
  g_test_add_func ("/connection/notify", test_notify_only_on_change);
  g_test_add_func ("/connection/validate", test_validate);
  g_test_add_func ("/connection-store/roundtrip", test_store_roundtrip);
  g_test_add_func ("/connection-store/bad-ids", test_store_ignores_bad_ids);

  return g_test_run ();
}
