/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <string.h>

#include "aic-chat-page.h"
#include "aic-message-row.h"

/* The Chat view: conversations on the side, the open one's messages, and
 * the composer. All chat logic is AicConversation's; this binds to it. */
struct _AicChatPage
{
  GtkWidget        parent_instance;

  AicStore        *store;
  AicClient       *client;
  AicConversation *conversation;
  GtkStringList   *models;
  gboolean         editing;
  gboolean         stick_to_bottom;
  gboolean         syncing_model;
  gboolean         reloading;

  /* Template widgets */
  GtkStack        *content_stack;
  GtkTextView     *composer_view;
  GtkListBox      *conversation_list;
  AdwFlap         *flap;
  GtkListBox      *message_list;
  GtkDropDown     *model_dropdown;
  GtkWidget       *reply_actions;
  GtkScrolledWindow *scroller;
  GtkSearchEntry  *search_entry;
  GtkStack        *send_stack;
  GtkLabel        *title_label;
};

G_DEFINE_FINAL_TYPE (AicChatPage, aic_chat_page, GTK_TYPE_WIDGET)

enum {
  SHOW_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (AicChatPage *self,
            const char  *message)
{
  g_signal_emit (self, signals[SHOW_ERROR], 0, message);
}

static char *
composer_text (AicChatPage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->composer_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
update_actions (AicChatPage *self)
{
  gboolean busy = self->conversation && aic_conversation_get_busy (self->conversation);
  gboolean have_messages = self->conversation &&
                           g_list_model_get_n_items (aic_conversation_get_messages (self->conversation)) > 0;
  gboolean can_regenerate = self->conversation && aic_conversation_can_regenerate (self->conversation);
  gboolean can_edit = !busy && self->conversation && aic_conversation_get_last_user (self->conversation) != NULL;

  gtk_stack_set_visible_child_name (self->send_stack, busy ? "stop" : "send");
  gtk_stack_set_visible_child_name (self->content_stack, have_messages ? "messages" : "empty");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.regenerate", can_regenerate);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.edit-last", can_edit);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.stop", busy);
  /* Disabled, not only hidden, while a reply is written: a state that
   * assistive technologies (and the end-to-end test) can see. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.send", !busy);
  gtk_widget_set_visible (self->reply_actions, can_regenerate || can_edit);
  gtk_label_set_label (self->title_label,
                       self->conversation && aic_conversation_get_title (self->conversation)
                         ? aic_conversation_get_title (self->conversation) : _("New Conversation"));
}

/* ---- the conversation list ---- */

static char *
format_date (gint64 usec)
{
  g_autoptr(GDateTime) then = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (g_date_time_get_year (then) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (then) == g_date_time_get_day_of_year (now))
    return g_date_time_format (then, "%H:%M");
  return g_date_time_format (then, "%x");
}

static GtkWidget *
make_conversation_row (AicConversationInfo *info)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autofree char *date = format_date (info->updated_at);
  g_autofree char *rename = g_strdup_printf ("chat.rename('%s')", info->id);
  g_autofree char *export = g_strdup_printf ("chat.export('%s')", info->id);
  g_autofree char *delete = g_strdup_printf ("chat.delete('%s')", info->id);
  g_autofree char *menu_label = NULL;
  GtkWidget *row, *button;

  g_menu_append (menu, _("_Rename…"), rename);
  g_menu_append (menu, _("_Export as Markdown…"), export);
  g_menu_append (menu, _("_Delete"), delete);

  row = adw_action_row_new ();
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), info->title[0] ? info->title : _("Untitled"));
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 1);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), date);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "conversation-id", g_strdup (info->id), g_free);

  /* Translators: accessible name of a conversation's menu button */
  menu_label = g_strdup_printf (_("Actions for “%s”"), info->title);
  button = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "view-more-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, menu_label, -1);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  return row;
}

