/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-error.h"
#include "aic-test-util.h"

/* Real GStreamer pipelines fed from WAV files (there is no microphone
 * here): capture into 20 ms frames with a level, playback that can be
 * flushed and says what was heard, and a missing microphone in words. */

/* A WAV at 16 kHz (so capture has to resample): @tone_ms of a 440 Hz tone
 * at half scale, then @silence_ms of silence. */
static char *
make_wav (const char *dir,
          guint       tone_ms,
          guint       silence_ms)
{
  char *path = g_build_filename (dir, "input.wav", NULL);
  g_autofree char *description = g_strdup_printf (
    "concat name=c ! audioconvert ! audio/x-raw,format=S16LE,rate=16000,channels=1 ! wavenc ! filesink location=%s "
    "audiotestsrc wave=sine freq=440 volume=0.5 samplesperbuffer=160 num-buffers=%u ! audio/x-raw,rate=16000,channels=1 ! c. "
    "audiotestsrc wave=silence samplesperbuffer=160 num-buffers=%u ! audio/x-raw,rate=16000,channels=1 ! c.",
    path, tone_ms / 10, silence_ms / 10);
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) message = NULL;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return path;
}

typedef struct
{
  guint     frames;
  gsize     wrong_size;
  double    loudest;
  double    last_level;
  gboolean  finished;
  GError   *error;
  gint64    started;
  gint64    ended;
} Captured;

static void
frame_cb (AicAudioCapture *capture,
          GBytes          *frame,
          Captured        *captured)
{
  captured->frames++;
  if (g_bytes_get_size (frame) != AIC_AUDIO_FRAME_BYTES)
    captured->wrong_size = g_bytes_get_size (frame);
}

static void
level_cb (AicAudioCapture *capture,
          double           level,
          Captured        *captured)
{
  captured->loudest = MAX (captured->loudest, level);
  captured->last_level = level;
}

static void
finished_cb (AicAudioCapture *capture,
             Captured        *captured)
{
  captured->finished = TRUE;
  captured->ended = g_get_monotonic_time ();
}

static void
failed_cb (AicAudioCapture *capture,
           GError          *error,
           Captured        *captured)
{
  captured->error = g_error_copy (error);
}

static gboolean
capture_over (gpointer data)
{
  Captured *captured = data;

  return captured->finished || captured->error != NULL;
}

static void
run_capture (AicAudioCapture *capture,
             Captured        *captured)
{
  g_autoptr(GError) error = NULL;

  g_signal_connect (capture, "frame", G_CALLBACK (frame_cb), captured);
  g_signal_connect (capture, "level", G_CALLBACK (level_cb), captured);
  g_signal_connect (capture, "finished", G_CALLBACK (finished_cb), captured);
  g_signal_connect (capture, "failed", G_CALLBACK (failed_cb), captured);
  captured->started = g_get_monotonic_time ();
  g_assert_true (aic_audio_capture_start (capture, &error));
  g_assert_no_error (error);
  aic_test_wait_for (capture_over, captured, 20000);
  g_assert_no_error (captured->error);
}

static void
test_capture_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-audio-XXXXXX", NULL);
  g_autofree char *wav = make_wav (dir, 600, 400);
  g_autoptr(AicAudioCapture) capture = aic_audio_capture_new_file (wav, FALSE);
  Captured captured = { 0 };

  run_capture (capture, &captured);
  /* One second at 24 kHz in 20 ms frames of 960 bytes. */
  g_assert_cmpuint (captured.frames, >=, 49);
  g_assert_cmpuint (captured.frames, <=, 51);
  g_assert_cmpuint (captured.wrong_size, ==, 0);
  g_assert_cmpuint (aic_audio_capture_get_frames (capture), ==, captured.frames);
  /* The tone is loud (half scale RMS ≈ 0.35), the silence after it is not. */
  g_assert_cmpfloat (captured.loudest, >, 0.2);
  g_assert_cmpfloat (captured.last_level, <, 0.01);

  g_unlink (wav);
  g_rmdir (dir);
}

