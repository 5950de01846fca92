/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rendering a streamed reply: 20,000 tokens of Markdown arriving at 2,000
 * tokens/s into the reply view of the Chat page (AicMarkdownView), in a
 * real window with the real frame clock (run under Xvfb).
 *
 * Two runs in one process: "incremental" is the app's way (append, render
 * once per frame, finished blocks never again); "reference" re-renders the
 * whole message every frame, the naive way. Printed: frame time p50/p99,
 * CPU time, total time, and the cost per token early and late in the
 * message (flat means it does not grow with the message).
 *
 *   bench-chat-render [TOKENS] [TOKENS_PER_SECOND] */
#include "config.h"

#include <adwaita.h>
#include <gtksourceview/gtksource.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "aic-markdown-view.h"

typedef struct
{
  GtkWidget *window;
  GtkWidget *view;
  GtkWidget *scroller;
  char **tokens;
  guint n_tokens;
  guint next;
  guint rate;
  gboolean reference;
  GString *text;
  gint64 started;
  gint64 frame_start;
  GArray *frames;          /* frame durations, µs */
  GArray *frame_tokens;    /* tokens shown at each frame */
  GMainLoop *loop;
  guint feeder;
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
}

static void
after_paint (GdkFrameClock *clock,
             Run           *run)
{
  gint64 duration;

  if (run->frame_start == 0 || run->next == 0)
    return;
  duration = g_get_monotonic_time () - run->frame_start;
  g_array_append_val (run->frames, duration);
  g_array_append_val (run->frame_tokens, run->next);
  /* BENCH_SLOW=1: each frame over 12 ms, and the tokens it showed. */
  if (g_getenv ("BENCH_SLOW") != NULL && duration > 12000 && !run->reference)
    {
      guint from = run->frame_tokens->len > 1 ? g_array_index (run->frame_tokens, guint, run->frame_tokens->len - 2) : 0;
      GString *shown = g_string_new (NULL);

      for (guint k = from; k < run->next; k++)
        g_string_append (shown, run->tokens[k]);
      g_strdelimit (shown->str, "\n", '|');
      fprintf (stderr, "slow frame %u: %.1f ms, tokens %u..%u: %.60s\n",
               run->frames->len, duration / 1000.0, from, run->next, shown->str);
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
      if (run->reference)
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

static void
run_one (const char *name,
         gboolean    reference,
         char      **tokens,
         guint       n_tokens,
         guint       rate)
{
  Run run = { 0 };
  GdkFrameClock *clock;
  double cpu_before, total;
  g_autoptr(GArray) sorted = NULL;

  run.tokens = tokens;
  run.n_tokens = n_tokens;
  run.rate = rate;
  run.reference = reference;
  run.text = g_string_new (NULL);
  run.frames = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.frame_tokens = g_array_new (FALSE, FALSE, sizeof (guint));
  run.loop = g_main_loop_new (NULL, FALSE);

  run.window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (run.window), 900, 700);
  run.scroller = gtk_scrolled_window_new ();
  run.view = aic_markdown_view_new ();
  gtk_widget_set_margin_start (run.view, 18);
  gtk_widget_set_margin_end (run.view, 18);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (run.scroller), run.view);
  gtk_window_set_child (GTK_WINDOW (run.window), run.scroller);
  gtk_window_present (GTK_WINDOW (run.window));
  while (!gtk_widget_get_mapped (run.view))
    g_main_context_iteration (NULL, TRUE);
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
  {
    gint64 until = g_get_monotonic_time () + 300 * G_TIME_SPAN_MILLISECOND;

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (run.view), "");

  clock = gtk_widget_get_frame_clock (run.view);
  /* before-paint comes before update, where tick callbacks (and so the
   * rendering) run: a frame is measured from there to after-paint. */
  g_signal_connect (clock, "before-paint", G_CALLBACK (before_frame), &run);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), &run);
  if (reference)
    gtk_widget_add_tick_callback (run.view, reference_tick, &run, NULL);

  cpu_before = cpu_seconds ();
  run.started = g_get_monotonic_time ();
  run.feeder = g_timeout_add (5, feed, &run);
  g_main_loop_run (run.loop);
  total = (g_get_monotonic_time () - run.started) / 1e6;

  sorted = g_array_copy (run.frames);
  g_array_sort (sorted, compare_gint64);
  printf ("%-12s %7u %8.2f %7u %10.2f %10.2f %8.2f %12.1f %12.1f\n",
          name, n_tokens, total, sorted->len,
          g_array_index (sorted, gint64, sorted->len / 2) / 1000.0,
          g_array_index (sorted, gint64, MIN (sorted->len - 1, sorted->len * 99 / 100)) / 1000.0,
          cpu_seconds () - cpu_before,
          cost_per_token (&run, 0.0, 0.1), cost_per_token (&run, 0.9, 1.01));
  fflush (stdout);

  g_signal_handlers_disconnect_by_data (clock, &run);
  gtk_window_destroy (GTK_WINDOW (run.window));
  g_string_free (run.text, TRUE);
  g_array_unref (run.frames);
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

  printf ("%-12s %7s %8s %7s %10s %10s %8s %12s %12s\n",
          "mode", "tokens", "total s", "frames", "p50 ms", "p99 ms", "CPU s", "µs/tok first", "µs/tok last");
  run_one ("incremental", FALSE, tokens, n_tokens, rate);
  run_one ("reference", TRUE, tokens, n_tokens, rate);
  printf ("target (issue 3): incremental p99 < 20 ms, and µs/token last ≈ first (no growth with the message)\n");
  return 0;
}
