/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <gtksourceview/gtksource.h>
#include <string.h>

#include "aic-application.h"
#include "aic-agent-page.h"
#include "aic-chat-page.h"
#include "aic-documents-page.h"
#include "aic-sqlite.h"
#include "aic-store-private.h"
#include "aic-voice-page.h"
#include "aic-test-util.h"
#include "aic-ui-test-util.h"
#include "aic-window.h"

/* The real window, with its application and the built-in backend it
 * starts, under a real display (Xvfb in scripts/test). */

static GObject *
child (gpointer    window,
       const char *name)
{
  return gtk_widget_get_template_child (GTK_WIDGET (window), AIC_TYPE_WINDOW, name);
}

static void
keep_message (AicVoicePage  *page,
              const char    *message,
              char         **kept)
{
  g_free (*kept);
  *kept = g_strdup (message);
}

static AicSessionState wanted;

static gboolean
session_in_wanted_state (gpointer data)
{
  return aic_session_get_state (data) == wanted;
}

static void
wait_for_state (AicSession      *session,
                AicSessionState  state)
{
  wanted = state;
  aic_test_wait_for (session_in_wanted_state, session, 10000);
}

/* The page of view @name: %NULL until the view is first shown. */
static GtkWidget *
view_page (AdwViewStack *stack,
           const char   *name)
{
  GtkWidget *child = adw_view_stack_get_child_by_name (stack, name);

  return ADW_IS_BIN (child) ? adw_bin_get_child (ADW_BIN (child)) : child;
}

/* What the window draws at its first start, as render nodes: the kinds
 * GTK draws with the shaders the window's own frame needs anyway. Borders,
 * blurred box shadows (offscreen textures and a blur pass) and a clip
 * around the whole content (the header bar is drawn a pixel past the
 * window's edge, so everything in it was drawn clipped) each made GTK's GL
 * renderer use shaders of their own: under Mesa's llvmpipe about 1 MiB of
 * start-up memory apiece (bench/RESULTS.md, stop 26). */
static void
count_nodes (GskRenderNode *node,
             guint         *counts,
             float          width)
{
  GskRenderNodeType type = gsk_render_node_get_node_type (node);

  counts[type]++;
  switch (type)
    {
    case GSK_CONTAINER_NODE:
      for (guint i = 0; i < gsk_container_node_get_n_children (node); i++)
        count_nodes (gsk_container_node_get_child (node, i), counts, width);
      break;
    case GSK_TRANSFORM_NODE:
      count_nodes (gsk_transform_node_get_child (node), counts, width);
      break;
    case GSK_OPACITY_NODE:
      count_nodes (gsk_opacity_node_get_child (node), counts, width);
      break;
    case GSK_COLOR_MATRIX_NODE:
      count_nodes (gsk_color_matrix_node_get_child (node), counts, width);
      break;
    case GSK_CLIP_NODE:
      /* A text field clips its text; nothing clips a whole pane. */
      g_assert_cmpfloat (gsk_clip_node_get_clip (node)->size.width, <, width / 2);
      count_nodes (gsk_clip_node_get_child (node), counts, width);
      break;
    case GSK_ROUNDED_CLIP_NODE:
      count_nodes (gsk_rounded_clip_node_get_child (node), counts, width);
      break;
    case GSK_DEBUG_NODE:
      count_nodes (gsk_debug_node_get_child (node), counts, width);
      break;
    case GSK_COLOR_NODE:
    case GSK_TEXT_NODE:
    case GSK_TEXTURE_NODE:
    case GSK_INSET_SHADOW_NODE:
      break;
    default:
      g_error ("The window at its first start draws a %s",
               g_type_name (G_TYPE_FROM_INSTANCE (node)));
    }
}

static gboolean
session_demo (gpointer data)
{
  return aic_session_get_state (data) == AIC_SESSION_STATE_BUILTIN_DEMO;
}

static gboolean
window_drawn (gpointer data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (data);

  return gtk_widget_get_mapped (data) && clock != NULL && gdk_frame_clock_get_frame_counter (clock) > 2;
}