static void
test_capture_realtime (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-audio-XXXXXX", NULL);
  g_autofree char *wav = make_wav (dir, 500, 500);
  g_autoptr(AicAudioCapture) capture = aic_audio_capture_new_file (wav, TRUE);
  Captured captured = { 0 };

  run_capture (capture, &captured);
  /* Paced like a microphone: one second of audio cannot come sooner than
   * that (a lower bound only: a slow machine does not fail this). */
  g_assert_cmpint (captured.ended - captured.started, >=, 900 * 1000);
  g_assert_cmpuint (captured.frames, >=, 49);

  g_unlink (wav);
  g_rmdir (dir);
}

static void
test_capture_muted (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-audio-XXXXXX", NULL);
  g_autofree char *wav = make_wav (dir, 500, 0);
  g_autoptr(AicAudioCapture) capture = aic_audio_capture_new_file (wav, FALSE);
  Captured captured = { 0 };

  aic_audio_capture_set_muted (capture, TRUE);
  run_capture (capture, &captured);
  g_assert_cmpuint (captured.frames, ==, 0);
  g_assert_cmpfloat (captured.loudest, ==, 0.0);

  g_unlink (wav);
  g_rmdir (dir);
}

static void
test_capture_missing (void)
{
  g_autoptr(AicAudioCapture) missing_file = aic_audio_capture_new_file ("/nonexistent/voice.wav", FALSE);
  g_autoptr(AicAudioCapture) microphone = aic_audio_capture_new_microphone ();
  Captured captured = { 0 };
  g_autoptr(GError) error = NULL;

  /* A file that is not there: an error in words, not a hang. */
  g_signal_connect (missing_file, "failed", G_CALLBACK (failed_cb), &captured);
  if (aic_audio_capture_start (missing_file, &error))
    {
      aic_test_wait_for (capture_over, &captured, 10000);
      error = g_steal_pointer (&captured.error);
    }
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  g_clear_error (&error);

  /* This machine has no sound card: autoaudiosrc fails, and says so. */
  memset (&captured, 0, sizeof captured);
  g_signal_connect (microphone, "failed", G_CALLBACK (failed_cb), &captured);
  if (aic_audio_capture_start (microphone, &error))
    {
      g_autoptr(GError) later = NULL;

      aic_test_wait_for (capture_over, &captured, 10000);
      later = g_steal_pointer (&captured.error);
      if (later == NULL)
        {
          g_test_skip ("a microphone works here");
          return;
        }
      error = g_steal_pointer (&later);
    }
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "microphone"));
}

/* ---- playback ---- */

static GBytes *
tone (guint milliseconds)
{
  gsize samples = (gsize) AIC_AUDIO_RATE * milliseconds / 1000;
  gint16 *pcm = g_new (gint16, samples);

  for (gsize i = 0; i < samples; i++)
    pcm[i] = (gint16) (8000 * sin (2 * G_PI * 440 * i / AIC_AUDIO_RATE));
  return g_bytes_new_take (pcm, samples * 2);
}

static gsize
wav_data_size (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  guint32 size;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >=, 44);
  g_assert_cmpmem (contents, 4, "RIFF", 4);
  g_assert_cmpmem (contents + 36, 4, "data", 4);
  memcpy (&size, contents + 40, 4);
  g_assert_cmpuint (GUINT32_FROM_LE (size), ==, length - 44);
  return length - 44;
}

static gboolean
played_enough (gpointer data)
{
  return aic_audio_playback_get_played_ms (data) >= 300;
}

