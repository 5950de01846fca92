/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Chat page at scale (issue 14), for bench/scale.d/10-app-chat:
 *
 *   bench-app-scale generate DB CONVERSATIONS MESSAGES [LONG]
 *       a store of CONVERSATIONS × MESSAGES (and one of LONG messages,
 *       the most recent, when given); words from a small vocabulary,
 *       "pelican" in one message in a hundred
 *   bench-app-scale generate-jobs DB JOBS
 *       adds JOBS finished document jobs, each with a summary of about
 *       2.4 KB, to the store
 *   bench-app-scale shown DB OUT
 *       writes the conversation a start shows (the newest) to OUT, its
 *       messages as Markdown, for gnome-text-editor to open
 *   bench-app-scale search DB
 *       types "pelican" into the sidebar's search, a key per frame, three
 *       times; prints per keystroke: query and model update, and that plus
 *       the frame; and each round's slowest keystroke with their median
 *   bench-app-scale conversation DB
 *       opens the short conversation, then the long one: time to open and
 *       draw, RSS per message beyond the short one, and frame times while
 *       scrolling it end to end, three passes (each pass's p99 and their
 *       median); then one pass over a plain GtkListView of its text
 *   bench-app-scale documents DB
 *       reads the store's document jobs as a start does (AicJobManager),
 *       then shows them on the Documents page (a window with the page,
 *       drawn empty first): the time and memory of each step
 *
 * Results on stdout as "key value" lines; run under Xvfb. */
#include "config.h"

#include <adwaita.h>
#include <gtksourceview/gtksource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aic-chat-page.h"
#include "aic-documents-page.h"
#include "bench-util.h"
#include "aic-chat-page-private.h"
#include "aic-store-private.h"

static const char *words[] = {
  "the", "model", "answer", "question", "table", "server", "memory", "garden", "river", "number",
  "window", "search", "list", "value", "token", "stream", "reply", "history", "kernel", "socket",
  "thread", "cache", "index", "query", "row", "button", "colour", "house", "train", "letter",
  "paper", "bridge", "music", "winter", "summer", "market", "engine", "planet", "forest", "stone",
};

static void
add_words (GString *out,
           GRand   *rand,
           guint    n)
{
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
    }
}

static char *
make_text (GRand    *rand,
           gboolean  user,
           guint     index)
{
  GString *out = g_string_new (NULL);

  if (user)
    {
      add_words (out, rand, 12);
      g_string_append_c (out, '?');
    }
  else
    {
      add_words (out, rand, 40);
      g_string_append (out, ".\n\n- ");
      add_words (out, rand, 6);
      g_string_append (out, "\n- **");
      add_words (out, rand, 2);
      g_string_append (out, "** and `code`\n\n");
      if (index % 4 == 1)
        g_string_append_printf (out, "```c\nint x = %u;\nreturn x * 2;\n```\n\n", index);
      add_words (out, rand, 30);
      g_string_append_c (out, '.');
    }
  if (g_rand_int_range (rand, 0, 100) == 0)
    g_string_append (out, " pelican");
  return g_string_free (out, FALSE);
}

static void
fill (AicStore   *store,
      GRand      *rand,
      const char *title,
      guint       n)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = aic_store_create_conversation (store, title, "demo", &error);

  g_assert_no_error (error);
  for (guint j = 0; j < n; j++)
    {
      g_autofree char *text = make_text (rand, j % 2 == 0, j);

      aic_store_add_message (store, id, j % 2 == 0 ? "user" : "assistant", text, AIC_MESSAGE_COMPLETE, &error);
      g_assert_no_error (error);
    }
}

