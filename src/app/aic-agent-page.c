/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "aic-agent-page.h"
#include "aic-agent-run.h"
#include "aic-display.h"
#include "aic-end-follower.h"
#include "aic-json.h"
#include "aic-selectable.h"

/* The Agent view: a goal, the workspace folder, Start and Cancel; the
 * run's timeline (steps, tool calls with their arguments, results and
 * the model's text as it streams); the server's past runs, any of which
 * can be opened again (a run still waiting asks again).
 *
 * When the run wants to act it asks: an AdwMessageDialog names the tool,
 * shows what it would do (the diff of a write, the command line of a
 * command) and its risk, and offers Deny (the default, also what Escape
 * does), Allow Once and Allow for This Run. A question gets a text
 * entry. A dialog closed without an answer can be opened again from the
 * timeline: the run waits, it never takes silence for a yes. */

struct _AicAgentPage
{
  GtkWidget          parent_instance;

  AicClient         *client;
  GSettings         *settings;
  AicAgentRun       *run;            /* the run on display */
  AicAgentRequest   *request;        /* its request waiting for an answer */
  AdwMessageDialog  *dialog;
  GtkFileChooserNative *chooser;
  GCancellable      *list_cancellable;

  GtkWidget         *text_row;       /* the row the model's text goes to */
  GString           *pending_text;   /* text not yet drawn */
  guint              tick_id;
  GtkWidget         *request_row;
  AicEndFollower    *follower;       /* keeps the newest row in view */

  /* Template widgets */
  GtkWidget         *content;        /* bound so that dispose_template unparents it */
  GtkEntry          *goal_entry;
  GtkButton         *start_button;
  GtkButton         *cancel_button;
  GtkLabel          *workspace_label;
  GtkButton         *workspace_reset_button;
  GtkLabel          *state_label;
  GtkListBox        *runs_list;
  AdwLeaflet        *leaflet;
  GtkWidget         *timeline_pane;
  GtkStack          *timeline_stack;
  GtkScrolledWindow *timeline_scroller;
  GtkListBox        *timeline;
};

G_DEFINE_FINAL_TYPE (AicAgentPage, aic_agent_page, GTK_TYPE_WIDGET)

enum {
  SHOW_MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void refresh_runs (AicAgentPage *self);
static void show_request (AicAgentPage *self);

static void
show_message (AicAgentPage *self,
              const char   *message)
{
  g_signal_emit (self, signals[SHOW_MESSAGE], 0, message);
}

static gboolean
run_active (AicAgentPage *self)
{
  return self->run != NULL && !aic_agent_run_is_finished (self->run);
}

/* The client is always an AI Console backend (built-in, driving the
 * user's provider, or remote): agents need only that it is there. */
static gboolean
connection_supports_agents (AicAgentPage *self)
{
  return self->client != NULL;
}

static const char *
state_text (const char *state)
{
  if (g_strcmp0 (state, "connecting") == 0)
    return _("Connecting…");
  if (g_strcmp0 (state, "planning") == 0)
    return _("Deciding what to do…");
  if (g_strcmp0 (state, "running") == 0)
    return _("Working…");
  if (g_strcmp0 (state, "waiting") == 0)
    return _("Waiting for your answer");
  if (g_strcmp0 (state, "completed") == 0)
    return _("Completed");
  if (g_strcmp0 (state, "cancelled") == 0)
    return _("Cancelled");
  if (g_strcmp0 (state, "failed") == 0)
    return _("Failed");
  return "";
}

static void
update_controls (AicAgentPage *self)
{
  gboolean active = run_active (self);
  const char *goal = gtk_editable_get_text (GTK_EDITABLE (self->goal_entry));
  g_autofree char *trimmed = g_strstrip (g_strdup (goal));
  gboolean usable = connection_supports_agents (self);

  gtk_widget_set_sensitive (GTK_WIDGET (self->start_button), usable && !active && trimmed[0] != '\0');
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), active);
  gtk_widget_set_sensitive (GTK_WIDGET (self->goal_entry), usable);
  if (!usable)
    gtk_label_set_label (self->state_label, _("Starting the built-in backend…"));
  else
    gtk_label_set_label (self->state_label, self->run ? state_text (aic_agent_run_get_state (self->run)) : "");
}

