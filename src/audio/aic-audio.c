/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-audio"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>

#include "aic-audio.h"
#include "aic-error.h"

gboolean
aic_audio_init (GError **error)
{
  return gst_init_check (NULL, NULL, error);
}

/**
 * aic_audio_clock_now:
 * Returns: the system clock's time, the base time pipelines that must
 *   share one running time are given
 */
GstClockTime
aic_audio_clock_now (void)
{
  g_autoptr(GstClock) clock = gst_system_clock_obtain ();

  return gst_clock_get_time (clock);
}

/**
 * aic_audio_check_elements:
 * Fails with a sentence naming every missing GStreamer element, so the Voice
 * view can say which plugin package to install instead of failing later.
 */
gboolean
aic_audio_check_elements (const char * const  *names,
                          GError             **error)
{
  g_autoptr(GString) missing = g_string_new (NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GstElementFactory) factory = gst_element_factory_find (names[i]);

      if (factory == NULL)
        g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", names[i]);
    }

  if (missing->len == 0)
    return TRUE;

  g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
               _("These GStreamer elements are missing: %s. Install the GStreamer plugin packages that provide them."),
               missing->str);
  return FALSE;
}

gsize
aic_audio_bytes_for_ms (guint milliseconds)
{
  return aic_pcm_bytes_for_ms (milliseconds);
}

/**
 * aic_audio_use_base_time:
 * @base_time: on the system clock; GST_CLOCK_TIME_NONE leaves the
 *   pipeline to choose its own
 *
 * Runs @pipeline on the system clock with @base_time kept through every
 * state change (start time NONE), so that pipelines given the same base
 * time share one running time: the echo canceller lines up what was
 * played and what was heard by it.
 */
void
aic_audio_use_base_time (GstElement   *pipeline,
                         GstClockTime  base_time)
{
  g_autoptr(GstClock) clock = NULL;

  g_return_if_fail (GST_IS_PIPELINE (pipeline));

  if (!GST_CLOCK_TIME_IS_VALID (base_time))
    return;
  clock = gst_system_clock_obtain ();
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), clock);
  gst_element_set_start_time (pipeline, GST_CLOCK_TIME_NONE);
  gst_element_set_base_time (pipeline, base_time);
}