static int
generate (const char *path,
          guint       n_conversations,
          guint       n_messages,
          guint       n_long)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (path, &error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  sqlite3 *db;

  g_assert_no_error (error);
  db = aic_store_get_db (store);
  aic_sqlite_exec (db, "BEGIN", NULL);
  for (guint i = 0; i < n_conversations; i++)
    {
      g_autofree char *title = NULL;
      GString *t = g_string_new (NULL);

      add_words (t, rand, 4);
      title = g_string_free (t, FALSE);
      fill (store, rand, title, n_messages);
    }
  if (n_long > 0)
    {
      fill (store, rand, "Short one", 10);
      fill (store, rand, "The long one", n_long);
    }
  aic_sqlite_exec (db, "COMMIT", NULL);
  return 0;
}

/* ---- in a window ---- */

static gint64 frame_start, layout_end;
static GArray *frames;   /* whole frames, ms */
static GArray *layouts;  /* their update and layout phases: ticks, binding, measuring */
static gboolean painted;

static void
before_paint (GdkFrameClock *clock)
{
  frame_start = g_get_monotonic_time ();
  layout_end = 0;
}

/* Connected after everything else: the end of the frame's layout. */
static void
after_layout (GdkFrameClock *clock)
{
  layout_end = g_get_monotonic_time ();
}

static void
after_paint (GdkFrameClock *clock)
{
  if (frame_start != 0 && frames != NULL)
    {
      double ms = (g_get_monotonic_time () - frame_start) / 1000.0;

      g_array_append_val (frames, ms);
    }
  if (frame_start != 0 && layout_end != 0 && layouts != NULL)
    {
      double ms = (layout_end - frame_start) / 1000.0;

      g_array_append_val (layouts, ms);
    }
  frame_start = 0;
  painted = TRUE;
}

static void
watch_frames (GtkWidget *window)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_signal_connect (clock, "before-paint", G_CALLBACK (before_paint), NULL);
  g_signal_connect_after (clock, "layout", G_CALLBACK (after_layout), NULL);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), NULL);
}

static void
wait_painted (GtkWidget *window)
{
  painted = FALSE;
  gtk_widget_queue_draw (window);
  while (!painted)
    g_main_context_iteration (NULL, TRUE);
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values,
            double  p)
{
  guint i;

  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_double);
  i = MIN (values->len - 1, (guint) (p * values->len));
  return g_array_index (values, double, i);
}

/* Rounds of typing and passes of scrolling: a median of three. */
#define PASSES 3

static double
median3 (const double *values)
{
  double a = values[0], b = values[1], c = values[2];

  G_STATIC_ASSERT (PASSES == 3);

  return MAX (MIN (a, b), MIN (MAX (a, b), c));
}

/* A window of the bench's size around @child, shown, its frames watched
 * once it has settled. */
static GtkWidget *
show_in_window (GtkWidget *child)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 800);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));
  bench_settle (300);
  watch_frames (window);
  bench_settle (700);
  return window;
}

/* The Chat page is given its store once it is in its window, as the
 * app's window does (given it before, the search run waited for ever
 * for a frame after a key). */
static AicChatPage *
page_window (AicStore   *store,
             GtkWidget **window_out)
{
  GtkWidget *window = gtk_window_new ();
  AicChatPage *page = g_object_new (AIC_TYPE_CHAT_PAGE, NULL);

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 800);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  aic_chat_page_set_store (page, store);
  gtk_window_present (GTK_WINDOW (window));
  bench_settle (300);
  watch_frames (window);
  bench_settle (700);
  *window_out = window;
  return page;
}

