/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-audio.h"
#include "aic-error.h"

static void
test_frame_sizes (void)
{
  /* PCM16 mono 24 kHz: 20 ms is 480 samples, 960 bytes. */
  g_assert_cmpint (AIC_AUDIO_FRAME_SAMPLES, ==, 480);
  g_assert_cmpint (AIC_AUDIO_FRAME_BYTES, ==, 960);
  g_assert_cmpuint (aic_audio_bytes_for_ms (100), ==, 4800);
  g_assert_cmpuint (aic_audio_bytes_for_ms (0), ==, 0);
}

static void
test_elements (void)
{
  const char *present[] = { "appsrc", "audioconvert", "audioresample", "wavparse", NULL };
  const char *absent[] = { "appsrc", "no-such-element-a", "no-such-element-b", NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (aic_audio_check_elements (present, &error));
  g_assert_no_error (error);

  g_assert_false (aic_audio_check_elements (absent, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "no-such-element-a, no-such-element-b"));
  g_assert_null (strstr (error->message, "appsrc"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (aic_audio_init (&error));

  g_test_add_func ("/audio/frame-sizes", test_frame_sizes);
  g_test_add_func ("/audio/elements", test_elements);

  return g_test_run ();
}
