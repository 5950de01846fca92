/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "aic-error.h"

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

/* A WAV file as speech servers write them: @format 1 (16-bit) or 3
 * (float), a LIST chunk before the data, and the data size as given. */
static GBytes *
make_wav (guint    format,
          guint    channels,
          guint    rate,
          gsize    n_frames,
          guint32  data_size_field,
          gint16   value)
{
  GByteArray *wav = g_byte_array_new ();
  guint bits = format == 1 ? 16 : 32;
  guint32 u32;
  guint16 u16;

#define PUT(bytes, n) g_byte_array_append (wav, (const guint8 *) (bytes), n)
#define PUT32(v) (u32 = GUINT32_TO_LE (v), PUT (&u32, 4))
#define PUT16(v) (u16 = GUINT16_TO_LE (v), PUT (&u16, 2))
  PUT ("RIFF", 4);
  PUT32 (0xFFFFFFFF);
  PUT ("WAVEfmt ", 8);
  PUT32 (16);
  PUT16 (format);
  PUT16 (channels);
  PUT32 (rate);
  PUT32 (rate * channels * bits / 8);
  PUT16 (channels * bits / 8);
  PUT16 (bits);
  PUT ("LIST", 4);
  PUT32 (3);
  PUT ("abc\0", 4);     /* odd length, padded */
  PUT ("data", 4);
  PUT32 (data_size_field);
  for (gsize i = 0; i < n_frames * channels; i++)
    {
      if (format == 1)
        PUT16 ((guint16) value);
      else
        {
          float f = value / 32767.0f;
          memcpy (&u32, &f, 4);
          PUT32 (u32);
        }
    }
#undef PUT
#undef PUT32
#undef PUT16
  return g_byte_array_free_to_bytes (wav);
}

static void
test_decode_wav (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) stereo = make_wav (1, 2, 22050, 11025, 11025 * 4, 1000);
  g_autoptr(GBytes) streamed = make_wav (3, 1, 48000, 4800, 0xFFFFFFFF, -2000);
  g_autoptr(GBytes) raw = g_bytes_new_static ("\0\0\0\0", 4);
  g_autoptr(GBytes) eight_bit = make_wav (1, 1, 8000, 10, 20, 0);
  g_autoptr(GBytes) out = NULL;
  const gint16 *samples;

  /* Half a second of stereo at 22,050 Hz: half a second mono at 24 kHz. */
  g_assert_true (aic_tts_is_wav (stereo));
  out = aic_tts_decode_wav (stereo, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (out), ==, 12000 * 2);
  samples = g_bytes_get_data (out, NULL);
  g_assert_cmpint (samples[100], ==, 1000);
  g_clear_pointer (&out, g_bytes_unref);

  /* Float samples, and a data size that says "until the end". */
  out = aic_tts_decode_wav (streamed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (out), ==, 2400 * 2);
  samples = g_bytes_get_data (out, NULL);
  g_assert_cmpint (ABS (samples[10] + 2000), <=, 1);
  g_clear_pointer (&out, g_bytes_unref);

  g_assert_false (aic_tts_is_wav (raw));
  g_assert_null (aic_tts_decode_wav (raw, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* The header of an 8-bit file, patched in: refused, not misread. */
  {
    gsize size = g_bytes_get_size (eight_bit);
    guint8 *copy = g_memdup2 (g_bytes_get_data (eight_bit, NULL), size);
    g_autoptr(GBytes) patched = NULL;

    copy[34] = 8;
    patched = g_bytes_new_take (copy, size);
    g_assert_null (aic_tts_decode_wav (patched, &error));
    g_assert_error (error, AIC_ERROR, AIC_ERROR_UNSUPPORTED);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tts/espeak", test_espeak);
  g_test_add_func ("/tts/resample", test_resample);
  g_test_add_func ("/tts/decode-wav", test_decode_wav);

  return g_test_run ();
}
