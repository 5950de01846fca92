/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <gtksourceview/gtksource.h>
#include <math.h>
#include <string.h>

#include "aic-chat-page.h"
#include "aic-chat-page-private.h"
#include "aic-conversation-item.h"
#include "aic-conversation-list.h"
#include "aic-markdown-view.h"
#include "aic-message-row.h"
#include "aic-store-private.h"
#include "aic-ui-test-util.h"

/* The Chat page at scale, in a real window: a year of conversations in
 * the sidebar and a long conversation open. The lists are models shown
 * by recycling list views, so the widgets made follow the window's size,
 * not the history's. */

#define N_CONVERSATIONS 10000
/* A list view in GTK 4.8 keeps up to 200 rows around what is on screen
 * (GTK_LIST_VIEW_MAX_LIST_ITEMS), a fixed number, whatever the model's
 * size; a few more may exist while they are recycled. */
#define SCREENFUL 210

typedef struct
{
  char *dir;
  char *path;
  AicStore *store;
  GtkWidget *window;
  AicChatPage *page;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint n_conversations = data ? GPOINTER_TO_UINT (data) : N_CONVERSATIONS;
  sqlite3 *db;

  f->dir = g_dir_make_tmp ("aic-chat-page-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "ai-console.db", NULL);
  f->store = aic_store_open (f->path, &error);
  g_assert_no_error (error);

  /* One transaction: the store's own calls, quickly. */
  db = aic_store_get_db (f->store);
  g_assert_true (aic_sqlite_exec (db, "BEGIN", NULL));
  for (guint i = 0; i < n_conversations; i++)
    {
      g_autofree char *title = g_strdup_printf ("Conversation %u", i);
      g_autofree char *id = aic_store_create_conversation (f->store, title, "demo", &error);
      g_autofree char *text = g_strdup_printf (i % 100 == 7 ? "Where do pelicans nest? (%u)" : "Tell me about case %u", i);

      g_assert_no_error (error);
      aic_store_add_message (f->store, id, "user", text, AIC_MESSAGE_COMPLETE, &error);
      g_assert_no_error (error);
    }
  g_assert_true (aic_sqlite_exec (db, "COMMIT", NULL));

  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 900, 600);
  f->page = g_object_new (AIC_TYPE_CHAT_PAGE, NULL);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->page));
  aic_chat_page_set_store (f->page, f->store);
  gtk_window_present (GTK_WINDOW (f->window));
  aic_test_settle (500);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (f->path, "-shm", NULL);

  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->store);
  g_unlink (f->path);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* Typed: what extends the text is inserted at its end, as keys do
 * (set_text would empty the entry first, which searches at once). */
static void
search (Fixture    *f,
        const char *text)
{
  GtkWidget *entry = aic_chat_page_get_search_entry (f->page);
  const char *now = gtk_editable_get_text (GTK_EDITABLE (entry));

  if (now[0] != '\0' && g_str_has_prefix (text, now))
    {
      int position = -1;

      gtk_editable_insert_text (GTK_EDITABLE (entry), text + strlen (now), -1, &position);
    }
  else
    gtk_editable_set_text (GTK_EDITABLE (entry), text);
  g_signal_emit_by_name (entry, "search-changed");
  aic_test_settle (200);
  g_test_message ("search “%s”: %u conversations, %u rows made", text,
                  g_list_model_get_n_items (aic_chat_page_get_conversation_model (f->page)),
                  aic_chat_page_get_n_conversation_rows (f->page));
}

/* Widgets of @type in @widget's tree, @widget included. */
static guint
count_widgets (GtkWidget *widget,
               GType      type)
{
  guint n = g_type_is_a (G_OBJECT_TYPE (widget), type) ? 1 : 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_widgets (child, type);
  return n;
}

static void
collect_widgets (GtkWidget *widget,
                 GType      type,
                 GPtrArray *found)
{
  if (g_type_is_a (G_OBJECT_TYPE (widget), type))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, type, found);
}

