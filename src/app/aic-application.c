/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "aic-application.h"
#include "aic-connection-editor.h"
#include "aic-embedded-backend.h"
#include "aic-local-probe.h"
#include "aic-preferences-window.h"
#include "aic-secrets.h"
#include "aic-window.h"

struct _AicApplication
{
  AdwApplication       parent_instance;

  GSettings           *settings;
  AicConnectionStore  *connections;
  AicEmbeddedBackend  *backend;
  GCancellable        *cancellable;

  AicBackendState      backend_state;
  char                *backend_summary;
  char                *backend_detail;
  char                *backend_error;

  AicClient           *client;       /* what the views talk to, or NULL */
  char               **models;
  guint                client_serial;
  AicStore            *store;
  AicJobManager       *job_manager;
  char                *store_error;
};

G_DEFINE_FINAL_TYPE (AicApplication, aic_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_BACKEND_STATE,
  PROP_BACKEND_SUMMARY,
  PROP_BACKEND_DETAIL,
  PROP_CLIENT,
  PROP_MODELS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
replace_string (char       **field,
                const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
set_backend_state (AicApplication  *self,
                   AicBackendState  state,
                   const char      *summary,
                   const char      *detail)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->backend_state != state)
    {
      self->backend_state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_STATE]);
    }
  if (replace_string (&self->backend_summary, summary))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_SUMMARY]);
  if (replace_string (&self->backend_detail, detail))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_DETAIL]);
  g_object_thaw_notify (G_OBJECT (self));
}

typedef struct
{
  AicApplication *self;
  guint serial;
} ClientRequest;

static ClientRequest *
client_request_new (AicApplication *self)
{
  ClientRequest *request = g_new0 (ClientRequest, 1);

  request->self = g_object_ref (self);
  request->serial = self->client_serial;
  return request;
}

static void
client_request_free (ClientRequest *request)
{
  g_object_unref (request->self);
  g_free (request);
}

static void
models_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  ClientRequest *request = user_data;
  AicApplication *self = request->self;
  g_autoptr(AicServiceInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  info = aic_client_check_finish (AIC_CLIENT (object), result, &error);
  if (request->serial == self->client_serial)
    {
      if (info == NULL)
        g_debug ("No model list: %s", error->message);
      g_strfreev (self->models);
      self->models = info ? g_strdupv (info->models) : g_new0 (char *, 1);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODELS]);
    }
  client_request_free (request);
}

/* Every change of backend makes a new client; answers meant for an older
 * one are dropped by the serial. */
static void
set_client (AicApplication *self,
            AicClient      *client)
{
  self->client_serial++;
  g_set_object (&self->client, client);
  if (self->job_manager != NULL)
    aic_job_manager_set_client (self->job_manager, client);
  g_clear_pointer (&self->models, g_strfreev);
  self->models = g_new0 (char *, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODELS]);

  if (client != NULL)
    aic_client_check_async (client, self->cancellable, models_cb, client_request_new (self));
}

static void
key_found_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  ClientRequest *request = user_data;
  AicApplication *self = request->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = aic_secrets_lookup_finish (result, &error);
  AicConnection *active;

  if (request->serial == self->client_serial &&
      (active = aic_connection_store_get_active (self->connections)) != NULL)
    {
      g_autoptr(AicClient) client = NULL;

      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

          if (AIC_IS_WINDOW (window))
            aic_window_show_error (AIC_WINDOW (window), error->message);
        }
      client = aic_client_new (active, key);
      set_client (self, client);
    }
  client_request_free (request);
}

static void
use_builtin_client (AicApplication *self)
{
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;

  connection = aic_connection_new ("builtin", _("Built-in"), AIC_CONNECTION_KIND_CONSOLE,
                                   aic_embedded_backend_get_url (self->backend));
  client = aic_client_new (connection, aic_embedded_backend_get_token (self->backend));
  set_client (self, client);
}

static void
describe_builtin (AicApplication *self)
{
  const char *label = aic_embedded_backend_get_engine_label (self->backend);
  g_autofree char *summary = NULL;
  g_autofree char *detail = NULL;

  if (self->client == NULL ||
      g_strcmp0 (aic_connection_get_id (aic_client_get_connection (self->client)), "builtin") != 0)
    use_builtin_client (self);

  if (aic_embedded_backend_is_demo (self->backend))
    {
      set_backend_state (self, AIC_BACKEND_STATE_BUILTIN_DEMO,
                         /* Translators: the header bar subtitle */
                         _("Built-in · Demo engine"),
                         _("The built-in backend is running the offline demo engine: its answers are canned examples, not a real model."));
      return;
    }

  /* Translators: the header bar subtitle; %s is like “Ollama at 127.0.0.1:11434” */
  summary = g_strdup_printf (_("Built-in · %s"), label);
  detail = g_strdup_printf (_("The built-in backend is using %s on this computer."), label);
  set_backend_state (self, AIC_BACKEND_STATE_BUILTIN_LOCAL, summary, detail);
}