static void
update_workspace (AicAgentPage *self)
{
  g_autofree char *path = self->settings ? g_settings_get_string (self->settings, "agent-workspace") : g_strdup ("");

  if (path[0] == '\0')
    {
      gtk_label_set_label (self->workspace_label, _("The server’s folder"));
      gtk_widget_set_visible (GTK_WIDGET (self->workspace_reset_button), FALSE);
    }
  else
    {
      g_autofree char *display = g_filename_display_name (path);
      g_autofree char *shown = aic_display_path (path);

      gtk_label_set_label (self->workspace_label, shown);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->workspace_label), display);
      gtk_widget_set_visible (GTK_WIDGET (self->workspace_reset_button), TRUE);
    }
}

/* ---- the timeline ---- */

static GtkWidget *
add_row (AicAgentPage *self,
         const char   *icon,
         const char   *title,
         const char   *detail,
         gboolean      monospace)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *title_label = gtk_label_new (title);

  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  if (icon != NULL)
    {
      GtkWidget *image = gtk_image_new_from_icon_name (icon);

      gtk_widget_set_valign (image, GTK_ALIGN_START);
      gtk_box_append (GTK_BOX (box), image);
    }
  gtk_label_set_xalign (GTK_LABEL (title_label), 0);
  aic_label_wrap_prose (GTK_LABEL (title_label));
  aic_label_make_selectable (GTK_LABEL (title_label));
  gtk_box_append (GTK_BOX (texts), title_label);
  if (detail != NULL && detail[0] != '\0')
    {
      GtkWidget *detail_label = gtk_label_new (detail);

      gtk_label_set_xalign (GTK_LABEL (detail_label), 0);
      aic_label_wrap_prose (GTK_LABEL (detail_label));
      aic_label_make_selectable (GTK_LABEL (detail_label));
      gtk_widget_add_css_class (detail_label, monospace ? "monospace" : "dim-label");
      gtk_box_append (GTK_BOX (texts), detail_label);
      g_object_set_data (G_OBJECT (row), "detail-label", detail_label);
    }
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_box_append (GTK_BOX (box), texts);
  g_object_set_data (G_OBJECT (row), "title-label", title_label);
  g_object_set_data (G_OBJECT (row), "row-box", box);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_append (self->timeline, row);
  gtk_stack_set_visible_child_name (self->timeline_stack, "timeline");
  return row;
}

/* Text goes to the screen once a frame, not once a token. */
static void
flush_text (AicAgentPage *self)
{
  GtkLabel *label;
  g_autofree char *joined = NULL;

  if (self->pending_text->len == 0)
    return;
  if (self->text_row == NULL)
    self->text_row = add_row (self, NULL, "", NULL, FALSE);
  label = g_object_get_data (G_OBJECT (self->text_row), "title-label");
  joined = g_strconcat (gtk_label_get_label (label), self->pending_text->str, NULL);
  g_strchomp (joined);
  gtk_label_set_label (label, joined);
  g_string_truncate (self->pending_text, 0);
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       data)
{
  AicAgentPage *self = AIC_AGENT_PAGE (widget);

  flush_text (self);
  self->tick_id = 0;
  return G_SOURCE_REMOVE;
}

/* Whatever comes after some text starts a row of its own. */
static void
end_text (AicAgentPage *self)
{
  flush_text (self);
  self->text_row = NULL;
}

static void
clear_timeline (AicAgentPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->timeline))) != NULL)
    gtk_list_box_remove (self->timeline, child);
  self->text_row = NULL;
  self->request_row = NULL;
  g_string_truncate (self->pending_text, 0);
  aic_end_follower_follow (self->follower);
  gtk_stack_set_visible_child_name (self->timeline_stack, "empty");
}

