/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <string.h>

#include "aic-display.h"
#include "aic-documents-page.h"
#include "aic-selectable.h"

/* The Documents view: the jobs of AicJobManager as a list (name, state,
 * progress), and the selected one beside it: its progress while it runs,
 * the reason when it failed, the summary and key points when done, with
 * Copy and Export. Files come from Open (GtkFileChooserNative, so the
 * Flatpak portal works) or are dropped on the window. */

struct _AicDocumentsPage
{
  GtkWidget         parent_instance;

  AicJobManager    *manager;
  AicJob           *selected;
  GtkFileChooserNative *chooser;

  /* Template widgets */
  GtkStack         *detail_stack;
  AdwStatusPage    *failed_page;
  AdwStatusPage    *none_page;
  GtkEntry         *instructions_entry;
  GtkListView      *jobs_list;
  GtkSingleSelection *selection;
  AdwLeaflet       *leaflet;
  GtkWidget        *list_pane;
  GtkStack         *list_stack;
  GtkLabel         *points_heading;
  GtkLabel         *result_points;
  GtkLabel         *result_source;
  GtkLabel         *result_summary;
  GtkLabel         *result_title;
  GtkLabel         *working_label;
  AdwStatusPage    *working_page;
  GtkProgressBar   *working_progress;
};

G_DEFINE_FINAL_TYPE (AicDocumentsPage, aic_documents_page, GTK_TYPE_WIDGET)

enum {
  SHOW_MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_message (AicDocumentsPage *self,
              const char       *message)
{
  g_signal_emit (self, signals[SHOW_MESSAGE], 0, message);
}

static const char *
stage_text (const char *stage)
{
  if (g_strcmp0 (stage, "extracting") == 0)
    return _("Reading the document");
  if (g_strcmp0 (stage, "chunking") == 0)
    return _("Splitting into parts");
  if (g_strcmp0 (stage, "summarizing") == 0)
    return _("Summarizing");
  if (g_strcmp0 (stage, "combining") == 0)
    return _("Combining the parts");
  return NULL;
}

/**
 * aic_job_dup_status_text:
 * Returns: (transfer full): one line saying where @job is, in words
 */
char *
aic_job_dup_status_text (AicJob *job)
{
  const char *stage = stage_text (aic_job_get_stage (job));

  if (aic_job_get_paused (job))
    /* Translators: %s says why, such as "Nothing is listening at …" */
    return g_strdup_printf (_("Waiting: %s"), aic_job_get_pause_reason (job));

  switch (aic_job_get_status (job))
    {
    case AIC_JOB_SUBMITTING:
      return g_strdup (_("Sending…"));
    case AIC_JOB_QUEUED:
      return g_strdup (_("Queued"));
    case AIC_JOB_RUNNING:
      /* The backend waits for a model server that is away; its message
       * says which and why. */
      if (g_strcmp0 (aic_job_get_stage (job), "waiting") == 0 && aic_job_get_message (job) != NULL)
        return g_strdup (aic_job_get_message (job));
      /* Translators: a stage of the work and how far it is, such as
       * "Summarizing · 45%"; write the percentage as your language does
       * (German: "45 %") */
      return g_strdup_printf (_("%s · %d%%"), stage ? stage : _("Working"), aic_job_get_progress (job));
    case AIC_JOB_DONE:
      return g_strdup (_("Done"));
    case AIC_JOB_CANCELLED:
      return g_strdup (_("Cancelled"));
    case AIC_JOB_FAILED:
    default:
      /* Translators: %s is the reason */
      return g_strdup_printf (_("Failed: %s"), aic_job_get_error (job) ? aic_job_get_error (job) : _("no reason given"));
    }
}

/* ---- rows ---- */

/* The list is a GtkListView: rows are made for what is in view and
 * given to other jobs as it scrolls. As a GtkListBox, showing 10,000
 * saved jobs made 10,000 rows: 6.0 s and 227 MiB before the page was
 * drawn (bench-app-scale documents). */
typedef struct
{
  GtkLabel       *name;
  GtkLabel       *status;
  GtkProgressBar *progress;
  AicJob         *job;        /* while bound; the list item holds it */
} RowParts;

static void
update_row (AicJob     *job,
            GParamSpec *pspec,
            RowParts   *parts)
{
  g_autofree char *status = aic_job_dup_status_text (job);
  const char *title = aic_job_get_title (job);

  gtk_label_set_label (parts->status, status);
  gtk_widget_set_tooltip_text (GTK_WIDGET (parts->status), status);
  gtk_label_set_label (parts->name, aic_job_get_filename (job));
  gtk_widget_set_tooltip_text (GTK_WIDGET (parts->name), title ? title : aic_job_get_filename (job));
  gtk_progress_bar_set_fraction (parts->progress, aic_job_get_progress (job) / 100.0);
  gtk_widget_set_visible (GTK_WIDGET (parts->progress), !aic_job_is_finished (job));

  if (aic_job_get_status (job) == AIC_JOB_FAILED)
    gtk_widget_add_css_class (GTK_WIDGET (parts->status), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (parts->status), "error");
}

static void
row_setup_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  RowParts *parts = g_new0 (RowParts, 1);