static int
search (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (path, &error);
  g_autoptr(GArray) query = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) total = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) work = g_array_new (FALSE, FALSE, sizeof (double));
  const char *typed = "pelican";
  double round_query[PASSES], round_work[PASSES];
  GtkWidget *window, *entry;
  AicChatPage *page;
  guint rows;

  g_assert_no_error (error);
  page = page_window (store, &window);
  entry = aic_chat_page_get_search_entry (page);
  rows = aic_chat_page_get_n_conversation_rows (page);

  for (guint round = 0; round < PASSES; round++)
    {
      round_query[round] = round_work[round] = 0;
      gtk_editable_set_text (GTK_EDITABLE (entry), "");
      bench_settle (300);
      for (guint i = 0; typed[i]; i++)
        {
          char key[2] = { typed[i], 0 };
          int position = -1;
          gint64 start = g_get_monotonic_time ();
          double ms, busy;

          /* A key, and the search it starts (at once, not after the
           * entry's 150 ms pause), up to the frame that shows it. */
          gtk_editable_insert_text (GTK_EDITABLE (entry), key, 1, &position);
          g_signal_emit_by_name (entry, "search-changed");
          ms = (g_get_monotonic_time () - start) / 1000.0;
          g_array_append_val (query, ms);
          round_query[round] = MAX (round_query[round], ms);
          fprintf (stderr, "round %u, \"%.*s\": query + model %.1f ms", round, (int) i + 1, typed, ms);
          /* The work a key costs: the above, and the frame that shows
           * it (not the wait for the frame clock's next tick). */
          busy = ms;
          frames = g_array_new (FALSE, FALSE, sizeof (double));
          wait_painted (window);
          for (guint j = 0; j < frames->len; j++)
            busy += g_array_index (frames, double, j);
          g_clear_pointer (&frames, g_array_unref);
          g_array_append_val (work, busy);
          round_work[round] = MAX (round_work[round], busy);
          ms = (g_get_monotonic_time () - start) / 1000.0;
          g_array_append_val (total, ms);
          fprintf (stderr, ", with its frame %.1f ms, frame drawn after %.1f ms\n", busy, ms);
          bench_settle (50);
        }
    }
  printf ("search_results %u\n", g_list_model_get_n_items (aic_chat_page_get_conversation_model (page)));
  printf ("search_query_p50_ms %.1f\nsearch_query_max_ms %.1f\n", percentile (query, 0.5), percentile (query, 1.0));
  printf ("search_work_p50_ms %.1f\nsearch_work_max_ms %.1f\n", percentile (work, 0.5), percentile (work, 1.0));
  printf ("search_keystroke_p50_ms %.1f\nsearch_keystroke_max_ms %.1f\n", percentile (total, 0.5), percentile (total, 1.0));
  /* The slowest keystroke of each round (typing the word again), and the
   * median of the three. */
  printf ("search_query_max_rounds_ms %.1f/%.1f/%.1f\nsearch_query_max_median_ms %.1f\n",
          round_query[0], round_query[1], round_query[2], median3 (round_query));
  printf ("search_work_max_rounds_ms %.1f/%.1f/%.1f\nsearch_work_max_median_ms %.1f\n",
          round_work[0], round_work[1], round_work[2], median3 (round_work));
  printf ("sidebar_rows_made %u\nsidebar_rows_made_after_typing %u\n", rows, aic_chat_page_get_n_conversation_rows (page));
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}

typedef struct
{
  GtkAdjustment *adjustment;
  AicChatPage   *page;
} Scroll;

/* The view moves in the frame's update phase, as kinetic scrolling and a
 * touchpad's scroll events do: what the move costs (binding rows, and
 * measuring them) is in the frame measured. */
static gboolean
scroll_tick (GtkWidget     *widget,
             GdkFrameClock *clock,
             gpointer       user_data)
{
  Scroll *scroll = user_data;

  if (scroll->page != NULL)
    aic_chat_page_note_person_scrolled (scroll->page);
  gtk_adjustment_set_value (scroll->adjustment, gtk_adjustment_get_value (scroll->adjustment) + 150);
  return G_SOURCE_CONTINUE;
}

/* From the top, a steady 150 px a frame to the bottom (or 60 s, whichever
 * first; NAME_reached_end says which). */
