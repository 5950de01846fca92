/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-markdown-view.h"
#include "aic-message-row.h"
#include "aic-selectable.h"

/* One message in the Chat view: who wrote it, the text (Markdown for
 * replies, plain for the user's own), a line with the model and speed,
 * and, when a reply ended badly, what happened and a Retry. Rows are
 * recycled by the list view: set_message() rebinds.
 *
 * A list view in GTK 4.8 keeps 200 rows, most of them off screen, and
 * measures them all: laying out their text was 80 % of opening a long
 * conversation. So a row that may wait (set_deferred()) is bound as an
 * empty box of about the height its text will take, and made for real
 * by show_content() when it comes near the screen (the Chat page does
 * that before the frame is drawn). A streaming reply is never put off. */
struct _AicMessageRow
{
  GtkWidget       parent_instance;

  AicChatMessage *message;
  GtkWidget      *box;
  GtkWidget      *author;
  GtkWidget      *spinner;
  GtkWidget      *plain;
  GtkWidget      *markdown;
  GtkWidget      *problem;
  GtkWidget      *problem_label;
  GtkWidget      *retry;
  GtkWidget      *stats;

  gboolean        may_defer;
  gboolean        deferred;
};

G_DEFINE_FINAL_TYPE (AicMessageRow, aic_message_row, GTK_TYPE_WIDGET)

static void
on_appended (AicChatMessage *message,
             const char     *text,
             AicMessageRow  *self)
{
  aic_markdown_view_append (AIC_MARKDOWN_VIEW (self->markdown), text);
}

static void
update_state (AicMessageRow *self)
{
  AicMessageState state = aic_chat_message_get_state (self->message);
  g_autofree char *stats = aic_chat_message_dup_stats_text (self->message);

  gtk_widget_set_visible (self->spinner, state == AIC_MESSAGE_STREAMING);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), state == AIC_MESSAGE_STREAMING);

  /* A failure is an error, with Retry beside it. A stopped reply is only
   * shorter: a quiet note, and Regenerate (in the bar) to redo it. */
  if (state == AIC_MESSAGE_FAILED)
    gtk_label_set_label (GTK_LABEL (self->problem_label), aic_chat_message_get_error (self->message));
  else if (state == AIC_MESSAGE_INTERRUPTED)
    gtk_label_set_label (GTK_LABEL (self->problem_label), _("Stopped before the end"));
  if (state == AIC_MESSAGE_FAILED)
    {
      gtk_widget_add_css_class (self->problem_label, "message-error");
      gtk_widget_remove_css_class (self->problem_label, "dim-label");
    }
  else
    {
      gtk_widget_remove_css_class (self->problem_label, "message-error");
      gtk_widget_add_css_class (self->problem_label, "dim-label");
    }
  gtk_widget_set_visible (self->retry, state == AIC_MESSAGE_FAILED);
  gtk_widget_set_visible (self->problem, state == AIC_MESSAGE_FAILED || state == AIC_MESSAGE_INTERRUPTED);

  gtk_label_set_label (GTK_LABEL (self->stats), stats ? stats : "");
  gtk_widget_set_visible (self->stats, stats != NULL && state != AIC_MESSAGE_STREAMING);

  /* What arrived since the last frame is shown now, not at the next one. */
  if (state != AIC_MESSAGE_STREAMING && !aic_chat_message_is_user (self->message))
    aic_markdown_view_flush (AIC_MARKDOWN_VIEW (self->markdown));
}

static void
copy_clicked_cb (AicMessageRow *self)
{
  if (self->message != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                            aic_chat_message_get_text (self->message));
}

/* About the height @text will take at @width: lines of prose wrapped at
 * an average character's width, a code line each, a gap per paragraph,
 * and the header and footer. Only for rows off screen, where it sets the
 * scroll bar's length until they are shown. With the app's style, the
 * bench's rows of 102, 174 and 295 px (a question, an answer, an answer
 * with code) are estimated at 107, 213 and 281. */