static void
test_sidebar_at_scale (Fixture       *f,
                       gconstpointer  data)
{
  GListModel *model = aic_chat_page_get_conversation_model (f->page);
  g_autoptr(AicConversationItem) first = NULL;
  guint rows;

  g_assert_true (g_type_is_a (G_OBJECT_TYPE (model), G_TYPE_LIST_MODEL));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);
  rows = aic_chat_page_get_n_conversation_rows (f->page);
  g_test_message ("%u rows made for %u conversations", rows, N_CONVERSATIONS);
  g_assert_cmpuint (rows, >, 0);
  g_assert_cmpuint (rows, <=, SCREENFUL);
  /* Of those, only the rows in the 600 px window have their labels and
   * menu button made. */
  {
    guint buttons = count_widgets (GTK_WIDGET (f->page), GTK_TYPE_MENU_BUTTON);

    g_test_message ("%u rows made, %u of them with a menu button; %u of %u items made", rows, buttons,
                    aic_conversation_list_get_n_made (AIC_CONVERSATION_LIST (model)), N_CONVERSATIONS);
    /* Items too are made for the rows, not for every conversation. */
    g_assert_cmpuint (aic_conversation_list_get_n_made (AIC_CONVERSATION_LIST (model)), <=, SCREENFUL + 50);
    g_assert_cmpuint (buttons, >=, 5);
    g_assert_cmpuint (buttons, <=, 20);
  }

  /* Newest first, and it is the one open. */
  first = g_list_model_get_item (model, 0);
  g_assert_cmpstr (aic_conversation_item_get_title (first), ==, "Conversation 9999");
  g_assert_cmpstr (aic_conversation_get_id (aic_chat_page_get_conversation (f->page)), ==,
                   aic_conversation_item_get_id (first));
  g_clear_object (&first);

  /* As you type: the same model, filtered by FTS5. Typing narrows the
   * list; its rows are relabelled, none made. */
  search (f, "p");
  search (f, "pe");
  search (f, "pel");
  search (f, "pelic");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS / 100);
  g_assert_cmpuint (aic_chat_page_get_n_conversation_rows (f->page), ==, rows);
  first = g_list_model_get_item (model, 0);
  g_assert_cmpstr (aic_conversation_item_get_title (first), ==, "Conversation 9907");
  g_clear_object (&first);
  search (f, "pelicans nest 507");  /* typed on */
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
  first = g_list_model_get_item (model, 0);
  g_assert_cmpstr (aic_conversation_item_get_title (first), ==, "Conversation 507");
  g_clear_object (&first);
  g_assert_cmpuint (aic_chat_page_get_n_conversation_rows (f->page), ==, rows);

  /* Clearing it shows everything again: at most a screenful is made (GTK
   * 4.8's list view drops the rows of removed items). */
  search (f, "");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);
  g_assert_cmpuint (aic_chat_page_get_n_conversation_rows (f->page), <=, rows + SCREENFUL);

  /* A new message moves its conversation to the top, in place. */
  first = g_list_model_get_item (model, 500);
  aic_store_add_message (f->store, aic_conversation_item_get_id (first), "user", "bump", AIC_MESSAGE_COMPLETE, NULL);
  g_clear_object (&first);
  first = g_list_model_get_item (model, 0);
  g_assert_cmpstr (aic_conversation_item_get_title (first), ==, "Conversation 9499");
}

typedef struct
{
  guint rows;
  guint deferred;
  guint deferred_in_view;   /* should be none */
  guint code_blocks;
} RowCount;

static RowCount
count_rows (Fixture *f)
{
  GtkWidget *list = aic_chat_page_get_message_view (f->page);
  int height = gtk_widget_get_height (list);
  RowCount count = { 0 };

  for (GtkWidget *child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = gtk_widget_get_first_child (child);
      graphene_rect_t bounds;

      if (!AIC_IS_MESSAGE_ROW (row))
        continue;
      count.rows++;
      count.code_blocks += count_widgets (row, GTK_SOURCE_TYPE_VIEW);
      if (g_test_verbose () && gtk_widget_compute_bounds (child, list, &bounds))
        g_test_message ("row %u: visible %d, y %.0f h %.0f, put off %d", count.rows, gtk_widget_get_child_visible (child),
                        bounds.origin.y, bounds.size.height, aic_message_row_is_deferred (AIC_MESSAGE_ROW (row)));
      if (!aic_message_row_is_deferred (AIC_MESSAGE_ROW (row)))
        continue;
      count.deferred++;
      /* Rows the list view keeps out of sight are not drawn. */
      if (!gtk_widget_get_child_visible (child))
        continue;
      g_assert_true (gtk_widget_compute_bounds (child, list, &bounds));
      if (bounds.origin.y + bounds.size.height > 0 && bounds.origin.y < height)
        count.deferred_in_view++;
    }
  return count;
}

