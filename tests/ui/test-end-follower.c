/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "aic-end-follower.h"
#include "aic-ui-test-util.h"

/* A list that grows at its end, in a real window: the follower keeps the
 * end drawn at the bottom of the view while the person is there, leaves
 * the view where the person scrolled to, and brings it back when asked.
 * (The Chat page's list view has its own test in test-chat-page.) */

typedef struct
{
  GtkWidget *window;
  GtkScrolledWindow *scroller;
  GtkListBox *list;
  AicEndFollower *follower;
  GtkLabel *last_label;
} Fixture;

static void
append (Fixture    *f,
        const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_margin_top (label, 12);
  gtk_widget_set_margin_bottom (label, 12);
  gtk_list_box_append (f->list, label);
  f->last_label = GTK_LABEL (label);
}

/* Where the last row ends, as drawn, from the top of the view. */
static double
drawn_end (Fixture *f)
{
  GtkWidget *last = gtk_widget_get_last_child (GTK_WIDGET (f->list));
  graphene_rect_t bounds;

  g_assert_true (gtk_widget_compute_bounds (last, GTK_WIDGET (f->scroller), &bounds));
  return bounds.origin.y + bounds.size.height;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 400, 300);
  f->scroller = GTK_SCROLLED_WINDOW (gtk_scrolled_window_new ());
  f->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_scrolled_window_set_child (f->scroller, GTK_WIDGET (f->list));
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->scroller));
  f->follower = aic_end_follower_new (f->scroller);
  gtk_window_present (GTK_WINDOW (f->window));
  aic_test_wait_frames (f->window, 3);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  /* The follower outlives its scroller quietly. */
  g_clear_object (&f->follower);
}

static void
assert_at_end (Fixture *f)
{
  g_assert_cmpfloat (fabs (drawn_end (f) - gtk_widget_get_height (GTK_WIDGET (f->scroller))), <=, 1);
}

static void
test_follows (Fixture       *f,
              gconstpointer  data)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (f->scroller);
  double kept;

  /* Rows come one a frame, more than the view holds: each is drawn at the
   * bottom of the view in the frame after it came. */
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *text = g_strdup_printf ("Row %u", i);

      append (f, text);
      aic_test_wait_frames (f->window, 2);
      if (i > 10)
        assert_at_end (f);
    }
  g_assert_true (aic_end_follower_get_following (f->follower));

  /* The last row grows, as a streamed reply does. */
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *text = g_strconcat (gtk_label_get_label (f->last_label), " and more words that wrap", NULL);

      gtk_label_set_label (f->last_label, text);
      aic_test_wait_frames (f->window, 2);
      assert_at_end (f);
    }

  /* Moved by something else than the person: back at the end. */
  gtk_adjustment_set_value (adjustment, 0);
  aic_test_wait_frames (f->window, 3);
  assert_at_end (f);
  g_assert_true (aic_end_follower_get_following (f->follower));

  /* The person scrolls up: the view stays there while rows come. */
  aic_end_follower_note_person (f->follower);
  gtk_adjustment_set_value (adjustment, 50);
  aic_test_wait_frames (f->window, 2);
  g_assert_false (aic_end_follower_get_following (f->follower));
  kept = gtk_adjustment_get_value (adjustment);
  append (f, "Row that comes while the person reads above");
  aic_test_wait_frames (f->window, 3);
  g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), ==, kept);
  g_assert_cmpfloat (drawn_end (f), >, gtk_widget_get_height (GTK_WIDGET (f->scroller)) + 100);

  /* Asked back ("Jump to the Newest"): at the end, following again. */
  aic_end_follower_follow (f->follower);
  aic_test_wait_frames (f->window, 3);
  g_assert_true (aic_end_follower_get_following (f->follower));
  assert_at_end (f);

  /* The view shrinks (a bar under it): the end stays in view. */
  gtk_window_set_default_size (GTK_WINDOW (f->window), 400, 200);
  aic_test_wait_frames (f->window, 4);
  assert_at_end (f);

  /* The person scrolls back down to the end: following again. */
  aic_end_follower_note_person (f->follower);
  gtk_adjustment_set_value (adjustment, 0);
  aic_test_wait_frames (f->window, 2);
  g_assert_false (aic_end_follower_get_following (f->follower));
  aic_end_follower_note_person (f->follower);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment));
  aic_test_wait_frames (f->window, 2);
  g_assert_true (aic_end_follower_get_following (f->follower));
  append (f, "One more");
  aic_test_wait_frames (f->window, 2);
  assert_at_end (f);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add ("/end-follower/follows", Fixture, NULL, fixture_setup, test_follows, fixture_teardown);

  return g_test_run ();
}
