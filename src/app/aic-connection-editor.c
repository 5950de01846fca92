/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-client.h"
#include "aic-connection-editor.h"
#include "aic-secrets.h"

/* Adds or edits one connection. Nothing is stored until Save; Test uses the
 * values as they stand in the form, key included. */
struct _AicConnectionEditor
{
  AdwWindow           parent_instance;

  AicConnectionStore *store;
  AicConnection      *connection;   /* NULL when adding */
  GCancellable       *cancellable;
  char               *stored_key;
  AicConnectionKind   kind;
  gboolean            saving;

  /* Template widgets */
  AdwComboRow        *kind_row;
  AdwPasswordEntryRow *key_row;
  AdwEntryRow        *model_row;
  AdwComboRow        *models_row;
  gboolean            filling_models;
  AdwEntryRow        *name_row;
  AdwActionRow       *realtime_row;
  GtkSwitch          *realtime_switch;
  AdwPreferencesGroup *remove_group;
  GtkButton          *save_button;
  AdwActionRow       *test_row;
  GtkStack           *test_stack;
  GtkSpinner         *test_spinner;
  AdwToastOverlay    *toast_overlay;
  AdwEntryRow        *url_row;
};

G_DEFINE_FINAL_TYPE (AicConnectionEditor, aic_connection_editor, ADW_TYPE_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  PROP_CONNECTION,
  PROP_KIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
entry_text (AdwEntryRow *row)
{
  return gtk_editable_get_text (GTK_EDITABLE (row));
}

static AicConnectionKind
selected_kind (AicConnectionEditor *self)
{
  return (AicConnectionKind) adw_combo_row_get_selected (self->kind_row);
}

static gboolean
row_is_blank (AdwEntryRow *row)
{
  for (const char *p = entry_text (row); *p; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

static void
update_actions (AicConnectionEditor *self)
{
  gboolean has_url = !row_is_blank (self->url_row);
  gboolean complete = has_url && !row_is_blank (self->name_row);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", complete && !self->saving);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.test", has_url);
}

static void
on_field_changed (AicConnectionEditor *self)
{
  update_actions (self);
}

/* A new model provider starts as the one most people have on their own
 * computer; the kind's own address is one switch away. */
#define LOCAL_PROVIDER_NAME "Ollama"
#define LOCAL_PROVIDER_URL  "http://127.0.0.1:11434/v1"

/* Switching the kind refills fields the person has not made their own. */
static void
on_kind_changed (AicConnectionEditor *self)
{
  AicConnectionKind old_kind = self->kind;
  AicConnectionKind new_kind = selected_kind (self);
  const char *url = entry_text (self->url_row);
  const char *name = entry_text (self->name_row);

  /* Only OpenAI's API has a Realtime service to choose. */
  gtk_widget_set_visible (GTK_WIDGET (self->realtime_row), new_kind == AIC_CONNECTION_KIND_OPENAI);
  if (old_kind == new_kind)
    return;
  self->kind = new_kind;

  if (url[0] == '\0' || g_strcmp0 (url, aic_connection_kind_get_default_url (old_kind)) == 0 ||
      g_strcmp0 (url, LOCAL_PROVIDER_URL) == 0)
    gtk_editable_set_text (GTK_EDITABLE (self->url_row), aic_connection_kind_get_default_url (new_kind));
  if (name[0] == '\0' || g_strcmp0 (name, aic_connection_kind_get_label (old_kind)) == 0 ||
      g_strcmp0 (name, LOCAL_PROVIDER_NAME) == 0)
    gtk_editable_set_text (GTK_EDITABLE (self->name_row), aic_connection_kind_get_label (new_kind));
}

static void
show_test_result (AicConnectionEditor *self,
                  const char          *text,
                  gboolean             success)
{
  GtkWidget *row = GTK_WIDGET (self->test_row);

  adw_action_row_set_subtitle (self->test_row, text);
  /* Only the subtitle takes the colour (style.css); libadwaita's own
   * .error would paint the whole row, button included. */
  gtk_widget_remove_css_class (row, "test-ok");
  gtk_widget_remove_css_class (row, "test-failed");
  gtk_widget_add_css_class (row, success ? "test-ok" : "test-failed");

  /* Screen readers hear the outcome, not just a changed subtitle. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->test_row),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text,
                                  -1);
}

static AicConnection *
connection_from_form (AicConnectionEditor *self)
{
  AicConnection *connection;

  connection = aic_connection_new (self->connection ? aic_connection_get_id (self->connection) : NULL,
                                   entry_text (self->name_row),
                                   selected_kind (self),
                                   entry_text (self->url_row));
  aic_connection_set_model (connection, entry_text (self->model_row));
  aic_connection_set_realtime_voice (connection,
                                     selected_kind (self) == AIC_CONNECTION_KIND_OPENAI &&
                                     gtk_switch_get_active (self->realtime_switch));
  return connection;
}

static void
on_model_chosen (AicConnectionEditor *self)
{
  GObject *item = adw_combo_row_get_selected_item (self->models_row);

  if (self->filling_models || item == NULL)
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->model_row), gtk_string_object_get_string (GTK_STRING_OBJECT (item)));
}

/* After a Test that listed models: pick one rather than type its name.
 * A model already written that the server has is selected; an empty
 * field gets the first. */
static void
offer_models (AicConnectionEditor *self,
              const char * const  *models)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new (models);
  const char *current = gtk_editable_get_text (GTK_EDITABLE (self->model_row));
  guint chosen = GTK_INVALID_LIST_POSITION;

  for (guint i = 0; models[i] != NULL; i++)
    if (g_strcmp0 (models[i], current) == 0)
      chosen = i;

  self->filling_models = TRUE;
  adw_combo_row_set_model (self->models_row, G_LIST_MODEL (list));
  adw_combo_row_set_selected (self->models_row, chosen);
  self->filling_models = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->models_row), models[0] != NULL);
  if (current[0] == '\0' && models[0] != NULL)
    adw_combo_row_set_selected (self->models_row, 0);
}

