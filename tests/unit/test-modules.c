/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The loadable modules (issue 14: start-up RSS): poppler, eSpeak NG,
 * GStreamer and libsecret are not in a process until it reads a PDF,
 * speaks offline, records or plays sound, or uses a key; and when a module
 * is missing or from another version, the job, the Voice view or the
 * keyring error says so. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-module.h"
#include "aic-audio-playback.h"
#include "aic-document.h"
#include "aic-error.h"
#include "aic-keyring-module.h"
#include "aic-module-api.h"
#include "aic-pcm.h"
#include "aic-secrets.h"
#include "aic-tts.h"
#include "aic-test-pdf.h"
#include "aic-test-util.h"

static gboolean
mapped (const char *library)
{
  g_autofree char *maps = NULL;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  return strstr (maps, library) != NULL;
}

static GBytes *
make_pdf (const char *line)
{
  const char * const pages[] = { line, NULL };

  return aic_test_make_pdf (pages);
}

/* Runs first, in a process that has read no PDF and spoken nothing. */
static void
test_first_use (void)
{
  g_autoptr(GBytes) pdf = make_pdf ("Tides come twice a day.");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GBytes) speech = NULL;

  g_assert_false (mapped ("libpoppler"));
  g_assert_false (mapped ("libespeak-ng"));
  g_assert_false (mapped ("libsecret-1"));
  g_assert_false (aic_module_is_loaded (AIC_PDF_MODULE_NAME));

  /* Plain text needs neither. */
  text = aic_document_extract_text (AIC_DOCUMENT_TEXT, pdf, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  g_assert_false (mapped ("libpoppler"));

  text = aic_document_extract_text (AIC_DOCUMENT_PDF, pdf, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "Tides come twice a day."));
  g_assert_true (aic_module_is_loaded (AIC_PDF_MODULE_NAME));
  g_assert_true (mapped ("libpoppler-glib"));
  g_assert_false (mapped ("libespeak-ng"));

  speech = aic_tts_espeak ("Hello.", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (speech), >, 0);
  g_assert_true (aic_module_is_loaded (AIC_SPEECH_MODULE_NAME));
  g_assert_true (mapped ("libespeak-ng"));
  g_assert_false (mapped ("libgstreamer-1.0"));
}

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

static void
keep_result (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
have_result (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

/* libsecret is loaded with the first key read (or stored, or removed). */
static void
test_keyring (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;

  g_assert_false (mapped ("libsecret-1"));
  g_assert_false (aic_module_is_loaded (AIC_KEYRING_MODULE_NAME));
  aic_secrets_lookup_async ("no-such-connection", NULL, keep_result, &result);
  g_assert_true (aic_module_is_loaded (AIC_KEYRING_MODULE_NAME));
  g_assert_true (mapped ("libsecret-1"));
  aic_test_wait_for (have_result, &result, 20000);
  /* No key, or a keyring that says why it cannot be used: not a crash. */
  key = aic_secrets_lookup_finish (result, &error);
  g_assert_null (key);
  if (error != NULL)
    g_assert_error (error, AIC_ERROR, AIC_ERROR_KEYRING);
}

/* The app and the CLI reach GStreamer only through the aic-audio module,
 * loaded by aic_audio_init(); runs after test_first_use. */
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
  g_assert_false (mapped ("libgstreamer-1.0"));
  g_assert_false (aic_module_is_loaded (AIC_AUDIO_MODULE_NAME));

  g_assert_true (aic_audio_init (&error));
  g_assert_no_error (error);
  g_assert_true (aic_module_is_loaded (AIC_AUDIO_MODULE_NAME));
  g_assert_true (mapped ("libgstreamer-1.0"));

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

static void
test_missing (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) pdf = make_pdf ("Tides come twice a day.");
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      g_autoptr(GBytes) speech = NULL;

      g_setenv ("AI_CONSOLE_MODULE_DIR", "/nonexistent/ai-console-modules", TRUE);
      text = aic_document_extract_text (AIC_DOCUMENT_PDF, pdf, NULL, &error);
      g_assert_null (text);
      /* The job fails and says why; plain text still reads. */
      g_assert_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE);
      g_assert_nonnull (strstr (error->message, "PDFs cannot be read here"));
      g_assert_nonnull (strstr (error->message, "aic-pdf"));
      g_assert_nonnull (strstr (error->message, "/nonexistent/ai-console-modules"));
      g_clear_error (&error);
      text = aic_document_extract_text (AIC_DOCUMENT_TEXT, pdf, NULL, &error);
      g_assert_no_error (error);

      speech = aic_tts_espeak ("Hello.", NULL, &error);
      g_assert_null (speech);
      g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "aic-speech"));
      g_assert_false (mapped ("libespeak-ng"));
      g_clear_error (&error);

      /* A key cannot be read, and the connection editor says why. */
      {
        g_autoptr(GAsyncResult) result = NULL;
        g_autofree char *key = NULL;

        aic_secrets_lookup_async ("some-connection", NULL, keep_result, &result);
        aic_test_wait_for (have_result, &result, 20000);
        key = aic_secrets_lookup_finish (result, &error);
        g_assert_null (key);
        g_assert_error (error, AIC_ERROR, AIC_ERROR_KEYRING);
        g_assert_nonnull (strstr (error->message, "The keyring could not be used"));
        g_assert_nonnull (strstr (error->message, "aic-keyring"));
        g_assert_false (mapped ("libsecret-1"));
        g_clear_error (&error);
      }

      /* The Voice view puts this after "Voice cannot start:". */
      g_assert_false (aic_audio_init (&error));
      g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "aic-audio"));
      g_assert_nonnull (strstr (error->message, "/nonexistent/ai-console-modules"));
      g_assert_false (mapped ("libgstreamer-1.0"));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_other_version (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) pdf = make_pdf ("Tides come twice a day.");
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      g_setenv ("AI_CONSOLE_MODULE_DIR", OLD_MODULE_DIR, TRUE);
      text = aic_document_extract_text (AIC_DOCUMENT_PDF, pdf, NULL, &error);
      g_assert_null (text);
      g_assert_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE);
      g_assert_nonnull (strstr (error->message, "is not the version of aic-pdf this program needs"));
      g_assert_false (aic_module_is_loaded (AIC_PDF_MODULE_NAME));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_dir (void)
{
  g_autofree char *dir = NULL;

  /* This test runs from the build tree, so it loads the build's modules,
   * not an installed (possibly older) copy. */
  g_unsetenv ("AI_CONSOLE_MODULE_DIR");
  dir = aic_module_dup_dir ();
  g_assert_cmpstr (dir, ==, AIC_BUILD_MODULE_DIR);
  g_setenv ("AI_CONSOLE_MODULE_DIR", "/somewhere", TRUE);
  g_clear_pointer (&dir, g_free);
  dir = aic_module_dup_dir ();
  g_assert_cmpstr (dir, ==, "/somewhere");
  g_unsetenv ("AI_CONSOLE_MODULE_DIR");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/modules/first-use", test_first_use);
  g_test_add_func ("/modules/audio", test_audio);
  g_test_add_func ("/modules/keyring", test_keyring);
  g_test_add_func ("/modules/missing", test_missing);
  g_test_add_func ("/modules/other-version", test_other_version);
  g_test_add_func ("/modules/dir", test_dir);

  return g_test_run ();
}