static void
on_step (AicAgentRun  *run,
         const char   *name,
         AicAgentPage *self)
{
  GtkWidget *row;

  end_text (self);
  row = add_row (self, NULL, name, NULL, FALSE);
  gtk_widget_add_css_class (g_object_get_data (G_OBJECT (row), "title-label"), "dim-label");
  gtk_widget_add_css_class (g_object_get_data (G_OBJECT (row), "title-label"), "caption-heading");
}

/* The agent's tools, in words a person reads in a dialog. */
static const char *
tool_text (const char *tool)
{
  if (g_strcmp0 (tool, "write_file") == 0)
    return _("Write a file");
  if (g_strcmp0 (tool, "run_command") == 0)
    return _("Run a command");
  if (g_strcmp0 (tool, "read_file") == 0)
    return _("Read a file");
  if (g_strcmp0 (tool, "list_files") == 0)
    return _("List files");
  return tool;
}

/* A tool's arguments as fields, one per line ("path: notes.md"), strings
 * as they are rather than JSON with \n in them; each value's start only,
 * since a value can be a whole file. Anything that is not an object of
 * members is shown as it came. */
static char *
format_args (const char *args)
{
  g_autoptr(JsonNode) root = aic_json_parse_data (args, -1, NULL);
  g_autoptr(GString) text = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_strdup (args);

  text = g_string_new (NULL);
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &name, &value))
    {
      g_autofree char *shown = NULL;

      if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
        shown = g_strdup (json_node_get_string (value));
      else
        shown = aic_json_to_string (value, FALSE);
      if (g_utf8_strlen (shown, -1) > 400)
        {
          g_autofree char *start = g_utf8_substring (shown, 0, 400);

          g_free (shown);
          shown = g_strconcat (start, "…", NULL);
        }
      g_string_append_printf (text, "%s%s: %s", text->len ? "\n" : "", name, shown);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
on_tool_call (AicAgentRun  *run,
              const char   *call_id,
              const char   *name,
              const char   *args,
              AicAgentPage *self)
{
  g_autofree char *shown = NULL;

  end_text (self);
  shown = format_args (args);
  add_row (self, "system-run-symbolic", tool_text (name), shown, TRUE);
}

static void
on_tool_result (AicAgentRun  *run,
                const char   *call_id,
                const char   *summary,
                AicAgentPage *self)
{
  end_text (self);
  add_row (self, "go-next-symbolic", summary, NULL, FALSE);
}

static void
on_token (AicAgentRun  *run,
          const char   *text,
          AicAgentPage *self)
{
  g_string_append (self->pending_text, text);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), tick_cb, NULL, NULL);
}

static void
on_problem (AicAgentRun  *run,
            const char   *text,
            AicAgentPage *self)
{
  show_message (self, text);
}

static void
answer_clicked_cb (AicAgentPage *self)
{
  show_request (self);
}

static void
close_dialog (AicAgentPage *self)
{
  if (self->dialog == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->dialog, self);
  gtk_window_destroy (GTK_WINDOW (self->dialog));
  self->dialog = NULL;
}

static void
request_answered (AicAgentPage *self,
                  const char   *what)
{
  if (self->request_row != NULL)
    {
      GtkWidget *button = g_object_get_data (G_OBJECT (self->request_row), "answer-button");

      if (button != NULL)
        gtk_widget_set_visible (button, FALSE);
      gtk_label_set_label (g_object_get_data (G_OBJECT (self->request_row), "title-label"), what);
    }
  self->request_row = NULL;
  g_clear_pointer (&self->request, aic_agent_request_free);
}