  parts->name = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (parts->name, 0);
  gtk_label_set_ellipsize (parts->name, PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (GTK_WIDGET (parts->name), "heading");
  parts->status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (parts->status, 0);
  gtk_label_set_ellipsize (parts->status, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (GTK_WIDGET (parts->status), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (parts->status), "dim-label");
  parts->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (parts->name));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (parts->status));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (parts->progress));
  gtk_list_item_set_child (item, box);
  g_object_set_data_full (G_OBJECT (item), "parts", parts, g_free);
}

static void
row_bind_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             gpointer                  user_data)
{
  RowParts *parts = g_object_get_data (G_OBJECT (item), "parts");

  parts->job = gtk_list_item_get_item (item);
  g_signal_connect (parts->job, "notify", G_CALLBACK (update_row), parts);
  update_row (parts->job, NULL, parts);
}

static void
row_unbind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  RowParts *parts = g_object_get_data (G_OBJECT (item), "parts");

  if (parts->job != NULL)
    g_signal_handlers_disconnect_by_func (parts->job, update_row, parts);
  parts->job = NULL;
}

/* ---- the selected job ---- */

static void
update_actions (AicDocumentsPage *self)
{
  AicJob *job = self->selected;
  gboolean finished = job != NULL && aic_job_is_finished (job);
  gboolean done = job != NULL && aic_job_get_status (job) == AIC_JOB_DONE;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "documents.cancel", job != NULL && !finished);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "documents.remove", finished);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "documents.retry", finished && !done);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "documents.copy", done);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "documents.export", done);
}

static char *
bullet_list (const char * const *points)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; points != NULL && points[i] != NULL; i++)
    g_string_append_printf (text, "%s• %s", i ? "\n" : "", points[i]);
  return g_string_free (text, FALSE);
}

/* One empty state, not two side by side: with no documents, the wide
 * view says so once, in the detail pane, and the narrow one in the list
 * it shows. */
static void
update_empty_state (AicDocumentsPage *self)
{
  gboolean empty = self->manager == NULL || g_list_model_get_n_items (aic_job_manager_get_jobs (self->manager)) == 0;
  gboolean folded = adw_leaflet_get_folded (self->leaflet);

  gtk_stack_set_visible_child_name (self->list_stack, !empty ? "list" : folded ? "empty" : "blank");
  if (empty)
    {
      adw_status_page_set_icon_name (self->none_page, "emblem-documents-symbolic");
      adw_status_page_set_title (self->none_page, _("No Documents"));
      adw_status_page_set_description (self->none_page,
                                       _("Open a text, Markdown or PDF file to get a summary and its key points. "
                                         "Long documents can take minutes; the work goes on if you close the app."));
    }
  else
    {
      adw_status_page_set_icon_name (self->none_page, "x-office-document-symbolic");
      adw_status_page_set_title (self->none_page, _("No Document Selected"));
      adw_status_page_set_description (self->none_page, NULL);
    }
}

