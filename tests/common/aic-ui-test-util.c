/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "aic-ui-test-util.h"

void
aic_test_settle (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
}

static void
painted_cb (GdkFrameClock *clock,
            guint         *n)
{
  (*n)++;
}

void
aic_test_wait_frames (GtkWidget *widget,
                      guint      n)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  guint painted = 0;
  gulong id;

  g_assert_nonnull (clock);
  id = g_signal_connect (clock, "after-paint", G_CALLBACK (painted_cb), &painted);
  while (painted < n)
    {
      gtk_widget_queue_draw (widget);
      g_main_context_iteration (NULL, TRUE);
    }
  g_signal_handler_disconnect (clock, id);
}
