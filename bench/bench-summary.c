/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a demo-engine summary costs as the document grows (issue 14).
 *
 *   bench-summary BYTES [FILE]
 *
 * Runs one whole document job, as the server does — stored in the job
 * table, extracted, cut into parts, summarized part by part, combined —
 * through the real AicJobStore and AicJobQueue with the demo engine and
 * no pacing, on a plain-text document of about BYTES bytes: FILE when
 * given, else prose generated here (deterministic: the same BYTES give
 * the same text). Prints one line:
 *   bytes <TAB> cpu_s <TAB> wall_s <TAB> peak_rss_kib <TAB> parts <TAB> status
 * CPU is the process's, user and system, all threads, from submitting the
 * job to its end; generating the text is not counted. Peak RSS is the
 * process's high-water mark: the generated text is dropped once it is
 * stored, and one size is run per process.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "aic-engine.h"
#include "aic-job-queue.h"
#include "aic-job-store.h"

static const char * const nouns[] = {
  "river", "village", "council", "engineer", "turbine", "harvest", "market", "school", "bridge",
  "winter", "budget", "report", "railway", "forest", "harbour", "library", "mill", "valley",
  "road", "family", "teacher", "doctor", "farmer", "storm", "season", "festival", "museum",
  "factory", "garden", "station", "committee", "survey", "price", "cost", "grant", "plan",
};
static const char * const verbs[] = {
  "built", "repaired", "measured", "reported", "funded", "opened", "closed", "studied",
  "improved", "replaced", "discussed", "approved", "doubled", "reduced", "moved", "visited",
};
static const char * const adjectives[] = {
  "old", "new", "small", "large", "local", "northern", "quiet", "busy", "careful", "modern",
  "seasonal", "public", "private", "steady", "early", "late", "expensive", "cheap",
};
static const char * const glue[] = {
  "because", "after", "while", "although", "since", "before", "when", "so that",
};

static const char *
pick (GRand              *rand,
      const char * const *words,
      guint               n)
{
  return words[g_rand_int_range (rand, 0, n)];
}

#define PICK(rand, words) pick (rand, words, G_N_ELEMENTS (words))

static void
append_clause (GString *text,
               GRand   *rand)
{
  g_string_append_printf (text, "the %s %s %s the %s %s",
                          PICK (rand, adjectives), PICK (rand, nouns), PICK (rand, verbs),
                          PICK (rand, adjectives), PICK (rand, nouns));
  if (g_rand_boolean (rand))
    g_string_append_printf (text, " near the %s", PICK (rand, nouns));
  if (g_rand_int_range (rand, 0, 4) == 0)
    g_string_append_printf (text, " in %d", 1900 + g_rand_int_range (rand, 0, 125));
}

/* Hard-wrapped prose, as in plain-text books and mail: sentences of one or
 * two clauses, paragraphs of three to eight sentences, a heading now and
 * then. */
static GString *
generate_prose (gsize size)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  GString *text = g_string_sized_new (size + 1024);
  g_autoptr(GString) paragraph = g_string_new (NULL);
  guint n_paragraph = 0;

  g_string_append (text, "# Notes from the valley\n\n");
  while (text->len < size)
    {
      guint n = g_rand_int_range (rand, 3, 9);
      gsize column = 0;
      const char *p;

      if (++n_paragraph % 12 == 0)
        g_string_append_printf (text, "## Part %u\n\n", n_paragraph / 12);
      g_string_truncate (paragraph, 0);
      for (guint i = 0; i < n; i++)
        {
          gsize start = paragraph->len;

          if (i > 0)
            g_string_append_c (paragraph, ' ');
          start = paragraph->len;
          append_clause (paragraph, rand);
          if (g_rand_boolean (rand))
            {
              g_string_append_printf (paragraph, " %s ", PICK (rand, glue));
              append_clause (paragraph, rand);
            }
          paragraph->str[start] = g_ascii_toupper (paragraph->str[start]);
          g_string_append_c (paragraph, g_rand_int_range (rand, 0, 10) == 0 ? '?' : '.');
        }
      /* Wrap at 72 columns. */
      for (p = paragraph->str; *p; )
        {
          const char *space = strchr (p, ' ');
          gsize word = space ? (gsize) (space - p) : strlen (p);

          if (column > 0 && column + 1 + word > 72)
            {
              g_string_append_c (text, '\n');
              column = 0;
            }
          else if (column > 0)
            {
              g_string_append_c (text, ' ');
              column++;
            }
          g_string_append_len (text, p, word);
          column += word;
          p += word;
          while (*p == ' ')
            p++;
        }
      g_string_append (text, "\n\n");
    }
  return text;
}