static void
update_detail (AicDocumentsPage *self)
{
  AicJob *job = self->selected;
  g_autofree char *status = NULL;

  update_actions (self);
  if (job == NULL)
    {
      gtk_stack_set_visible_child_name (self->detail_stack, "none");
      return;
    }

  status = aic_job_dup_status_text (job);
  switch (aic_job_get_status (job))
    {
    case AIC_JOB_DONE:
      {
        g_autofree char *about = g_strdup_printf (_("Summary of %s"), aic_job_get_filename (job));
        g_autofree char *source = aic_job_get_note (job) ? g_strdup_printf ("%s\n%s", about, aic_job_get_note (job))
                                                         : g_strdup (about);
        g_autofree char *points = bullet_list (aic_job_get_key_points (job));
        const char *title = aic_job_get_title (job);

        gtk_label_set_label (self->result_title, title && title[0] ? title : aic_job_get_filename (job));
        gtk_label_set_label (self->result_source, source);
        gtk_label_set_label (self->result_summary, aic_job_get_summary (job) ? aic_job_get_summary (job) : "");
        gtk_label_set_label (self->result_points, points);
        gtk_widget_set_visible (GTK_WIDGET (self->points_heading), points[0] != '\0');
        gtk_widget_set_visible (GTK_WIDGET (self->result_points), points[0] != '\0');
        gtk_stack_set_visible_child_name (self->detail_stack, "result");
      }
      break;

    case AIC_JOB_FAILED:
      adw_status_page_set_title (self->failed_page, _("Could Not Summarize"));
      adw_status_page_set_description (self->failed_page, aic_job_get_error (job));
      gtk_stack_set_visible_child_name (self->detail_stack, "failed");
      break;

    case AIC_JOB_CANCELLED:
      adw_status_page_set_title (self->failed_page, _("Cancelled"));
      adw_status_page_set_description (self->failed_page, aic_job_get_filename (job));
      gtk_stack_set_visible_child_name (self->detail_stack, "failed");
      break;

    case AIC_JOB_SUBMITTING:
    case AIC_JOB_QUEUED:
    case AIC_JOB_RUNNING:
    default:
      adw_status_page_set_title (self->working_page, aic_job_get_filename (job));
      adw_status_page_set_description (self->working_page, status);
      gtk_progress_bar_set_fraction (self->working_progress, aic_job_get_progress (job) / 100.0);
      gtk_label_set_label (self->working_label,
                           aic_job_get_paused (job) ? "" : aic_job_get_message (job) ? aic_job_get_message (job) : "");
      gtk_stack_set_visible_child_name (self->detail_stack, "working");
      break;
    }
}

static void
selected_job_notify_cb (AicDocumentsPage *self)
{
  update_detail (self);
}

static void
set_selected (AicDocumentsPage *self,
              AicJob           *job)
{
  g_autoptr(GError) error = NULL;

  if (self->selected == job)
    return;
  /* A saved job's result is read from the store when it is shown. */
  if (job != NULL && self->manager != NULL && !aic_job_manager_read_result (self->manager, job, &error))
    {
      /* Translators: %s is the reason, from the database */
      g_autofree char *message = g_strdup_printf (_("The summary could not be read: %s"), error->message);

      show_message (self, message);
    }
  if (self->selected != NULL)
    g_signal_handlers_disconnect_by_func (self->selected, selected_job_notify_cb, self);
  g_set_object (&self->selected, job);
  if (job != NULL)
    g_signal_connect_object (job, "notify", G_CALLBACK (selected_job_notify_cb), self, G_CONNECT_SWAPPED);
  update_detail (self);
}