static void
reload_list (AicChatPage *self)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  const char *current = self->conversation ? aic_conversation_get_id (self->conversation) : NULL;
  GtkWidget *child;

  if (self->store == NULL)
    return;

  self->reloading = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->conversation_list))) != NULL)
    gtk_list_box_remove (self->conversation_list, child);

  list = aic_store_list_conversations (self->store, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), &error);
  if (list == NULL)
    {
      self->reloading = FALSE;
      show_error (self, error->message);
      return;
    }
  for (guint i = 0; i < list->len; i++)
    {
      AicConversationInfo *info = g_ptr_array_index (list, i);
      GtkWidget *row = make_conversation_row (info);

      gtk_list_box_append (self->conversation_list, row);
      if (g_strcmp0 (info->id, current) == 0)
        gtk_list_box_select_row (self->conversation_list, GTK_LIST_BOX_ROW (row));
    }
  self->reloading = FALSE;
}

static void
on_search_changed (AicChatPage *self)
{
  reload_list (self);
}

static void
on_conversation_activated (AicChatPage   *self,
                           GtkListBoxRow *row)
{
  aic_chat_page_open (self, g_object_get_data (G_OBJECT (row), "conversation-id"));
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

/* Moving through the list with the keyboard opens what is selected. */
static void
on_conversation_selected (AicChatPage   *self,
                          GtkListBoxRow *row)
{
  const char *id;

  if (row == NULL || self->reloading)
    return;
  id = g_object_get_data (G_OBJECT (row), "conversation-id");
  if (self->conversation == NULL || g_strcmp0 (aic_conversation_get_id (self->conversation), id) != 0)
    aic_chat_page_open (self, id);
}

/* ---- the messages ---- */

/* One row per message, made once. A GtkListBox, not a recycling
 * GtkListView: every message keeps its widgets (see bench/RESULTS.md for
 * what that costs), which keeps rows simple and readable by assistive
 * technologies as a reply arrives. */
static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *message_row = aic_message_row_new ();

  aic_message_row_set_message (AIC_MESSAGE_ROW (message_row), item);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), message_row);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);
  return row;
}

/* Follow the end of the conversation unless the person scrolled up. */
static void
scrolled_cb (GtkAdjustment *adjustment,
             AicChatPage   *self)
{
  double bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);

  self->stick_to_bottom = gtk_adjustment_get_value (adjustment) >= bottom - 40;
}

static void
grew_cb (GtkAdjustment *adjustment,
         GParamSpec    *pspec,
         AicChatPage   *self)
{
  if (self->stick_to_bottom)
    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment));
}

static void
messages_changed_cb (AicChatPage *self)
{
  update_actions (self);
}

static void
conversation_identity_cb (AicChatPage *self)
{
  update_actions (self);
  reload_list (self);
}

static void
conversation_failed_cb (AicConversation *conversation,
                        const char      *message,
                        AicChatPage     *self)
{
  show_error (self, message);
}

/* ---- models ---- */

static void
select_model (AicChatPage *self)
{
  const char *wanted = self->conversation ? aic_conversation_get_model (self->conversation) : NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->models));

  self->syncing_model = TRUE;
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (gtk_string_list_get_string (self->models, i), wanted) == 0)
      {
        gtk_drop_down_set_selected (self->model_dropdown, i);
        self->syncing_model = FALSE;
        return;
      }
  if (n > 0)
    {
      gtk_drop_down_set_selected (self->model_dropdown, 0);
      if (self->conversation != NULL)
        aic_conversation_set_model (self->conversation, gtk_string_list_get_string (self->models, 0));
    }
  self->syncing_model = FALSE;
}

static void
model_selected_cb (AicChatPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->model_dropdown);

  if (self->syncing_model || self->conversation == NULL || selected == GTK_INVALID_LIST_POSITION)
    return;
  aic_conversation_set_model (self->conversation, gtk_string_list_get_string (self->models, selected));
}

/* ---- actions ---- */

