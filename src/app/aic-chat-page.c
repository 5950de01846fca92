/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <string.h>

#include "aic-chat-page.h"
#include "aic-chat-page-private.h"
#include "aic-conversation-list.h"
#include "aic-display.h"
#include "aic-end-follower.h"
#include "aic-markdown-view.h"
#include "aic-message-row.h"

/* The Chat view: conversations on the side, the open one's messages, and
 * the composer. All chat logic is AicConversation's; this binds to it. */
struct _AicChatPage
{
  GtkWidget        parent_instance;

  AicStore        *store;
  AicClient       *client;
  AicConversation *conversation;
  AicConversationList *conversations;
  GtkSingleSelection  *conversation_selection;
  GtkNoSelection  *message_selection;
  GtkStringList   *models;
  gboolean         editing;
  AicEndFollower  *follower;
  gboolean         syncing_model;
  gboolean         reloading;
  guint            n_conversation_rows;
  guint            n_message_rows;
  GdkFrameClock   *layout_clock;
  gulong           layout_handler;

  /* Template widgets */
  GtkStack        *content_stack;
  GtkTextView     *composer_view;
  GtkListView     *conversation_list;
  AdwFlap         *flap;
  GtkLabel        *list_placeholder;
  GtkListView     *message_list;
  GtkDropDown     *model_dropdown;
  GtkWidget       *reply_actions;
  GtkWidget       *toolbar;
  GtkWidget       *composer;
  GtkLabel        *live_status;
  GtkRevealer     *editing_bar;
  GtkRevealer     *jump_revealer;
  gboolean         was_busy;
  gboolean         reply_failed;
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

/* A row of the sidebar: made once per row on screen (a list view
 * recycles them), bound to whichever conversation it shows. GTK 4.8's
 * list view makes 200 of them however few are on screen; each starts as
 * an empty box of a row's height, and its labels and menu button are
 * made when it is first shown (conversation_row_build(), from the same
 * layout pass as the messages'), as making 200 took a tenth of the start
 * with 10,000 conversations. */
typedef struct
{
  GtkWidget *box;
  GtkWidget *title;
  GtkWidget *date;
  GtkWidget *menu_button;
  AicConversationItem *item;
} ConversationRow;

/* A made row's height, once one has been measured; until then a guess. */
static int conversation_row_height = 50;

static void
conversation_row_free (ConversationRow *row)
{
  g_clear_object (&row->item);
  g_free (row);
}

static void
conversation_row_update (ConversationRow *row)
{
  const char *title;
  g_autofree char *date = NULL;
  g_autofree char *menu_label = NULL;

  if (row->title == NULL || row->item == NULL)
    return;
  title = aic_conversation_item_get_title (row->item);
  date = aic_display_date (aic_conversation_item_get_updated_at (row->item) / G_USEC_PER_SEC);
  /* Translators: accessible name of a conversation's menu button */
  menu_label = g_strdup_printf (_("Actions for “%s”"), title);
  gtk_label_set_label (GTK_LABEL (row->title), title[0] ? title : _("Untitled"));
  gtk_label_set_label (GTK_LABEL (row->date), date);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row->menu_button), GTK_ACCESSIBLE_PROPERTY_LABEL, menu_label, -1);
}

static void conversation_row_create_menu (GtkMenuButton *button,
                                          gpointer       user_data);

static void
conversation_row_build (ConversationRow *row)
{
  GtkWidget *labels;
  int height;

  if (row->title != NULL)
    return;
  labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  row->title = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (row->title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (row->title), PANGO_ELLIPSIZE_END);
  row->date = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (row->date), 0);
  gtk_widget_add_css_class (row->date, "dim-label");
  gtk_widget_add_css_class (row->date, "caption");
  gtk_box_append (GTK_BOX (labels), row->title);
  gtk_box_append (GTK_BOX (labels), row->date);
  gtk_box_append (GTK_BOX (row->box), labels);

  row->menu_button = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (row->menu_button), "view-more-symbolic");
  gtk_widget_set_valign (row->menu_button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (row->menu_button, "flat");
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (row->menu_button),
                                         conversation_row_create_menu, row, NULL);
  gtk_box_append (GTK_BOX (row->box), row->menu_button);

  gtk_widget_set_size_request (row->box, -1, -1);
  gtk_widget_measure (row->box, GTK_ORIENTATION_VERTICAL, -1, &height, NULL, NULL, NULL);
  if (height > 0)
    conversation_row_height = height;
  conversation_row_update (row);
}