static void
selection_changed_cb (AicDocumentsPage *self)
{
  set_selected (self, gtk_single_selection_get_selected_item (self->selection));
}

/* Enter on a row, a double click, or a click: in a narrow window the
 * result pane comes forward. */
static void
on_row_activated (AicDocumentsPage *self)
{
  if (self->selected != NULL)
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

/* A click on a row (not on the list's empty space below the rows). */
static void
row_clicked_cb (GtkGestureClick  *gesture,
                int               n_press,
                double            x,
                double            y,
                AicDocumentsPage *self)
{
  GtkWidget *list = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));

  if (gtk_widget_pick (list, x, y, GTK_PICK_DEFAULT) != list)
    on_row_activated (self);
}

static void
on_back_clicked (AicDocumentsPage *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
items_changed_cb (AicDocumentsPage *self)
{
  GListModel *jobs = aic_job_manager_get_jobs (self->manager);

  update_empty_state (self);
  if (self->selected != NULL && !g_list_store_find (G_LIST_STORE (jobs), self->selected, NULL))
    set_selected (self, NULL);
}

/* ---- actions ---- */

static void
chooser_response_cb (AicDocumentsPage *self,
                     int               response,
                     GtkNativeDialog  *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      aic_documents_page_add_files (self, files);
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(GtkFileFilter) documents = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;

  gtk_file_filter_set_name (documents, _("Text, Markdown and PDF"));
  gtk_file_filter_add_mime_type (documents, "text/plain");
  gtk_file_filter_add_mime_type (documents, "text/markdown");
  gtk_file_filter_add_mime_type (documents, "application/pdf");
  gtk_file_filter_add_suffix (documents, "md");
  gtk_file_filter_add_suffix (documents, "txt");
  gtk_file_filter_add_suffix (documents, "pdf");
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");

  self->chooser = gtk_file_chooser_native_new (_("Open Documents"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Summarize"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), documents);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (widget);

  if (self->selected != NULL && self->manager != NULL)
    aic_job_manager_cancel (self->manager, self->selected);
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicJob) job = self->selected ? g_object_ref (self->selected) : NULL;

  if (job == NULL || self->manager == NULL)
    return;
  if (!aic_job_manager_remove (self->manager, job, &error))
    show_message (self, error->message);
}

/* A failed or cancelled document is sent again as a new job, from its
 * file, with the focus it had; the old entry goes. */
static void
retry_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (widget);
  g_autoptr(AicJob) job = self->selected ? g_object_ref (self->selected) : NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  AicJob *again;
  const char *path;

  if (job == NULL || self->manager == NULL || !aic_job_is_finished (job))
    return;
  path = aic_job_get_source_path (job);
  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *message = g_strdup_printf (_("“%s” is no longer where it was opened from; open it again to summarize it."),
                                                  aic_job_get_filename (job));
      show_message (self, message);
      return;
    }
  file = g_file_new_for_path (path);
  again = aic_job_manager_submit_file (self->manager, file, aic_job_get_instructions (job));
  if (again == NULL)
    return;
  if (!aic_job_manager_remove (self->manager, job, &error))
    g_debug ("The failed entry stays in the list: %s", error->message);
  aic_documents_page_select_job (self, again);
}

static void
copy_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (widget);
  g_autofree char *markdown = NULL;

  if (self->selected == NULL || aic_job_get_status (self->selected) != AIC_JOB_DONE)
    return;
  markdown = aic_job_dup_markdown (self->selected);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), markdown);
  show_message (self, _("Summary copied"));
}

static void
open_saved_cb (AdwToast         *toast,
               AicDocumentsPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, g_object_get_data (G_OBJECT (toast), "uri"),
                GDK_CURRENT_TIME);
}

