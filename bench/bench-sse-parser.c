/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Throughput of AicSseParser on one fixture file, fed in fixed-size
 * chunks: bench-sse-parser FILE CHUNK_BYTES ROUNDS. Prints the best
 * round's MB/s and the event count, as "mbps events" on one line.
 * bench/run-sse-parser compares it with eventsource-parser. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "aic-sse-parser.h"

static void
on_event (gpointer           user_data,
          const AicSseEvent *event)
{
  guint64 *count = user_data;

  /* Touch the data so nothing is optimised away. */
  *count += 1;
  if (event->data_len > 0 && event->data[0] == 0)
    *count += 1;
}

int
main (int   argc,
      char *argv[])
{
  static const AicSseCallbacks callbacks = { on_event, NULL, NULL };
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len, chunk;
  guint rounds;
  double best = 0;
  guint64 events = 0;

  if (argc != 4)
    {
      fprintf (stderr, "usage: %s FILE CHUNK_BYTES ROUNDS\n", argv[0]);
      return 2;
    }
  if (!g_file_get_contents (argv[1], &contents, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  chunk = strtoul (argv[2], NULL, 10);
  rounds = strtoul (argv[3], NULL, 10);

  for (guint round = 0; round < rounds; round++)
    {
      guint64 count = 0;
      AicSseParser *parser = aic_sse_parser_new (&callbacks, &count);
      gint64 start, elapsed;
      double mbps;

      aic_sse_parser_set_limits (parser, 64 * 1024 * 1024, 64 * 1024 * 1024);
      start = g_get_monotonic_time ();
      for (gsize pos = 0; pos < len; pos += chunk)
        if (!aic_sse_parser_feed (parser, contents + pos, MIN (chunk, len - pos), &error))
          {
            fprintf (stderr, "%s\n", error->message);
            return 1;
          }
      aic_sse_parser_finish (parser, FALSE, NULL);
      elapsed = MAX (g_get_monotonic_time () - start, 1);
      aic_sse_parser_free (parser);

      mbps = (double) len / elapsed;   /* bytes per µs = MB/s */
      best = MAX (best, mbps);
      events = count;
    }

  printf ("%.1f %" G_GUINT64_FORMAT "\n", best, events);
  return 0;
}