static void
test_playback_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-audio-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "reply.wav", NULL);
  g_autoptr(AicAudioPlayback) playback = aic_audio_playback_new_file (out);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (aic_audio_playback_start (playback, &error));
  g_assert_no_error (error);
  /* A second of audio in 100 ms pieces, as a reply arrives. */
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GBytes) piece = tone (100);
      aic_audio_playback_push (playback, piece);
    }
  g_assert_cmpuint (aic_audio_playback_get_queued_ms (playback), >, 500);
  aic_audio_playback_finish_async (playback, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_audio_playback_finish_finish (playback, result, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (aic_audio_playback_get_played_ms (playback), >=, 990);
  g_assert_cmpuint (aic_audio_playback_get_played_ms (playback), <=, 1010);
  g_assert_cmpuint (wav_data_size (out), ==, 48000);

  g_unlink (out);
  g_rmdir (dir);
}

static void
test_playback_flush (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-audio-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "reply.wav", NULL);
  g_autoptr(AicAudioPlayback) playback = aic_audio_playback_new_file (out);
  g_autoptr(GBytes) next = tone (200);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint64 heard;
  gsize bytes;

  g_assert_true (aic_audio_playback_start (playback, &error));
  /* Three seconds of reply, in the 100 ms pieces it arrives in. */
  for (guint i = 0; i < 30; i++)
    {
      g_autoptr(GBytes) piece = tone (100);
      aic_audio_playback_push (playback, piece);
    }
  aic_test_wait_for (played_enough, playback, 10000);

  /* Barge-in: the rest of the reply is dropped at once. */
  heard = aic_audio_playback_flush (playback);
  g_assert_cmpuint (heard, >=, 300);
  g_assert_cmpuint (heard, <, 2500);
  g_assert_cmpuint (aic_audio_playback_get_queued_ms (playback), ==, 0);
  g_assert_false (aic_audio_playback_is_playing (playback));

  /* The next reply plays after it; the total is what was heard. */
  aic_audio_playback_push (playback, next);
  aic_audio_playback_finish_async (playback, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_audio_playback_finish_finish (playback, result, &error));
  g_assert_cmpuint (aic_audio_playback_get_played_ms (playback), >=, heard + 190);
  g_assert_cmpuint (aic_audio_playback_get_played_ms (playback), <=, heard + 210);
  /* The file holds what was heard, give or take what was on its way to
   * the sink when the flush came (at most a buffer or two). */
  bytes = wav_data_size (out);
  g_assert_cmpuint (bytes, >=, aic_audio_bytes_for_ms (heard + 200 - 50));
  g_assert_cmpuint (bytes, <=, aic_audio_bytes_for_ms (heard + 200 + 150));

  g_unlink (out);
  g_rmdir (dir);
}

/* With echo cancellation on, capture runs through webrtcdsp, which finds
 * the playback's webrtcechoprobe by itself; both must still work. */
static void
test_echo_cancellation (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-audio-XXXXXX", NULL);
  g_autofree char *wav = make_wav (dir, 500, 300);
  g_autofree char *out = g_build_filename (dir, "reply.wav", NULL);
  g_autoptr(AicAudioCapture) capture = aic_audio_capture_new_file (wav, TRUE);
  g_autoptr(AicAudioPlayback) playback = aic_audio_playback_new_file (out);
  g_autoptr(GBytes) reply = tone (800);
  g_autoptr(GError) error = NULL;
  Captured captured = { 0 };

  aic_audio_playback_set_echo_probe (playback, TRUE);
  aic_audio_capture_set_echo_cancel (capture, TRUE);
  g_assert_true (aic_audio_capture_get_echo_cancel (capture));
  g_assert_true (aic_audio_playback_start (playback, &error));
  g_assert_no_error (error);
  aic_audio_playback_push (playback, reply);

  run_capture (capture, &captured);
  g_assert_cmpuint (captured.frames, >=, 39);
  g_assert_cmpuint (captured.wrong_size, ==, 0);
  g_assert_cmpuint (aic_audio_playback_get_played_ms (playback), >, 0);
  aic_audio_playback_stop (playback);

  g_unlink (out);
  g_unlink (wav);
  g_rmdir (dir);
}

static void
test_wav_bytes (void)
{
  g_autoptr(GBytes) pcm = tone (10);
  g_autoptr(GBytes) wav = aic_pcm_wav_bytes (pcm);
  const guint8 *data = g_bytes_get_data (wav, NULL);
  guint32 rate;

  g_assert_cmpuint (g_bytes_get_size (wav), ==, 44 + 480);
  g_assert_cmpmem (data + 8, 8, "WAVEfmt ", 8);
  memcpy (&rate, data + 24, 4);
  g_assert_cmpuint (GUINT32_FROM_LE (rate), ==, 24000);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (aic_audio_init (&error));

  g_test_add_func ("/audio/capture/file", test_capture_file);
  g_test_add_func ("/audio/capture/realtime", test_capture_realtime);
  g_test_add_func ("/audio/capture/muted", test_capture_muted);
  g_test_add_func ("/audio/capture/missing", test_capture_missing);
  g_test_add_func ("/audio/playback/file", test_playback_file);
  g_test_add_func ("/audio/playback/flush", test_playback_flush);
  g_test_add_func ("/audio/wav", test_wav_bytes);
  g_test_add_func ("/audio/echo-cancellation", test_echo_cancellation);

  return g_test_run ();
}
