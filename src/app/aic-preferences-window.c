/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-connection-editor.h"
#include "aic-preferences-window.h"

struct _AicPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  AicConnectionStore   *store;

  GPtrArray            *speech_ids;     /* the speech row's choices; NULL first */
  gboolean              syncing_speech;

  /* Template widgets */
  GtkCheckButton       *builtin_check;
  GtkWidget            *radio_partner;
  GtkListBox           *providers_list;
  GtkListBox           *servers_list;
  AdwComboRow          *speech_row;
};

G_DEFINE_FINAL_TYPE (AicPreferencesWindow, aic_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
is_active (AicPreferencesWindow *self,
           AicConnection        *connection)
{
  return aic_connection_store_get_active (self->store) == connection;
}

static void
open_editor (AicPreferencesWindow *self,
             AicConnection        *connection,
             AicConnectionKind     kind)
{
  AicConnectionEditor *editor = aic_connection_editor_new (self->store, connection, kind);

  gtk_window_set_transient_for (GTK_WINDOW (editor), GTK_WINDOW (self));
  gtk_window_present (GTK_WINDOW (editor));
}

static void
edit_clicked_cb (GtkButton            *button,
                 AicPreferencesWindow *self)
{
  AicConnection *connection = g_object_get_data (G_OBJECT (button), "connection");

  open_editor (self, connection, aic_connection_get_kind (connection));
}

static void
row_check_toggled_cb (GtkCheckButton       *check,
                      AicPreferencesWindow *self)
{
  AicConnection *connection = g_object_get_data (G_OBJECT (check), "connection");

  if (gtk_check_button_get_active (check) && !is_active (self, connection))
    aic_connection_store_set_active (self->store, aic_connection_get_id (connection));
}

static void
sync_row_check (GtkCheckButton *check)
{
  AicPreferencesWindow *self = g_object_get_data (G_OBJECT (check), "window");
  AicConnection *connection = g_object_get_data (G_OBJECT (check), "connection");

  if (is_active (self, connection))
    gtk_check_button_set_active (check, TRUE);
}

static char *
describe (AicConnection *connection)
{
  /* Translators: a connection's subtitle: “OpenAI-Compatible · http://…” */
  return g_strdup_printf (_("%s · %s"),
                          aic_connection_kind_get_label (aic_connection_get_kind (connection)),
                          aic_connection_get_base_url (connection));
}

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  AicPreferencesWindow *self = user_data;
  AicConnection *connection = item;
  g_autofree char *subtitle = describe (connection);
  g_autofree char *use_label = NULL;
  g_autofree char *edit_label = NULL;
  GtkWidget *row, *check, *edit;

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), aic_connection_get_name (connection));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  /* Translators: accessible name of the check that makes a connection active */
  use_label = g_strdup_printf (_("Use “%s”"), aic_connection_get_name (connection));
  check = gtk_check_button_new ();
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  gtk_check_button_set_group (GTK_CHECK_BUTTON (check), self->builtin_check);
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, use_label, -1);
  g_object_set_data (G_OBJECT (check), "window", self);
  g_object_set_data_full (G_OBJECT (check), "connection", g_object_ref (connection), g_object_unref);
  sync_row_check (GTK_CHECK_BUTTON (check));
  g_signal_connect_object (check, "toggled", G_CALLBACK (row_check_toggled_cb), self, 0);
  g_signal_connect_object (self->store, "notify::active", G_CALLBACK (sync_row_check), check, G_CONNECT_SWAPPED);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);

  /* Translators: accessible name of a connection's edit button */
  edit_label = g_strdup_printf (_("Edit “%s”"), aic_connection_get_name (connection));
  edit = gtk_button_new_from_icon_name ("document-edit-symbolic");
  gtk_widget_set_valign (edit, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (edit, _("Edit"));
  gtk_widget_add_css_class (edit, "flat");
  gtk_accessible_update_property (GTK_ACCESSIBLE (edit), GTK_ACCESSIBLE_PROPERTY_LABEL, edit_label, -1);
  g_object_set_data_full (G_OBJECT (edit), "connection", g_object_ref (connection), g_object_unref);
  g_signal_connect_object (edit, "clicked", G_CALLBACK (edit_clicked_cb), self, 0);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), edit);

  return row;
}