static gboolean
animations_enabled (gpointer data)
{
  gboolean enabled = FALSE;

  g_object_get (gtk_settings_get_default (), "gtk-enable-animations", &enabled, NULL);
  return enabled;
}

static void
check_first_frame (AicWindow  *window,
                   AicSession *session)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  guint counts[GSK_GL_SHADER_NODE + 1] = { 0 };

  aic_test_wait_for (session_demo, session, 10000);
  aic_test_wait_for (window_drawn, window, 5000);

  paintable = gtk_widget_paintable_new (GTK_WIDGET (window));
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, gtk_widget_get_width (GTK_WIDGET (window)),
                          gtk_widget_get_height (GTK_WIDGET (window)));
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  count_nodes (node, counts, gtk_widget_get_width (GTK_WIDGET (window)));
  /* The walk went through the whole window: its texts and icons. */
  g_assert_cmpuint (counts[GSK_TEXT_NODE], >=, 5);
  g_assert_cmpuint (counts[GSK_TEXTURE_NODE], >=, 3);
  g_assert_cmpuint (counts[GSK_CLIP_NODE], <=, 1);
  /* Every icon the window shows at start is one the icon theme has drawn
   * at that size: a symbolic icon at a size without a PNG (the status
   * page's 128 px one) is read from its SVG, which maps librsvg and
   * libxml2 (7.0 MiB of the start's 169). */
  g_assert_false (aic_test_is_mapped ("librsvg"));
}