static void
approval_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      AicAgentPage     *self)
{
  g_autoptr(AicAgentRequest) request = self->request ? aic_agent_request_copy (self->request) : NULL;
  AicAgentDecision decision = AIC_AGENT_DECISION_DENY;
  const char *what = _("You denied this");

  self->dialog = NULL;
  if (request == NULL || self->run == NULL)
    return;
  if (g_strcmp0 (response, "once") == 0)
    {
      decision = AIC_AGENT_DECISION_ALLOW_ONCE;
      what = _("You allowed this once");
    }
  else if (g_strcmp0 (response, "run") == 0)
    {
      decision = AIC_AGENT_DECISION_ALLOW_RUN;
      what = _("You allowed this for the rest of the run");
    }
  request_answered (self, what);
  aic_agent_run_reply (self->run, request->resume_token, decision, NULL);
}

static void
question_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      AicAgentPage     *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *answer = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  g_autoptr(AicAgentRequest) request = self->request ? aic_agent_request_copy (self->request) : NULL;
  g_autofree char *what = NULL;

  self->dialog = NULL;
  /* "Later" leaves the question waiting; the timeline can open it again. */
  if (request == NULL || self->run == NULL || g_strcmp0 (response, "answer") != 0 || answer[0] == '\0')
    return;
  what = g_strdup_printf (_("You answered: %s"), answer);
  request_answered (self, what);
  aic_agent_run_reply (self->run, request->resume_token, AIC_AGENT_DECISION_ALLOW_ONCE, answer);
}

static void
question_changed_cb (GtkEditable      *entry,
                     AdwMessageDialog *dialog)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  adw_message_dialog_set_response_enabled (dialog, "answer", text[0] != '\0');
}

static const char *
risk_text (const char *risk)
{
  if (g_strcmp0 (risk, "write") == 0)
    return _("This changes files in the workspace.");
  if (g_strcmp0 (risk, "execute") == 0)
    return _("This runs a program in the workspace with your permissions. It is not sandboxed: "
             "your approval is the only limit on what it does.");
  if (g_strcmp0 (risk, "network") == 0)
    return _("This reaches out over the network.");
  if (g_strcmp0 (risk, "read") == 0)
    return _("This reads files in the workspace.");
  return _("The agent wants your permission to go on.");
}

/* Added lines green, removed ones red, hunk headers dim: the background
 * tints read in light and dark alike. */
static void
colour_diff (GtkTextBuffer *buffer)
{
  GtkTextTag *added = gtk_text_buffer_create_tag (buffer, NULL, "paragraph-background", "rgba(46,194,126,0.22)", NULL);
  GtkTextTag *removed = gtk_text_buffer_create_tag (buffer, NULL, "paragraph-background", "rgba(224,27,36,0.22)", NULL);
  GtkTextTag *hunk = gtk_text_buffer_create_tag (buffer, NULL, "foreground", "#62a0ea", NULL);
  int lines = gtk_text_buffer_get_line_count (buffer);

  for (int i = 0; i < lines; i++)
    {
      GtkTextIter start, end;
      g_autofree char *line = NULL;
      GtkTextTag *tag = NULL;

      gtk_text_buffer_get_iter_at_line (buffer, &start, i);
      end = start;
      if (!gtk_text_iter_ends_line (&end))
        gtk_text_iter_forward_to_line_end (&end);
      line = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      if (g_str_has_prefix (line, "+++") || g_str_has_prefix (line, "---"))
        continue;
      if (line[0] == '+')
        tag = added;
      else if (line[0] == '-')
        tag = removed;
      else if (g_str_has_prefix (line, "@@"))
        tag = hunk;
      if (tag != NULL)
        gtk_text_buffer_apply_tag (buffer, tag, &start, &end);
    }
}

static GtkWidget *
detail_view (const char *text,
             gboolean    is_diff)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *view = gtk_text_view_new ();

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), text, -1);
  if (is_diff)
    colour_diff (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)));
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 6);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 6);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), view);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroller), 120);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 320);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  /* As wide as the dialog allows and no wider: it must fit a 360 px
   * window; long lines wrap. */
  gtk_scrolled_window_set_propagate_natural_width (GTK_SCROLLED_WINDOW (scroller), FALSE);
  gtk_widget_set_hexpand (scroller, TRUE);
  gtk_widget_add_css_class (scroller, "card");
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL, _("What the agent would do"), -1);
  return scroller;
}

