/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "aic-documents-page.h"
#include "aic-server.h"
#include "aic-test-util.h"
#include "aic-ui-test-util.h"

/* The Documents view on a real AicServer (demo engine) and a real job
 * manager: files in, rows with progress, the result with its actions, a
 * refused document in words. */

static const char document[] =
  "# Wind and water\n\n"
  "Small hydro plants turn river flow into steady electricity for villages. "
  "Wind turbines add power in winter when rivers freeze and hydro output drops. "
  "Together the two sources cover most of the yearly demand in mountain valleys.\n";

static GtkWidget *
find_child (GtkWidget  *widget,
            const char *name)
{
  return GTK_WIDGET (gtk_widget_get_template_child (widget, AIC_TYPE_DOCUMENTS_PAGE, name));
}

static gboolean
job_finished (gpointer data)
{
  return aic_job_is_finished (data);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_IS_REGULAR);
}

static gboolean
has_label_starting (GtkWidget  *widget,
                    const char *prefix)
{
  if (GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_label (GTK_LABEL (widget)), prefix))
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    if (has_label_starting (child, prefix))
      return TRUE;
  return FALSE;
}

/* The toast names the file (the temporary folder is not under home, so
 * its full path) and offers Open. */
static gboolean
toast_says_saved (gpointer data)
{
  return has_label_starting (data, "Summary saved to /") && has_label_starting (data, "_Open");
}

static gboolean
page_unfolded (gpointer data)
{
  AdwLeaflet *leaflet = ADW_LEAFLET (find_child (GTK_WIDGET (data), "leaflet"));

  return gtk_widget_get_mapped (GTK_WIDGET (leaflet)) && !adw_leaflet_get_folded (leaflet);
}

