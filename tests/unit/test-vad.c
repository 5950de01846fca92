/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "aic-pcm.h"
#include "aic-vad.h"

/* Turn detection on synthetic audio: tones at known levels and silence,
 * fed in 20 ms frames as a client sends them. */

typedef struct
{
  guint64 started_at;   /* ms of audio fed when the event came; 0 = none */
  guint64 stopped_at;
  guint   starts;
  guint   stops;
} Seen;

/* @dbfs: the tone's RMS level; below -100 is silence. */
static void
feed (AicVad *vad,
      double  dbfs,
      guint   milliseconds,
      Seen   *seen)
{
  double amplitude = dbfs < -100 ? 0 : 32767.0 * sqrt (2.0) * pow (10.0, dbfs / 20.0);
  static guint64 phase;

  for (guint ms = 0; ms < milliseconds; ms += AIC_AUDIO_FRAME_MS)
    {
      gint16 frame[AIC_AUDIO_FRAME_SAMPLES];

      for (guint i = 0; i < AIC_AUDIO_FRAME_SAMPLES; i++, phase++)
        frame[i] = (gint16) CLAMP (amplitude * sin (2 * G_PI * 220 * phase / AIC_AUDIO_RATE), -32768, 32767);
      switch (aic_vad_feed (vad, frame, AIC_AUDIO_FRAME_SAMPLES))
        {
        case AIC_VAD_SPEECH_STARTED:
          seen->starts++;
          seen->started_at = aic_vad_get_position_ms (vad);
          break;
        case AIC_VAD_SPEECH_STOPPED:
          seen->stops++;
          seen->stopped_at = aic_vad_get_position_ms (vad);
          break;
        case AIC_VAD_NOTHING:
        default:
          break;
        }
    }
}

static void
test_turn (void)
{
  g_autoptr(AicVad) vad = aic_vad_new (0.5, 300, 500);
  g_autoptr(GBytes) utterance = NULL;
  Seen seen = { 0 };

  feed (vad, -200, 1000, &seen);
  g_assert_cmpuint (seen.starts, ==, 0);
  feed (vad, -20, 800, &seen);
  g_assert_cmpuint (seen.starts, ==, 1);
  g_assert_true (aic_vad_in_speech (vad));
  /* Started at the tone, noticed two frames in. */
  g_assert_cmpuint (aic_vad_get_start_ms (vad), ==, 1000);
  g_assert_cmpuint (seen.started_at, ==, 1040);

  feed (vad, -200, 480, &seen);
  g_assert_cmpuint (seen.stops, ==, 0);
  feed (vad, -200, 40, &seen);
  g_assert_cmpuint (seen.stops, ==, 1);
  g_assert_cmpuint (aic_vad_get_end_ms (vad), ==, 2300);
  g_assert_false (aic_vad_in_speech (vad));

  /* Prefix, speech and the silence that ended it. */
  utterance = aic_vad_take_utterance (vad);
  g_assert_cmpuint (g_bytes_get_size (utterance), ==, aic_pcm_bytes_for_ms (300 + 800 + 500));
}

static void
test_pause_and_click (void)
{
  g_autoptr(AicVad) vad = aic_vad_new (0.5, 0, 500);
  Seen seen = { 0 };

  /* A 20 ms click is not speech. */
  feed (vad, -10, 20, &seen);
  feed (vad, -200, 200, &seen);
  g_assert_cmpuint (seen.starts, ==, 0);

  /* A pause shorter than the silence duration keeps one turn. */
  feed (vad, -20, 400, &seen);
  feed (vad, -200, 300, &seen);
  feed (vad, -20, 400, &seen);
  feed (vad, -200, 600, &seen);
  g_assert_cmpuint (seen.starts, ==, 1);
  g_assert_cmpuint (seen.stops, ==, 1);
}

static void
test_threshold (void)
{
  g_autoptr(AicVad) deaf = aic_vad_new (0.5, 0, 200);
  g_autoptr(AicVad) keen = aic_vad_new (0.1, 0, 200);
  Seen quiet_deaf = { 0 }, quiet_keen = { 0 };

  g_assert_cmpfloat (aic_vad_threshold_db (0.5), ==, -35.0);
  /* Quiet speech at -45 dBFS: below 0.5's line, above 0.1's (-55). */
  feed (deaf, -45, 600, &quiet_deaf);
  feed (keen, -45, 600, &quiet_keen);
  g_assert_cmpuint (quiet_deaf.starts, ==, 0);
  g_assert_cmpuint (quiet_keen.starts, ==, 1);

  aic_vad_reset (keen);
  g_assert_false (aic_vad_in_speech (keen));
  g_assert_cmpuint (aic_vad_get_position_ms (keen), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vad/turn", test_turn);
  g_test_add_func ("/vad/pause-and-click", test_pause_and_click);
  g_test_add_func ("/vad/threshold", test_threshold);

  return g_test_run ();
}