static void
conversation_setup_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *list_item,
                       AicChatPage              *self)
{
  ConversationRow *row = g_new0 (ConversationRow, 1);

  row->box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_size_request (row->box, -1, conversation_row_height);
  g_object_set_data_full (G_OBJECT (row->box), "conversation-row", row, (GDestroyNotify) conversation_row_free);
  gtk_list_item_set_child (list_item, row->box);
  self->n_conversation_rows++;
}

/* The menu is made when it opens, for the conversation the row shows
 * then: a search relabels the rows it keeps, and making a menu (and its
 * popover) for each of them took 1.3 ms a row, 250 ms for a screenful
 * of changed results. */
static void
conversation_row_create_menu (GtkMenuButton *button,
                              gpointer       user_data)
{
  ConversationRow *row = user_data;
  g_autoptr(GMenu) menu = NULL;
  g_autoptr(GMenuItem) rename = NULL, export = NULL, delete = NULL;
  const char *id;

  if (row->item == NULL)
    return;
  id = aic_conversation_item_get_id (row->item);
  menu = g_menu_new ();
  rename = g_menu_item_new (_("_Rename…"), NULL);
  export = g_menu_item_new (_("_Export as Markdown…"), NULL);
  delete = g_menu_item_new (_("_Delete"), NULL);
  g_menu_item_set_action_and_target (rename, "chat.rename", "s", id);
  g_menu_item_set_action_and_target (export, "chat.export", "s", id);
  g_menu_item_set_action_and_target (delete, "chat.delete", "s", id);
  g_menu_append_item (menu, rename);
  g_menu_append_item (menu, export);
  g_menu_append_item (menu, delete);
  gtk_menu_button_set_menu_model (button, G_MENU_MODEL (menu));
}

static void
conversation_bind_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *list_item,
                      AicChatPage              *self)
{
  ConversationRow *row = g_object_get_data (G_OBJECT (gtk_list_item_get_child (list_item)), "conversation-row");
  AicConversationItem *item = gtk_list_item_get_item (list_item);

  g_set_object (&row->item, item);
  /* A search relabels the places in the list; the row follows. */
  g_signal_connect_swapped (item, "notify::title", G_CALLBACK (conversation_row_update), row);
  g_signal_connect_swapped (item, "notify::updated-at", G_CALLBACK (conversation_row_update), row);
  conversation_row_update (row);
}

static void
conversation_unbind_cb (GtkSignalListItemFactory *factory,
                        GtkListItem              *list_item,
                        AicChatPage              *self)
{
  ConversationRow *row = g_object_get_data (G_OBJECT (gtk_list_item_get_child (list_item)), "conversation-row");

  if (row->item != NULL)
    g_signal_handlers_disconnect_by_data (row->item, row);
  g_clear_object (&row->item);
}

static void
update_placeholder (AicChatPage *self)
{
  gboolean empty = self->conversations == NULL ||
                   g_list_model_get_n_items (G_LIST_MODEL (self->conversations)) == 0;
  gboolean searching = self->conversations && aic_conversation_list_get_search (self->conversations);

  gtk_label_set_label (self->list_placeholder,
                       searching ? _("No conversations found") : _("No conversations yet"));
  gtk_widget_set_visible (GTK_WIDGET (self->list_placeholder), empty);
}

/* The open conversation is the selected row, when the list shows it. The
 * list itself follows the store: nothing here rebuilds it. */