/* Shows the pending request in its dialog (again, if it was put off). */
static void
show_request (AicAgentPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  const AicAgentRequest *request = self->request;
  AdwMessageDialog *dialog;

  close_dialog (self);
  if (request == NULL)
    return;

  if (aic_agent_request_is_question (request))
    {
      GtkWidget *entry = gtk_entry_new ();

      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                           _("The Agent Asks"), request->prompt));
      adw_message_dialog_add_responses (dialog, "later", _("_Later"), "answer", _("_Answer"), NULL);
      adw_message_dialog_set_response_appearance (dialog, "answer", ADW_RESPONSE_SUGGESTED);
      adw_message_dialog_set_default_response (dialog, "answer");
      adw_message_dialog_set_close_response (dialog, "later");
      adw_message_dialog_set_response_enabled (dialog, "answer", FALSE);
      gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
      gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Your answer"), -1);
      g_signal_connect (entry, "changed", G_CALLBACK (question_changed_cb), dialog);
      adw_message_dialog_set_extra_child (dialog, entry);
      g_signal_connect (dialog, "response", G_CALLBACK (question_response_cb), self);
    }
  else
    {
      g_autofree char *body = NULL;
      const char *detail = request->diff ? request->diff : request->args;
      g_autofree char *command = request->command ? g_strdup_printf ("$ %s", request->command) : NULL;

      if (request->tool_name != NULL)
        /* Translators: the first %s is a tool in words, such as “Write a file”; the second says what it risks. */
        body = g_strdup_printf (_("%s. %s"), tool_text (request->tool_name), risk_text (request->risk));
      else
        body = g_strdup (risk_text (request->risk));
      if (request->scope != NULL)
        {
          g_autofree char *scope = NULL;
          char *joined;

          /* Translators: %s is a program such as ls; "Allow for This Run" is the button. */
          scope = g_strdup_printf (_("“Allow for This Run” lets the agent run “%s” again, with any arguments, "
                                     "without asking; other programs still ask."), request->scope);
          joined = g_strconcat (body, "\n\n", scope, NULL);
          g_free (body);
          body = joined;
        }
      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                           request->prompt, body));
      adw_message_dialog_add_responses (dialog,
                                        "deny", _("_Deny"),
                                        "once", _("Allow _Once"),
                                        "run", _("Allow for This _Run"),
                                        NULL);
      /* Nothing happens unless someone says so: Deny is the default and
       * what closing the dialog means. */
      adw_message_dialog_set_default_response (dialog, "deny");
      adw_message_dialog_set_close_response (dialog, "deny");
      if (command != NULL && request->diff == NULL)
        detail = command;
      if (detail != NULL)
        adw_message_dialog_set_extra_child (dialog, detail_view (detail, detail == request->diff));
      g_signal_connect (dialog, "response", G_CALLBACK (approval_response_cb), self);
    }
  self->dialog = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_need_input (AicAgentRun     *run,
               AicAgentRequest *request,
               AicAgentPage    *self)
{
  GtkWidget *button;
  GtkWidget *box;

  end_text (self);
  close_dialog (self);
  if (self->request_row != NULL)
    request_answered (self, _("This request was replaced by another"));
  g_clear_pointer (&self->request, aic_agent_request_free);
  self->request = aic_agent_request_copy (request);

  self->request_row = add_row (self, "dialog-question-symbolic", request->prompt,
                               aic_agent_request_is_question (request) ? _("Waiting for your answer")
                                                                       : risk_text (request->risk),
                               FALSE);
  button = gtk_button_new_with_mnemonic (_("_Answer…"));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect_swapped (button, "clicked", G_CALLBACK (answer_clicked_cb), self);
  box = g_object_get_data (G_OBJECT (self->request_row), "row-box");
  gtk_box_append (GTK_BOX (box), button);
  g_object_set_data (G_OBJECT (self->request_row), "answer-button", button);

  show_request (self);
}