static void
test_documents_page (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicServer) server = aic_server_new (engine, NULL);
  g_autofree char *url = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicStore) store = aic_store_open (":memory:", &error);
  g_autoptr(AicJobManager) manager = aic_job_manager_new (store, "app");
  g_autofree char *dir = g_dir_make_tmp ("aic-docs-XXXXXX", &error);
  g_autofree char *good = g_build_filename (dir, "wind.md", NULL);
  g_autofree char *bad = g_build_filename (dir, "photo.png", NULL);
  g_autoptr(GListStore) files = g_list_store_new (G_TYPE_FILE);
  GtkWidget *window = gtk_window_new ();
  AicDocumentsPage *page = g_object_new (AIC_TYPE_DOCUMENTS_PAGE, NULL);
  GListModel *jobs = aic_job_manager_get_jobs (manager);
  g_autoptr(AicJob) photo_job = NULL;
  g_autoptr(AicJob) wind_job = NULL;
  g_autofree char *copied = NULL;
  GtkListView *list;
  GtkWidget *overlay;

  aic_engine_set_demo_delay (engine, 5);
  g_assert_true (aic_server_listen (server, "127.0.0.1", 0, &error));
  url = aic_server_dup_url (server);
  connection = aic_connection_new ("test", "Test", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, NULL);
  aic_job_manager_set_client (manager, client);

  g_assert_true (g_file_set_contents (good, document, -1, &error));
  g_assert_true (g_file_set_contents (bad, "\x89PNG\r\n\x1a\nrest", 12, &error));
  g_list_store_append (files, g_file_new_for_path (bad));
  g_list_store_append (files, g_file_new_for_path (good));
  g_object_unref (g_list_model_get_item (G_LIST_MODEL (files), 0));
  g_object_unref (g_list_model_get_item (G_LIST_MODEL (files), 1));

  overlay = adw_toast_overlay_new ();
  adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), GTK_WIDGET (page));
  gtk_window_set_child (GTK_WINDOW (window), overlay);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  aic_documents_page_set_manager (page, manager);
  gtk_window_present (GTK_WINDOW (window));
  aic_test_wait_for (page_unfolded, page, 5000);
  /* Empty and wide: one empty state, in the detail pane, not two side by
   * side. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "list_stack"))), ==, "blank");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack"))), ==, "none");
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (find_child (GTK_WIDGET (page), "none_page"))), ==,
                   "No Documents");

  aic_documents_page_add_files (page, G_LIST_MODEL (files));
  g_assert_cmpuint (g_list_model_get_n_items (jobs), ==, 2);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "list_stack"))), ==, "list");
  wind_job = g_list_model_get_item (jobs, 0);
  photo_job = g_list_model_get_item (jobs, 1);
  g_assert_cmpstr (aic_job_get_filename (wind_job), ==, "wind.md");
  /* The last file added is selected, and shows its progress. */
  g_assert_true (aic_documents_page_get_selected (page) == wind_job);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack"))), ==, "working");

  /* The keyboard focus is on the progress page's Cancel when the summary
   * comes. */
  {
    GtkWidget *working = gtk_stack_get_visible_child (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack")));

    while (!gtk_widget_get_mapped (working))
      g_main_context_iteration (NULL, TRUE);
    g_assert_false (aic_job_is_finished (wind_job));
    g_assert_true (gtk_widget_child_focus (working, GTK_DIR_TAB_FORWARD));
  }
  aic_test_wait_for (job_finished, wind_job, 20000);
  aic_test_wait_for (job_finished, photo_job, 20000);
  aic_test_settle (100);
  g_assert_cmpint (aic_job_get_status (wind_job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack"))), ==, "result");
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (find_child (GTK_WIDGET (page), "result_title"))), ==, "Wind and water");
  /* Tab into the result goes to its buttons: the title and the summary
   * are not walked through, nor selected as if to be copied (GTK selects
   * all of a selectable label that Tab reaches; issue 15, item 9). */
  {
    GtkWidget *result = gtk_stack_get_visible_child (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack")));
    GtkWidget *focus;

    g_assert_true (gtk_widget_child_focus (result, GTK_DIR_TAB_FORWARD));
    focus = gtk_window_get_focus (GTK_WINDOW (window));
    g_assert_true (GTK_IS_BUTTON (focus));
    g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (focus)), ==, "documents.copy");
  }
  g_assert_false (gtk_label_get_selection_bounds (GTK_LABEL (find_child (GTK_WIDGET (page), "result_title")), NULL, NULL));
  g_assert_false (gtk_label_get_selection_bounds (GTK_LABEL (find_child (GTK_WIDGET (page), "result_summary")), NULL, NULL));
  g_assert_true (gtk_label_get_selectable (GTK_LABEL (find_child (GTK_WIDGET (page), "result_title"))));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (find_child (GTK_WIDGET (page), "result_summary"))), "hydro"));
  g_assert_true (g_str_has_prefix (gtk_label_get_label (GTK_LABEL (find_child (GTK_WIDGET (page), "result_points"))), "• "));

  /* Narrow: a row opened from the list (its activation, as Enter or a
   * click does) shows the result pane, and the leaflet moves the focus
   * into it: to a control, and the title is still not selected. */
  {
    GtkListView *jobs_list = GTK_LIST_VIEW (find_child (GTK_WIDGET (page), "jobs_list"));
    AdwLeaflet *leaflet = ADW_LEAFLET (find_child (GTK_WIDGET (page), "leaflet"));
    GtkWidget *focus;

    gtk_window_set_default_size (GTK_WINDOW (window), 360, 700);
    while (!adw_leaflet_get_folded (leaflet))
      g_main_context_iteration (NULL, TRUE);
    adw_leaflet_navigate (leaflet, ADW_NAVIGATION_DIRECTION_BACK);
    aic_test_settle (400);
    gtk_widget_grab_focus (GTK_WIDGET (jobs_list));
    g_signal_emit_by_name (jobs_list, "activate", 0);
    aic_test_settle (400);
    focus = gtk_root_get_focus (GTK_ROOT (window));
    g_assert_true (GTK_IS_WIDGET (focus) && !GTK_IS_LABEL (focus));
    g_assert_false (gtk_label_get_selection_bounds (GTK_LABEL (find_child (GTK_WIDGET (page), "result_title")), NULL, NULL));
    gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
    while (adw_leaflet_get_folded (leaflet))
      g_main_context_iteration (NULL, TRUE);
  }

  /* Copy puts the Markdown on the clipboard. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "documents.copy", NULL));
  {
    GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (page));
    g_autoptr(GAsyncResult) result = NULL;

    gdk_clipboard_read_text_async (clipboard, NULL, aic_test_store_result_cb, &result);
    aic_test_wait_result (&result, 5000);
    copied = gdk_clipboard_read_text_finish (clipboard, result, &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (copied, "# Wind and water\n"));
  }

  /* Export writes the Markdown and says where, with a way to open it. */
  {
    g_autofree char *saved = g_build_filename (dir, "Wind and water.md", NULL);
    g_autoptr(GFile) file = g_file_new_for_path (saved);
    g_autofree char *contents = NULL;

    aic_documents_page_export_to (page, file);
    aic_test_wait_for (file_exists, saved, 5000);
    aic_test_wait_for (toast_says_saved, overlay, 5000);
    g_assert_true (g_file_get_contents (saved, &contents, NULL, NULL));
    g_assert_true (g_str_has_prefix (contents, "# Wind and water\n"));
    g_unlink (saved);
  }

  /* The refused one says why, in words. */
  g_assert_cmpint (aic_job_get_status (photo_job), ==, AIC_JOB_FAILED);
  aic_documents_page_select_job (page, photo_job);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack"))), ==, "failed");
  g_assert_nonnull (strstr (adw_status_page_get_description (ADW_STATUS_PAGE (find_child (GTK_WIDGET (page), "failed_page"))),
                            "cannot read"));
  list = GTK_LIST_VIEW (find_child (GTK_WIDGET (page), "jobs_list"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (gtk_list_view_get_model (list))), ==, 2);
  g_assert_true (gtk_selection_model_is_selected (gtk_list_view_get_model (list), 1));

  /* Try Again sends it again, as a new job from its file; the failed
   * entry goes. (It fails again: it is still a photo.) */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "documents.retry", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (jobs), ==, 2);
  g_assert_false (g_list_store_find (G_LIST_STORE (jobs), photo_job, NULL));
  g_set_object (&photo_job, aic_documents_page_get_selected (page));
  g_assert_nonnull (photo_job);
  g_assert_cmpstr (aic_job_get_filename (photo_job), ==, "photo.png");
  aic_test_wait_for (job_finished, photo_job, 20000);
  g_assert_cmpint (aic_job_get_status (photo_job), ==, AIC_JOB_FAILED);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack"))), ==, "failed");

  /* Remove takes it off the list and out of the store. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "documents.remove", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (jobs), ==, 1);
  g_assert_null (aic_documents_page_get_selected (page));
  {
    g_autoptr(GPtrArray) saved = aic_store_list_jobs (store, "app", FALSE, &error);
    g_assert_cmpuint (saved->len, ==, 1);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  g_unlink (good);
  g_unlink (bad);
  g_rmdir (dir);
}

/* A year of documents: a start reads each saved job's title but leaves
 * its summary in the store; the list makes rows for what is in view, not
 * one per job (it was a GtkListBox: 10,000 jobs made 10,000 rows, 6 s and
 * 227 MiB before the page was drawn); and a job far down the list is
 * selected and shown, its summary read in then. */