/* What the last layout before each frame's paint left in view. */
typedef struct
{
  Fixture *f;
  guint    in_view_at_layout;
  guint    frames_with_empty_rows;
  guint    frames;
} FrameWatch;

static RowCount count_rows (Fixture *f);

static void
watch_layout (GdkFrameClock *clock,
              FrameWatch    *watch)
{
  watch->in_view_at_layout = count_rows (watch->f).deferred_in_view;
}

static void
watch_paint (GdkFrameClock *clock,
             FrameWatch    *watch)
{
  watch->frames++;
  if (watch->in_view_at_layout > 0)
    watch->frames_with_empty_rows++;
}

/* A long conversation: the list view keeps 200 rows, but only those that
 * have been in view have their text laid out and their code blocks made
 * (until they are rebound); in every frame drawn while scrolling, no row
 * in view is an empty stand-in. */
static void
test_rows_made_near_view (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Long", "demo", &error);
  GtkAdjustment *adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (aic_chat_page_get_message_view (f->page)));
  RowCount count;
  guint frames = 0;
  FrameWatch watch = { 0 };
  GdkFrameClock *clock;
  gulong layout_id, paint_id;

  g_assert_true (aic_sqlite_exec (aic_store_get_db (f->store), "BEGIN", NULL));
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *text = g_strdup_printf (i % 2 ? "Answer %u, with some *words* around it.\n\n```c\nint x = %u;\n```\n"
                                                     : "Question %u", i, i);

      aic_store_add_message (f->store, id, i % 2 ? "assistant" : "user", text, AIC_MESSAGE_COMPLETE, &error);
      g_assert_no_error (error);
    }
  g_assert_true (aic_sqlite_exec (aic_store_get_db (f->store), "COMMIT", NULL));

  aic_chat_page_open (f->page, id);
  aic_test_settle (500);
  count = count_rows (f);
  g_test_message ("open: %u rows, %u put off, %u code blocks", count.rows, count.deferred, count.code_blocks);
  g_assert_cmpuint (count.rows, >, 100);
  g_assert_cmpuint (count.deferred_in_view, ==, 0);
  /* Those in the 600 px window (rows are 80 px and more). */
  g_assert_cmpuint (count.rows - count.deferred, <=, 10);
  g_assert_cmpuint (count.code_blocks, <=, count.rows - count.deferred);

  /* Up through the conversation, a screen at a time and faster; what is
   * drawn is checked in every frame, at the end of its layout (after the
   * page's own handler, connected when the list was realized). */
  watch.f = f;
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (f->page));
  layout_id = g_signal_connect_after (clock, "layout", G_CALLBACK (watch_layout), &watch);
  paint_id = g_signal_connect (clock, "after-paint", G_CALLBACK (watch_paint), &watch);
  for (double step = -300; frames < 40; step = frames < 20 ? -300 : -900)
    {
      aic_chat_page_note_person_scrolled (f->page);
      gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + step);
      aic_test_wait_frames (GTK_WIDGET (f->page), 1);
      count = count_rows (f);
      g_assert_cmpuint (count.deferred_in_view, ==, 0);
      frames++;
    }
  g_signal_handler_disconnect (clock, layout_id);
  g_signal_handler_disconnect (clock, paint_id);
  g_test_message ("after scrolling: %u rows, %u put off, %u code blocks; %u frames drawn", count.rows, count.deferred,
                  count.code_blocks, watch.frames);
  g_assert_cmpuint (watch.frames, >=, 40);
  g_assert_cmpuint (watch.frames_with_empty_rows, ==, 0);
  g_assert_cmpuint (count.code_blocks, <=, count.rows - count.deferred);
}

/* The menu button beside the sidebar row whose title is @title. */
static GtkWidget *
find_row_menu (GtkWidget  *widget,
               const char *title)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_LABEL (child) && gtk_widget_get_mapped (child) &&
          g_str_equal (gtk_label_get_label (GTK_LABEL (child)), title))
        {
          /* title label → labels box → row box, whose last child is the button */
          GtkWidget *row = gtk_widget_get_parent (gtk_widget_get_parent (child));
          GtkWidget *last = gtk_widget_get_last_child (row);

          if (GTK_IS_MENU_BUTTON (last))
            return last;
        }
      found = find_row_menu (child, title);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static char *