static void
builtin_toggled_cb (AicPreferencesWindow *self)
{
  if (gtk_check_button_get_active (self->builtin_check) &&
      aic_connection_store_get_active (self->store) != NULL)
    aic_connection_store_set_active (self->store, NULL);
}

static void
sync_builtin_check (AicPreferencesWindow *self)
{
  if (aic_connection_store_get_active (self->store) == NULL)
    gtk_check_button_set_active (self->builtin_check, TRUE);
}

static void
add_provider_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  open_editor (AIC_PREFERENCES_WINDOW (widget), NULL, AIC_CONNECTION_KIND_OPENAI);
}

static void
add_server_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  open_editor (AIC_PREFERENCES_WINDOW (widget), NULL, AIC_CONNECTION_KIND_CONSOLE);
}

static gboolean
is_provider (gpointer item,
             gpointer user_data)
{
  return aic_connection_get_kind (item) != AIC_CONNECTION_KIND_CONSOLE;
}

static gboolean
is_server (gpointer item,
           gpointer user_data)
{
  return aic_connection_get_kind (item) == AIC_CONNECTION_KIND_CONSOLE;
}

static void
bind_list (AicPreferencesWindow *self,
           GtkListBox           *list,
           GtkCustomFilterFunc   keep)
{
  GtkFilter *filter = GTK_FILTER (gtk_custom_filter_new (keep, NULL, NULL));
  g_autoptr(GtkFilterListModel) model = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->store)), filter);

  gtk_list_box_bind_model (list, G_LIST_MODEL (model), create_row, self, NULL);
}

/* The speech row offers the provider's own speech and every
 * OpenAI-compatible connection: only those have the /audio routes. The
 * list is rebuilt only when the connections change, never from inside a
 * change of selection. */
static void
sync_speech (AicPreferencesWindow *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  AicConnection *chosen = aic_connection_store_get_speech (self->store);
  gboolean same = FALSE;
  guint selected = 0;

  gtk_string_list_append (names, _("The Provider’s Own"));
  g_ptr_array_add (ids, NULL);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->store)); i++)
    {
      g_autoptr(AicConnection) connection = g_list_model_get_item (G_LIST_MODEL (self->store), i);

      if (aic_connection_get_kind (connection) != AIC_CONNECTION_KIND_OPENAI)
        continue;
      if (connection == chosen)
        selected = ids->len;
      gtk_string_list_append (names, aic_connection_get_name (connection));
      g_ptr_array_add (ids, g_strdup (aic_connection_get_id (connection)));
    }

  if (ids->len == self->speech_ids->len)
    {
      GListModel *shown = adw_combo_row_get_model (self->speech_row);

      same = shown != NULL;
      for (guint i = 0; same && i < ids->len; i++)
        same = g_strcmp0 (g_ptr_array_index (ids, i), g_ptr_array_index (self->speech_ids, i)) == 0 &&
               g_strcmp0 (gtk_string_list_get_string (names, i),
                          gtk_string_list_get_string (GTK_STRING_LIST (shown), i)) == 0;
    }

  self->syncing_speech = TRUE;
  if (!same)
    {
      g_ptr_array_unref (self->speech_ids);
      self->speech_ids = g_steal_pointer (&ids);
      adw_combo_row_set_model (self->speech_row, G_LIST_MODEL (names));
    }
  if (adw_combo_row_get_selected (self->speech_row) != selected)
    adw_combo_row_set_selected (self->speech_row, selected);
  self->syncing_speech = FALSE;
}

static void
speech_selected_cb (AicPreferencesWindow *self)
{
  guint selected = adw_combo_row_get_selected (self->speech_row);

  if (self->syncing_speech || selected >= self->speech_ids->len)
    return;
  aic_connection_store_set_speech (self->store, g_ptr_array_index (self->speech_ids, selected));
}