static GtkWidget *
find_widget (GtkWidget *widget,
             GType      type)
{
  if (g_type_is_a (G_OBJECT_TYPE (widget), type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
window_is_small (gpointer data)
{
  return gtk_widget_get_width (data) <= 700 && gtk_widget_get_height (data) <= 520;
}

/* At the editor's window size (700×520), with the banner and the switcher
 * bar, "Start a Conversation" fits whole above the composer: its page has
 * nothing to scroll. */
static void
check_empty_state_fits (AicWindow *window)
{
  GtkWidget *status = find_widget (GTK_WIDGET (child (window, "chat_page")), ADW_TYPE_STATUS_PAGE);
  GtkAdjustment *adjustment;
  int width, height;

  g_assert_nonnull (status);
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  gtk_window_set_default_size (GTK_WINDOW (window), 700, 520);
  aic_test_wait_for (window_is_small, window, 5000);
  aic_test_settle (300);
  g_assert_true (gtk_widget_get_mapped (status));
  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (gtk_widget_get_first_child (status)));
  g_test_message ("empty state at 700×520: %.0f px of %.0f shown", gtk_adjustment_get_page_size (adjustment),
                  gtk_adjustment_get_upper (adjustment));
  g_assert_cmpfloat (gtk_adjustment_get_upper (adjustment), <=, gtk_adjustment_get_page_size (adjustment) + 1);
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  aic_test_settle (300);
}

static void
test_window (void)
{
  g_autoptr(AicApplication) app = aic_application_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GListModel) pages = NULL;
  AicWindow *window;
  AicSession *session;
  AdwViewStack *stack;
  const char *names[] = { "chat", "documents", "voice", "agent" };
  const char *titles[] = { "Chat", "Documents", "Voice", "Agent" };
  gboolean animations = FALSE;

  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  session = aic_application_get_session (app);
  g_object_get (gtk_settings_get_default (), "gtk-enable-animations", &animations, NULL);
  g_assert_true (animations);
  window = aic_window_new (GTK_APPLICATION (app), session, aic_application_get_settings (app), NULL);
  /* The window starts still: nothing animates until a frame has been
   * drawn with the backend's answer (aic-window.c, hold_still()). */
  g_object_get (gtk_settings_get_default (), "gtk-enable-animations", &animations, NULL);
  g_assert_false (animations);

  /* With no connection chosen, the banner is there from the first frame,
   * already revealed rather than sliding in once the backend is up. */
  g_assert_cmpint (aic_session_get_state (session), ==, AIC_SESSION_STATE_STARTING);
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (child (window, "banner_revealer"))));
  g_assert_true (gtk_revealer_get_child_revealed (GTK_REVEALER (child (window, "banner_revealer"))));
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (child (window, "banner_label"))), ==, "Starting the built-in backend…");
  gtk_window_present (GTK_WINDOW (window));
  check_first_frame (window, session);
  aic_test_wait_for (animations_enabled, NULL, 3000);
  check_empty_state_fits (window);

  /* Four views in this order: Chat, Documents, Voice, Agent. */
  stack = ADW_VIEW_STACK (child (window, "stack"));
  pages = G_LIST_MODEL (adw_view_stack_get_pages (stack));
  g_assert_cmpuint (g_list_model_get_n_items (pages), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(AdwViewStackPage) page = g_list_model_get_item (pages, i);

      g_assert_cmpstr (adw_view_stack_page_get_name (page), ==, names[i]);
      g_assert_cmpstr (adw_view_stack_page_get_title (page), ==, titles[i]);
      g_assert_nonnull (adw_view_stack_page_get_icon_name (page));
      if (i == 0)
        g_assert_true (AIC_IS_CHAT_PAGE (adw_view_stack_page_get_child (page)));
      else
        /* The other views are made when first shown. */
        g_assert_null (view_page (stack, names[i]));
    }
  g_assert_true (adw_view_switcher_title_get_stack (ADW_VIEW_SWITCHER_TITLE (child (window, "switcher_title"))) == stack);

  /* Switching views, by call and by the Alt+N action; the last one is kept. */
  g_assert_cmpstr (aic_window_get_view (window), ==, "chat");
  aic_window_show_view (window, "voice");
  g_assert_cmpstr (aic_window_get_view (window), ==, "voice");
  g_assert_true (AIC_IS_VOICE_PAGE (view_page (stack, "voice")));
  g_assert_null (view_page (stack, "agent"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "agent"));
  g_assert_cmpstr (aic_window_get_view (window), ==, "agent");
  g_assert_true (AIC_IS_AGENT_PAGE (view_page (stack, "agent")));
  /* A switcher (or anything else) that sets the stack's child makes it too. */
  g_assert_null (view_page (stack, "documents"));
  adw_view_stack_set_visible_child_name (stack, "documents");
  g_assert_true (AIC_IS_DOCUMENTS_PAGE (view_page (stack, "documents")));
  g_assert_true (aic_window_get_documents_page (window) == AIC_DOCUMENTS_PAGE (view_page (stack, "documents")));
  aic_window_show_view (window, "agent");
  aic_window_show_view (window, "no-such-view");
  g_assert_cmpstr (aic_window_get_view (window), ==, "agent");
  {
    g_autofree char *saved = g_settings_get_string (aic_application_get_settings (app), "last-view");
    g_assert_cmpstr (saved, ==, "agent");
  }

  /* Primary menu entries exist as app actions. */
  g_assert_true (g_action_map_lookup_action (G_ACTION_MAP (app), "preferences") != NULL);
  g_assert_true (g_action_map_lookup_action (G_ACTION_MAP (app), "about") != NULL);
  g_assert_true (g_action_map_lookup_action (G_ACTION_MAP (app), "help") != NULL);
  g_assert_true (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)) != NULL);

  /* With no connection, the built-in backend starts on the demo engine and
   * the window says so, with a way to connect a real provider. */
  wait_for_state (session, AIC_SESSION_STATE_BUILTIN_DEMO);
  g_assert_cmpstr (adw_view_switcher_title_get_subtitle (ADW_VIEW_SWITCHER_TITLE (child (window, "switcher_title"))),
                   ==, "Built-in · Demo engine");
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (child (window, "banner_revealer"))));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (child (window, "banner_label"))), "demo engine"));

  /* GStreamer is loaded when Voice is first used, from a module: without
   * it, Talk says so in words and stays off. */
  {
    GtkWidget *voice = view_page (stack, "voice");
    GtkToggleButton *talk = GTK_TOGGLE_BUTTON (gtk_widget_get_template_child (voice, AIC_TYPE_VOICE_PAGE, "talk_button"));
    g_autofree char *message = NULL;

    g_assert_false (aic_test_is_mapped ("libgstreamer-1.0"));
    g_signal_connect (voice, "show-message", G_CALLBACK (keep_message), &message);
    g_setenv ("AI_CONSOLE_MODULE_DIR", "/nonexistent/ai-console-modules", TRUE);
    gtk_toggle_button_set_active (talk, TRUE);
    g_unsetenv ("AI_CONSOLE_MODULE_DIR");
    g_assert_nonnull (message);
    g_assert_true (g_str_has_prefix (message, "Voice cannot start: "));
    g_assert_nonnull (strstr (message, "aic-audio"));
    g_assert_false (gtk_toggle_button_get_active (talk));
    g_assert_false (aic_test_is_mapped ("libgstreamer-1.0"));
    g_signal_handlers_disconnect_by_func (voice, keep_message, &message);
  }

  /* Choosing a connection: the window names it and stops suggesting one. */
  {
    AicConnectionStore *store = aic_application_get_connections (app);
    g_autoptr(AicConnection) connection = aic_connection_new (NULL, "My Server", AIC_CONNECTION_KIND_CONSOLE, "http://127.0.0.1:9");

    g_autoptr(AicConnection) provider = aic_connection_new (NULL, "My Ollama", AIC_CONNECTION_KIND_OPENAI, "http://127.0.0.1:9/v1");
    AicClient *backend;

    /* An AI Console server serves every view itself. */
    g_assert_true (aic_connection_store_add (store, connection, &error));
    aic_connection_store_set_active (store, aic_connection_get_id (connection));
    wait_for_state (session, AIC_SESSION_STATE_SERVER);
    g_assert_cmpstr (adw_view_switcher_title_get_subtitle (ADW_VIEW_SWITCHER_TITLE (child (window, "switcher_title"))), ==, "My Server");
    g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (child (window, "banner_revealer"))));
    g_assert_true (aic_session_get_backend_client (session) == aic_session_get_chat_client (session));
    g_assert_cmpstr (aic_connection_get_base_url (aic_client_get_connection (aic_session_get_backend_client (session))),
                     ==, "http://127.0.0.1:9");

    /* A provider becomes the built-in backend's engine: chat goes to it,
     * documents, voice and agents to the backend. */
    g_assert_true (aic_connection_store_add (store, provider, &error));
    aic_connection_store_set_active (store, aic_connection_get_id (provider));
    /* While the backend starts for a chosen provider, no banner either. */
    {
      gboolean started = FALSE;

      while (aic_session_get_state (session) != AIC_SESSION_STATE_PROVIDER)
        {
          started |= aic_session_get_state (session) == AIC_SESSION_STATE_STARTING;
          g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (child (window, "banner_revealer"))));
          g_main_context_iteration (NULL, TRUE);
        }
      g_assert_true (started);
    }
    wait_for_state (session, AIC_SESSION_STATE_PROVIDER);
    g_assert_cmpstr (adw_view_switcher_title_get_subtitle (ADW_VIEW_SWITCHER_TITLE (child (window, "switcher_title"))), ==, "My Ollama");
    g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (child (window, "banner_revealer"))));
    g_assert_cmpstr (aic_connection_get_base_url (aic_client_get_connection (aic_session_get_chat_client (session))),
                     ==, "http://127.0.0.1:9/v1");
    backend = aic_session_get_backend_client (session);
    g_assert_cmpint (aic_connection_get_kind (aic_client_get_connection (backend)), ==, AIC_CONNECTION_KIND_CONSOLE);
    g_assert_cmpstr (aic_connection_get_id (aic_client_get_connection (backend)), ==, "builtin");
    g_assert_true (aic_session_get_voice_client (session) == backend);
    g_assert_cmpstr (aic_session_get_voice_path (session), ==, "/api/voice");

    /* And back to the built-in backend on its own. */
    aic_connection_store_set_active (store, NULL);
    wait_for_state (session, AIC_SESSION_STATE_BUILTIN_DEMO);
    g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (child (window, "banner_revealer"))));
  }

  /* Errors arrive as toasts. */
  aic_window_show_error (window, "Something went wrong.");

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
widget_insensitive (gpointer data)
{
  return !gtk_widget_get_sensitive (data);
}