static void
test_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(AicConnectionEditor) self = user_data;
  g_autoptr(AicServiceInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  info = aic_client_check_finish (AIC_CLIENT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  gtk_spinner_stop (self->test_spinner);
  gtk_stack_set_visible_child_name (self->test_stack, "button");

  if (info == NULL)
    show_test_result (self, error->message, FALSE);
  else
    {
      g_autofree char *text = aic_service_info_describe (info);
      show_test_result (self, text, TRUE);
      offer_models (self, (const char * const *) info->models);
    }
}

static void
test_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (widget);
  g_autoptr(AicConnection) connection = connection_from_form (self);
  g_autoptr(AicClient) client = aic_client_new (connection, entry_text (ADW_ENTRY_ROW (self->key_row)));

  gtk_stack_set_visible_child_name (self->test_stack, "spinner");
  gtk_spinner_start (self->test_spinner);
  aic_client_set_timeout (client, 15);
  aic_client_check_async (client, self->cancellable, test_cb, g_object_ref (self));
}

static void
key_saved_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(AicConnectionEditor) self = user_data;
  g_autoptr(GError) error = NULL;
  const char *key = entry_text (ADW_ENTRY_ROW (self->key_row));
  gboolean ok;

  if (key[0] == '\0')
    ok = aic_secrets_clear_finish (result, &error);
  else
    ok = aic_secrets_store_finish (result, &error);

  self->saving = FALSE;
  update_actions (self);

  if (!ok)
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      message = g_strdup_printf (_("The connection was saved, but its key was not: %s"), error->message);
      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
      return;
    }

  gtk_window_close (GTK_WINDOW (self));
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (widget);
  g_autoptr(AicConnection) connection = connection_from_form (self);
  g_autoptr(GError) error = NULL;
  const char *key = entry_text (ADW_ENTRY_ROW (self->key_row));
  gboolean adding = self->connection == NULL;
  gboolean had_builtin = aic_connection_store_get_active (self->store) == NULL;

  if (!aic_connection_store_save (self->store, connection, &error))
    {
      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (error->message));
      return;
    }

  /* The first connection someone adds is what they want to use. */
  if (adding && had_builtin)
    aic_connection_store_set_active (self->store, aic_connection_get_id (connection));

  g_set_object (&self->connection, connection);

  if (g_strcmp0 (key, self->stored_key ? self->stored_key : "") == 0)
    {
      gtk_window_close (GTK_WINDOW (self));
      return;
    }

  self->saving = TRUE;
  update_actions (self);
  if (key[0] == '\0')
    aic_secrets_clear_async (aic_connection_get_id (connection), self->cancellable,
                             key_saved_cb, g_object_ref (self));
  else
    aic_secrets_store_async (aic_connection_get_id (connection), aic_connection_get_name (connection),
                             key, self->cancellable, key_saved_cb, g_object_ref (self));
}

