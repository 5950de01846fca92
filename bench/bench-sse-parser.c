/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Throughput of AicSseParser on one fixture file, fed in fixed-size
 * chunks: bench-sse-parser FILE CHUNK_BYTES ROUNDS. Prints the best
 * round's MB/s, the event count and the best round's MB/s of a plain
 * memchr() loop finding every LF in the same chunks of the same bytes —
 * the floor of any line-based parser — as "mbps events memchr_mbps" on
 * one line, rounds of the two interleaved so that both see the same
 * machine. bench/run-sse-parser compares it with eventsource-parser. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Every line end, found as a line-based parser has to. */
static guint64
memchr_lines (const char *contents,
              gsize       len,
              gsize       chunk)
{
  guint64 lines = 0;

  for (gsize pos = 0; pos < len; pos += chunk)
    {
      const char *p = contents + pos;
      const char *end = p + MIN (chunk, len - pos);
      const char *lf;

      while ((lf = memchr (p, '\n', end - p)) != NULL)
        {
          lines++;
          p = lf + 1;
        }
    }
  return lines;
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
  double best = 0, best_memchr = 0;
  guint64 events = 0, lines = 0;

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

      start = g_get_monotonic_time ();
      lines += memchr_lines (contents, len, chunk);
      elapsed = MAX (g_get_monotonic_time () - start, 1);
      best_memchr = MAX (best_memchr, (double) len / elapsed);
    }

  /* lines is printed to stderr so that the loop is not optimised away. */
  fprintf (stderr, "%" G_GUINT64_FORMAT " lines\n", lines / MAX (rounds, 1));
  printf ("%.1f %" G_GUINT64_FORMAT " %.1f\n", best, events, best_memchr);
  return 0;
}