static void
reload_list (AicChatPage *self)
{
  const char *current = self->conversation ? aic_conversation_get_id (self->conversation) : NULL;

  if (self->conversations == NULL)
    return;

  self->reloading = TRUE;
  gtk_single_selection_set_selected (self->conversation_selection,
                                     aic_conversation_list_find (self->conversations, current));
  self->reloading = FALSE;
  update_placeholder (self);
}

static void
on_search_changed (AicChatPage *self)
{
  g_autoptr(GError) error = NULL;

  if (self->conversations == NULL)
    return;
  if (!aic_conversation_list_set_search (self->conversations,
                                         gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), &error))
    show_error (self, error->message);
  reload_list (self);
}

/* A click opens what it selects (see below); on a narrow window the
 * sidebar then makes way for it. */
/* Arrows move through the list without opening anything; Enter or a
 * click opens the conversation, and the focus stays in the list, where
 * the person put it (issue 15). */
static void
open_from_list (AicChatPage         *self,
                AicConversationItem *item)
{
  GtkWidget *focus;
  GtkRoot *root;

  if (item == NULL)
    return;
  root = gtk_widget_get_root (GTK_WIDGET (self));
  focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  if (focus != NULL)
    g_object_ref (focus);
  if (self->conversation == NULL ||
      g_strcmp0 (aic_conversation_get_id (self->conversation), aic_conversation_item_get_id (item)) != 0)
    aic_chat_page_open (self, aic_conversation_item_get_id (item));
  if (focus != NULL)
    {
      gtk_widget_grab_focus (focus);
      g_object_unref (focus);
    }
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

static void
conversation_clicked_cb (AicChatPage *self)
{
  open_from_list (self, gtk_single_selection_get_selected_item (self->conversation_selection));
}

static void
on_conversation_activated (AicChatPage *self,
                           guint        position)
{
  g_autoptr(AicConversationItem) item = g_list_model_get_item (G_LIST_MODEL (self->conversations), position);

  open_from_list (self, item);
}

/* ---- the messages ---- */

/* The messages in a recycling list view: rows are made for what is on
 * screen and rebound as it scrolls, so memory follows the window, not the
 * conversation, and a reply's code blocks exist only while shown. The
 * streaming reply's row follows its message in place (see
 * aic_message_row_set_message). */
static void
message_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *list_item,
                  AicChatPage              *self)
{
  GtkWidget *row = aic_message_row_new ();

  aic_message_row_set_deferred (AIC_MESSAGE_ROW (row), TRUE);
  gtk_list_item_set_child (list_item, row);
  gtk_list_item_set_activatable (list_item, FALSE);
  gtk_list_item_set_selectable (list_item, FALSE);
  self->n_message_rows++;
}

/* Rows in view are made for real (see aic-message-row.c), after the list
 * has placed its rows and before the frame is drawn. GTK 4.8's list view
 * shows (child-visible) only the rows in view, and the frame clock
 * repeats its layout phase (up to four times) while layouts are asked
 * for, so a row made here is measured and drawn in the same frame: no
 * row is ever seen empty. */
static void
show_message_row (GtkWidget *row)
{
  if (AIC_IS_MESSAGE_ROW (row))
    aic_message_row_show_content (AIC_MESSAGE_ROW (row));
}

/* The sidebar's rows likewise (see ConversationRow). */
static void
show_conversation_row (GtkWidget *box)
{
  ConversationRow *row = g_object_get_data (G_OBJECT (box), "conversation-row");

  if (row != NULL)
    conversation_row_build (row);
}