menu_target (GtkWidget *menu_button,
             guint      index)
{
  GMenuModel *menu;
  g_autoptr(GVariant) target = NULL;

  gtk_menu_button_popup (GTK_MENU_BUTTON (menu_button));
  aic_test_settle (100);
  menu = gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (menu_button));
  g_assert_nonnull (menu);
  g_assert_cmpint (g_menu_model_get_n_items (menu), ==, 3);
  target = g_menu_model_get_item_attribute_value (menu, index, G_MENU_ATTRIBUTE_TARGET, G_VARIANT_TYPE_STRING);
  gtk_menu_button_popdown (GTK_MENU_BUTTON (menu_button));
  aic_test_settle (100);
  return g_variant_dup_string (target, NULL);
}

/* A row's menu acts on the conversation the row shows when it opens,
 * also after a search has relabelled the row (the menu is made when it
 * opens, not for every row a search relabels). */
static void
test_row_menu (Fixture       *f,
               gconstpointer  data)
{
  GListModel *model = aic_chat_page_get_conversation_model (f->page);
  g_autoptr(AicConversationItem) top = g_list_model_get_item (model, 0);
  g_autoptr(AicConversationItem) found = NULL;
  g_autofree char *rename = NULL, *delete = NULL;
  GtkWidget *button;

  button = find_row_menu (GTK_WIDGET (f->page), aic_conversation_item_get_title (top));
  g_assert_nonnull (button);
  rename = menu_target (button, 0);
  delete = menu_target (button, 2);
  g_assert_cmpstr (rename, ==, aic_conversation_item_get_id (top));
  g_assert_cmpstr (delete, ==, aic_conversation_item_get_id (top));

  /* "pelicans" is in conversation 7 only: the top row now shows it. */
  search (f, "pelicans");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
  found = g_list_model_get_item (model, 0);
  g_assert_cmpstr (aic_conversation_item_get_title (found), ==, "Conversation 7");
  g_assert_true (find_row_menu (GTK_WIDGET (f->page), "Conversation 7") == button);
  g_clear_pointer (&rename, g_free);
  rename = menu_target (button, 0);
  g_assert_cmpstr (rename, ==, aic_conversation_item_get_id (found));
}

static void
test_long_conversation (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Long", "demo", &error);
  AicConversation *conversation;
  guint rows;

  g_assert_true (aic_sqlite_exec (aic_store_get_db (f->store), "BEGIN", NULL));
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *text = g_strdup_printf (i % 2 ? "Answer %u:\n\n```c\nint x = %u;\n```\n" : "Question %u", i, i);

      aic_store_add_message (f->store, id, i % 2 ? "assistant" : "user", text, AIC_MESSAGE_COMPLETE, &error);
      g_assert_no_error (error);
    }
  g_assert_true (aic_sqlite_exec (aic_store_get_db (f->store), "COMMIT", NULL));

  aic_chat_page_open (f->page, id);
  aic_test_settle (500);
  conversation = aic_chat_page_get_conversation (f->page);
  g_assert_cmpuint (g_list_model_get_n_items (aic_conversation_get_messages (conversation)), ==, 1000);
  rows = aic_chat_page_get_n_message_rows (f->page);
  g_test_message ("%u rows made for 1000 messages", rows);
  g_assert_cmpuint (rows, >, 0);
  g_assert_cmpuint (rows, <=, SCREENFUL);

  /* Scrolled up, a button leads back to the newest message. */
  {
    GtkScrolledWindow *scroller = GTK_SCROLLED_WINDOW (gtk_widget_get_template_child (GTK_WIDGET (f->page),
                                                                                      AIC_TYPE_CHAT_PAGE, "scroller"));
    GtkRevealer *jump = GTK_REVEALER (gtk_widget_get_template_child (GTK_WIDGET (f->page), AIC_TYPE_CHAT_PAGE,
                                                                     "jump_revealer"));
    GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (scroller);

    g_assert_false (gtk_revealer_get_reveal_child (jump));
    /* The list view moving on its own does not leave the end … */
    gtk_adjustment_set_value (adjustment, 0);
    aic_test_settle (300);
    g_assert_false (gtk_revealer_get_reveal_child (jump));
    g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), >=,
                       gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 40);
    /* … a person scrolling up does. */
    aic_chat_page_note_person_scrolled (f->page);
    gtk_adjustment_set_value (adjustment, 0);
    aic_test_settle (100);
    g_assert_true (gtk_revealer_get_reveal_child (jump));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "chat.jump-to-end", NULL));
    aic_test_settle (300);
    g_assert_false (gtk_revealer_get_reveal_child (jump));
    g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), >=,
                       gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 40);
  }
}

