/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-connection-editor.h"
#include "aic-preferences-window.h"
#include "aic-secrets.h"
#include "aic-test-util.h"

/* Preferences and the connection editor, driven through their own
 * widgets and actions, with Test going to real servers on 127.0.0.1. */

static GObject *
editor_child (gpointer    editor,
              const char *name)
{
  return gtk_widget_get_template_child (GTK_WIDGET (editor), AIC_TYPE_CONNECTION_EDITOR, name);
}

static GObject *
prefs_child (gpointer    prefs,
             const char *name)
{
  return gtk_widget_get_template_child (GTK_WIDGET (prefs), AIC_TYPE_PREFERENCES_WINDOW, name);
}

static void
set_text (gpointer    editor,
          const char *row,
          const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (editor_child (editor, row)), text);
}

static const char *
get_text (gpointer    editor,
          const char *row)
{
  return gtk_editable_get_text (GTK_EDITABLE (editor_child (editor, row)));
}

static gboolean
test_row_has_class (gpointer data)
{
  gpointer *args = data;

  return gtk_widget_has_css_class (GTK_WIDGET (editor_child (args[0], "test_row")), args[1]);
}

static void
run_test (gpointer    editor,
          const char *expected_class)
{
  GtkWidget *row = GTK_WIDGET (editor_child (editor, "test_row"));
  gpointer args[] = { editor, (gpointer) expected_class };

  gtk_widget_remove_css_class (row, "test-ok");
  gtk_widget_remove_css_class (row, "test-failed");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.test", NULL));
  aic_test_wait_for (test_row_has_class, args, 20000);
}

static gboolean
no_windows_but (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);
      if (AIC_IS_CONNECTION_EDITOR (window))
        return FALSE;
    }
  return TRUE;
}

static AicConnectionEditor *
find_editor (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);
      if (AIC_IS_CONNECTION_EDITOR (window))
        return AIC_CONNECTION_EDITOR (window);
    }
  return NULL;
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);
      if (ADW_IS_MESSAGE_DIALOG (window))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static void
