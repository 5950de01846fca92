/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rendering a streamed reply: 20,000 tokens of Markdown arriving at 2,000
 * tokens/s into the reply view of the Chat page (AicMarkdownView), in a
 * real window with the real frame clock (run under Xvfb).
 *
 * Four runs in one process, each in a new window of the same widgets:
 *
 *   following    the app's way (append, render once per frame, finished
 *                blocks never again), with the view following the end of
 *                the reply as the Chat page does (AicEndFollower): what a
 *                person watching a reply sees, and the measure of record.
 *   below        the same, with the view left at the top, so that the
 *                reply grows below the fold (this bench's only run before
 *                2026-12-07; kept to compare with earlier results).
 *   reference    the whole message parsed and built again every frame,
 *                the naive way (view at the top).
 *   repaint      the renderer's floor: the window shows the end of the
 *                finished reply and nothing of ours changes; a one-pixel
 *                widget in its corner changes colour every frame, so GTK
 *                must draw a frame. On a renderer that redraws only what
 *                changed this is nearly free; on one that redraws the
 *                whole window it is the cost of that, with no work of ours.
 *
 * Printed for each: frame time p50/p99, CPU time, total time, the cost per
 * token early and late in the message (flat means it does not grow with the
 * message), and each frame split in two: "ours" from the frame's start to
 * the end of its layout phase (the tick callbacks, where the reply is
 * rendered and the view follows, and the measuring and allocating of the
 * widgets), "paint" from there to the end of the paint phase (snapshot,
 * GSK's rendering, the buffer swap).
 *
 *   bench-chat-render [TOKENS] [TOKENS_PER_SECOND]
 *
 * BENCH_SIZE=WxH sets the window's size (900x700 by default), to show how
 * the paint part grows with the area drawn. BENCH_SLOW=1 lists each frame
 * over 12 ms of the following run, split the same way, with its tokens.
 * BENCH_ONLY=MODE runs that one alone (for a profiler). */
#include "config.h"

#include <adwaita.h>
#include <gtksourceview/gtksource.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "aic-end-follower.h"
#include "aic-markdown-view.h"
#include "bench-util.h"

typedef enum
{
  MODE_FOLLOWING,
  MODE_BELOW,
  MODE_REFERENCE,
  MODE_REPAINT,
} Mode;

static const char *const mode_names[] = { "following", "below", "reference", "repaint" };

typedef struct
{
  GtkWidget *window;
  GtkWidget *view;
  GtkWidget *scroller;
  GtkWidget *pixel;        /* the one-pixel widget of the repaint run */
  AicEndFollower *follower;
  char **tokens;
  guint n_tokens;
  guint next;
  guint rate;
  Mode mode;
  GString *text;
  gint64 started;
  gint64 frame_start;
  gint64 layout_end;
  gint64 paint_end;
  GArray *frames;          /* frame durations, µs */
  GArray *ours;            /* of which: to the end of the layout phase, µs */
  GArray *paints;          /* and from there to the end of the paint phase, µs */
  GArray *frame_tokens;    /* tokens shown at each frame */
  GMainLoop *loop;
  guint feeder;
  guint repaints_left;
  gboolean done;
} Run;

static char **
make_tokens (guint n)
{
  static const char *words[] = { " the", " quick", " brown", " fox", " jumps", " over", " a", " lazy",
                                 " dog", " and", " **bold**", " *soft*", " `code`", " runs", " far", "." };
  GPtrArray *tokens = g_ptr_array_new ();
  guint i = 0, paragraph = 0;

  while (i < n)
    {
      guint words_in = 60;

      if (paragraph % 7 == 3)
        {
          const char *code[] = { "\n\n```c\n", "int", " main", " (void)\n", "{\n", "  return", " 0;\n", "}\n", "```\n\n" };

          for (guint k = 0; k < G_N_ELEMENTS (code) && i < n; k++, i++)
            g_ptr_array_add (tokens, g_strdup (code[k]));
        }
      else if (paragraph % 7 == 5)
        {
          for (guint k = 0; k < 5 && i < n; k++, i++)
            g_ptr_array_add (tokens, g_strdup_printf ("- item %u with%s\n", k, words[k % 16]));
          if (i < n)
            g_ptr_array_add (tokens, g_strdup ("\n")), i++;
        }
      for (guint w = 0; w < words_in && i < n; w++, i++)
        g_ptr_array_add (tokens, g_strdup (w + 1 == words_in ? ".\n\n" : words[(w * 7 + paragraph) % 16]));
      paragraph++;
    }
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (tokens, FALSE);
}

static void
before_frame (GdkFrameClock *clock,
              Run           *run)
{
  run->frame_start = g_get_monotonic_time ();
  run->layout_end = run->paint_end = 0;
}

/* These two are connected after GDK's own handlers of the same phases
 * (connected when the window's surface was made), so each runs when its
 * phase's work is done. (Not so for "update": GTK connects to it anew
 * whenever a widget adds a tick callback, which may come after ours.) */
static void
layout_done (GdkFrameClock *clock,
             Run           *run)
{
  run->layout_end = g_get_monotonic_time ();
}

static void
paint_done (GdkFrameClock *clock,
            Run           *run)
{
  run->paint_end = g_get_monotonic_time ();
}

static void
after_paint (GdkFrameClock *clock,
             Run           *run)
{
  gint64 duration, ours, paint;

  if (run->frame_start == 0 || run->next == 0)
    return;
  duration = g_get_monotonic_time () - run->frame_start;
  /* A frame with nothing to lay out has no layout phase: all of it is
   * counted as paint (in the repaint run its update phase is one
   * gtk_widget_queue_draw()). One with nothing to draw has no paint
   * phase, and no paint. */
  ours = run->layout_end != 0 ? run->layout_end - run->frame_start : 0;
  paint = run->paint_end != 0 ? run->paint_end - (run->frame_start + ours) : 0;
  g_array_append_val (run->frames, duration);
  g_array_append_val (run->ours, ours);
  g_array_append_val (run->paints, paint);
  g_array_append_val (run->frame_tokens, run->next);
  /* BENCH_SLOW=1: each frame over 12 ms, and the tokens it showed. */
  if (g_getenv ("BENCH_SLOW") != NULL && duration > 12000 && run->mode == MODE_FOLLOWING)
    {
      guint from = run->frame_tokens->len > 1 ? g_array_index (run->frame_tokens, guint, run->frame_tokens->len - 2) : 0;
      GString *shown = g_string_new (NULL);

      for (guint k = from; k < run->next; k++)
        g_string_append (shown, run->tokens[k]);
      g_strdelimit (shown->str, "\n", '|');
      fprintf (stderr, "slow frame %u: %.1f ms (ours %.1f, paint %.1f), tokens %u..%u: %.60s\n",
               run->frames->len, duration / 1000.0, ours / 1000.0, paint / 1000.0,
               from, run->next, shown->str);
      g_string_free (shown, TRUE);
    }
  run->frame_start = 0;

  if (run->done)
    g_main_loop_quit (run->loop);
}

static gboolean
reference_tick (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       data)
{
  Run *run = data;

  /* The naive way: the whole message, parsed and built again, each frame. */
  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (run->view), run->text->str);
  return G_SOURCE_CONTINUE;
}

