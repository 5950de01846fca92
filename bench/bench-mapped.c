/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Time to window mapped, and RSS after 1.5 s, of any X11 program: the
 * same watch for the app and for its reference (gnome-text-editor).
 *
 *   bench-mapped COMMAND [ARGS…]
 *
 * Selects SubstructureNotify on the root window before starting the
 * command, so the first MapNotify of a top-level window (no window
 * manager under Xvfb: the program's own) is seen however early it comes.
 * Prints "mapped_ms N" and "rss_mib N" (VmRSS of the command's process
 * 1.5 s after it started), then ends the command. */

#include <X11/Xlib.h>
#include <glib.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static double
rss_mib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents (path, &status, NULL, NULL) ||
      (line = strstr (status, "VmRSS:")) == NULL)
    return -1;
  return g_ascii_strtod (line + 6, NULL) / 1024.0;
}

int
main (int   argc,
      char *argv[])
{
  Display *display = XOpenDisplay (NULL);
  g_autoptr(GError) error = NULL;
  gint64 start, mapped = -1;
  GPid pid;
  int fd;

  if (display == NULL || argc < 2)
    {
      fprintf (stderr, "usage: bench-mapped COMMAND [ARGS…] (with an X display)\n");
      return 2;
    }
  XSelectInput (display, DefaultRootWindow (display), SubstructureNotifyMask);
  XSync (display, False);
  fd = ConnectionNumber (display);

  start = g_get_monotonic_time ();
  if (!g_spawn_async (NULL, argv + 1, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &pid, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  while (mapped < 0 && g_get_monotonic_time () - start < 60 * G_USEC_PER_SEC)
    {
      while (XPending (display))
        {
          XEvent event;

          XNextEvent (display, &event);
          if (event.type == MapNotify && !event.xmap.override_redirect && mapped < 0)
            mapped = g_get_monotonic_time ();
        }
      if (mapped < 0)
        {
          GPollFD poll_fd = { fd, G_IO_IN, 0 };

          g_poll (&poll_fd, 1, 5);
        }
    }

  if (g_get_monotonic_time () < start + 1500 * 1000)
    g_usleep (start + 1500 * 1000 - g_get_monotonic_time ());
  printf ("mapped_ms %.0f\n", mapped < 0 ? -1.0 : (mapped - start) / 1000.0);
  printf ("rss_mib %.1f\n", rss_mib (pid));
  fflush (stdout);

  kill (pid, SIGTERM);
  g_usleep (300 * 1000);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  XCloseDisplay (display);
  return mapped < 0;
}