test_add_edit_remove (void)
{
  g_autoptr(GSettings) settings = g_settings_new (BASE_APP_ID);
  g_autoptr(AicConnectionStore) store = aic_connection_store_new (settings);
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_server_new (&url);
  g_autofree char *base = g_strconcat (url, "/v1", NULL);
  g_autofree char *refused = g_strdup_printf ("http://127.0.0.1:%u/v1", aic_test_free_port ());
  gboolean keyring = aic_test_have_keyring ();
  AicPreferencesWindow *prefs;
  AicConnectionEditor *editor;
  AdwMessageDialog *dialog;
  AicConnection *connection;
  GtkListBox *list;
  GtkListBoxRow *row;
  const char *subtitle;

  aic_test_serve_models (server, "{\"data\": [{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}]}");

  prefs = aic_preferences_window_new (store);
  gtk_window_present (GTK_WINDOW (prefs));
  list = GTK_LIST_BOX (prefs_child (prefs, "providers_list"));
  g_assert_null (gtk_list_box_get_row_at_index (list, 0));
  g_assert_null (gtk_list_box_get_row_at_index (GTK_LIST_BOX (prefs_child (prefs, "servers_list")), 0));
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (prefs_child (prefs, "builtin_check"))));
  /* One style for the choice of connection: the Built-in row's button is
   * a radio like the connection rows', also while it is the only one. */
  {
    GtkWidget *indicator = gtk_widget_get_first_child (GTK_WIDGET (prefs_child (prefs, "builtin_check")));

    g_assert_nonnull (indicator);
    g_assert_cmpstr (gtk_widget_get_css_name (indicator), ==, "radio");
  }

  /* Adding a model provider, what most people connect: the form starts
   * as an OpenAI-compatible one, with the choice of a Realtime voice. */
  aic_preferences_window_add_connection (prefs);
  editor = find_editor ();
  g_assert_nonnull (editor);
  g_assert_cmpint (adw_combo_row_get_selected (ADW_COMBO_ROW (editor_child (editor, "kind_row"))), ==, AIC_CONNECTION_KIND_OPENAI);
  g_assert_cmpstr (get_text (editor, "name_row"), ==, "Ollama");
  g_assert_cmpstr (get_text (editor, "url_row"), ==, "http://127.0.0.1:11434/v1");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (editor_child (editor, "realtime_row"))));
  adw_combo_row_set_selected (ADW_COMBO_ROW (editor_child (editor, "kind_row")), AIC_CONNECTION_KIND_ANTHROPIC);
  g_assert_cmpstr (get_text (editor, "url_row"), ==, "https://api.anthropic.com");
  g_assert_cmpstr (get_text (editor, "name_row"), ==, "Anthropic");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (editor_child (editor, "realtime_row"))));
  gtk_window_destroy (GTK_WINDOW (editor));

  /* Adding an AI Console server: the form starts filled for one. */
  editor = aic_connection_editor_new (store, NULL, AIC_CONNECTION_KIND_CONSOLE);
  gtk_window_set_transient_for (GTK_WINDOW (editor), GTK_WINDOW (prefs));
  gtk_window_present (GTK_WINDOW (editor));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (editor)), ==, "Add Connection");
  g_assert_cmpstr (get_text (editor, "url_row"), ==, "http://127.0.0.1:8765");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (editor_child (editor, "remove_group"))));

  /* Changing the kind refills the untouched fields. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (editor_child (editor, "kind_row")), AIC_CONNECTION_KIND_OPENAI);
  g_assert_cmpstr (get_text (editor, "url_row"), ==, "https://api.openai.com/v1");
  g_assert_cmpstr (get_text (editor, "name_row"), ==, "OpenAI-Compatible");

  /* Save needs a name. */
  set_text (editor, "name_row", "  ");
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (editor_child (editor, "save_button"))));
  set_text (editor, "name_row", "Local Models");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (editor_child (editor, "save_button"))));

  /* Test, answered in words: nothing there, then a server with 3 models. */
  set_text (editor, "url_row", refused);
  run_test (editor, "test-failed");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (editor_child (editor, "test_row")));
  g_assert_nonnull (strstr (subtitle, "Nothing is listening"));

  set_text (editor, "url_row", base);
  run_test (editor, "test-ok");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (editor_child (editor, "test_row")));
  g_assert_cmpstr (subtitle, ==, "Connected. 3 models are available.");
  /* The models Test found can be picked instead of typed; an empty model
   * field takes the first. */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (editor_child (editor, "models_row"))));
  g_assert_cmpstr (get_text (editor, "model_row"), ==, "a");
  adw_combo_row_set_selected (ADW_COMBO_ROW (editor_child (editor, "models_row")), 2);
  g_assert_cmpstr (get_text (editor, "model_row"), ==, "c");

  /* A bad address is refused on Save, with the reason, and nothing stored. */
  set_text (editor, "url_row", "api.openai.com/v1");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);

  set_text (editor, "url_row", base);
  set_text (editor, "model_row", "b");
  if (keyring)
    set_text (editor, "key_row", "sk-from-the-form");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  aic_test_wait_for (no_windows_but, NULL, 10000);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  connection = g_list_model_get_item (G_LIST_MODEL (store), 0);
  g_object_unref (connection);
  g_assert_cmpstr (aic_connection_get_name (connection), ==, "Local Models");
  g_assert_cmpint (aic_connection_get_kind (connection), ==, AIC_CONNECTION_KIND_OPENAI);
  g_assert_cmpstr (aic_connection_get_base_url (connection), ==, base);
  g_assert_cmpstr (aic_connection_get_model (connection), ==, "b");

  g_assert_false (aic_connection_get_realtime_voice (connection));

  /* The speech row offers the provider's own speech, and every
   * OpenAI-compatible connection. */
  {
    AdwComboRow *speech_row = ADW_COMBO_ROW (prefs_child (prefs, "speech_row"));

    g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (speech_row)), ==, 2);
    g_assert_cmpuint (adw_combo_row_get_selected (speech_row), ==, 0);
    adw_combo_row_set_selected (speech_row, 1);
    g_assert_true (aic_connection_store_get_speech (store) == connection);
    adw_combo_row_set_selected (speech_row, 0);
    g_assert_null (aic_connection_store_get_speech (store));
  }

  /* The first connection added becomes the one in use. */
  g_assert_true (aic_connection_store_get_active (store) == connection);
  g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (prefs_child (prefs, "builtin_check"))));
  row = gtk_list_box_get_row_at_index (list, 0);
  g_assert_nonnull (row);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Local Models");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "OpenAI-Compatible"));

  /* The built-in check takes it back. */
  gtk_check_button_set_active (GTK_CHECK_BUTTON (prefs_child (prefs, "builtin_check")), TRUE);
  g_assert_null (aic_connection_store_get_active (store));

  if (keyring)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autofree char *key = NULL;

      aic_secrets_lookup_async (aic_connection_get_id (connection), NULL, aic_test_store_result_cb, &result);
      aic_test_wait_result (&result, 10000);
      key = aic_secrets_lookup_finish (result, NULL);
      g_assert_cmpstr (key, ==, "sk-from-the-form");
    }
  else
    g_test_message ("No Secret Service: the key part of this test was not run");

  /* Editing: the stored values, the key from the keyring, and Remove. */
  editor = aic_connection_editor_new (store, connection, AIC_CONNECTION_KIND_CONSOLE);
  gtk_window_present (GTK_WINDOW (editor));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (editor)), ==, "Edit Connection");
  g_assert_cmpint (adw_combo_row_get_selected (ADW_COMBO_ROW (editor_child (editor, "kind_row"))), ==, AIC_CONNECTION_KIND_OPENAI);
  /* A Realtime voice is the user's explicit choice, and kept. */
  gtk_switch_set_active (GTK_SWITCH (editor_child (editor, "realtime_switch")), TRUE);
  g_assert_cmpstr (get_text (editor, "name_row"), ==, "Local Models");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (editor_child (editor, "remove_group"))));
  set_text (editor, "name_row", "Renamed");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  aic_test_wait_for (no_windows_but, NULL, 10000);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  connection = g_list_model_get_item (G_LIST_MODEL (store), 0);
  g_object_unref (connection);
  g_assert_cmpstr (aic_connection_get_name (connection), ==, "Renamed");
  g_assert_true (aic_connection_get_realtime_voice (connection));
  row = gtk_list_box_get_row_at_index (list, 0);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Renamed");

  /* Remove asks first; Cancel keeps it, Remove removes it. */
  editor = aic_connection_editor_new (store, connection, AIC_CONNECTION_KIND_OPENAI);
  gtk_window_present (GTK_WINDOW (editor));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.remove", NULL));
  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Remove Connection?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "Renamed"));
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.remove", NULL));
  dialog = find_message_dialog ();
  adw_message_dialog_response (dialog, "remove");
  gtk_window_destroy (GTK_WINDOW (dialog));
  aic_test_wait_for (no_windows_but, NULL, 10000);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  g_assert_null (gtk_list_box_get_row_at_index (list, 0));

  gtk_window_destroy (GTK_WINDOW (prefs));
  soup_server_disconnect (server);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/preferences/add-edit-remove", test_add_edit_remove);

  return g_test_run ();
}