/* Every reply on screen gets the height of its text: none ends below its
 * row (GTK 4.8 once allocated rows made at opening the height their text
 * had before its first paragraph was measured, and they were drawn over
 * their own buttons; aic-markdown-view.c). */
static void
assert_replies_fit (Fixture *f)
{
  GtkWidget *list = aic_chat_page_get_message_view (f->page);
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  guint checked = 0;

  collect_widgets (list, AIC_TYPE_MARKDOWN_VIEW, views);
  for (guint i = 0; i < views->len; i++)
    {
      GtkWidget *view = g_ptr_array_index (views, i);
      GtkWidget *box = gtk_widget_get_first_child (view);
      GtkWidget *last = gtk_widget_get_last_child (box);
      graphene_rect_t bounds;

      if (!gtk_widget_get_mapped (view) || last == NULL)
        continue;
      g_assert_true (gtk_widget_compute_bounds (last, view, &bounds));
      g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=, gtk_widget_get_height (view) + 1);
      checked++;
    }
  g_test_message ("%u replies on screen fit their rows", checked);
  g_assert_cmpuint (checked, >=, 1);
}

static void
test_replies_fit (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Replies", "demo", &error);

  for (guint i = 0; i < 20; i++)
    {
      const char *text = i % 2 == 0
        ? "What do the river and the kernel have in common?"
        : "The river keeps its history in the shape of its banks, and the kernel keeps its own in the "
          "tables it builds while it runs; both answer the next question from what came before.\n\n"
          "- a list with a few words\n- **bold words** and `code`\n\n"
          "Then a closing paragraph long enough to wrap over two lines in a window of this size, which "
          "is the shape of the replies the benchmarks store.";

      aic_store_add_message (f->store, id, i % 2 ? "assistant" : "user", text, AIC_MESSAGE_COMPLETE, &error);
      g_assert_no_error (error);
    }
  aic_chat_page_open (f->page, id);
  aic_test_settle (500);
  assert_replies_fit (f);
}

/* How far below the top of the view the lowest row the list view shows
 * ends, as drawn: the adjustment alone can claim the end while the rows
 * are placed elsewhere. */
static double
drawn_end (Fixture *f)
{
  GtkWidget *scroller = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (f->page), AIC_TYPE_CHAT_PAGE,
                                                                   "scroller"));
  GtkWidget *list = aic_chat_page_get_message_view (f->page);
  double end = -G_MAXDOUBLE;

  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    {
      graphene_rect_t bounds;

      if (gtk_widget_get_child_visible (row) && gtk_widget_compute_bounds (row, scroller, &bounds))
        end = MAX (end, bounds.origin.y + bounds.size.height);
    }
  return end;
}

static void
assert_end_drawn (Fixture    *f,
                  const char *when)
{
  GtkWidget *scroller = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (f->page), AIC_TYPE_CHAT_PAGE,
                                                                   "scroller"));
  double height = gtk_widget_get_height (scroller);
  double end = drawn_end (f);

  g_test_message ("%s: the last row ends at %.0f px in a view %.0f px high", when, end, height);
  /* The newest text is on screen, its end at the bottom of the view. */
  g_assert_cmpfloat (end, <=, height + 1);
  g_assert_cmpfloat (end, >=, height - 40);
}

/* A reply taller than the view: its end can be reached, after it is
 * opened, after a person scrolled away and back, and while it grows
 * (issue 15, item 1). */
