/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "aic-pcm.h"
#include "aic-tts.h"
#include "aic-test-util.h"

static double
rms (GBytes *pcm)
{
  gsize size;
  const gint16 *samples = g_bytes_get_data (pcm, &size);
  double sum = 0;

  for (gsize i = 0; i < size / 2; i++)
    sum += (double) samples[i] * samples[i];
  return size ? sqrt (sum / (size / 2)) / 32768.0 : 0;
}

static void
test_espeak (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) short_one = aic_tts_espeak ("Hello.", NULL, &error);
  g_autoptr(GBytes) longer = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  gsize ms;

  g_assert_no_error (error);
  ms = g_bytes_get_size (short_one) / aic_pcm_bytes_for_ms (1);
  /* A word is a fraction of a second to a second of audible speech. */
  g_assert_cmpuint (ms, >, 200);
  g_assert_cmpuint (ms, <, 2000);
  g_assert_cmpfloat (rms (short_one), >, 0.01);

  /* In a thread, and longer text takes longer to say. */
  aic_tts_espeak_async ("Hello there, this sentence is a good deal longer than one word.", "en-us",
                        NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  longer = aic_tts_espeak_finish (result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (longer), >, 2 * g_bytes_get_size (short_one));
}

static void
test_resample (void)
{
  gint16 ramp[22050];
  g_autoptr(GBytes) out = NULL;
  const gint16 *samples;

  for (guint i = 0; i < G_N_ELEMENTS (ramp); i++)
    ramp[i] = (gint16) (i % 1000);
  out = aic_tts_resample (ramp, G_N_ELEMENTS (ramp), 22050);
  /* One second stays one second, at 24 kHz. */
  g_assert_cmpuint (g_bytes_get_size (out), ==, 24000 * 2);
  samples = g_bytes_get_data (out, NULL);
  g_assert_cmpint (samples[0], ==, 0);
  g_assert_cmpint (ABS (samples[240] - 220), <=, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tts/espeak", test_espeak);
  g_test_add_func ("/tts/resample", test_resample);

  return g_test_run ();
}