void
aic_chat_page_open (AicChatPage *self,
                    const char  *conversation_id)
{
  g_autoptr(AicConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (AIC_IS_CHAT_PAGE (self));
  g_return_if_fail (self->store != NULL);

  conversation = aic_conversation_new (self->store, conversation_id, &error);
  if (conversation == NULL)
    {
      show_error (self, error->message);
      return;
    }

  if (self->conversation != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->conversation, self);
      g_signal_handlers_disconnect_by_data (aic_conversation_get_messages (self->conversation), self);
    }
  g_set_object (&self->conversation, conversation);
  aic_conversation_set_client (conversation, self->client);

  g_signal_connect_object (conversation, "notify::busy", G_CALLBACK (update_actions), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (conversation, "notify::id", G_CALLBACK (conversation_identity_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (conversation, "notify::title", G_CALLBACK (conversation_identity_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (conversation, "failed", G_CALLBACK (conversation_failed_cb), self, 0);
  g_signal_connect_object (aic_conversation_get_messages (conversation), "items-changed",
                           G_CALLBACK (messages_changed_cb), self, G_CONNECT_SWAPPED);

  gtk_list_box_bind_model (self->message_list, aic_conversation_get_messages (conversation),
                           create_row, NULL, NULL);

  self->editing = FALSE;
  self->stick_to_bottom = TRUE;
  select_model (self);
  update_actions (self);
  reload_list (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
}

static void
new_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  aic_chat_page_open (AIC_CHAT_PAGE (widget), NULL);
}

/* Ctrl+F: to the conversation search, showing the sidebar when folded. */
static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);

  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);
  g_autofree char *text = composer_text (self);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (self->conversation == NULL || aic_conversation_get_busy (self->conversation))
    return;
  /* Enter in an empty composer does nothing, quietly. */
  if (g_strstrip (text)[0] == '\0')
    return;

  self->stick_to_bottom = TRUE;
  if (self->editing)
    ok = aic_conversation_edit_last (self->conversation, text, &error);
  else
    ok = aic_conversation_send (self->conversation, text, &error);

  if (!ok)
    {
      show_error (self, error->message);
      return;
    }
  self->editing = FALSE;
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->composer_view), "", 0);
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);

  if (self->conversation != NULL)
    aic_conversation_stop (self->conversation);
}

static void
regenerate_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);
  g_autoptr(GError) error = NULL;

  if (self->conversation != NULL && !aic_conversation_regenerate (self->conversation, &error))
    show_error (self, error->message);
}

static void
edit_last_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);
  AicChatMessage *last = self->conversation ? aic_conversation_get_last_user (self->conversation) : NULL;

  if (last == NULL)
    return;
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->composer_view), aic_chat_message_get_text (last), -1);
  self->editing = TRUE;
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
}

typedef struct
{
  AicChatPage *page;
  char *id;
  GtkWidget *entry;
} DialogData;

static void
dialog_data_free (DialogData *data)
{
  g_object_unref (data->page);
  g_free (data->id);
  g_free (data);
}

static DialogData *
dialog_data_new (AicChatPage *page,
                 const char  *id)
{
  DialogData *data = g_new0 (DialogData, 1);

  data->page = g_object_ref (page);
  data->id = g_strdup (id);
  return data;
}

static void
dialog_data_notify (gpointer  data,
                    GClosure *closure)
{
  dialog_data_free (data);
}

static void
rename_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    DialogData       *data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  if (g_strcmp0 (response, "rename") != 0)
    return;
  title = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (data->entry))));
  if (title[0] == '\0')
    return;
  if (!aic_store_rename_conversation (data->page->store, data->id, title, &error))
    show_error (data->page, error->message);
  else if (data->page->conversation && g_strcmp0 (aic_conversation_get_id (data->page->conversation), data->id) == 0)
    gtk_label_set_label (data->page->title_label, title);
  reload_list (data->page);
}

static GtkWindow *
parent_window (AicChatPage *self)
{
  return GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self)));
}

