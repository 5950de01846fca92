/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "aic-application.h"
#include "aic-connection-editor.h"
#include "aic-preferences-window.h"
#include "aic-window.h"

struct _AicApplication
{
  AdwApplication       parent_instance;

  GSettings           *settings;
  AicConnectionStore  *connections;
  AicSession          *session;
  char                *store_error;
};

G_DEFINE_FINAL_TYPE (AicApplication, aic_application, ADW_TYPE_APPLICATION)

/* Starting up frees much of what it allocates (the style sheets and
 * templates parsed, GtkSourceView's definitions read, the first layouts),
 * and glibc keeps the freed pages: 2.5 MiB of the RSS at start, returned
 * once the first window is up and nothing more urgent is waiting
 * (bench/RESULTS.md, issue 14). */
static gboolean
trim_cb (gpointer data)
{
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  return G_SOURCE_REMOVE;
}

static void
window_mapped_cb (GtkWidget *window)
{
  g_signal_handlers_disconnect_by_func (window, window_mapped_cb, NULL);
  g_idle_add_full (G_PRIORITY_LOW, trim_cb, NULL, NULL);
}

static AicWindow *
new_window (AicApplication *self)
{
  AicWindow *window = aic_window_new (GTK_APPLICATION (self), self->session, self->settings, self->store_error);

  g_signal_connect_after (window, "map", G_CALLBACK (window_mapped_cb), NULL);
  return window;
}

static void
show_preferences (AicApplication *self,
                  gboolean        add_connection)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  AicPreferencesWindow *preferences = NULL;

  /* One Preferences window at a time. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    if (AIC_IS_PREFERENCES_WINDOW (l->data))
      preferences = l->data;

  if (preferences == NULL)
    {
      preferences = aic_preferences_window_new (self->connections);
      if (AIC_IS_WINDOW (parent))
        gtk_window_set_transient_for (GTK_WINDOW (preferences), parent);
      gtk_window_set_application (GTK_WINDOW (preferences), GTK_APPLICATION (self));
    }
  gtk_window_present (GTK_WINDOW (preferences));

  if (add_connection)
    aic_preferences_window_add_connection (preferences);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  show_preferences (AIC_APPLICATION (user_data), FALSE);
}

static void
add_connection_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  show_preferences (AIC_APPLICATION (user_data), TRUE);
}

/* The help page of each view. */
static const char *
help_page_for (GtkWindow *window)
{
  const char *view = AIC_IS_WINDOW (window) ? aic_window_get_view (AIC_WINDOW (window)) : NULL;

  if (g_strcmp0 (view, "agent") == 0)
    return "agents";
  if (g_strcmp0 (view, "chat") == 0 || g_strcmp0 (view, "documents") == 0 || g_strcmp0 (view, "voice") == 0)
    return view;
  return "index";
}

static void
show_help_message (GObject    *window,
                   const char *message)
{
  if (AIC_IS_WINDOW (window))
    aic_window_show_error (AIC_WINDOW (window), message);
}

static void
html_shown_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autofree char *path = user_data;
  g_autoptr(GError) error = NULL;

  if (gtk_show_uri_full_finish (GTK_WINDOW (object), result, &error))
    {
      show_help_message (object, _("There is no help viewer here, so the help opens in your web browser."));
      return;
    }
  g_debug ("No browser for the help: %s", error->message);
  {
    /* Translators: %s is where the help's HTML pages are, such as /usr/share/ai-console/help/C/html/chat.html */
    g_autofree char *message = g_strdup_printf (_("No help viewer or web browser could be opened. The help is in %s."), path);
    show_help_message (object, message);
  }
}

/* Yelp is not everywhere: without it, the same pages as HTML. */
static void
help_shown_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autofree char *page = user_data;
  g_autoptr(GError) error = NULL;
  const char *dir = g_getenv ("AI_CONSOLE_HELP_HTML_DIR");
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *uri = NULL;

  if (gtk_show_uri_full_finish (GTK_WINDOW (object), result, &error))
    return;

  g_debug ("help: could not be opened: %s", error->message);
  file = g_strconcat (page, ".html", NULL);
  path = g_build_filename (dir != NULL && dir[0] != '\0' ? dir : HELP_HTML_DIR, file, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *message = g_strdup_printf (_("The help could not be opened: %s"), error->message);
      show_help_message (object, message);
      return;
    }
  uri = g_filename_to_uri (path, NULL, NULL);
  gtk_show_uri_full (GTK_WINDOW (object), uri, GDK_CURRENT_TIME, NULL, html_shown_cb, g_steal_pointer (&path));
}