static int
estimate_height (AicMessageRow *self,
                 const char    *text,
                 int            width)
{
  static int char_width, line_height;
  const char *p = text;
  int per_line, lines = 0, gaps = 0;

  if (char_width == 0)
    {
      PangoFontMetrics *metrics = pango_context_get_metrics (gtk_widget_get_pango_context (GTK_WIDGET (self)), NULL, NULL);

      char_width = MAX (1, pango_font_metrics_get_approximate_char_width (metrics) / PANGO_SCALE);
      line_height = MAX (1, pango_font_metrics_get_height (metrics) / PANGO_SCALE);
      pango_font_metrics_unref (metrics);
    }

  per_line = MAX (20, (width - 36) / char_width);
  while (*p != '\0')
    {
      const char *end = strchr (p, '\n');
      glong len = end ? g_utf8_strlen (p, end - p) : g_utf8_strlen (p, -1);

      if (len == 0)
        gaps++;
      else
        lines += (len + per_line - 1) / per_line;
      if (end == NULL)
        break;
      p = end + 1;
    }
  return 24 + 22 + 34 + 12 + lines * line_height + gaps * 8;
}

static int
list_width (AicMessageRow *self)
{
  GtkWidget *list = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_LIST_VIEW);
  int width = list != NULL ? gtk_widget_get_width (list) : 0;

  return width > 0 ? width : 600;
}

static void
bind_content (AicMessageRow *self)
{
  AicChatMessage *message = self->message;
  gboolean user;

  user = aic_chat_message_is_user (message);
  gtk_label_set_label (GTK_LABEL (self->author), user ? _("You") : _("Assistant"));
  gtk_widget_set_visible (self->plain, user);
  gtk_widget_set_visible (self->markdown, !user);
  if (user)
    {
      gtk_widget_add_css_class (self->box, "user");
      gtk_label_set_label (GTK_LABEL (self->plain), aic_chat_message_get_text (message));
      /* A recycled row lets go of the reply it showed before. */
      aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (self->markdown), "");
    }
  else
    {
      gtk_widget_remove_css_class (self->box, "user");
      gtk_label_set_label (GTK_LABEL (self->plain), "");
      aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (self->markdown), aic_chat_message_get_text (message));
      g_signal_connect (message, "appended", G_CALLBACK (on_appended), self);
    }

  g_signal_connect_swapped (message, "notify::state", G_CALLBACK (update_state), self);
  g_signal_connect_swapped (message, "notify::stats", G_CALLBACK (update_state), self);
  update_state (self);
}

/* The row as it is when not put off, bound to its message. */
static void
show (AicMessageRow *self)
{
  if (self->deferred)
    {
      self->deferred = FALSE;
      gtk_widget_set_size_request (GTK_WIDGET (self), -1, -1);
      gtk_widget_set_visible (self->box, TRUE);
    }
  bind_content (self);
}

void
aic_message_row_set_message (AicMessageRow  *self,
                             AicChatMessage *message)
{
  g_return_if_fail (AIC_IS_MESSAGE_ROW (self));

  if (self->message != NULL)
    g_signal_handlers_disconnect_by_data (self->message, self);
  g_set_object (&self->message, message);
  if (message == NULL)
    return;

  if (self->may_defer && aic_chat_message_get_state (message) != AIC_MESSAGE_STREAMING)
    {
      /* Nothing of the text is laid out until the row is shown, and
       * what the row showed before (code blocks …) goes now. */
      if (!self->deferred)
        {
          gtk_label_set_label (GTK_LABEL (self->plain), "");
          aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (self->markdown), "");
        }
      self->deferred = TRUE;
      gtk_widget_set_visible (self->box, FALSE);
      gtk_widget_set_size_request (GTK_WIDGET (self), -1,
                                   estimate_height (self, aic_chat_message_get_text (message), list_width (self)));
      return;
    }
  show (self);
}

/**
 * aic_message_row_set_deferred:
 * @may_defer: whether a row off screen may wait to be made (see the top)
 */
void
aic_message_row_set_deferred (AicMessageRow *self,
                              gboolean       may_defer)
{
  g_return_if_fail (AIC_IS_MESSAGE_ROW (self));
  self->may_defer = may_defer;
}

gboolean
aic_message_row_is_deferred (AicMessageRow *self)
{
  g_return_val_if_fail (AIC_IS_MESSAGE_ROW (self), FALSE);
  return self->deferred;
}

/**
 * aic_message_row_show_content:
 * Makes a row that was put off: its text, code blocks and buttons.
 */
void
aic_message_row_show_content (AicMessageRow *self)
{
  g_return_if_fail (AIC_IS_MESSAGE_ROW (self));

  if (self->deferred && self->message != NULL)
    show (self);
}

static void
aic_message_row_dispose (GObject *object)
{
  AicMessageRow *self = AIC_MESSAGE_ROW (object);

  aic_message_row_set_message (self, NULL);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (aic_message_row_parent_class)->dispose (object);
}