static void
aic_preferences_window_constructed (GObject *object)
{
  AicPreferencesWindow *self = AIC_PREFERENCES_WINDOW (object);

  G_OBJECT_CLASS (aic_preferences_window_parent_class)->constructed (object);

  /* The Built-in row is one of the choices the connection rows offer, so
   * it is a radio button like theirs, also when it is the only one: GTK
   * draws a check button as a radio once it is in a group, so it gets a
   * partner that is never shown. */
  self->radio_partner = g_object_ref_sink (gtk_check_button_new ());
  gtk_check_button_set_group (GTK_CHECK_BUTTON (self->radio_partner), self->builtin_check);
  bind_list (self, self->providers_list, is_provider);
  bind_list (self, self->servers_list, is_server);
  sync_builtin_check (self);
  sync_speech (self);
  g_signal_connect_object (self->store, "items-changed", G_CALLBACK (sync_speech), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->store, "notify::speech", G_CALLBACK (sync_speech), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->speech_row, "notify::selected", G_CALLBACK (speech_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->builtin_check, "toggled",
                           G_CALLBACK (builtin_toggled_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->store, "notify::active",
                           G_CALLBACK (sync_builtin_check), self, G_CONNECT_SWAPPED);
}

static void
aic_preferences_window_dispose (GObject *object)
{
  AicPreferencesWindow *self = AIC_PREFERENCES_WINDOW (object);

  /* The lists may outlive the window (the accessibility bridge can hold
   * them): they must stop making rows for it, with it as their data. */
  if (self->providers_list != NULL)
    gtk_list_box_bind_model (self->providers_list, NULL, NULL, NULL, NULL);
  if (self->servers_list != NULL)
    gtk_list_box_bind_model (self->servers_list, NULL, NULL, NULL, NULL);
  if (self->radio_partner != NULL)
    gtk_check_button_set_group (GTK_CHECK_BUTTON (self->radio_partner), NULL);
  g_clear_object (&self->radio_partner);
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->store);
  g_clear_pointer (&self->speech_ids, g_ptr_array_unref);

  G_OBJECT_CLASS (aic_preferences_window_parent_class)->dispose (object);
}

static void
aic_preferences_window_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  AicPreferencesWindow *self = AIC_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE: self->store = g_value_dup_object (value); break;
    default:         G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_preferences_window_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  AicPreferencesWindow *self = AIC_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE: g_value_set_object (value, self->store); break;
    default:         G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_preferences_window_class_init (AicPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = aic_preferences_window_constructed;
  object_class->dispose = aic_preferences_window_dispose;
  object_class->get_property = aic_preferences_window_get_property;
  object_class->set_property = aic_preferences_window_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, AIC_TYPE_CONNECTION_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, AicPreferencesWindow, builtin_check);
  gtk_widget_class_bind_template_child (widget_class, AicPreferencesWindow, providers_list);
  gtk_widget_class_bind_template_child (widget_class, AicPreferencesWindow, servers_list);
  gtk_widget_class_bind_template_child (widget_class, AicPreferencesWindow, speech_row);

  gtk_widget_class_install_action (widget_class, "preferences.add-provider", NULL, add_provider_action);
  gtk_widget_class_install_action (widget_class, "preferences.add-server", NULL, add_server_action);
}

static void
aic_preferences_window_init (AicPreferencesWindow *self)
{
  self->speech_ids = g_ptr_array_new_with_free_func (g_free);
  gtk_widget_init_template (GTK_WIDGET (self));
}

AicPreferencesWindow *
aic_preferences_window_new (AicConnectionStore *store)
{
  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (store), NULL);
  return g_object_new (AIC_TYPE_PREFERENCES_WINDOW, "store", store, NULL);
}

/**
 * aic_preferences_window_add_connection:
 * Opens the editor for a new model provider, what most people connect.
 */
void
aic_preferences_window_add_connection (AicPreferencesWindow *self)
{
  g_return_if_fail (AIC_IS_PREFERENCES_WINDOW (self));
  open_editor (self, NULL, AIC_CONNECTION_KIND_OPENAI);
}