static void
scroll_end_to_end (const char    *name,
                   GtkWidget     *window,
                   GtkAdjustment *adjustment,
                   AicChatPage   *page,
                   double        *frame_p99,
                   double        *layout_p99)
{
  Scroll scroll = { adjustment, page };
  gint64 start = g_get_monotonic_time ();
  double frame, layout;
  guint tick;

  frames = g_array_new (FALSE, FALSE, sizeof (double));
  layouts = g_array_new (FALSE, FALSE, sizeof (double));
  tick = gtk_widget_add_tick_callback (window, scroll_tick, &scroll, NULL);
  while (gtk_adjustment_get_value (adjustment) < gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 1 &&
         g_get_monotonic_time () - start < 60 * G_USEC_PER_SEC)
    wait_painted (window);
  gtk_widget_remove_tick_callback (window, tick);
  printf ("%s_reached_end %s\n", name, gtk_adjustment_get_value (adjustment) >= gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 1 ? "yes" : "no");
  printf ("%s_frames %u\n%s_seconds %.1f\n", name, frames->len, name, (g_get_monotonic_time () - start) / 1e6);
  frame = percentile (frames, 0.99);
  layout = percentile (layouts, 0.99);
  printf ("%s_frame_p50_ms %.2f\n%s_frame_p99_ms %.2f\n", name, percentile (frames, 0.5), name, frame);
  printf ("%s_layout_p50_ms %.2f\n%s_layout_p99_ms %.2f\n", name, percentile (layouts, 0.5), name, layout);
  if (frame_p99 != NULL)
    *frame_p99 = frame;
  if (layout_p99 != NULL)
    *layout_p99 = layout;
  g_clear_pointer (&frames, g_array_unref);
  g_clear_pointer (&layouts, g_array_unref);
}

static void
reference_setup_cb (GtkSignalListItemFactory *factory,
                    GtkListItem              *list_item)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_margin_start (label, 18);
  gtk_widget_set_margin_end (label, 18);
  gtk_widget_set_margin_top (label, 12);
  gtk_widget_set_margin_bottom (label, 12);
  gtk_list_item_set_child (list_item, label);
}

static void
reference_bind_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *list_item)
{
  gtk_label_set_label (GTK_LABEL (gtk_list_item_get_child (list_item)),
                       gtk_string_object_get_string (gtk_list_item_get_item (list_item)));
}

/* The reference, in the same run: the same messages' text, unformatted,
 * one wrapped label a row in a plain GtkListView, the same window size
 * and the same scrolling. What GTK and the renderer cost here for a list
 * of text, with nothing of ours. */
static void
scroll_reference (AicStore   *store,
                  const char *conversation_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = aic_store_list_messages (store, conversation_id, &error);
  GtkStringList *texts = gtk_string_list_new (NULL);
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkWidget *window;
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *list;

  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    gtk_string_list_append (texts, ((AicStoredMessage *) g_ptr_array_index (messages, i))->content);
  g_signal_connect (factory, "setup", G_CALLBACK (reference_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (reference_bind_cb), NULL);
  list = gtk_list_view_new (GTK_SELECTION_MODEL (gtk_no_selection_new (G_LIST_MODEL (texts))), factory);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), list);
  window = show_in_window (scroller);
  scroll_end_to_end ("reference_scroll", window,
                     gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller)), NULL, NULL, NULL);
  gtk_window_destroy (GTK_WINDOW (window));
}