static void
backend_started_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(AicApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_embedded_backend_start_finish (AIC_EMBEDDED_BACKEND (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_warning ("The built-in backend did not start: %s", error->message);
      self->backend_error = g_strdup_printf (_("The built-in backend could not start: %s"), error->message);
      if (aic_connection_store_get_active (self->connections) == NULL)
        set_backend_state (self, AIC_BACKEND_STATE_FAILED,
                           _("Built-in backend unavailable"), self->backend_error);
      return;
    }

  g_message ("Built-in backend on %s using %s",
             aic_embedded_backend_get_url (self->backend),
             aic_embedded_backend_get_engine_label (self->backend));
  if (aic_connection_store_get_active (self->connections) == NULL)
    describe_builtin (self);
}


static void
probe_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(AicApplication) self = user_data;
  g_autoptr(AicLocalProvider) provider = NULL;
  g_autoptr(GError) error = NULL;

  provider = aic_local_probe_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  aic_embedded_backend_start_async (self->backend,
                                    provider ? provider->base_url : NULL,
                                    provider ? provider->name : NULL,
                                    self->cancellable,
                                    backend_started_cb,
                                    g_object_ref (self));
}

static void
start_builtin (AicApplication *self)
{
  const AicLocalCandidate *candidates;
  guint n_candidates;

  self->backend = aic_embedded_backend_new ();
  set_backend_state (self, AIC_BACKEND_STATE_STARTING,
                     _("Starting the built-in backend…"), NULL);

  /* AI_CONSOLE_NO_LOCAL_PROBE=1 keeps tests independent of what runs here. */
  if (g_strcmp0 (g_getenv ("AI_CONSOLE_NO_LOCAL_PROBE"), "1") == 0)
    n_candidates = 0, candidates = NULL;
  else
    candidates = aic_local_probe_default_candidates (&n_candidates);

  aic_local_probe_async (candidates, n_candidates, 2, self->cancellable,
                         probe_cb, g_object_ref (self));
}

/* The views are served by the active connection, or by the built-in
 * backend when there is none; the built-in backend starts on first need
 * and then stays up. */
static void
update_backend (AicApplication *self)
{
  AicConnection *active = aic_connection_store_get_active (self->connections);

  if (active != NULL)
    {
      g_autofree char *detail = g_strdup_printf (_("Using the connection “%s” (%s)."),
                                                 aic_connection_get_name (active),
                                                 aic_connection_get_base_url (active));
      set_backend_state (self, AIC_BACKEND_STATE_CONNECTION,
                         aic_connection_get_name (active), detail);
      /* The key, if any, is in the keyring; the client follows. */
      set_client (self, NULL);
      aic_secrets_lookup_async (aic_connection_get_id (active), self->cancellable,
                                key_found_cb, client_request_new (self));
      return;
    }
  if (self->client != NULL &&
      g_strcmp0 (aic_connection_get_id (aic_client_get_connection (self->client)), "builtin") != 0)
    set_client (self, NULL);

  if (self->backend == NULL)
    start_builtin (self);
  else if (aic_embedded_backend_is_running (self->backend))
    describe_builtin (self);
  else if (self->backend_error != NULL)
    set_backend_state (self, AIC_BACKEND_STATE_FAILED,
                       _("Built-in backend unavailable"), self->backend_error);
  else
    set_backend_state (self, AIC_BACKEND_STATE_STARTING,
                       _("Starting the built-in backend…"), NULL);
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

static void
help_shown_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!gtk_show_uri_full_finish (GTK_WINDOW (object), result, &error) && AIC_IS_WINDOW (object))
    {
      g_autofree char *message =
        g_strdup_printf (_("The help could not be opened: %s"), error->message);
      aic_window_show_error (AIC_WINDOW (object), message);
    }
}