static void
on_done (AicAgentRun  *run,
         const char   *state,
         const char   *summary,
         AicAgentPage *self)
{
  GtkWidget *row;
  const char *icon = g_str_equal (state, "completed") ? "emblem-ok-symbolic" : "dialog-warning-symbolic";
  gboolean said = FALSE;

  /* The summary is often the model's last words, just shown. */
  flush_text (self);
  if (self->text_row != NULL)
    {
      GtkLabel *label = g_object_get_data (G_OBJECT (self->text_row), "title-label");
      g_autofree char *last = g_strstrip (g_strdup (gtk_label_get_label (label)));
      g_autofree char *wanted = g_strstrip (g_strdup (summary));

      said = g_str_equal (last, wanted);
    }
  end_text (self);
  close_dialog (self);
  if (self->request_row != NULL)
    request_answered (self, _("This request is no longer waiting"));
  g_clear_pointer (&self->request, aic_agent_request_free);
  row = add_row (self, icon, state_text (state), said ? NULL : summary, FALSE);
  gtk_widget_add_css_class (g_object_get_data (G_OBJECT (row), "title-label"), "heading");
  update_controls (self);
  refresh_runs (self);
}

static void
on_state_changed (AicAgentPage *self)
{
  update_controls (self);
}

static void
detach_run (AicAgentPage *self)
{
  close_dialog (self);
  g_clear_pointer (&self->request, aic_agent_request_free);
  if (self->run != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->run, self);
      /* A live run goes on at the server; the list can bring it back. */
      aic_agent_run_close (self->run);
    }
  g_clear_object (&self->run);
  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
  self->tick_id = 0;
  clear_timeline (self);
}

static void
start_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(AicAgentPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_agent_run_start_finish (AIC_AGENT_RUN (object), result, &error))
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->run != AIC_AGENT_RUN (object))
        return;
      text = g_strdup_printf (_("The run could not start: %s"), error->message);
      show_message (self, text);
      add_row (self, "dialog-warning-symbolic", _("The run could not start"), error->message, FALSE);
      g_signal_handlers_disconnect_by_data (self->run, self);
      g_clear_object (&self->run);
      update_controls (self);
      return;
    }
  refresh_runs (self);
}

static void
attach_run (AicAgentPage *self,
            AicAgentRun  *run)
{
  detach_run (self);
  self->run = g_object_ref (run);
  g_signal_connect (run, "step", G_CALLBACK (on_step), self);
  g_signal_connect (run, "tool-call", G_CALLBACK (on_tool_call), self);
  g_signal_connect (run, "tool-result", G_CALLBACK (on_tool_result), self);
  g_signal_connect (run, "token", G_CALLBACK (on_token), self);
  g_signal_connect (run, "problem", G_CALLBACK (on_problem), self);
  g_signal_connect (run, "need-input", G_CALLBACK (on_need_input), self);
  g_signal_connect (run, "done", G_CALLBACK (on_done), self);
  g_signal_connect_swapped (run, "notify::state", G_CALLBACK (on_state_changed), self);
  aic_agent_run_start_async (run, NULL, start_cb, g_object_ref (self));
  update_controls (self);
}

static void
on_start_clicked (AicAgentPage *self)
{
  g_autofree char *goal = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->goal_entry))));
  g_autofree char *workspace = self->settings ? g_settings_get_string (self->settings, "agent-workspace") : NULL;
  g_autoptr(AicAgentRun) run = NULL;
  GtkWidget *row;

  if (goal[0] == '\0' || run_active (self) || !connection_supports_agents (self))
    return;
  run = aic_agent_run_new (self->client, goal,
                           workspace != NULL && workspace[0] != '\0' ? workspace : NULL,
                           aic_connection_get_model (aic_client_get_connection (self->client)));
  adw_leaflet_set_visible_child (self->leaflet, self->timeline_pane);
  attach_run (self, run);
  row = add_row (self, "utilities-terminal-symbolic", goal, NULL, FALSE);
  gtk_widget_add_css_class (g_object_get_data (G_OBJECT (row), "title-label"), "heading");
  gtk_editable_set_text (GTK_EDITABLE (self->goal_entry), "");
  gtk_list_box_unselect_all (self->runs_list);
}