static int
conversation (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (path, &error);
  g_autoptr(GPtrArray) list = NULL;
  const char *long_id = NULL, *short_id = NULL;
  GtkWidget *window;
  GtkAdjustment *adjustment;
  AicChatPage *page;
  double before, after, open_ms;
  double frame_p99[PASSES], layout_p99[PASSES];
  gint64 start;
  guint n;

  g_assert_no_error (error);
  list = aic_store_list_conversations (store, NULL, &error);
  for (guint i = 0; i < list->len; i++)
    {
      AicConversationInfo *info = g_ptr_array_index (list, i);

      if (g_str_equal (info->title, "The long one"))
        long_id = info->id;
      else if (g_str_equal (info->title, "Short one"))
        short_id = info->id;
    }
  g_assert_nonnull (long_id);
  g_assert_nonnull (short_id);

  page = page_window (store, &window);
  aic_chat_page_open (page, short_id);
  bench_settle (1000);
  before = bench_rss_mib ();

  start = g_get_monotonic_time ();
  aic_chat_page_open (page, long_id);
  wait_painted (window);
  open_ms = (g_get_monotonic_time () - start) / 1000.0;
  bench_settle (1500);
  after = bench_rss_mib ();
  n = g_list_model_get_n_items (aic_conversation_get_messages (aic_chat_page_get_conversation (page)));
  printf ("open_messages %u\nopen_ms %.1f\n", n, open_ms);
  printf ("rss_short_mib %.1f\nrss_long_mib %.1f\nrss_per_message_kib %.2f\n",
          before, after, (after - before) * 1024 / (n - 10));
  printf ("message_rows_made %u\n", aic_chat_page_get_n_message_rows (page));

  /* End to end: from the top, a steady 150 px a frame to the bottom (or
   * 60 s, whichever first; scroll_reached_end says which). */
  adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (aic_chat_page_get_message_view (page)));
  /* Three passes: one pass's p99 is decided by its worst dozen frames,
   * and a moment the machine gives to something else moves it by tens
   * of percent. The first pass is printed as "scroll_…" (the rows made
   * then are those of a first pass); the median and all three after. */
  for (guint pass = 0; pass < PASSES; pass++)
    {
      g_autofree char *name = pass == 0 ? g_strdup ("scroll") : g_strdup_printf ("scroll_pass%u", pass + 1);

      /* As a person would: the page stops following the end. */
      aic_chat_page_note_person_scrolled (page);
      gtk_adjustment_set_value (adjustment, 0);
      bench_settle (500);
      scroll_end_to_end (name, window, adjustment, page, &frame_p99[pass], &layout_p99[pass]);
    }
  printf ("scroll_frame_p99_passes_ms %.2f/%.2f/%.2f\nscroll_frame_p99_median_ms %.2f\n",
          frame_p99[0], frame_p99[1], frame_p99[2], median3 (frame_p99));
  printf ("scroll_layout_p99_passes_ms %.2f/%.2f/%.2f\nscroll_layout_p99_median_ms %.2f\n",
          layout_p99[0], layout_p99[1], layout_p99[2], median3 (layout_p99));
  printf ("message_rows_made_after_scroll %u\n", aic_chat_page_get_n_message_rows (page));
  gtk_window_destroy (GTK_WINDOW (window));

  if (g_getenv ("BENCH_NO_REFERENCE") == NULL)
    scroll_reference (store, long_id);
  return 0;
}

/* A year of documents: N finished jobs, each with a summary of about
 * 2.4 KB (title, 20 sentences, 5 key points), added to the store at
 * PATH, newest first an hour apart. */
