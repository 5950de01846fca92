/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-agent-page.h"
#include "aic-chat-page.h"
#include "aic-documents-page.h"
#include "aic-voice-page.h"
#include "aic-window.h"

struct _AicWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;
  AicSession           *session;

  /* Template widgets */
  GtkLabel             *banner_label;
  AicChatPage          *chat_page;
  AdwBin               *documents_bin;
  AdwBin               *voice_bin;
  AdwBin               *agent_bin;
  GtkRevealer          *banner_revealer;
  GtkWidget            *banner_box;
  GtkWidget            *banner_button;
  AdwViewStack         *stack;
  AdwViewSwitcherTitle *switcher_title;
  AdwToastOverlay      *toast_overlay;

  /* Made when first shown: a window that is only ever used for Chat
   * carries none of them (each view's widgets, and AdwViewStack measures
   * every page it holds, shown or not). */
  AicDocumentsPage     *documents_page;
  AicVoicePage         *voice_page;
  AicAgentPage         *agent_page;

  GCancellable         *cancellable;
  gulong                map_handler;

  /* A still start: see hold_still() */
  GtkSettings          *still_settings;
  guint                 still_tick;
  guint                 still_timeout;
  guint                 still_frames;
};

G_DEFINE_FINAL_TYPE (AicWindow, aic_window, ADW_TYPE_APPLICATION_WINDOW)

static const char * const views[] = { "chat", "documents", "voice", "agent" };

static void
update_backend (AicWindow *self)
{
  AicSessionState state = aic_session_get_state (self->session);
  const char *detail = aic_session_get_detail (self->session);
  const char *text = NULL;

  adw_view_switcher_title_set_subtitle (self->switcher_title, aic_session_get_summary (self->session));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->switcher_title), detail);

  /* While the built-in backend serves the views on its own, say so right
   * under the header bar (the subtitle only shows in narrow windows) and
   * offer a real provider. A connection someone chose needs no such
   * reminder.
   *
   * With no connection chosen, the banner is there from the first frame,
   * saying that the backend is starting: sliding it in once the backend
   * is up would move the whole window's content down just after it
   * appeared. */
  if (state == AIC_SESSION_STATE_STARTING && aic_session_get_connection (self->session) == NULL)
    text = aic_session_get_summary (self->session);
  else if (state != AIC_SESSION_STATE_PROVIDER && state != AIC_SESSION_STATE_SERVER)
    text = detail;

  if (text != NULL)
    gtk_label_set_label (self->banner_label, text);
  gtk_revealer_set_reveal_child (self->banner_revealer, text != NULL);
}

/* Below this width the banner's button goes under its text, which would
 * otherwise be squeezed into a tall narrow column. */
#define NARROW_BANNER_WIDTH 560

static void
width_changed_cb (AicWindow  *self,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  int width, height;
  gboolean narrow;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  if (width <= 0 || gtk_window_is_maximized (GTK_WINDOW (self)))
    width = gtk_widget_get_width (GTK_WIDGET (self));
  narrow = width > 0 && width < NARROW_BANNER_WIDTH;
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->banner_box),
                                  narrow ? GTK_ORIENTATION_VERTICAL : GTK_ORIENTATION_HORIZONTAL);
  gtk_widget_set_halign (self->banner_button, narrow ? GTK_ALIGN_CENTER : GTK_ALIGN_FILL);
}

static void
on_show_error (AicWindow  *self,
               const char *message)
{
  aic_window_show_error (self, message);
}

static void
clients_changed (AicWindow *self)
{
  aic_chat_page_set_client (self->chat_page, aic_session_get_chat_client (self->session));
  if (self->voice_page != NULL)
    aic_voice_page_set_client (self->voice_page, aic_session_get_voice_client (self->session),
                               aic_session_get_voice_path (self->session));
  if (self->agent_page != NULL)
    aic_agent_page_set_client (self->agent_page, aic_session_get_backend_client (self->session));
}

static GtkWidget *
make_page (AicWindow *self,
           GType      type,
           AdwBin    *bin)
{
  GtkWidget *page = g_object_new (type, NULL);

  g_signal_connect_object (page, "show-message", G_CALLBACK (on_show_error), self, G_CONNECT_SWAPPED);
  adw_bin_set_child (bin, page);
  return page;
}

/* Makes the page of view @name, if it has not been made. */
static void
ensure_page (AicWindow  *self,
             const char *name)
{
  if (g_strcmp0 (name, "documents") == 0 && self->documents_page == NULL)
    {
      self->documents_page = AIC_DOCUMENTS_PAGE (make_page (self, AIC_TYPE_DOCUMENTS_PAGE, self->documents_bin));
      aic_documents_page_set_manager (self->documents_page, aic_session_get_job_manager (self->session));
    }
  else if (g_strcmp0 (name, "voice") == 0 && self->voice_page == NULL)
    {
      self->voice_page = AIC_VOICE_PAGE (make_page (self, AIC_TYPE_VOICE_PAGE, self->voice_bin));
      clients_changed (self);
    }
  else if (g_strcmp0 (name, "agent") == 0 && self->agent_page == NULL)
    {
      self->agent_page = AIC_AGENT_PAGE (make_page (self, AIC_TYPE_AGENT_PAGE, self->agent_bin));
      aic_agent_page_set_settings (self->agent_page, self->settings);
      clients_changed (self);
    }
}

