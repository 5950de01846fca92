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
 * aic_audio_wav_bytes:
 * @pcm: PCM16 mono 24 kHz samples
 * Returns: (transfer full): a WAV file holding them
 */
GBytes *
aic_audio_wav_bytes (GBytes *pcm)
{
  gsize size = g_bytes_get_size (pcm);
  GByteArray *wav = g_byte_array_sized_new (44 + size);
  guint32 u32;
  guint16 u16;

#define PUT(bytes, n) g_byte_array_append (wav, (const guint8 *) (bytes), n)
#define PUT32(value) (u32 = GUINT32_TO_LE (value), PUT (&u32, 4))
#define PUT16(value) (u16 = GUINT16_TO_LE (value), PUT (&u16, 2))
  PUT ("RIFF", 4);
  PUT32 (36 + size);
  PUT ("WAVEfmt ", 8);
  PUT32 (16);
  PUT16 (1);                                     /* PCM */
  PUT16 (AIC_AUDIO_CHANNELS);
  PUT32 (AIC_AUDIO_RATE);
  PUT32 (AIC_AUDIO_RATE * 2 * AIC_AUDIO_CHANNELS); /* bytes per second */
  PUT16 (2 * AIC_AUDIO_CHANNELS);                /* block align */
  PUT16 (16);                                    /* bits per sample */
  PUT ("data", 4);
  PUT32 (size);
  PUT (g_bytes_get_data (pcm, NULL), size);
#undef PUT
#undef PUT32
#undef PUT16

  return g_byte_array_free_to_bytes (wav);
}