static void
rename_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);
  const char *id = g_variant_get_string (parameter, NULL);
  g_autoptr(AicConversationInfo) info = aic_store_get_conversation (self->store, id, NULL);
  DialogData *data;
  GtkWidget *dialog, *entry;

  if (info == NULL)
    return;

  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), info->title);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Title"), -1);

  dialog = adw_message_dialog_new (parent_window (self), _("Rename Conversation"), NULL);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "rename", _("_Rename"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "rename", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "rename");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  data = dialog_data_new (self, id);
  data->entry = entry;
  g_signal_connect_data (dialog, "response", G_CALLBACK (rename_response_cb), data,
                         dialog_data_notify, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    DialogData       *data)
{
  AicChatPage *self = data->page;
  g_autoptr(GError) error = NULL;
  gboolean current;

  if (g_strcmp0 (response, "delete") != 0)
    return;
  current = self->conversation && g_strcmp0 (aic_conversation_get_id (self->conversation), data->id) == 0;
  if (current)
    aic_conversation_stop (self->conversation);
  if (!aic_store_delete_conversation (self->store, data->id, &error))
    {
      show_error (self, error->message);
      return;
    }
  if (current)
    aic_chat_page_open (self, NULL);
  else
    reload_list (self);
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);
  const char *id = g_variant_get_string (parameter, NULL);
  g_autoptr(AicConversationInfo) info = aic_store_get_conversation (self->store, id, NULL);
  DialogData *data;
  GtkWidget *dialog;

  if (info == NULL)
    return;

  dialog = adw_message_dialog_new (parent_window (self), _("Delete Conversation?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” and all its messages will be removed from this computer."),
                                  info->title);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  data = dialog_data_new (self, id);
  g_signal_connect_data (dialog, "response", G_CALLBACK (delete_response_cb), data,
                         dialog_data_notify, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
export_written_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(AicChatPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    {
      g_autofree char *message = g_strdup_printf (_("The conversation could not be exported: %s"), error->message);
      show_error (self, message);
    }
}

static void
export_response_cb (GtkNativeDialog *chooser,
                    int              response,
                    DialogData      *data)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *markdown = NULL;
  gsize len;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      markdown = aic_store_export_markdown (data->page->store, data->id, &error);
      if (markdown == NULL)
        show_error (data->page, error->message);
      else
        {
          len = strlen (markdown);
          g_file_replace_contents_bytes_async (file, g_bytes_new_take (g_steal_pointer (&markdown), len),
                                               NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                               export_written_cb, g_object_ref (data->page));
        }
    }
  dialog_data_free (data);
  g_object_unref (chooser);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);
  const char *id = g_variant_get_string (parameter, NULL);
  g_autoptr(AicConversationInfo) info = aic_store_get_conversation (self->store, id, NULL);
  g_autofree char *name = NULL;
  GtkFileChooserNative *chooser;
  DialogData *data;

  if (info == NULL)
    return;

  name = g_strdup_printf ("%s.md", info->title[0] ? info->title : _("Conversation"));
  g_strdelimit (name, "/\\", '-');
  chooser = gtk_file_chooser_native_new (_("Export Conversation"), parent_window (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  data = dialog_data_new (self, id);
  g_signal_connect (chooser, "response", G_CALLBACK (export_response_cb), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static gboolean
composer_key_cb (GtkEventControllerKey *controller,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 AicChatPage           *self)
{
  if ((keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter) &&
      (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK)) == 0)
    {
      gtk_widget_activate_action (GTK_WIDGET (self), "chat.send", NULL);
      return TRUE;
    }
  return FALSE;
}

static void
aic_chat_page_dispose (GObject *object)
{
  AicChatPage *self = AIC_CHAT_PAGE (object);

  if (self->conversation != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->conversation, self);
      g_signal_handlers_disconnect_by_data (aic_conversation_get_messages (self->conversation), self);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_CHAT_PAGE);
  g_clear_object (&self->conversation);
  g_clear_object (&self->store);
  g_clear_object (&self->client);
  g_clear_object (&self->models);

  G_OBJECT_CLASS (aic_chat_page_parent_class)->dispose (object);
}

static void
aic_chat_page_class_init (AicChatPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_chat_page_dispose;

  /**
   * AicChatPage::show-error:
   * @message: a sentence for a person; the window shows it as a toast
   */
  signals[SHOW_ERROR] =
    g_signal_new ("show-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-chat-page.ui");
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, composer_view);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, content_stack);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, conversation_list);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, flap);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, message_list);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, reply_actions);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, send_stack);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, title_label);
  gtk_widget_class_bind_template_callback (widget_class, on_conversation_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_conversation_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);

  gtk_widget_class_install_action (widget_class, "chat.new", NULL, new_action);
  gtk_widget_class_install_action (widget_class, "chat.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "chat.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "chat.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "chat.regenerate", NULL, regenerate_action);
  gtk_widget_class_install_action (widget_class, "chat.edit-last", NULL, edit_last_action);
  gtk_widget_class_install_action (widget_class, "chat.rename", "s", rename_action);
  gtk_widget_class_install_action (widget_class, "chat.export", "s", export_action);
  gtk_widget_class_install_action (widget_class, "chat.delete", "s", delete_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "chat.new", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "chat.stop", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "chat.search", NULL);
}