/* A history with a damaged page: the window opens at once (the file is
 * not read first), then the check in a thread finds the damage, says so,
 * and the Chat view stops writing to it. */
static void
test_damaged_history (void)
{
  g_autoptr(GtkApplication) app = gtk_application_new (BASE_APP_ID ".DamagedTest", G_APPLICATION_NON_UNIQUE);
  g_autoptr(GSettings) settings = g_settings_new (BASE_APP_ID);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("aic-window-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "ai-console.db", NULL);
  g_autoptr(AicSession) session = NULL;
  AicWindow *window;
  GtkWidget *chat;

  g_assert_no_error (error);
  {
    g_autoptr(AicStore) store = aic_store_open (path, &error);
    g_autofree char *id = aic_store_create_conversation (store, "Big", NULL, &error);
    g_autofree char *text = g_strnfill (2000, 'w');

    for (guint i = 0; i < 100; i++)
      aic_store_add_message (store, id, "user", text, AIC_MESSAGE_COMPLETE, &error);
    g_assert_no_error (error);
    g_assert_true (aic_sqlite_exec (aic_store_get_db (store), "PRAGMA wal_checkpoint(TRUNCATE)", NULL));
  }
  aic_test_damage_page (path, G_MAXUINT);

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  session = aic_session_new (dir);
  g_assert_true (aic_session_open_history (session, path, "app", &error));
  g_assert_no_error (error);

  window = aic_window_new (app, session, settings, NULL);
  chat = GTK_WIDGET (child (window, "chat_page"));
  g_assert_true (gtk_widget_get_sensitive (chat));
  gtk_window_present (GTK_WINDOW (window));
  aic_test_wait_for (widget_insensitive, chat, 10000);

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&session);
  aic_test_remove_tree (dir);
}