static void
test_tall_message (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (f->store, "Tall", "demo", &error);
  g_autoptr(GString) text = g_string_new ("A long answer.\n\n```c\n");
  GtkScrolledWindow *scroller = GTK_SCROLLED_WINDOW (gtk_widget_get_template_child (GTK_WIDGET (f->page),
                                                                                    AIC_TYPE_CHAT_PAGE, "scroller"));
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (scroller);
  GListModel *messages;
  g_autoptr(AicChatMessage) last = NULL;

  for (guint i = 0; i < 80; i++)
    g_string_append_printf (text, "int line_%u = %u;\n", i, i);
  g_string_append (text, "```\n\nThe end of the answer.\n");
  aic_store_add_message (f->store, id, "user", "Write a long program", AIC_MESSAGE_COMPLETE, &error);
  g_assert_no_error (error);
  aic_store_add_message (f->store, id, "assistant", text->str, AIC_MESSAGE_COMPLETE, &error);
  g_assert_no_error (error);

  /* Opened from another conversation a person had scrolled up in: the
   * view goes to the new one's end (and the list view has nothing to
   * warn about while its new rows are not measured yet). */
  {
    g_autofree char *other = aic_store_create_conversation (f->store, "Other", "demo", &error);

    for (guint i = 0; i < 30; i++)
      aic_store_add_message (f->store, other, i % 2 ? "assistant" : "user", "Some words.\n\nAnd more words.",
                             AIC_MESSAGE_COMPLETE, &error);
    aic_chat_page_open (f->page, other);
    aic_test_settle (300);
    aic_chat_page_note_person_scrolled (f->page);
    gtk_adjustment_set_value (adjustment, 0);
    aic_test_settle (100);
  }
  aic_chat_page_open (f->page, id);
  aic_test_settle (500);
  g_assert_cmpfloat (gtk_adjustment_get_upper (adjustment), >, 2 * gtk_adjustment_get_page_size (adjustment));
  assert_end_drawn (f, "opened");

  /* A person goes to the top, then back down to the end. */
  aic_chat_page_note_person_scrolled (f->page);
  gtk_adjustment_set_value (adjustment, 0);
  aic_test_settle (200);
  g_assert_cmpfloat (drawn_end (f), >, gtk_widget_get_height (GTK_WIDGET (scroller)) + 100);
  aic_chat_page_note_person_scrolled (f->page);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment));
  aic_test_settle (200);
  assert_end_drawn (f, "scrolled back");

  /* It grows, as a streamed reply does: the end stays in view. */
  messages = aic_conversation_get_messages (aic_chat_page_get_conversation (f->page));
  last = g_list_model_get_item (messages, g_list_model_get_n_items (messages) - 1);
  for (guint i = 0; i < 20; i++)
    {
      aic_chat_message_append (last, "More of the answer, word after word, until the line wraps. ");
      /* In the very next frame, not one later. */
      aic_test_wait_frames (f->window, 1);
      g_assert_cmpfloat (fabs (drawn_end (f) - gtk_widget_get_height (GTK_WIDGET (scroller))), <=, 1);
    }
  aic_test_settle (200);
  assert_end_drawn (f, "grown");

  /* A new reply under it, short at first, growing. */
  {
    AicConversation *conversation = aic_chat_page_get_conversation (f->page);
    g_autoptr(AicChatMessage) reply = NULL;

    aic_store_add_message (f->store, id, "user", "And another?", AIC_MESSAGE_COMPLETE, &error);
    g_assert_no_error (error);
    aic_chat_page_open (f->page, id);
    aic_test_settle (300);
    assert_end_drawn (f, "reopened");
    conversation = aic_chat_page_get_conversation (f->page);
    messages = aic_conversation_get_messages (conversation);
    reply = g_list_model_get_item (messages, g_list_model_get_n_items (messages) - 1);
    for (guint i = 0; i < 20; i++)
      {
        aic_chat_message_append (reply, i % 5 == 4 ? "\n\nA new paragraph. " : "Words of the question. ");
        aic_test_wait_frames (f->window, 1);
        g_assert_cmpfloat (fabs (drawn_end (f) - gtk_widget_get_height (GTK_WIDGET (scroller))), <=, 1);
      }
  }

  /* Narrower: every row is measured anew. */
  gtk_window_set_default_size (GTK_WINDOW (f->window), 500, 600);
  aic_test_settle (300);
  assert_end_drawn (f, "narrowed");
}

/* Arrows move through the list, they do not open: Enter (the list's
 * activation) opens, and the focus stays in the list (issue 15). */