static void
exported_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(AicDocumentsPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    {
      g_autofree char *message = g_strdup_printf (_("The summary could not be saved: %s"), error->message);
      show_message (self, message);
      return;
    }
  {
    g_autofree char *path = g_file_get_path (G_FILE (object));
    g_autofree char *shown = path ? aic_display_path (path) : g_file_get_uri (G_FILE (object));
    /* Translators: %s is where the summary was saved, such as ~/Documents/Wind.md */
    g_autofree char *text = g_strdup_printf (_("Summary saved to %s"), shown);
    GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
    AdwToast *toast;

    if (overlay == NULL)
      {
        show_message (self, text);
        return;
      }
    /* Where it went, and a way to look at it. */
    toast = adw_toast_new (text);
    adw_toast_set_button_label (toast, _("_Open"));
    g_object_set_data_full (G_OBJECT (toast), "uri", g_file_get_uri (G_FILE (object)), g_free);
    g_signal_connect_object (toast, "button-clicked", G_CALLBACK (open_saved_cb), self, 0);
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
  }
}

static void
export_job (AicDocumentsPage *self,
            AicJob           *job,
            GFile            *file)
{
  char *markdown = aic_job_dup_markdown (job);
  gsize length = strlen (markdown);
  g_autoptr(GBytes) bytes = g_bytes_new_take (markdown, length);

  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                       exported_cb, g_object_ref (self));
}

static void
export_response_cb (GtkNativeDialog *chooser,
                    int              response,
                    gpointer         user_data)
{
  g_autoptr(AicDocumentsPage) self = user_data;
  g_autoptr(AicJob) job = g_object_steal_data (G_OBJECT (chooser), "job");

  if (response == GTK_RESPONSE_ACCEPT && job != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      export_job (self, job, file);
    }
  g_object_unref (chooser);
}

/**
 * aic_documents_page_export_to:
 * Saves the selected summary to @file as Markdown, as Export… does once
 * a file is chosen, and says where it went.
 */
void
aic_documents_page_export_to (AicDocumentsPage *self,
                              GFile            *file)
{
  g_return_if_fail (AIC_IS_DOCUMENTS_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->selected != NULL && aic_job_get_status (self->selected) == AIC_JOB_DONE)
    export_job (self, self->selected, file);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;
  const char *title;

  if (self->selected == NULL || aic_job_get_status (self->selected) != AIC_JOB_DONE)
    return;
  title = aic_job_get_title (self->selected);
  name = g_strdup_printf ("%s.md", title && title[0] ? title : aic_job_get_filename (self->selected));
  g_strdelimit (name, "/\\", '-');

  chooser = gtk_file_chooser_native_new (_("Export Summary"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "job", g_object_ref (self->selected), g_object_unref);
  g_signal_connect (chooser, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- object ---- */

static void
aic_documents_page_dispose (GObject *object)
{
  AicDocumentsPage *self = AIC_DOCUMENTS_PAGE (object);

  set_selected (self, NULL);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (aic_job_manager_get_jobs (self->manager), self);
  g_clear_object (&self->manager);
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_DOCUMENTS_PAGE);

  G_OBJECT_CLASS (aic_documents_page_parent_class)->dispose (object);
}

static void
aic_documents_page_class_init (AicDocumentsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_documents_page_dispose;

  /**
   * AicDocumentsPage::show-message:
   * @message: a sentence for a toast
   */
  signals[SHOW_MESSAGE] =
    g_signal_new ("show-message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-documents-page.ui");
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, detail_stack);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, failed_page);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, none_page);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, instructions_entry);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, jobs_list);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, leaflet);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, list_pane);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, points_heading);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, result_points);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, result_source);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, result_summary);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, result_title);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, working_label);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, working_page);
  gtk_widget_class_bind_template_child (widget_class, AicDocumentsPage, working_progress);
  gtk_widget_class_bind_template_callback (widget_class, on_back_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);

  gtk_widget_class_install_action (widget_class, "documents.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "documents.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "documents.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "documents.retry", NULL, retry_action);
  gtk_widget_class_install_action (widget_class, "documents.copy", NULL, copy_action);
  gtk_widget_class_install_action (widget_class, "documents.export", NULL, export_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "documents.open", NULL);
}