static void
remove_response_cb (AdwMessageDialog    *dialog,
                    const char          *response,
                    AicConnectionEditor *self)
{
  if (g_strcmp0 (response, "remove") != 0 || self->connection == NULL)
    return;

  aic_connection_store_remove (self->store, aic_connection_get_id (self->connection));
  gtk_window_close (GTK_WINDOW (self));
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (widget);
  GtkWidget *dialog;

  if (self->connection == NULL)
    return;

  /* Translators: %s is a connection name */
  dialog = adw_message_dialog_new (GTK_WINDOW (self),
                                   _("Remove Connection?"),
                                   NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” and its key will be removed from this computer."),
                                  aic_connection_get_name (self->connection));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (remove_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
key_loaded_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(AicConnectionEditor) self = user_data;
  g_autoptr(GError) error = NULL;

  self->stored_key = aic_secrets_lookup_finish (result, &error);
  if (error != NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (error->message));
      return;
    }

  /* Do not overwrite what someone typed meanwhile. */
  if (self->stored_key != NULL && entry_text (ADW_ENTRY_ROW (self->key_row))[0] == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->key_row), self->stored_key);
}

static void
aic_connection_editor_constructed (GObject *object)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (object);
  g_autoptr(GtkStringList) kinds = gtk_string_list_new (NULL);
  /* Setting the model selects its first kind and runs on_kind_changed(). */
  AicConnectionKind initial_kind = self->kind;

  G_OBJECT_CLASS (aic_connection_editor_parent_class)->constructed (object);

  for (AicConnectionKind kind = AIC_CONNECTION_KIND_CONSOLE; kind <= AIC_CONNECTION_KIND_ANTHROPIC; kind++)
    gtk_string_list_append (kinds, aic_connection_kind_get_label (kind));
  adw_combo_row_set_model (self->kind_row, G_LIST_MODEL (kinds));

  if (self->connection != NULL)
    {
      gtk_window_set_title (GTK_WINDOW (self), _("Edit Connection"));
      self->kind = aic_connection_get_kind (self->connection);
      adw_combo_row_set_selected (self->kind_row, self->kind);
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), aic_connection_get_name (self->connection));
      gtk_editable_set_text (GTK_EDITABLE (self->url_row), aic_connection_get_base_url (self->connection));
      gtk_editable_set_text (GTK_EDITABLE (self->model_row), aic_connection_get_model (self->connection));
      gtk_switch_set_active (self->realtime_switch, aic_connection_get_realtime_voice (self->connection));
      gtk_widget_set_visible (GTK_WIDGET (self->remove_group), TRUE);
      aic_secrets_lookup_async (aic_connection_get_id (self->connection), self->cancellable,
                                key_loaded_cb, g_object_ref (self));
    }
  else
    {
      gboolean local = initial_kind == AIC_CONNECTION_KIND_OPENAI;

      gtk_window_set_title (GTK_WINDOW (self), _("Add Connection"));
      self->kind = initial_kind;
      adw_combo_row_set_selected (self->kind_row, self->kind);
      gtk_editable_set_text (GTK_EDITABLE (self->name_row),
                             local ? LOCAL_PROVIDER_NAME : aic_connection_kind_get_label (self->kind));
      gtk_editable_set_text (GTK_EDITABLE (self->url_row),
                             local ? LOCAL_PROVIDER_URL : aic_connection_kind_get_default_url (self->kind));
    }

  gtk_widget_set_visible (GTK_WIDGET (self->realtime_row), self->kind == AIC_CONNECTION_KIND_OPENAI);
  update_actions (self);
}