/* Calls @show on the rows @list shows, when it is on screen. */
static void
show_rows_of (GtkWidget *list,
              void     (*show) (GtkWidget *row))
{
  if (!gtk_widget_get_mapped (list))
    return;
  for (GtkWidget *child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (gtk_widget_get_child_visible (child) && gtk_widget_get_first_child (child) != NULL)
      show (gtk_widget_get_first_child (child));
}

static void
show_rows_in_view (GdkFrameClock *clock,
                   AicChatPage   *self)
{
  show_rows_of (GTK_WIDGET (self->message_list), show_message_row);
  show_rows_of (GTK_WIDGET (self->conversation_list), show_conversation_row);
}

static gboolean
warm_up_cb (gpointer data)
{
  aic_markdown_view_warm_up ();
  return G_SOURCE_REMOVE;
}

static void
message_list_realize_cb (AicChatPage *self)
{
  /* Once the window is up and idle: what the first code block needs. */
  g_idle_add_full (G_PRIORITY_LOW, warm_up_cb, NULL, NULL);
  self->layout_clock = g_object_ref (gtk_widget_get_frame_clock (GTK_WIDGET (self->message_list)));
  self->layout_handler = g_signal_connect_after (self->layout_clock, "layout",
                                                 G_CALLBACK (show_rows_in_view), self);
}

static void
message_list_unrealize_cb (AicChatPage *self)
{
  if (self->layout_clock != NULL)
    g_clear_signal_handler (&self->layout_handler, self->layout_clock);
  g_clear_object (&self->layout_clock);
}

static void
message_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item,
                 AicChatPage              *self)
{
  aic_message_row_set_message (AIC_MESSAGE_ROW (gtk_list_item_get_child (list_item)),
                               gtk_list_item_get_item (list_item));
}

static void
message_unbind_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *list_item,
                   AicChatPage              *self)
{
  aic_message_row_set_message (AIC_MESSAGE_ROW (gtk_list_item_get_child (list_item)), NULL);
}

/* Whether the list view has measured any of its rows. New rows have no
 * height until its next layout, and a move before then finds no row to
 * anchor to: it is ignored, with a warning. A row widget is first given a
 * size in the same layout that measures its row. */
static gboolean
rows_measured (gpointer user_data)
{
  AicChatPage *self = AIC_CHAT_PAGE (user_data);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->message_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (gtk_widget_get_height (child) > 0)
      return TRUE;
  return FALSE;
}

/* Scrolled up: a way back to the newest. */
static void
following_cb (AicChatPage *self)
{
  gtk_revealer_set_reveal_child (self->jump_revealer, !aic_end_follower_get_following (self->follower));
}

static void
jump_to_end_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);

  aic_end_follower_follow (self->follower);
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
  self->reply_failed = TRUE;
  show_error (self, message);
}

/* A screen reader hears that a reply is over, without walking the list. */
static void
announce (AicChatPage *self,
          const char  *text)
{
#if GTK_CHECK_VERSION (4, 14, 0)
  gtk_accessible_announce (GTK_ACCESSIBLE (self), text, GTK_ACCESSIBLE_ANNOUNCEMENT_PRIORITY_MEDIUM);
#endif
  gtk_label_set_label (self->live_status, text);
}