static void
aic_documents_page_init (AicDocumentsPage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_object (self->selection, "notify::selected-item", G_CALLBACK (selection_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect (factory, "setup", G_CALLBACK (row_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (row_bind_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (row_unbind_cb), NULL);
  gtk_list_view_set_factory (self->jobs_list, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->jobs_list, GTK_SELECTION_MODEL (self->selection));
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_BUBBLE);
  g_signal_connect_object (click, "released", G_CALLBACK (row_clicked_cb), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self->jobs_list), GTK_EVENT_CONTROLLER (click));
  aic_label_make_selectable (self->result_title);
  aic_label_make_selectable (self->result_summary);
  aic_label_make_selectable (self->result_points);
  g_signal_connect_object (self->leaflet, "notify::folded", G_CALLBACK (update_empty_state), self, G_CONNECT_SWAPPED);
  update_empty_state (self);
  update_actions (self);
}

void
aic_documents_page_set_manager (AicDocumentsPage *self,
                                AicJobManager    *manager)
{
  g_return_if_fail (AIC_IS_DOCUMENTS_PAGE (self));
  g_return_if_fail (manager == NULL || AIC_IS_JOB_MANAGER (manager));

  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (aic_job_manager_get_jobs (self->manager), self);
  set_selected (self, NULL);
  g_set_object (&self->manager, manager);
  gtk_single_selection_set_model (self->selection, manager ? aic_job_manager_get_jobs (manager) : NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self), manager != NULL);
  if (manager == NULL)
    return;
  g_signal_connect_object (aic_job_manager_get_jobs (manager), "items-changed",
                           G_CALLBACK (items_changed_cb), self, G_CONNECT_SWAPPED);
  items_changed_cb (self);
}

/**
 * aic_documents_page_add_files:
 * @files: (element-type GFile): documents to summarise
 *
 * Sends each file and selects the last one.
 */
void
aic_documents_page_add_files (AicDocumentsPage *self,
                              GListModel       *files)
{
  AicJob *job = NULL;

  g_return_if_fail (AIC_IS_DOCUMENTS_PAGE (self));

  if (self->manager == NULL)
    {
      show_message (self, _("Documents cannot be kept: the app’s data could not be opened."));
      return;
    }
  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(GFile) file = g_list_model_get_item (files, i);

      if (g_file_query_file_type (file, G_FILE_QUERY_INFO_NONE, NULL) == G_FILE_TYPE_DIRECTORY)
        {
          g_autofree char *name = g_file_get_basename (file);
          g_autofree char *message = g_strdup_printf (_("“%s” is a folder; choose the documents in it."), name);
          show_message (self, message);
          continue;
        }
      job = aic_job_manager_submit_file (self->manager, file,
                                         gtk_editable_get_text (GTK_EDITABLE (self->instructions_entry)));
    }
  if (job != NULL)
    aic_documents_page_select_job (self, job);
}

void
aic_documents_page_select_job (AicDocumentsPage *self,
                               AicJob           *job)
{
  guint position;

  g_return_if_fail (AIC_IS_DOCUMENTS_PAGE (self));

  if (self->manager == NULL ||
      !g_list_store_find (G_LIST_STORE (aic_job_manager_get_jobs (self->manager)), job, &position))
    return;
  gtk_single_selection_set_selected (self->selection, position);
}

AicJob *
aic_documents_page_get_selected (AicDocumentsPage *self)
{
  g_return_val_if_fail (AIC_IS_DOCUMENTS_PAGE (self), NULL);
  return self->selected;
}