static void
on_cancel_clicked (AicAgentPage *self)
{
  if (run_active (self))
    aic_agent_run_cancel (self->run);
}

/* ---- the workspace ---- */

static void
chooser_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     AicAgentPage    *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->settings != NULL)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "agent-workspace", path);
      else
        show_message (self, _("That folder is not on this computer’s file system."));
    }
  g_clear_object (&self->chooser);
}

static void
on_workspace_clicked (AicAgentPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Choose the Agent’s Workspace"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_workspace_reset_clicked (AicAgentPage *self)
{
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "agent-workspace", "");
}

/* ---- past runs ---- */

static GtkWidget *
run_info_row (AicAgentRunInfo *info)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *goal = gtk_label_new (info->goal);
  GtkWidget *detail;
  g_autofree char *when = NULL;
  g_autofree char *text = NULL;

  if (info->created_at > 0)
    {
      when = aic_display_date (info->created_at);
    }
  /* Translators: a run's state, then when it started. */
  text = when ? g_strdup_printf (_("%s · %s"), state_text (info->state), when) : g_strdup (state_text (info->state));
  detail = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (goal), 0);
  gtk_label_set_ellipsize (GTK_LABEL (goal), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (goal), TRUE);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_widget_add_css_class (detail, "caption");
  gtk_box_append (GTK_BOX (box), goal);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_widget_set_margin_top (box, 4);
  gtk_widget_set_margin_bottom (box, 4);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "run-id", g_strdup (info->run_id), g_free);
  g_object_set_data_full (G_OBJECT (row), "goal", g_strdup (info->goal), g_free);
  return row;
}

static void
listed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  AicAgentPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = aic_agent_list_runs_finish (result, &error);
  GtkListBoxRow *row;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Rows only: the placeholder stays for an empty list. */
  while ((row = gtk_list_box_get_row_at_index (self->runs_list, 0)) != NULL)
    gtk_list_box_remove (self->runs_list, GTK_WIDGET (row));
  if (runs == NULL)
    {
      g_debug ("No list of runs: %s", error->message);
      return;
    }
  for (guint i = 0; i < runs->len; i++)
    {
      AicAgentRunInfo *info = g_ptr_array_index (runs, i);
      GtkWidget *info_row = run_info_row (info);

      gtk_list_box_append (self->runs_list, info_row);
      if (self->run != NULL && g_strcmp0 (info->run_id, aic_agent_run_get_id (self->run)) == 0)
        gtk_list_box_select_row (self->runs_list, GTK_LIST_BOX_ROW (info_row));
    }
}

static void
refresh_runs (AicAgentPage *self)
{
  g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->list_cancellable);
  if (!connection_supports_agents (self))
    return;
  self->list_cancellable = g_cancellable_new ();
  aic_agent_list_runs_async (self->client, self->list_cancellable, listed_cb, self);
}

static void
on_run_activated (AicAgentPage  *self,
                  GtkListBoxRow *row)
{
  const char *run_id = g_object_get_data (G_OBJECT (row), "run-id");
  g_autoptr(AicAgentRun) run = NULL;
  GtkWidget *title;

  if (run_id == NULL || self->client == NULL)
    return;
  /* Narrow, the list is a page of its own: the run opens in the next. */
  adw_leaflet_set_visible_child (self->leaflet, self->timeline_pane);
  if (self->run != NULL && g_strcmp0 (aic_agent_run_get_id (self->run), run_id) == 0)
    return;
  run = aic_agent_run_new_for_id (self->client, run_id);
  attach_run (self, run);
  title = add_row (self, "utilities-terminal-symbolic", g_object_get_data (G_OBJECT (row), "goal"), NULL, FALSE);
  gtk_widget_add_css_class (g_object_get_data (G_OBJECT (title), "title-label"), "heading");
}