/* Tokens arrive in 5 ms batches at the given rate, like network reads. */
static gboolean
feed (gpointer data)
{
  Run *run = data;
  gint64 elapsed = g_get_monotonic_time () - run->started;
  guint due = MIN (run->n_tokens, (guint) (elapsed * run->rate / G_USEC_PER_SEC) + 1);

  for (; run->next < due; run->next++)
    {
      if (run->mode == MODE_REFERENCE)
        g_string_append (run->text, run->tokens[run->next]);
      else
        aic_markdown_view_append (AIC_MARKDOWN_VIEW (run->view), run->tokens[run->next]);
    }

  if (run->next >= run->n_tokens)
    {
      run->feeder = 0;
      run->done = TRUE;
      gtk_widget_queue_draw (run->view);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* Frame work per token shown, over the frames in [from, to) of the stream. */
static double
cost_per_token (Run   *run,
                double from,
                double to)
{
  gint64 work = 0;
  guint tokens = 0, previous = 0;

  for (guint i = 0; i < run->frames->len; i++)
    {
      guint shown = g_array_index (run->frame_tokens, guint, i);
      double where = (double) shown / run->n_tokens;

      if (where >= from && where < to)
        {
          work += g_array_index (run->frames, gint64, i);
          tokens += shown - previous;
        }
      previous = shown;
    }
  return tokens ? (double) work / tokens : 0;
}

/* The repaint run: one pixel changes colour each frame, nothing else. */
static void
draw_pixel (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        data)
{
  Run *run = data;
  double shade = run->repaints_left % 2 ? 0.2 : 0.8;

  cairo_set_source_rgb (cr, shade, shade, shade);
  cairo_paint (cr);
}

static gboolean
repaint_tick (GtkWidget     *widget,
              GdkFrameClock *clock,
              gpointer       data)
{
  Run *run = data;

  if (run->repaints_left == 0)
    {
      run->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  run->repaints_left--;
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static gint64
percentile (GArray *values,
            guint   per_cent)
{
  g_autoptr(GArray) sorted = g_array_copy (values);

  if (sorted->len == 0)
    return 0;
  g_array_sort (sorted, compare_gint64);
  return g_array_index (sorted, gint64, MIN (sorted->len - 1, sorted->len * per_cent / 100));
}

static void
parse_size (int *width,
            int *height)
{
  const char *size = g_getenv ("BENCH_SIZE");

  *width = 900;
  *height = 700;
  if (size != NULL && sscanf (size, "%dx%d", width, height) != 2)
    g_error ("BENCH_SIZE wants WIDTHxHEIGHT, not %s", size);
}

static void
run_one (Mode    mode,
         char  **tokens,
         guint   n_tokens,
         guint   rate,
         guint   repaints)
{
  Run run = { 0 };
  const char *only = g_getenv ("BENCH_ONLY");
  GdkFrameClock *clock;
  GtkWidget *overlay;
  double cpu_before, total;
  int width, height;

  if (only != NULL && g_strcmp0 (only, mode_names[mode]) != 0)
    return;
  run.tokens = tokens;
  run.n_tokens = n_tokens;
  run.rate = rate;
  run.mode = mode;
  run.text = g_string_new (NULL);
  run.frames = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.ours = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.paints = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.frame_tokens = g_array_new (FALSE, FALSE, sizeof (guint));
  run.loop = g_main_loop_new (NULL, FALSE);

  /* The same widgets in every run: the reply view in a scrolled window,
   * under an overlay whose one-pixel child only the repaint run changes. */
  parse_size (&width, &height);
  run.window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (run.window), width, height);
  run.scroller = gtk_scrolled_window_new ();
  run.view = aic_markdown_view_new ();
  gtk_widget_set_margin_start (run.view, 18);
  gtk_widget_set_margin_end (run.view, 18);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (run.scroller), run.view);
  run.pixel = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (run.pixel), 1);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (run.pixel), 1);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (run.pixel), draw_pixel, &run, NULL);
  gtk_widget_set_halign (run.pixel, GTK_ALIGN_START);
  gtk_widget_set_valign (run.pixel, GTK_ALIGN_START);
  overlay = gtk_overlay_new ();
  gtk_overlay_set_child (GTK_OVERLAY (overlay), run.scroller);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), run.pixel);
  gtk_window_set_child (GTK_WINDOW (run.window), overlay);
  gtk_window_present (GTK_WINDOW (run.window));
  while (!gtk_widget_get_mapped (run.view))
    g_main_context_iteration (NULL, TRUE);
  if (mode == MODE_FOLLOWING || mode == MODE_REPAINT)
    run.follower = aic_end_follower_new (GTK_SCROLLED_WINDOW (run.scroller));
  /* The steady state, as in the app once it has shown a reply: the
   * window has drawn text of each kind, a code block included, once.
   * (The first code block drawn in a session costs 35–40 ms once here:
   * llvmpipe compiling shaders and GtkSourceView's first highlighting;
   * the Chat page warms up what it can when idle, see
   * aic_markdown_view_warm_up().) */
  aic_markdown_view_warm_up ();
  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (run.view),
                              "A *question* with `code`, **bold** and a list:\n\n- one\n- two\n\n"
                              "```c\nint main (void)\n{\n  return 0;\n}\n```\n");
  bench_settle (300);
  if (mode == MODE_REPAINT)
    {
      /* The end of the finished reply, as the following run leaves it. */
      g_autofree char *whole = g_strjoinv (NULL, tokens);

      aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (run.view), whole);
      aic_end_follower_follow (run.follower);
      bench_settle (500);
      run.next = n_tokens;
    }
  else
    aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (run.view), "");

  clock = gtk_widget_get_frame_clock (run.view);
  /* before-paint comes before update, where tick callbacks (and so the
   * rendering) run: a frame is measured from there to after-paint. */
  g_signal_connect (clock, "before-paint", G_CALLBACK (before_frame), &run);
  g_signal_connect (clock, "layout", G_CALLBACK (layout_done), &run);
  g_signal_connect (clock, "paint", G_CALLBACK (paint_done), &run);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), &run);
  if (mode == MODE_REFERENCE)
    gtk_widget_add_tick_callback (run.view, reference_tick, &run, NULL);

  cpu_before = cpu_seconds ();
  run.started = g_get_monotonic_time ();
  if (mode == MODE_REPAINT)
    {
      run.repaints_left = repaints;
      gtk_widget_add_tick_callback (run.pixel, repaint_tick, &run, NULL);
    }
  else
    {
      run.feeder = g_timeout_add (5, feed, &run);
      if (run.follower != NULL)
        aic_end_follower_follow (run.follower);
    }
  g_main_loop_run (run.loop);
  total = (g_get_monotonic_time () - run.started) / 1e6;

  printf ("%-10s %7u %8.2f %7u %9.2f %9.2f %8.2f %12.1f %12.1f %8.2f %8.2f %8.2f %8.2f\n",
          mode_names[mode], mode == MODE_REPAINT ? 0 : n_tokens, total, run.frames->len,
          percentile (run.frames, 50) / 1000.0, percentile (run.frames, 99) / 1000.0,
          cpu_seconds () - cpu_before,
          mode == MODE_REPAINT ? 0 : cost_per_token (&run, 0.0, 0.1),
          mode == MODE_REPAINT ? 0 : cost_per_token (&run, 0.9, 1.01),
          percentile (run.ours, 50) / 1000.0, percentile (run.ours, 99) / 1000.0,
          percentile (run.paints, 50) / 1000.0, percentile (run.paints, 99) / 1000.0);
  fflush (stdout);

  g_signal_handlers_disconnect_by_data (clock, &run);
  g_clear_object (&run.follower);
  gtk_window_destroy (GTK_WINDOW (run.window));
  g_string_free (run.text, TRUE);
  g_array_unref (run.frames);
  g_array_unref (run.ours);
  g_array_unref (run.paints);
  g_array_unref (run.frame_tokens);
  g_main_loop_unref (run.loop);
}