static void
test_many_jobs (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (":memory:", &error);
  g_autoptr(AicJobManager) manager = aic_job_manager_new (store, "app");
  GtkWidget *window = gtk_window_new ();
  AicDocumentsPage *page = g_object_new (AIC_TYPE_DOCUMENTS_PAGE, NULL);
  GListModel *jobs = aic_job_manager_get_jobs (manager);
  GtkWidget *list;
  g_autoptr(AicJob) far = NULL;
  GtkAdjustment *adjustment;
  guint rows = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *id = g_strdup_printf ("job-%04u", i);
      g_autofree char *name = g_strdup_printf ("report-%04u.pdf", i);
      g_autofree char *result = g_strdup_printf ("{\"title\": \"Report %u\", \"summary\": \"What report %u says.\", "
                                                 "\"key_points\": [\"One\"]}", i, i);
      g_autoptr(AicJob) job = aic_job_restore (id, name, id, AIC_JOB_DONE, 100, NULL, NULL, NULL,
                                               1000000 * (gint64) (10000 - i), 1000000 * (gint64) (10000 - i));

      aic_job_set_owner (job, "app");
      g_assert_true (aic_job_set_result_json (job, result, &error));
      g_assert_true (aic_store_save_job (store, job, &error));
    }
  g_assert_true (aic_job_manager_load (manager, FALSE, &error));
  g_assert_cmpuint (g_list_model_get_n_items (jobs), ==, 2000);
  /* A start reads the titles, not the summaries. */
  far = g_list_model_get_item (jobs, 1500);
  g_assert_cmpstr (aic_job_get_filename (far), ==, "report-1500.pdf");
  g_assert_cmpstr (aic_job_get_title (far), ==, "Report 1500");
  g_assert_true (aic_job_get_result_unread (far));

  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  aic_documents_page_set_manager (page, manager);
  aic_test_wait_frames (window, 3);
  list = find_child (GTK_WIDGET (page), "jobs_list");
  g_assert_true (GTK_IS_LIST_VIEW (list));
  for (GtkWidget *child = gtk_widget_get_first_child (list); child; child = gtk_widget_get_next_sibling (child))
    rows++;
  g_test_message ("%u rows made for 2,000 jobs", rows);
  /* GTK 4.8's list view keeps about 200 rows around what is in view. */
  g_assert_cmpuint (rows, >, 5);
  g_assert_cmpuint (rows, <=, 250);

  /* Shown, its summary is read in. */
  aic_documents_page_select_job (page, far);
  g_assert_true (aic_documents_page_get_selected (page) == far);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (find_child (GTK_WIDGET (page), "detail_stack"))), ==, "result");
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (find_child (GTK_WIDGET (page), "result_title"))), ==, "Report 1500");
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (find_child (GTK_WIDGET (page), "result_summary"))), ==,
                   "What report 1500 says.");
  g_assert_false (aic_job_get_result_unread (far));

  adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (list));
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  aic_test_wait_frames (window, 3);
  rows = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (list); child; child = gtk_widget_get_next_sibling (child))
    rows++;
  g_assert_cmpuint (rows, <=, 250);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/documents-page/flow", test_documents_page);
  g_test_add_func ("/documents-page/many-jobs", test_many_jobs);

  return g_test_run ();
}