static void
on_runs_clicked (AicAgentPage *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* ---- GObject ---- */

static void
aic_agent_page_dispose (GObject *object)
{
  AicAgentPage *self = AIC_AGENT_PAGE (object);

  g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->list_cancellable);
  close_dialog (self);
  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
  self->tick_id = 0;
  g_clear_object (&self->follower);
  if (self->chooser != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  if (self->run != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->run, self);
      aic_agent_run_close (self->run);
    }
  g_clear_object (&self->run);
  g_clear_pointer (&self->request, aic_agent_request_free);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_AGENT_PAGE);

  G_OBJECT_CLASS (aic_agent_page_parent_class)->dispose (object);
}

static void
aic_agent_page_finalize (GObject *object)
{
  AicAgentPage *self = AIC_AGENT_PAGE (object);

  g_string_free (self->pending_text, TRUE);

  G_OBJECT_CLASS (aic_agent_page_parent_class)->finalize (object);
}

static void
aic_agent_page_class_init (AicAgentPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_agent_page_dispose;
  object_class->finalize = aic_agent_page_finalize;

  signals[SHOW_MESSAGE] =
    g_signal_new ("show-message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-agent-page.ui");
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, content);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, goal_entry);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, workspace_label);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, workspace_reset_button);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, state_label);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, runs_list);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, leaflet);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, timeline_pane);
  /* For tests, which look them up by name. */
  gtk_widget_class_bind_template_child_full (widget_class, "runs_pane", FALSE, 0);
  gtk_widget_class_bind_template_child_full (widget_class, "runs_button", FALSE, 0);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, timeline_stack);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, timeline_scroller);
  gtk_widget_class_bind_template_child (widget_class, AicAgentPage, timeline);
  gtk_widget_class_bind_template_callback (widget_class, on_start_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_workspace_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_workspace_reset_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_run_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_runs_clicked);
  gtk_widget_class_bind_template_callback (widget_class, update_controls);
}

/* What an empty list says, quietly, instead of showing nothing. */
static GtkWidget *
empty_list_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_margin_top (label, 12);
  gtk_widget_set_margin_bottom (label, 12);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  return label;
}

static void
aic_agent_page_init (AicAgentPage *self)
{
  self->pending_text = g_string_new (NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_list_box_set_placeholder (self->runs_list, empty_list_label (_("No runs yet")));
  /* Narrow, the timeline is what shows; Past Runs is a page back. */
  adw_leaflet_set_visible_child (self->leaflet, self->timeline_pane);
  self->follower = aic_end_follower_new (self->timeline_scroller);
  update_workspace (self);
  update_controls (self);
}

void
aic_agent_page_set_client (AicAgentPage *self,
                           AicClient    *client)
{
  g_return_if_fail (AIC_IS_AGENT_PAGE (self));

  if (self->client == client)
    return;
  detach_run (self);
  g_set_object (&self->client, client);
  update_controls (self);
  refresh_runs (self);
}

void
aic_agent_page_set_settings (AicAgentPage *self,
                             GSettings    *settings)
{
  g_return_if_fail (AIC_IS_AGENT_PAGE (self));

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_set_object (&self->settings, settings);
  if (settings != NULL)
    g_signal_connect_swapped (settings, "changed::agent-workspace", G_CALLBACK (update_workspace), self);
  update_workspace (self);
}

gboolean
aic_agent_page_is_running (AicAgentPage *self)
{
  g_return_val_if_fail (AIC_IS_AGENT_PAGE (self), FALSE);
  return run_active (self);
}
