/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The aic-audio module (issue 14: start-up RSS): the app and the CLI
 * reach GStreamer only through it, loaded by aic_audio_init(). Apart from
 * test-modules because GStreamer's plugins leave GLib a block it never
 * frees (see no_leak_check in tests/meson.build); test-modules checks
 * that a missing aic-audio is reported. */
#include "config.h"

#include <glib/gstdio.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-module.h"
#include "aic-audio-playback.h"
#include "aic-pcm.h"
#include "aic-test-util.h"

static void
count_frame (AicAudioCapture *capture,
             GBytes          *frame,
             guint           *frames)
{
  (*frames)++;
}

static void
set_flag (gpointer  instance,
          gboolean *flag)
{
  *flag = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* Nothing of GStreamer is in the process until aic_audio_init(); then a
 * capture and a playback work through the module's table. */
static void
test_audio (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("aic-modules-XXXXXX", &error);
  g_autofree char *wav = g_build_filename (dir, "tone.wav", NULL);
  g_autofree gint16 *samples = g_new0 (gint16, 4800);
  g_autoptr(GBytes) pcm = NULL;
  g_autoptr(GBytes) file = NULL;
  g_autoptr(AicAudioCapture) capture = NULL;
  g_autoptr(AicAudioPlayback) playback = NULL;
  guint frames = 0;
  gboolean finished = FALSE;

  g_assert_no_error (error);
  g_assert_false (aic_test_is_mapped ("libgstreamer-1.0"));
  g_assert_false (aic_module_is_loaded (AIC_AUDIO_MODULE_NAME));

  g_assert_true (aic_audio_init (&error));
  g_assert_no_error (error);
  g_assert_true (aic_module_is_loaded (AIC_AUDIO_MODULE_NAME));
  g_assert_true (aic_test_is_mapped ("libgstreamer-1.0"));

  /* 200 ms of a tone at 24 kHz, read through the module's table. */
  for (guint i = 0; i < 4800; i++)
    samples[i] = (i % 48) < 24 ? 8000 : -8000;
  pcm = g_bytes_new (samples, 4800 * sizeof (gint16));
  file = aic_pcm_wav_bytes (pcm);
  g_assert_true (g_file_set_contents (wav, g_bytes_get_data (file, NULL), g_bytes_get_size (file), &error));
  capture = aic_audio_capture_new_file (wav, FALSE);
  g_assert_true (AIC_IS_AUDIO_CAPTURE (capture));
  g_signal_connect (capture, "frame", G_CALLBACK (count_frame), &frames);
  g_signal_connect (capture, "finished", G_CALLBACK (set_flag), &finished);
  g_assert_true (aic_audio_capture_start (capture, &error));
  g_assert_no_error (error);
  aic_test_wait_for (flag_set, &finished, 20000);
  g_assert_cmpuint (frames, >=, 9);
  g_assert_cmpuint (aic_audio_capture_get_frames (capture), ==, frames);
  aic_audio_capture_stop (capture);

  playback = aic_audio_playback_new_pipeline ("fakesink");
  g_assert_true (AIC_IS_AUDIO_PLAYBACK (playback));
  g_assert_true (aic_audio_playback_start (playback, &error));
  g_assert_no_error (error);
  g_assert_false (aic_audio_playback_is_playing (playback));
  aic_audio_playback_stop (playback);
  g_assert_cmpuint (aic_audio_clock_now (), >, 0);

  g_unlink (wav);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/audio-module/first-use", test_audio);

  return g_test_run ();
}