static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static long
peak_rss_kib (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

typedef struct
{
  GMainLoop    *loop;
  char         *id;
  AicJobStatus  status;
  guint         parts;
} Run;

static void
job_changed_cb (AicJobQueue  *queue,
                AicJobRecord *record,
                Run          *run)
{
  if (run->id == NULL || g_strcmp0 (record->id, run->id) != 0)
    return;
  if (g_strcmp0 (record->stage, "chunking") == 0 && record->message != NULL)
    {
      const char *digits = strpbrk (record->message, "0123456789");
      run->parts = digits ? (guint) g_ascii_strtoull (digits, NULL, 10) : 1;
    }
  if (aic_job_status_is_final (record->status))
    {
      run->status = record->status;
      g_main_loop_quit (run->loop);
    }
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *db = NULL;
  g_autoptr(GBytes) document = NULL;
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(AicJobStore) store = NULL;
  g_autoptr(AicJobQueue) queue = NULL;
  g_autoptr(AicJobRecord) stored = NULL;
  static const AicDocumentLimits no_limits = { 0 };
  AicJobRecord record = { 0 };
  Run run = { 0 };
  gboolean existing = FALSE;
  gsize size;
  double cpu, wall;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s BYTES [FILE]\n", argv[0]);
      return 2;
    }
  size = g_ascii_strtoull (argv[1], NULL, 10);
  if (argc > 2)
    {
      char *contents;
      gsize len;

      if (!g_file_get_contents (argv[2], &contents, &len, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      document = g_bytes_new_take (contents, len);
    }
  else
    {
      GString *text = generate_prose (size);
      gsize len = text->len;

      document = g_bytes_new_take (g_string_free (text, FALSE), len);
    }

  dir = g_dir_make_tmp ("aic-bench-summary-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (dir, "jobs.db", NULL);
  store = aic_job_store_open (db, &error);
  g_assert_no_error (error);
  engine = aic_engine_new_demo ();
  aic_engine_set_demo_delay (engine, 0);
  queue = aic_job_queue_new (store, engine, 1);
  aic_job_queue_set_step_delay (queue, 0);
  aic_job_queue_set_document_limits (queue, &no_limits);
  run.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (queue, "job-changed", G_CALLBACK (job_changed_cb), &run);

  record.api = (char *) "analyze";
  record.filename = (char *) "notes.txt";
  record.mime = (char *) "text/plain";

  cpu = cpu_seconds ();
  wall = g_get_monotonic_time () / 1e6;
  /* The queue starts the job inside submit, before its id is known here:
   * the end is what is waited for, and it comes from the main loop. */
  stored = aic_job_queue_submit (queue, &record, document, &existing, &error);
  g_assert_no_error (error);
  run.id = g_strdup (stored->id);
  /* The store has it now: what is counted from here is the job's. */
  size = g_bytes_get_size (document);
  g_clear_pointer (&document, g_bytes_unref);
  g_main_loop_run (run.loop);
  cpu = cpu_seconds () - cpu;
  wall = g_get_monotonic_time () / 1e6 - wall;

  printf ("%zu\t%.3f\t%.3f\t%ld\t%u\t%s\n", size, cpu, wall, peak_rss_kib (),
          run.parts, aic_job_status_to_string (run.status));

  g_clear_object (&queue);
  g_clear_object (&store);
  g_main_loop_unref (run.loop);
  g_free (run.id);
  remove_tree (dir);
  return run.status == AIC_JOB_DONE ? 0 : 1;
}
