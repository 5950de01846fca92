/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-source.h"

static guint
attach_full (GSource        *source,
             GSourceFunc     func,
             gpointer        data,
             GDestroyNotify  destroy)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  guint id;

  g_source_set_callback (source, func, data, destroy);
  id = g_source_attach (source, context);
  g_source_unref (source);
  return id;
}

static guint
attach (GSource     *source,
        GSourceFunc  func,
        gpointer     data)
{
  return attach_full (source, func, data, NULL);
}

guint
aic_timeout_add_full (guint           milliseconds,
                      GSourceFunc     func,
                      gpointer        data,
                      GDestroyNotify  destroy)
{
  return attach_full (g_timeout_source_new (milliseconds), func, data, destroy);
}

guint
aic_timeout_add (guint        milliseconds,
                 GSourceFunc  func,
                 gpointer     data)
{
  return attach (g_timeout_source_new (milliseconds), func, data);
}

guint
aic_timeout_add_seconds (guint        seconds,
                         GSourceFunc  func,
                         gpointer     data)
{
  return attach (g_timeout_source_new_seconds (seconds), func, data);
}

guint
aic_idle_add (int          priority,
              GSourceFunc  func,
              gpointer     data)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  return attach (source, func, data);
}

/* Removes a source added by the functions above, from the same thread. */
void
aic_source_remove (guint id)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  GSource *source = g_main_context_find_source_by_id (context, id);

  if (source != NULL)
    g_source_destroy (source);
  else
    g_warning ("No source %u on this thread's main context", id);
}
