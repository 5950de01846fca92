/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Memory of the Chat page with a long conversation open: the page in a
 * real window (under Xvfb), first with an empty conversation (the
 * reference), then with one of N messages (half questions, half Markdown
 * replies with a list and a code block) from a real SQLite file.
 * Prints resident memory in each state and the cost per message.
 *
 *   bench-chat-memory [MESSAGES] */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <gtksourceview/gtksource.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aic-chat-page.h"
#include "bench-util.h"

int
main (int   argc,
      char *argv[])
{
  guint n = argc > 1 ? strtoul (argv[1], NULL, 10) : 500;
  g_autofree char *dir = g_dir_make_tmp ("aic-bench-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bench.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicStore) store = NULL;
  g_autofree char *id = NULL;
  GtkWidget *window, *page;
  double base, empty, full;
  gint64 start;

  gtk_init ();
  adw_init ();
  gtk_source_init ();

  store = aic_store_open (path, &error);
  g_assert_no_error (error);
  base = bench_rss_mib ();
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 800);
  page = g_object_new (AIC_TYPE_CHAT_PAGE, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  aic_chat_page_set_store (AIC_CHAT_PAGE (page), store);
  gtk_window_present (GTK_WINDOW (window));
  bench_settle (1500);
  empty = bench_rss_mib ();

  /* Filled only now: the page opens the most recent conversation. */
  id = aic_store_create_conversation (store, "Long", "demo", &error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = NULL;

      if (i % 2 == 0)
        text = g_strdup_printf ("Question %u: how does the frobnicator handle case %u?", i, i);
      else
        text = g_strdup_printf ("Answer %u. The **frobnicator** handles it like this:\n\n"
                                "- first, it *reads* the input\n- then it `checks` it\n- last, it writes\n\n"
                                "```c\nint\nfrob (int x)\n{\n  return x * %u;\n}\n```\n\n"
                                "That is all there is to it, most of the time; see the manual for the rest.", i, i);
      aic_store_add_message (store, id, i % 2 ? "assistant" : "user", text, AIC_MESSAGE_COMPLETE, &error);
    }


  start = g_get_monotonic_time ();
  aic_chat_page_open (AIC_CHAT_PAGE (page), id);
  bench_settle (200);
  full = bench_rss_mib ();
  bench_settle (2000);
  full = MAX (full, bench_rss_mib ());

  printf ("%-34s %10s\n", "state", "RSS MiB");
  printf ("%-34s %10.1f\n", "before the window", base);
  printf ("%-34s %10.1f\n", "reference: empty conversation", empty);
  printf ("%-34s %10.1f\n", "conversation open", full);
  printf ("%u messages: %.1f MiB more, %.1f KiB per message; opened in %.2f s\n",
          n, full - empty, (full - empty) * 1024 / n, (g_get_monotonic_time () - start) / 1e6 - 2.2);

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&store);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);
    g_unlink (path);
    g_unlink (wal);
    g_unlink (shm);
    g_rmdir (dir);
  }
  return 0;
}
