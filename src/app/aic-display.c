/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-display.h"

/* How every view writes a date and a path, so that they agree. */

/**
 * aic_display_date:
 * Returns: (transfer full): the time for today's, the locale's date for
 *   anything older, as the sidebar of conversations, past runs and
 *   documents all show them
 */
char *
aic_display_date (gint64 unix_seconds)
{
  g_autoptr(GDateTime) then = g_date_time_new_from_unix_local (unix_seconds);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (then == NULL)
    return g_strdup ("");
  if (g_date_time_get_year (then) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (then) == g_date_time_get_day_of_year (now))
    return g_date_time_format (then, "%H:%M");
  return g_date_time_format (then, "%x");
}

/**
 * aic_display_path:
 * Returns: (transfer full): @path for people: in the display encoding,
 *   with the home folder written “~”
 */
char *
aic_display_path (const char *path)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *home = g_filename_display_name (g_get_home_dir ());
  size_t n = strlen (home);

  if (n > 1 && strncmp (display, home, n) == 0 && (display[n] == '/' || display[n] == '\0'))
    return g_strconcat ("~", display + n, NULL);
  return g_steal_pointer (&display);
}
