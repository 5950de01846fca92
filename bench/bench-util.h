/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the GTK benchmarks share: letting the main loop run for a while, and
 * reading the process's resident memory. */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <unistd.h>

/* Runs the default main context for @ms milliseconds. */
static inline void
bench_settle (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
}

/* This process's resident set, in MiB (from /proc/self/statm). */
static inline double
bench_rss_mib (void)
{
  g_autofree char *statm = NULL;
  unsigned long size = 0, resident = 0;

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    sscanf (statm, "%lu %lu", &size, &resident);
  return resident * (double) sysconf (_SC_PAGESIZE) / (1024 * 1024);
}