static void
busy_changed_cb (AicChatPage *self)
{
  gboolean busy = aic_conversation_get_busy (self->conversation);

  if (busy && !self->was_busy)
    {
      self->reply_failed = FALSE;
      gtk_label_set_label (self->live_status, "");
    }
  else if (!busy && self->was_busy)
    announce (self, self->reply_failed ? _("The reply failed") : _("Reply finished"));
  self->was_busy = busy;
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

/* Editing the last message shows itself, with a way out. */
static void
set_editing (AicChatPage *self,
             gboolean     editing)
{
  self->editing = editing;
  gtk_revealer_set_reveal_child (self->editing_bar, editing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.cancel-edit", editing);
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
  g_signal_connect_object (conversation, "notify::busy", G_CALLBACK (busy_changed_cb), self, G_CONNECT_SWAPPED);
  self->was_busy = aic_conversation_get_busy (conversation);
  g_signal_connect_object (conversation, "notify::id", G_CALLBACK (conversation_identity_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (conversation, "notify::title", G_CALLBACK (conversation_identity_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (conversation, "failed", G_CALLBACK (conversation_failed_cb), self, 0);
  g_signal_connect_object (aic_conversation_get_messages (conversation), "items-changed",
                           G_CALLBACK (messages_changed_cb), self, G_CONNECT_SWAPPED);

  gtk_no_selection_set_model (self->message_selection, aic_conversation_get_messages (conversation));

  set_editing (self, FALSE);
  aic_end_follower_follow (self->follower);
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

  aic_end_follower_follow (self->follower);
  if (self->editing)
    ok = aic_conversation_edit_last (self->conversation, text, &error);
  else
    ok = aic_conversation_send (self->conversation, text, &error);

  if (!ok)
    {
      show_error (self, error->message);
      return;
    }
  set_editing (self, FALSE);
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
cancel_edit_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  AicChatPage *self = AIC_CHAT_PAGE (widget);

  if (!self->editing)
    return;
  set_editing (self, FALSE);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->composer_view), "", 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->composer_view));
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
  set_editing (self, TRUE);
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

/* The row of the message list that holds @widget, or %NULL. */
static GtkWidget *
message_row_of (AicChatPage *self,
                GtkWidget   *widget)
{
  for (; widget != NULL; widget = gtk_widget_get_parent (widget))
    if (gtk_widget_get_parent (widget) == GTK_WIDGET (self->message_list))
      return widget;
  return NULL;
}

/* Moves the focus through the controls of the message in @row (a list
 * view row); GTK 4.8's list rows claim to take the focus and keep it
 * where it was. */
static gboolean
focus_in_row (GtkWidget        *row,
              GtkWidget        *focus,
              GtkDirectionType  direction)
{
  GtkWidget *child = gtk_widget_get_first_child (row);

  return AIC_IS_MESSAGE_ROW (child) && aic_message_row_move_focus (AIC_MESSAGE_ROW (child), focus, direction);
}

/* Gives the keyboard focus to the newest message row on screen, at its
 * first control going forward, its last going backward. */
static gboolean
focus_message_list (AicChatPage      *self,
                    GtkDirectionType  direction)
{
  for (GtkWidget *row = gtk_widget_get_last_child (GTK_WIDGET (self->message_list));
       row != NULL; row = gtk_widget_get_prev_sibling (row))
    if (focus_in_row (row, NULL, direction))
      return TRUE;
  return FALSE;
}

/* What follows the message list, in order: each part is tried only while
 * it is shown. */
static GtkWidget *
part_after_list (AicChatPage *self,
                 guint        index)
{
  switch (index)
    {
    case 0:
      return gtk_revealer_get_child_revealed (self->jump_revealer) ? GTK_WIDGET (self->jump_revealer) : NULL;
    case 1:
      return gtk_widget_get_visible (self->reply_actions) ? self->reply_actions : NULL;
    case 2:
      return gtk_revealer_get_child_revealed (self->editing_bar) ? GTK_WIDGET (self->editing_bar) : NULL;
    case 3:
      return self->composer;
    default:
      return NULL;
    }
}

#define N_PARTS_AFTER_LIST 4

/* Focus to the first control of what follows the list, from part @first on. */
static gboolean
focus_after_list (AicChatPage *self,
                  guint        first)
{
  GtkWidget *part;

  for (guint i = first; i < N_PARTS_AFTER_LIST; i++)
    if ((part = part_after_list (self, i)) != NULL && gtk_widget_child_focus (part, GTK_DIR_TAB_FORWARD))
      return TRUE;
  return FALSE;
}

/* GTK 4.8's list view does not let Tab through: it keeps the focus where
 * it is, or among its rows. So the page leads Tab itself between the
 * toolbar, the message list and what is under it: into the newest message
 * on screen, through that message's buttons, and out again, both ways.
 * The arrow keys move from message to message. */
static gboolean
page_tab_cb (GtkEventControllerKey *controller,
             guint                  keyval,
             guint                  keycode,
             GdkModifierType        state,
             AicChatPage           *self)
{
  GtkWidget *focus, *row, *part;
  GtkDirectionType direction;
  int here = -1;

  if (keyval != GDK_KEY_Tab && keyval != GDK_KEY_KP_Tab && keyval != GDK_KEY_ISO_Left_Tab)
    return FALSE;
  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK)) != 0)
    return FALSE;
  direction = (keyval == GDK_KEY_ISO_Left_Tab || (state & GDK_SHIFT_MASK) != 0)
              ? GTK_DIR_TAB_BACKWARD : GTK_DIR_TAB_FORWARD;
  focus = gtk_root_get_focus (gtk_widget_get_root (GTK_WIDGET (self)));
  if (focus == NULL)
    return FALSE;

  /* In the toolbar: on to the list after its last control. */
  if (gtk_widget_is_ancestor (focus, self->toolbar))
    {
      if (direction == GTK_DIR_TAB_BACKWARD)
        return FALSE;
      return gtk_widget_child_focus (self->toolbar, direction) ||
             focus_message_list (self, direction) ||
             focus_after_list (self, 0);
    }

  /* In a message: through its controls, then out of the list. */
  row = message_row_of (self, focus);
  if (row != NULL)
    {
      if (focus_in_row (row, focus, direction))
        return TRUE;
      if (direction == GTK_DIR_TAB_BACKWARD)
        return gtk_widget_child_focus (self->toolbar, direction);
      return focus_after_list (self, 0);
    }

  /* Under the list: back into it before the first control there. */
  if (direction == GTK_DIR_TAB_FORWARD)
    return FALSE;
  for (guint i = 0; i < N_PARTS_AFTER_LIST; i++)
    if ((part = part_after_list (self, i)) != NULL && gtk_widget_is_ancestor (focus, part))
      here = i;
  if (here < 0)
    return FALSE;
  for (int i = here; i >= 0; i--)
    if ((part = part_after_list (self, i)) != NULL && gtk_widget_child_focus (part, direction))
      return TRUE;
  return focus_message_list (self, direction) ||
         gtk_widget_child_focus (self->toolbar, direction);
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
  g_clear_object (&self->follower);
  message_list_unrealize_cb (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_CHAT_PAGE);
  g_clear_object (&self->conversation);
  g_clear_object (&self->conversations);
  g_clear_object (&self->conversation_selection);
  g_clear_object (&self->message_selection);
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
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, list_placeholder);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, message_list);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, reply_actions);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, toolbar);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, composer);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, live_status);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, editing_bar);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, jump_revealer);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, send_stack);
  gtk_widget_class_bind_template_child (widget_class, AicChatPage, title_label);
  gtk_widget_class_bind_template_callback (widget_class, on_conversation_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);

  gtk_widget_class_install_action (widget_class, "chat.new", NULL, new_action);
  gtk_widget_class_install_action (widget_class, "chat.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "chat.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "chat.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "chat.regenerate", NULL, regenerate_action);
  gtk_widget_class_install_action (widget_class, "chat.edit-last", NULL, edit_last_action);
  gtk_widget_class_install_action (widget_class, "chat.cancel-edit", NULL, cancel_edit_action);
  gtk_widget_class_install_action (widget_class, "chat.jump-to-end", NULL, jump_to_end_action);
  gtk_widget_class_install_action (widget_class, "chat.rename", "s", rename_action);
  gtk_widget_class_install_action (widget_class, "chat.export", "s", export_action);
  gtk_widget_class_install_action (widget_class, "chat.delete", "s", delete_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "chat.new", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "chat.stop", NULL);
  /* Never both: editing waits for the reply to end. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "chat.cancel-edit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "chat.search", NULL);
}

static void
aic_chat_page_init (AicChatPage *self)
{
  GtkEventController *keys;
  GtkGesture *click;
  GtkListItemFactory *factory;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.cancel-edit", FALSE);
  /* GTK 4.8's drop-down gives the keyboard focus to a button inside it
   * that has no name of its own: a screen reader said "toggle button". */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->model_dropdown));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_TOGGLE_BUTTON (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Model"), -1);

  self->conversation_selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->conversation_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->conversation_selection, TRUE);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect_object (factory, "setup", G_CALLBACK (conversation_setup_cb), self, 0);
  g_signal_connect_object (factory, "bind", G_CALLBACK (conversation_bind_cb), self, 0);
  g_signal_connect_object (factory, "unbind", G_CALLBACK (conversation_unbind_cb), self, 0);
  gtk_list_view_set_factory (self->conversation_list, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->conversation_list, GTK_SELECTION_MODEL (self->conversation_selection));
  click = gtk_gesture_click_new ();
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_BUBBLE);
  g_signal_connect_object (click, "released", G_CALLBACK (conversation_clicked_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->conversation_list), GTK_EVENT_CONTROLLER (click));

  self->message_selection = gtk_no_selection_new (NULL);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect_object (factory, "setup", G_CALLBACK (message_setup_cb), self, 0);
  g_signal_connect_object (factory, "bind", G_CALLBACK (message_bind_cb), self, 0);
  g_signal_connect_object (factory, "unbind", G_CALLBACK (message_unbind_cb), self, 0);
  gtk_list_view_set_factory (self->message_list, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->message_list, GTK_SELECTION_MODEL (self->message_selection));
  g_signal_connect_object (self->message_list, "realize", G_CALLBACK (message_list_realize_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->message_list, "unrealize", G_CALLBACK (message_list_unrealize_cb), self, G_CONNECT_SWAPPED);

  self->models = gtk_string_list_new (NULL);
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (self->models));
  g_signal_connect_object (self->model_dropdown, "notify::selected", G_CALLBACK (model_selected_cb),
                           self, G_CONNECT_SWAPPED);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (composer_key_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->composer_view), keys);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (page_tab_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  /* The newest message stays in view while the person is at the end (the
   * Regenerate bar appearing under the list when a reply ends included). */
  self->follower = aic_end_follower_new (self->scroller);
  aic_end_follower_set_ready_func (self->follower, rows_measured, self);
  g_signal_connect_object (self->follower, "notify::following", G_CALLBACK (following_cb), self, G_CONNECT_SWAPPED);

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
  g_autoptr(AicConversationItem) recent = NULL;

  g_return_if_fail (AIC_IS_CHAT_PAGE (self));

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  if (self->conversations != NULL)
    g_signal_handlers_disconnect_by_data (self->conversations, self);
  g_set_object (&self->store, store);
  g_clear_object (&self->conversations);
  gtk_single_selection_set_model (self->conversation_selection, NULL);
  if (store == NULL)
    return;

  self->conversations = aic_conversation_list_new (store);
  if (!aic_conversation_list_set_search (self->conversations,
                                         gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), NULL))
    g_debug ("The search could not be run");
  g_signal_connect_object (self->conversations, "refreshed", G_CALLBACK (reload_list), self, G_CONNECT_SWAPPED);
  self->reloading = TRUE;
  gtk_single_selection_set_model (self->conversation_selection, G_LIST_MODEL (self->conversations));
  self->reloading = FALSE;

  /* The newest, from the list just read (not a second read of it). */
  recent = g_list_model_get_item (G_LIST_MODEL (self->conversations), 0);
  aic_chat_page_open (self, recent != NULL ? aic_conversation_item_get_id (recent) : NULL);
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

/* For tests and benchmarks: how many rows the list views made. */
guint
aic_chat_page_get_n_conversation_rows (AicChatPage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_PAGE (self), 0);
  return self->n_conversation_rows;
}

guint
aic_chat_page_get_n_message_rows (AicChatPage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_PAGE (self), 0);
  return self->n_message_rows;
}

GListModel *
aic_chat_page_get_conversation_model (AicChatPage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_PAGE (self), NULL);
  return self->conversations ? G_LIST_MODEL (self->conversations) : NULL;
}

GtkWidget *
aic_chat_page_get_search_entry (AicChatPage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_PAGE (self), NULL);
  return GTK_WIDGET (self->search_entry);
}

/* As a scroll, key or press on the view does: what moves the view next is
 * the person's doing (tests use it to scroll as a person would). */
void
aic_chat_page_note_person_scrolled (AicChatPage *self)
{
  g_return_if_fail (AIC_IS_CHAT_PAGE (self));
  aic_end_follower_note_person (self->follower);
}

GtkWidget *
aic_chat_page_get_message_view (AicChatPage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_PAGE (self), NULL);
  return GTK_WIDGET (self->message_list);
}