/* gtk_window_destroy() does not dispose while callbacks hold references:
 * stop Test and keyring work as soon as the window closes. */
static gboolean
aic_connection_editor_close_request (GtkWindow *window)
{
  g_cancellable_cancel (AIC_CONNECTION_EDITOR (window)->cancellable);
  return GTK_WINDOW_CLASS (aic_connection_editor_parent_class)->close_request (window);
}

static void
aic_connection_editor_dispose (GObject *object)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_CONNECTION_EDITOR);

  G_OBJECT_CLASS (aic_connection_editor_parent_class)->dispose (object);
}

static void
aic_connection_editor_finalize (GObject *object)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (object);

  g_clear_object (&self->store);
  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->stored_key, g_free);

  G_OBJECT_CLASS (aic_connection_editor_parent_class)->finalize (object);
}

static void
aic_connection_editor_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (object);

  switch (prop_id)
    {
    case PROP_STORE:      self->store = g_value_dup_object (value); break;
    case PROP_CONNECTION: self->connection = g_value_dup_object (value); break;
    case PROP_KIND:       self->kind = g_value_get_enum (value); break;
    default:              G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_connection_editor_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  AicConnectionEditor *self = AIC_CONNECTION_EDITOR (object);

  switch (prop_id)
    {
    case PROP_STORE:      g_value_set_object (value, self->store); break;
    case PROP_CONNECTION: g_value_set_object (value, self->connection); break;
    case PROP_KIND:       g_value_set_enum (value, self->kind); break;
    default:              G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_connection_editor_class_init (AicConnectionEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = aic_connection_editor_constructed;
  object_class->dispose = aic_connection_editor_dispose;
  object_class->finalize = aic_connection_editor_finalize;
  object_class->get_property = aic_connection_editor_get_property;
  object_class->set_property = aic_connection_editor_set_property;

  GTK_WINDOW_CLASS (klass)->close_request = aic_connection_editor_close_request;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, AIC_TYPE_CONNECTION_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, AIC_TYPE_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* The kind a new connection starts as. */
  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL, AIC_TYPE_CONNECTION_KIND, AIC_CONNECTION_KIND_OPENAI,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-connection-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, key_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, kind_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, model_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, models_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, realtime_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, realtime_switch);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, remove_group);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, save_button);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, test_row);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, test_spinner);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, test_stack);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, AicConnectionEditor, url_row);
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_kind_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_model_chosen);

  gtk_widget_class_install_action (widget_class, "editor.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "editor.test", NULL, test_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
aic_connection_editor_init (AicConnectionEditor *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Never without a model: GTK 4.8's accessibility walk of a combo row
   * that has none takes the app down. */
  {
    g_autoptr(GtkStringList) none = gtk_string_list_new (NULL);

    self->filling_models = TRUE;
    adw_combo_row_set_model (self->models_row, G_LIST_MODEL (none));
    self->filling_models = FALSE;
  }
}

/**
 * aic_connection_editor_new:
 * @connection: (nullable): the connection to edit, or %NULL to add one
 * @kind: what a new connection starts as: a model provider, or an AI
 *   Console server
 */
AicConnectionEditor *
aic_connection_editor_new (AicConnectionStore *store,
                           AicConnection      *connection,
                           AicConnectionKind   kind)
{
  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (store), NULL);

  return g_object_new (AIC_TYPE_CONNECTION_EDITOR,
                       "store", store,
                       "connection", connection,
                       "kind", kind,
                       NULL);
}
