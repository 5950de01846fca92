/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Timers on the calling thread's default main context. g_timeout_add()
 * always uses the global one, which is wrong for code that also runs in
 * the built-in backend's own thread; these follow the thread default, and
 * aic_source_remove() finds the source there again. */

guint    aic_timeout_add          (guint        milliseconds,
                                   GSourceFunc  func,
                                   gpointer     data);
guint    aic_timeout_add_full     (guint        milliseconds,
                                   GSourceFunc  func,
                                   gpointer     data,
                                   GDestroyNotify destroy);
guint    aic_timeout_add_seconds  (guint        seconds,
                                   GSourceFunc  func,
                                   gpointer     data);
guint    aic_idle_add             (int          priority,
                                   GSourceFunc  func,
                                   gpointer     data);
void     aic_source_remove        (guint        id);

G_END_DECLS