static void
collect_controls (GtkWidget *widget,
                  GPtrArray *controls)
{
  if (!gtk_widget_get_mapped (widget) || !gtk_widget_is_sensitive (widget))
    return;
  if (gtk_widget_get_focusable (widget))
    g_ptr_array_add (controls, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_controls (child, controls);
}

/**
 * aic_message_row_move_focus:
 * @focus: (nullable): the widget that has the focus now
 *
 * Moves the keyboard focus to the next or previous control of the message
 * (the code blocks, their Copy buttons, Copy Message …) after @focus; when
 * @focus is not in the message, to its first or last control.
 *
 * Returns: whether the focus moved; %FALSE past the first or last control
 */
gboolean
aic_message_row_move_focus (AicMessageRow    *self,
                            GtkWidget        *focus,
                            GtkDirectionType  direction)
{
  g_autoptr(GPtrArray) controls = g_ptr_array_new ();
  int step = direction == GTK_DIR_TAB_BACKWARD || direction == GTK_DIR_UP ? -1 : 1;
  int here = -1, next;

  g_return_val_if_fail (AIC_IS_MESSAGE_ROW (self), FALSE);

  aic_message_row_show_content (self);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_controls (child, controls);
  for (guint i = 0; i < controls->len; i++)
    if (focus != NULL && (focus == g_ptr_array_index (controls, i) ||
                          gtk_widget_is_ancestor (focus, g_ptr_array_index (controls, i))))
      here = i;
  next = here >= 0 ? here + step : (step > 0 ? 0 : (int) controls->len - 1);
  for (; next >= 0 && next < (int) controls->len; next += step)
    if (gtk_widget_grab_focus (g_ptr_array_index (controls, next)) &&
        gtk_widget_is_focus (g_ptr_array_index (controls, next)))
      return TRUE;
  return FALSE;
}

/* The list view gives a row the focus when the arrow keys reach it: the
 * row passes it to its first control. */
static gboolean
aic_message_row_grab_focus (GtkWidget *widget)
{
  return aic_message_row_move_focus (AIC_MESSAGE_ROW (widget), NULL, GTK_DIR_TAB_FORWARD);
}

static void
aic_message_row_class_init (AicMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_message_row_dispose;
  widget_class->grab_focus = aic_message_row_grab_focus;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "message-row");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
aic_message_row_init (AicMessageRow *self)
{
  GtkWidget *header, *footer, *copy;

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (self->box, "message");
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->author = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->author), 0);
  gtk_widget_add_css_class (self->author, "author");
  self->spinner = gtk_spinner_new ();
  gtk_widget_set_tooltip_text (self->spinner, _("Writing…"));
  gtk_box_append (GTK_BOX (header), self->author);
  gtk_box_append (GTK_BOX (header), self->spinner);
  gtk_box_append (GTK_BOX (self->box), header);

  self->plain = gtk_label_new (NULL);
  aic_label_wrap_prose (GTK_LABEL (self->plain));
  gtk_label_set_xalign (GTK_LABEL (self->plain), 0);
  aic_label_make_selectable (GTK_LABEL (self->plain));
  gtk_box_append (GTK_BOX (self->box), self->plain);

  self->markdown = aic_markdown_view_new ();
  gtk_box_append (GTK_BOX (self->box), self->markdown);

  self->problem = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  self->problem_label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (self->problem_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->problem_label), 0);
  gtk_widget_set_hexpand (self->problem_label, TRUE);
  self->retry = gtk_button_new_with_mnemonic (_("_Retry"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->retry), "chat.regenerate");
  gtk_widget_set_valign (self->retry, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->problem), self->problem_label);
  gtk_box_append (GTK_BOX (self->problem), self->retry);
  gtk_box_append (GTK_BOX (self->box), self->problem);

  footer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->stats = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->stats), 0);
  gtk_widget_set_hexpand (self->stats, TRUE);
  gtk_widget_add_css_class (self->stats, "dim-label");
  gtk_widget_add_css_class (self->stats, "stats");
  copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  gtk_widget_set_tooltip_text (copy, _("Copy Message"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (copy), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy Message"), -1);
  gtk_widget_add_css_class (copy, "flat");
  g_signal_connect_swapped (copy, "clicked", G_CALLBACK (copy_clicked_cb), self);
  gtk_box_append (GTK_BOX (footer), self->stats);
  gtk_box_append (GTK_BOX (footer), copy);
  gtk_box_append (GTK_BOX (self->box), footer);
}

GtkWidget *
aic_message_row_new (void)
{
  return g_object_new (AIC_TYPE_MESSAGE_ROW, NULL);
}