static void
test_sidebar_keyboard (Fixture       *f,
                       gconstpointer  data)
{
  GListModel *model = aic_chat_page_get_conversation_model (f->page);
  GtkWidget *list = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (f->page), AIC_TYPE_CHAT_PAGE,
                                                               "conversation_list"));
  GtkSelectionModel *selection = gtk_list_view_get_model (GTK_LIST_VIEW (list));
  g_autoptr(AicConversationItem) first = g_list_model_get_item (model, 0);
  g_autoptr(AicConversationItem) second = g_list_model_get_item (model, 1);
  GtkWidget *focus;

  g_assert_cmpstr (aic_conversation_get_id (aic_chat_page_get_conversation (f->page)), ==,
                   aic_conversation_item_get_id (first));
  gtk_widget_grab_focus (list);
  /* What an arrow key does in a list view: the next item is selected. */
  gtk_selection_model_select_item (selection, 1, TRUE);
  aic_test_settle (50);
  g_assert_cmpstr (aic_conversation_get_id (aic_chat_page_get_conversation (f->page)), ==,
                   aic_conversation_item_get_id (first));

  /* Enter: the list activates the item, and it opens. */
  g_assert_true (gtk_widget_activate_action (list, "list.activate-item", "u", 1));
  aic_test_settle (50);
  g_assert_cmpstr (aic_conversation_get_id (aic_chat_page_get_conversation (f->page)), ==,
                   aic_conversation_item_get_id (second));
  focus = gtk_root_get_focus (gtk_widget_get_root (list));
  g_assert_nonnull (focus);
  g_assert_true (focus == list || gtk_widget_is_ancestor (focus, list));
}

/* The first label under @widget showing @text, if any. */
static GtkWidget *
find_label (GtkWidget  *widget,
            const char *text)
{
  if (GTK_IS_LABEL (widget) && g_str_equal (gtk_label_get_text (GTK_LABEL (widget)), text))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The user's own message wraps as a reply's paragraphs do
 * (aic_label_wrap_prose): its narrowest width is a few characters, so it
 * is not laid out at width zero, a character a line, each time a row is
 * bound while scrolling. */
static void
test_user_text_narrowest (void)
{
  GtkWidget *row = g_object_ref_sink (aic_message_row_new ());
  g_autoptr(AicChatMessage) message = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *label;
  int min, nat;

  for (guint i = 0; i < 120; i++)
    g_string_append (text, "word ");
  g_string_append (text, "https://example.com/a-long-address-with-no-spaces-in-it-at-all");
  message = aic_chat_message_new (1, "user", text->str, AIC_MESSAGE_COMPLETE);
  aic_message_row_set_message (AIC_MESSAGE_ROW (row), message);
  aic_message_row_show_content (AIC_MESSAGE_ROW (row));

  label = find_label (row, text->str);
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_get_visible (label));
  g_assert_cmpint (gtk_label_get_width_chars (GTK_LABEL (label)), >, 0);
  g_assert_cmpint (gtk_label_get_wrap_mode (GTK_LABEL (label)), ==, PANGO_WRAP_WORD_CHAR);
  gtk_widget_measure (label, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_test_message ("user's message: narrowest %d px, widest %d px", min, nat);
  /* A few characters, and narrower than the address: it breaks. */
  g_assert_cmpint (min, >=, 40);
  g_assert_cmpint (min, <, 240);
  g_object_unref (row);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  gtk_source_init ();

  g_test_add_func ("/chat-page/user-text-narrowest", test_user_text_narrowest);
  g_test_add ("/chat-page/sidebar-at-scale", Fixture, NULL, fixture_setup, test_sidebar_at_scale, fixture_teardown);
  g_test_add ("/chat-page/sidebar-keyboard", Fixture, NULL, fixture_setup, test_sidebar_keyboard, fixture_teardown);
  g_test_add ("/chat-page/tall-message", Fixture, GUINT_TO_POINTER (10), fixture_setup, test_tall_message,
              fixture_teardown);
  g_test_add ("/chat-page/rows-made-near-view", Fixture, GUINT_TO_POINTER (10), fixture_setup, test_rows_made_near_view, fixture_teardown);
  g_test_add ("/chat-page/row-menu", Fixture, GUINT_TO_POINTER (10), fixture_setup, test_row_menu, fixture_teardown);
  g_test_add ("/chat-page/long-conversation", Fixture, NULL, fixture_setup, test_long_conversation, fixture_teardown);
  g_test_add ("/chat-page/replies-fit", Fixture, GUINT_TO_POINTER (10), fixture_setup, test_replies_fit, fixture_teardown);

  return g_test_run ();
}