static void
models_changed (AicWindow *self)
{
  aic_chat_page_set_models (self->chat_page, aic_session_get_models (self->session));
}

static void
backend_failed_toast (AicWindow *self)
{
  if (aic_session_get_state (self->session) == AIC_SESSION_STATE_FAILED)
    aic_window_show_error (self, aic_session_get_detail (self->session));
}

static void
show_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  aic_window_show_view (AIC_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
visible_child_changed_cb (AicWindow *self)
{
  const char *name = adw_view_stack_get_visible_child_name (self->stack);

  /* Before the frame that shows it. */
  ensure_page (self, name);
  if (self->settings != NULL && name != NULL)
    g_settings_set_string (self->settings, "last-view", name);
}

/* The history cannot be used (@why): what is shown stays, nothing more
 * is written to it. */
static void
history_unusable (AicWindow  *self,
                  const char *why)
{
  g_autofree char *message = g_strdup_printf (_("Conversations cannot be kept: %s"), why);

  gtk_widget_set_sensitive (GTK_WIDGET (self->chat_page), FALSE);
  aic_window_show_error (self, message);
}

static void
history_checked_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(AicWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (aic_store_check_finish (AIC_STORE (source), result, &error) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      gtk_widget_in_destruction (GTK_WIDGET (self)))
    return;
  history_unusable (self, error->message);
}

/* The history is read for damage once the window is up, in a thread: it
 * grows with the years, and reading it first delayed the window. */
static void
check_history_cb (AicWindow *self)
{
  AicStore *store = aic_session_get_store (self->session);

  g_clear_signal_handler (&self->map_handler, self);
  if (store != NULL)
    aic_store_check_async (store, self->cancellable, history_checked_cb, g_object_ref (self));
}

/* GTK 4.8 maps a window before it first allocates it, so what that
 * first allocation decides is animated, as if the window had been
 * resized: in a narrow window the header bar's view switcher cross-faded
 * to the plain title while the switcher bar slid up from the bottom, and
 * the sidebar folded away once the backend's models widened the chat's
 * header. The window settled a quarter of a second after it appeared,
 * redrawn all the while (and under cairo, with a pool of X shared memory
 * kept from those frames). So nothing animates until a frame has been
 * laid out and drawn with the backend's answer, for at most
 * HOLD_STILL_MS. */
#define HOLD_STILL_MS 2000

static void
end_still_start (AicWindow *self)
{
  if (self->still_tick != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->still_tick);
  self->still_tick = 0;
  g_clear_handle_id (&self->still_timeout, g_source_remove);
  if (self->still_settings != NULL)
    {
      /* Back to what the desktop says, rather than to a value read at
       * start and set by the app from then on. */
      gtk_settings_reset_property (self->still_settings, "gtk-enable-animations");
      g_clear_object (&self->still_settings);
    }
}

static gboolean
still_start_timeout_cb (gpointer data)
{
  AicWindow *self = data;

  self->still_timeout = 0;
  end_still_start (self);
  return G_SOURCE_REMOVE;
}

/* Ticks come before a frame's layout: the second tick that finds the
 * backend answered follows a frame laid out and drawn with its answer. */
static gboolean
still_start_tick_cb (GtkWidget     *widget,
                     GdkFrameClock *clock,
                     gpointer       user_data)
{
  AicWindow *self = AIC_WINDOW (widget);
  AicSessionState state = aic_session_get_state (self->session);
  const char * const *models = aic_session_get_models (self->session);
  gboolean answered = state == AIC_SESSION_STATE_FAILED ||
                      (state != AIC_SESSION_STATE_STARTING && models != NULL && models[0] != NULL);

  if (answered && ++self->still_frames >= 2)
    {
      self->still_tick = 0;
      end_still_start (self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
hold_still (AicWindow *self)
{
  GtkSettings *settings = gtk_widget_get_settings (GTK_WIDGET (self));
  gboolean animate = FALSE;

  g_object_get (settings, "gtk-enable-animations", &animate, NULL);
  if (!animate)
    return;
  self->still_settings = g_object_ref (settings);
  g_object_set (settings, "gtk-enable-animations", FALSE, NULL);
  self->still_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), still_start_tick_cb, NULL, NULL);
  self->still_timeout = g_timeout_add (HOLD_STILL_MS, still_start_timeout_cb, self);
}

static void
aic_window_setup (AicWindow  *self,
                  const char *store_error)
{
  g_autofree char *last_view = NULL;
  AicStore *store = aic_session_get_store (self->session);

  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_object (self->stack, "notify::visible-child-name",
                           G_CALLBACK (visible_child_changed_cb), self, G_CONNECT_SWAPPED);
  last_view = g_settings_get_string (self->settings, "last-view");
  aic_window_show_view (self, last_view);

  g_signal_connect_object (self->session, "notify::summary", G_CALLBACK (update_backend), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::detail", G_CALLBACK (update_backend), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::state", G_CALLBACK (update_backend), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::state", G_CALLBACK (backend_failed_toast), self, G_CONNECT_SWAPPED);
  update_backend (self);

  if (store != NULL)
    {
      aic_chat_page_set_store (self->chat_page, store);
      self->map_handler = g_signal_connect_after (self, "map", G_CALLBACK (check_history_cb), NULL);
    }
  else
    history_unusable (self, store_error ? store_error : "");
  g_signal_connect_object (self->session, "notify::chat-client", G_CALLBACK (clients_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::backend-client", G_CALLBACK (clients_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::voice-client", G_CALLBACK (clients_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::models", G_CALLBACK (models_changed), self, G_CONNECT_SWAPPED);
  clients_changed (self);
  models_changed (self);
  hold_still (self);
}

static void
aic_window_dispose (GObject *object)
{
  AicWindow *self = AIC_WINDOW (object);

  end_still_start (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* They go with their bins. */
  self->documents_page = NULL;
  self->voice_page = NULL;
  self->agent_page = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_WINDOW);
  g_clear_object (&self->settings);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (aic_window_parent_class)->dispose (object);
}

static void
aic_window_class_init (AicWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-window.ui");
  gtk_widget_class_bind_template_child (widget_class, AicWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, banner_box);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, banner_button);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, chat_page);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, documents_bin);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, voice_bin);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, agent_bin);
  gtk_widget_class_bind_template_callback (widget_class, on_show_error);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, AicWindow, toast_overlay);

  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK,
                                         "win.show-view", "s", views[i]);
}