static int
generate_jobs (const char *path,
               guint       n_jobs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (path, &error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  gint64 now = g_get_real_time ();
  sqlite3 *db;

  g_assert_no_error (error);
  db = aic_store_get_db (store);
  aic_sqlite_exec (db, "BEGIN", NULL);
  for (guint i = 0; i < n_jobs; i++)
    {
      g_autofree char *id = g_strdup_printf ("bench-job-%06u", i);
      g_autofree char *name = g_strdup_printf ("report-%06u.pdf", i);
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *json = NULL;
      g_autoptr(AicJob) job = NULL;
      GString *text = g_string_new (NULL);
      gint64 when = now - (gint64) i * 3600 * G_USEC_PER_SEC;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "title");
      add_words (text, rand, 4);
      json_builder_add_string_value (builder, text->str);
      g_string_truncate (text, 0);
      for (guint k = 0; k < 20; k++)
        {
          add_words (text, rand, 15);
          g_string_append (text, ". ");
        }
      json_builder_set_member_name (builder, "summary");
      json_builder_add_string_value (builder, text->str);
      json_builder_set_member_name (builder, "key_points");
      json_builder_begin_array (builder);
      for (guint k = 0; k < 5; k++)
        {
          g_string_truncate (text, 0);
          add_words (text, rand, 10);
          json_builder_add_string_value (builder, text->str);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      g_string_free (text, TRUE);
      root = json_builder_get_root (builder);
      json = json_to_string (root, FALSE);

      job = aic_job_restore (id, name, id, AIC_JOB_DONE, 100, NULL, NULL, NULL, when, when);
      aic_job_set_owner (job, "app");
      g_assert_true (aic_job_set_result_json (job, json, &error));
      g_assert_true (aic_store_save_job (store, job, &error));
    }
  aic_sqlite_exec (db, "COMMIT", NULL);
  return 0;
}

static int
documents (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (path, &error);
  g_autoptr(AicJobManager) manager = NULL;
  GtkWidget *window, *page;
  double before, loaded, drawn, shown, load_ms, page_ms;
  gint64 start;

  g_assert_no_error (error);
  bench_settle (200);
  before = bench_rss_mib ();
  start = g_get_monotonic_time ();
  manager = aic_job_manager_new (store, "app");
  if (!aic_job_manager_load (manager, FALSE, &error))
    g_error ("%s", error->message);
  load_ms = (g_get_monotonic_time () - start) / 1000.0;
  loaded = bench_rss_mib ();

  page = g_object_new (AIC_TYPE_DOCUMENTS_PAGE, NULL);
  window = show_in_window (page);
  drawn = bench_rss_mib ();
  start = g_get_monotonic_time ();
  aic_documents_page_set_manager (AIC_DOCUMENTS_PAGE (page), manager);
  wait_painted (window);
  page_ms = (g_get_monotonic_time () - start) / 1000.0;
  bench_settle (1000);
  shown = bench_rss_mib ();
  printf ("jobs %u\nload_ms %.1f\nload_rss_mib %.1f\npage_ms %.1f\npage_rss_mib %.1f\n",
          g_list_model_get_n_items (aic_job_manager_get_jobs (manager)), load_ms, loaded - before,
          page_ms, shown - drawn);
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}

/* Writes the conversation a start shows (the newest, as the Chat page
 * opens it), its messages as Markdown, for the editor to open. */
static int
shown (const char *path,
       const char *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = aic_store_open (path, &error);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  g_assert_no_error (error);
  list = aic_store_list_conversations (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, >, 0);
  messages = aic_store_list_messages (store, ((AicConversationInfo *) g_ptr_array_index (list, 0))->id, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? "\n\n" : "",
                            ((AicStoredMessage *) g_ptr_array_index (messages, i))->content);
  g_string_append_c (text, '\n');
  if (!g_file_set_contents (out, text->str, text->len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  if (argc >= 5 && g_str_equal (argv[1], "generate"))
    return generate (argv[2], atoi (argv[3]), atoi (argv[4]), argc > 5 ? atoi (argv[5]) : 0);
  if (argc >= 4 && g_str_equal (argv[1], "shown"))
    return shown (argv[2], argv[3]);
  if (argc >= 4 && g_str_equal (argv[1], "generate-jobs"))
    return generate_jobs (argv[2], atoi (argv[3]));

  if (argc < 3)
    {
      fprintf (stderr, "usage: bench-app-scale generate DB N M [LONG] | generate-jobs DB N | shown DB OUT | search DB | conversation DB | documents DB\n");
      return 2;
    }
  gtk_init ();
  adw_init ();
  gtk_source_init ();
  {
    /* The app's style sheet, as the app has it (AdwApplication loads it). */
    GtkCssProvider *css = gtk_css_provider_new ();

    gtk_css_provider_load_from_resource (css, "/io/github/aiconsole/AiConsole/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }
  if (g_str_equal (argv[1], "search"))
    return search (argv[2]);
  if (g_str_equal (argv[1], "conversation"))
    return conversation (argv[2]);
  if (g_str_equal (argv[1], "documents"))
    return documents (argv[2]);
  return 2;
}
