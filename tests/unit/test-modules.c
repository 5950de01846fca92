/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The loadable modules (issue 14: start-up RSS): poppler, eSpeak NG,
 * GStreamer and libsecret are not in a process until it reads a PDF,
 * speaks offline, records or plays sound, or uses a key; and when a module
 * is missing or from another version, the job, the Voice view or the
 * keyring error says so. */
#include "config.h"

#include <string.h>

#include "aic-audio.h"
#include "aic-audio-module.h"
#include "aic-document.h"
#include "aic-error.h"
#include "aic-keyring-module.h"
#include "aic-module-api.h"
#include "aic-secrets.h"
#include "aic-tts.h"
#include "aic-test-pdf.h"
#include "aic-test-util.h"

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

  g_assert_false (aic_test_is_mapped ("libpoppler"));
  g_assert_false (aic_test_is_mapped ("libespeak-ng"));
  g_assert_false (aic_test_is_mapped ("libsecret-1"));
  g_assert_false (aic_module_is_loaded (AIC_PDF_MODULE_NAME));

  /* Plain text needs neither. */
  text = aic_document_extract_text (AIC_DOCUMENT_TEXT, pdf, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  g_assert_false (aic_test_is_mapped ("libpoppler"));

  text = aic_document_extract_text (AIC_DOCUMENT_PDF, pdf, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "Tides come twice a day."));
  g_assert_true (aic_module_is_loaded (AIC_PDF_MODULE_NAME));
  g_assert_true (aic_test_is_mapped ("libpoppler-glib"));
  g_assert_false (aic_test_is_mapped ("libespeak-ng"));

  speech = aic_tts_espeak ("Hello.", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (speech), >, 0);
  g_assert_true (aic_module_is_loaded (AIC_SPEECH_MODULE_NAME));
  g_assert_true (aic_test_is_mapped ("libespeak-ng"));
  g_assert_false (aic_test_is_mapped ("libgstreamer-1.0"));
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

  g_assert_false (aic_test_is_mapped ("libsecret-1"));
  g_assert_false (aic_module_is_loaded (AIC_KEYRING_MODULE_NAME));
  aic_secrets_lookup_async ("no-such-connection", NULL, keep_result, &result);
  g_assert_true (aic_module_is_loaded (AIC_KEYRING_MODULE_NAME));
  g_assert_true (aic_test_is_mapped ("libsecret-1"));
  aic_test_wait_for (have_result, &result, 20000);
  /* No key, or a keyring that says why it cannot be used: not a crash. */
  key = aic_secrets_lookup_finish (result, &error);
  g_assert_null (key);
  if (error != NULL)
    g_assert_error (error, AIC_ERROR, AIC_ERROR_KEYRING);
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
      g_assert_false (aic_test_is_mapped ("libespeak-ng"));
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
        g_assert_false (aic_test_is_mapped ("libsecret-1"));
        g_clear_error (&error);
      }

      /* The Voice view puts this after "Voice cannot start:". */
      g_assert_false (aic_audio_init (&error));
      g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "aic-audio"));
      g_assert_nonnull (strstr (error->message, "/nonexistent/ai-console-modules"));
      g_assert_false (aic_test_is_mapped ("libgstreamer-1.0"));
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
  g_test_add_func ("/modules/keyring", test_keyring);
  g_test_add_func ("/modules/missing", test_missing);
  g_test_add_func ("/modules/other-version", test_other_version);
  g_test_add_func ("/modules/dir", test_dir);

  return g_test_run ();
}