/* Files dropped anywhere on the window go to the Documents view. */
static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         AicWindow     *self)
{
  g_autoptr(GListStore) files = g_list_store_new (G_TYPE_FILE);

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  for (GSList *l = g_value_get_boxed (value); l != NULL; l = l->next)
    g_list_store_append (files, l->data);
  aic_window_open_documents (self, G_LIST_MODEL (files));
  return TRUE;
}

static void
aic_window_init (AicWindow *self)
{
  GtkDropTarget *target;

  self->cancellable = g_cancellable_new ();
  g_type_ensure (AIC_TYPE_CHAT_PAGE);
  gtk_widget_init_template (GTK_WIDGET (self));

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  g_signal_connect (self, "notify::default-width", G_CALLBACK (width_changed_cb), NULL);
  g_signal_connect (self, "notify::maximized", G_CALLBACK (width_changed_cb), NULL);
  width_changed_cb (self, NULL, NULL);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  if (DEVELOPMENT)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

/**
 * aic_window_new:
 * @session: who answers the views, and the history
 * @settings: the app's settings
 * @store_error: (nullable): why the history could not be opened
 */
AicWindow *
aic_window_new (GtkApplication *application,
                AicSession     *session,
                GSettings      *settings,
                const char     *store_error)
{
  AicWindow *self;

  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (AIC_IS_SESSION (session), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (AIC_TYPE_WINDOW, "application", application, NULL);
  self->session = g_object_ref (session);
  self->settings = g_object_ref (settings);
  aic_window_setup (self, store_error);
  return self;
}

/**
 * aic_window_show_error:
 * Shows @message, a sentence for a person, as a toast.
 */
void
aic_window_show_error (AicWindow  *self,
                       const char *message)
{
  AdwToast *toast;

  g_return_if_fail (AIC_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 8);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
aic_window_show_view (AicWindow  *self,
                      const char *name)
{
  g_return_if_fail (AIC_IS_WINDOW (self));

  if (name != NULL && adw_view_stack_get_child_by_name (self->stack, name) != NULL)
    {
      /* Made even when the view was already the visible one. */
      ensure_page (self, name);
      adw_view_stack_set_visible_child_name (self->stack, name);
    }
}

const char *
aic_window_get_view (AicWindow *self)
{
  g_return_val_if_fail (AIC_IS_WINDOW (self), NULL);
  return adw_view_stack_get_visible_child_name (self->stack);
}

/**
 * aic_window_open_documents:
 * @files: (element-type GFile): documents to summarise
 *
 * Shows the Documents view and sends @files there.
 */
void
aic_window_open_documents (AicWindow  *self,
                           GListModel *files)
{
  g_return_if_fail (AIC_IS_WINDOW (self));

  aic_window_show_view (self, "documents");
  aic_documents_page_add_files (self->documents_page, files);
}

/**
 * aic_window_get_documents_page:
 * Returns: (transfer none): the Documents view's page, made if it was not
 */
AicDocumentsPage *
aic_window_get_documents_page (AicWindow *self)
{
  g_return_val_if_fail (AIC_IS_WINDOW (self), NULL);
  ensure_page (self, "documents");
  return self->documents_page;
}