int
main (int   argc,
      char *argv[])
{
  guint n_tokens = argc > 1 ? strtoul (argv[1], NULL, 10) : 20000;
  guint rate = argc > 2 ? strtoul (argv[2], NULL, 10) : 2000;
  g_auto(GStrv) tokens = NULL;

  gtk_init ();
  adw_init ();
  gtk_source_init ();
  tokens = make_tokens (n_tokens);

  printf ("%-10s %7s %8s %7s %9s %9s %8s %12s %12s %8s %8s %8s %8s\n",
          "mode", "tokens", "total s", "frames", "p50 ms", "p99 ms", "CPU s", "µs/tok first", "µs/tok last",
          "ours p50", "ours p99", "paint50", "paint99");
  run_one (MODE_FOLLOWING, tokens, n_tokens, rate, 0);
  run_one (MODE_BELOW, tokens, n_tokens, rate, 0);
  run_one (MODE_REFERENCE, tokens, n_tokens, rate, 0);
  /* As many frames as a stream of the same length at 60 frames a second. */
  run_one (MODE_REPAINT, tokens, n_tokens, rate, MAX (60, n_tokens * 60 / MAX (rate, 1)));
  printf ("targets: following p99 < 16 ms (issue 14) and µs/token last ≈ first (no growth with the message)\n");
  return 0;
}