static gboolean
leaflet_folded (gpointer data)
{
  return gtk_widget_get_mapped (GTK_WIDGET (data)) && adw_leaflet_get_folded (data);
}

/* 360 px wide, the Agent view folds like the others: the timeline shows,
 * and Past Runs is a page of its own behind a button. */
static void
test_agent_narrow (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *agent = g_object_new (AIC_TYPE_AGENT_PAGE, NULL);
  AdwLeaflet *leaflet = ADW_LEAFLET (gtk_widget_get_template_child (agent, AIC_TYPE_AGENT_PAGE, "leaflet"));
  GtkWidget *timeline_pane = GTK_WIDGET (gtk_widget_get_template_child (agent, AIC_TYPE_AGENT_PAGE, "timeline_pane"));
  GtkWidget *runs_pane = GTK_WIDGET (gtk_widget_get_template_child (agent, AIC_TYPE_AGENT_PAGE, "runs_pane"));
  GtkWidget *runs_button = GTK_WIDGET (gtk_widget_get_template_child (agent, AIC_TYPE_AGENT_PAGE, "runs_button"));

  gtk_window_set_child (GTK_WINDOW (window), agent);
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 700);
  gtk_window_present (GTK_WINDOW (window));
  aic_test_wait_for (leaflet_folded, leaflet, 5000);

  g_assert_true (adw_leaflet_get_visible_child (leaflet) == timeline_pane);
  g_assert_true (gtk_widget_get_visible (runs_button));
  g_signal_emit_by_name (runs_button, "clicked");
  g_assert_true (adw_leaflet_get_visible_child (leaflet) == runs_pane);
  /* Nothing in the view asks for more than the window has. */
  {
    int minimum;

    gtk_widget_measure (agent, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
    g_assert_cmpint (minimum, <=, 360);
  }

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  gtk_source_init ();

  g_test_add_func ("/window/views", test_window);
  g_test_add_func ("/window/agent-narrow", test_agent_narrow);
  g_test_add_func ("/window/damaged-history", test_damaged_history);

  return g_test_run ();
}