static void
help_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  const char *page = help_page_for (window);
  g_autofree char *uri = g_strdup_printf ("help:%s/%s", PACKAGE_NAME, page);

  gtk_show_uri_full (window, uri, GDK_CURRENT_TIME, NULL, help_shown_cb, g_strdup (page));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  AicApplication *self = user_data;
  static const char *developers[] = { "The AI Console developers", NULL };
  GtkWindow *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "application-icon", APP_ID,
                        "application-name", _("AI Console"),
                        "developer-name", _("The AI Console developers"),
                        "version", PACKAGE_VERSION,
                        "website", "https://github.com/aiconsole/ai-console",
                        "issue-url", "https://github.com/aiconsole/ai-console/issues",
                        "support-url", "https://github.com/aiconsole/ai-console/discussions",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "copyright", "© 2026 The AI Console developers",
                        "developers", developers,
                        /* Translators: replace with your names, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (about);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
show_documents_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  AicApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (new_window (self));
  aic_window_show_view (AIC_WINDOW (window), "documents");
  gtk_window_present (window);
}

/* A job that ends while nobody looks gets a desktop notification. */
static void
job_finished_cb (AicJobManager  *manager,
                 AicJob         *job,
                 AicApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *id = NULL;
  const char *title = aic_job_get_title (job);

  if (window != NULL && gtk_window_is_active (window))
    return;
  if (aic_job_get_status (job) == AIC_JOB_DONE)
    {
      notification = g_notification_new (_("Summary Ready"));
      g_notification_set_body (notification, title && title[0] ? title : aic_job_get_filename (job));
    }
  else if (aic_job_get_status (job) == AIC_JOB_FAILED)
    {
      g_autofree char *body = g_strdup_printf ("%s: %s", aic_job_get_filename (job),
                                               aic_job_get_error (job) ? aic_job_get_error (job) : "");
      notification = g_notification_new (_("Document Could Not Be Summarized"));
      g_notification_set_body (notification, body);
    }
  else
    return;

  g_notification_set_default_action (notification, "app.show-documents");
  id = g_strdup_printf ("job-%s", aic_job_get_id (job));
  g_application_send_notification (G_APPLICATION (self), id, notification);
}

static const GActionEntry app_actions[] = {
  { "show-documents", show_documents_action },
  { "preferences", preferences_action },
  { "add-connection", add_connection_action },
  { "help", help_action },
  { "about", about_action },
  { "quit", quit_action },
};

static void
aic_application_activate (GApplication *application)
{
  AicApplication *self = AIC_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (new_window (self));
  gtk_window_present (window);
}

/* `ai-console FILE…` (and Open With in Files): summarise them. */
static void
aic_application_open (GApplication  *application,
                      GFile        **files,
                      int            n_files,
                      const char    *hint)
{
  AicApplication *self = AIC_APPLICATION (application);
  g_autoptr(GListStore) list = g_list_store_new (G_TYPE_FILE);
  GtkWindow *window;

  g_application_activate (application);
  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  for (int i = 0; i < n_files; i++)
    g_list_store_append (list, files[i]);
  if (AIC_IS_WINDOW (window))
    aic_window_open_documents (AIC_WINDOW (window), G_LIST_MODEL (list));
}

static void
aic_application_startup (GApplication *application)
{
  AicApplication *self = AIC_APPLICATION (application);
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *help_accels[] = { "F1", NULL };
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };

  G_APPLICATION_CLASS (aic_application_parent_class)->startup (application);
  gtk_source_init ();

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.help", help_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);

  {
    g_autofree char *path = aic_store_default_path ();
    g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "ai-console", "builtin", NULL);
    g_autoptr(GError) error = NULL;

    self->session = aic_session_new (data_dir);
    /* AI_CONSOLE_NO_LOCAL_PROBE=1 keeps tests independent of what runs here. */
    aic_session_set_probe_local (self->session, g_strcmp0 (g_getenv ("AI_CONSOLE_NO_LOCAL_PROBE"), "1") != 0);
    if (!aic_session_open_history (self->session, path, "app", &error))
      {
        g_warning ("Could not open %s: %s", path, error->message);
        self->store_error = g_strdup (error->message);
      }
    else
      g_signal_connect_object (aic_session_get_job_manager (self->session), "job-finished",
                               G_CALLBACK (job_finished_cb), self, 0);
  }

  self->settings = g_settings_new (BASE_APP_ID);
  self->connections = aic_connection_store_new (self->settings);
  aic_session_follow (self->session, self->connections);
}

static void
aic_application_shutdown (GApplication *application)
{
  AicApplication *self = AIC_APPLICATION (application);

  /* Jobs are saved as they are; the next start follows them again. */
  g_clear_object (&self->session);

  G_APPLICATION_CLASS (aic_application_parent_class)->shutdown (application);
}

static void
aic_application_finalize (GObject *object)
{
  AicApplication *self = AIC_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->connections);
  g_clear_object (&self->session);
  g_clear_pointer (&self->store_error, g_free);

  G_OBJECT_CLASS (aic_application_parent_class)->finalize (object);
}

static void
aic_application_class_init (AicApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = aic_application_finalize;

  app_class->activate = aic_application_activate;
  app_class->startup = aic_application_startup;
  app_class->open = aic_application_open;
  app_class->shutdown = aic_application_shutdown;
}

static void
aic_application_init (AicApplication *self)
{
}

AicApplication *
aic_application_new (void)
{
  return g_object_new (AIC_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "resource-base-path", RESOURCE_PATH,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       NULL);
}

GSettings *
aic_application_get_settings (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->settings;
}

AicConnectionStore *
aic_application_get_connections (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->connections;
}

/**
 * aic_application_get_session:
 * Returns: (transfer none) (nullable): who answers the views, with the
 *   history; %NULL before startup and after shutdown
 */
AicSession *
aic_application_get_session (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->session;
}