static void
aic_chat_page_init (AicChatPage *self)
{
  GtkEventController *keys;
  GtkAdjustment *adjustment;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->models = gtk_string_list_new (NULL);
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (self->models));
  g_signal_connect_object (self->model_dropdown, "notify::selected", G_CALLBACK (model_selected_cb),
                           self, G_CONNECT_SWAPPED);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (composer_key_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->composer_view), keys);

  adjustment = gtk_scrolled_window_get_vadjustment (self->scroller);
  g_signal_connect_object (adjustment, "value-changed", G_CALLBACK (scrolled_cb), self, 0);
  g_signal_connect_object (adjustment, "notify::upper", G_CALLBACK (grew_cb), self, 0);
  /* The view also shrinks (the Regenerate bar appears under it when a
   * reply ends): the end must stay in view then too. */
  g_signal_connect_object (adjustment, "notify::page-size", G_CALLBACK (grew_cb), self, 0);
  self->stick_to_bottom = TRUE;

  update_actions (self);
}

/**
 * aic_chat_page_set_store:
 * Conversations come from and go to @store; the most recent one is
 * opened, where the person left off.
 */
void
aic_chat_page_set_store (AicChatPage *self,
                         AicStore    *store)
{
  g_autoptr(GPtrArray) recent = NULL;

  g_return_if_fail (AIC_IS_CHAT_PAGE (self));

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_set_object (&self->store, store);
  if (store == NULL)
    return;

  recent = aic_store_list_conversations (store, NULL, NULL);
  if (recent != NULL && recent->len > 0)
    aic_chat_page_open (self, ((AicConversationInfo *) g_ptr_array_index (recent, 0))->id);
  else
    aic_chat_page_open (self, NULL);
}

/**
 * aic_chat_page_set_client:
 * @client: (nullable): where replies come from; %NULL while no backend is
 *   ready
 */
void
aic_chat_page_set_client (AicChatPage *self,
                          AicClient   *client)
{
  g_return_if_fail (AIC_IS_CHAT_PAGE (self));

  g_set_object (&self->client, client);
  if (self->conversation != NULL)
    aic_conversation_set_client (self->conversation, client);
}

void
aic_chat_page_set_models (AicChatPage        *self,
                          const char * const *models)
{
  guint n;

  g_return_if_fail (AIC_IS_CHAT_PAGE (self));

  n = g_list_model_get_n_items (G_LIST_MODEL (self->models));
  self->syncing_model = TRUE;
  gtk_string_list_splice (self->models, 0, n, models);
  self->syncing_model = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->model_dropdown), models != NULL && models[0] != NULL);
  select_model (self);
}

AicConversation *
aic_chat_page_get_conversation (AicChatPage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_PAGE (self), NULL);
  return self->conversation;
}