static void
help_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  gtk_show_uri_full (window, "help:ai-console", GDK_CURRENT_TIME, NULL, help_shown_cb, NULL);
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
    window = GTK_WINDOW (aic_window_new (self));
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
    window = GTK_WINDOW (aic_window_new (self));
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
    g_autoptr(GError) error = NULL;

    self->store = aic_store_open (path, &error);
    if (self->store == NULL)
      {
        g_warning ("Could not open %s: %s", path, error->message);
        self->store_error = g_strdup (error->message);
      }
    else if (aic_store_recover_interrupted (self->store, &error) > 0)
      g_message ("Replies cut off when the app last ended are kept, marked as interrupted");

    if (self->store != NULL)
      {
        self->job_manager = aic_job_manager_new (self->store, "app");
        g_signal_connect_object (self->job_manager, "job-finished", G_CALLBACK (job_finished_cb), self, 0);
        if (!aic_job_manager_load (self->job_manager, FALSE, &error))
          g_warning ("Could not read the saved document jobs: %s", error->message);
      }
  }

  self->settings = g_settings_new (BASE_APP_ID);
  self->connections = aic_connection_store_new (self->settings);
  g_signal_connect_object (self->connections, "notify::active",
                           G_CALLBACK (update_backend), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->connections, "items-changed",
                           G_CALLBACK (update_backend), self, G_CONNECT_SWAPPED);
  update_backend (self);
}

static void
aic_application_shutdown (GApplication *application)
{
  AicApplication *self = AIC_APPLICATION (application);

  g_cancellable_cancel (self->cancellable);
  /* Jobs are saved as they are; the next start follows them again. */
  g_clear_object (&self->job_manager);
  if (self->backend != NULL)
    aic_embedded_backend_stop (self->backend);

  G_APPLICATION_CLASS (aic_application_parent_class)->shutdown (application);
}

static void
aic_application_finalize (GObject *object)
{
  AicApplication *self = AIC_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->connections);
  g_clear_object (&self->backend);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->backend_summary, g_free);
  g_clear_pointer (&self->backend_detail, g_free);
  g_clear_pointer (&self->backend_error, g_free);
  g_clear_object (&self->client);
  g_clear_pointer (&self->models, g_strfreev);
  g_clear_object (&self->store);
  g_clear_pointer (&self->store_error, g_free);

  G_OBJECT_CLASS (aic_application_parent_class)->finalize (object);
}

static void
aic_application_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  AicApplication *self = AIC_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_BACKEND_STATE:   g_value_set_int (value, self->backend_state); break;
    case PROP_BACKEND_SUMMARY: g_value_set_string (value, self->backend_summary); break;
    case PROP_BACKEND_DETAIL:  g_value_set_string (value, self->backend_detail); break;
    case PROP_CLIENT:          g_value_set_object (value, self->client); break;
    case PROP_MODELS:          g_value_set_boxed (value, self->models); break;
    default:                   G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_application_class_init (AicApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = aic_application_finalize;
  object_class->get_property = aic_application_get_property;

  app_class->activate = aic_application_activate;
  app_class->startup = aic_application_startup;
  app_class->open = aic_application_open;
  app_class->shutdown = aic_application_shutdown;

  properties[PROP_BACKEND_STATE] =
    g_param_spec_int ("backend-state", NULL, NULL,
                      AIC_BACKEND_STATE_STARTING, AIC_BACKEND_STATE_FAILED, AIC_BACKEND_STATE_STARTING,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BACKEND_SUMMARY] =
    g_param_spec_string ("backend-summary", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BACKEND_DETAIL] =
    g_param_spec_string ("backend-detail", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, AIC_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODELS] =
    g_param_spec_boxed ("models", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_application_init (AicApplication *self)
{
  self->cancellable = g_cancellable_new ();
  self->backend_state = AIC_BACKEND_STATE_STARTING;
  self->models = g_new0 (char *, 1);
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

AicBackendState
aic_application_get_backend_state (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), AIC_BACKEND_STATE_STARTING);
  return self->backend_state;
}

const char *
aic_application_get_backend_summary (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->backend_summary;
}

const char *
aic_application_get_backend_detail (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->backend_detail;
}

/**
 * aic_application_get_client:
 * Returns: (transfer none) (nullable): the client for the backend that
 *   serves the views, or %NULL while none is ready
 */
AicClient *
aic_application_get_client (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->client;
}

const char * const *
aic_application_get_models (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return (const char * const *) self->models;
}

/**
 * aic_application_get_store:
 * Returns: (transfer none) (nullable): the conversation history, or %NULL
 *   when it could not be opened (see aic_application_get_store_error())
 */
AicStore *
aic_application_get_store (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->store;
}

const char *
aic_application_get_store_error (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->store_error;
}

/**
 * aic_application_get_job_manager:
 * Returns: (transfer none) (nullable): the document jobs, or %NULL when the
 *   app's data could not be opened
 */
AicJobManager *
aic_application_get_job_manager (AicApplication *self)
{
  g_return_val_if_fail (AIC_IS_APPLICATION (self), NULL);
  return self->job_manager;
}
