/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-document.h"
#include "aic-test-pdf.h"

static void
test_check (void)
{
  struct {
    const char *filename;
    const char *type;
    const char *data;
    gssize len;
    int expect;          /* -1 ok, else the error code */
    AicDocumentType document_type;
  } cases[] = {
    { "a.txt", "text/plain", "Hello there.", -1, -1, AIC_DOCUMENT_TEXT },
    { "a.md", "text/markdown", "# Hi\n\nText.", -1, -1, AIC_DOCUMENT_MARKDOWN },
    { "a.md", "application/octet-stream", "# Hi", -1, -1, AIC_DOCUMENT_MARKDOWN },
    { "a.markdown", NULL, "# Hi", -1, -1, AIC_DOCUMENT_MARKDOWN },
    { "a.bin", "text/plain", "%PDF-1.7\n", -1, -1, AIC_DOCUMENT_PDF },
    { "a.txt", "text/plain", "", 0, AIC_DOCUMENT_ERROR_EMPTY, 0 },
    { "a.txt", "text/plain", " \n\t\r\n ", -1, AIC_DOCUMENT_ERROR_EMPTY, 0 },
    { "a.png", "image/png", "\x89PNG\r\n", -1, AIC_DOCUMENT_ERROR_UNSUPPORTED, 0 },
    { "a.docx", "application/octet-stream", "PK\x03\x04", -1, AIC_DOCUMENT_ERROR_UNSUPPORTED, 0 },
    { "a.pdf", "application/pdf", "not a pdf", -1, AIC_DOCUMENT_ERROR_UNSUPPORTED, 0 },
    { "a.txt", "text/plain", "caf\xe9 latin-1", -1, AIC_DOCUMENT_ERROR_UNSUPPORTED, 0 },
    { "a.txt", "text/plain", "nul\0inside", 10, AIC_DOCUMENT_ERROR_UNSUPPORTED, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = cases[i].len < 0 ? strlen (cases[i].data) : (gsize) cases[i].len;
      g_autoptr(GBytes) bytes = g_bytes_new (cases[i].data, len);
      g_autoptr(GError) error = NULL;
      AicDocumentType type = 99;
      gboolean ok = aic_document_check (cases[i].filename, cases[i].type, bytes, &type, &error);

      if (cases[i].expect < 0)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_cmpint (type, ==, cases[i].document_type);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, AIC_DOCUMENT_ERROR, cases[i].expect);
          g_assert_cmpuint (strlen (error->message), >, 10);
        }
    }
}

static void
test_text (void)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static ("\xEF\xBB\xBFHello, wörld.", strlen ("\xEF\xBB\xBFHello, wörld."));
  g_autofree char *text = aic_document_extract_text (AIC_DOCUMENT_TEXT, bytes, NULL, NULL);

  g_assert_cmpstr (text, ==, "Hello, wörld.");
}

static void
test_pdf (void)
{
  const char * const pages[] = { "The first page talks about solar power.", "The second page is about storage.", NULL };
  g_autoptr(GBytes) pdf = aic_test_make_pdf (pages);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  AicDocumentType type;

  g_assert_true (aic_document_check ("x.pdf", "application/pdf", pdf, &type, &error));
  g_assert_cmpint (type, ==, AIC_DOCUMENT_PDF);
  text = aic_document_extract_text (AIC_DOCUMENT_PDF, pdf, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "The first page talks about solar power."));
  g_assert_nonnull (strstr (text, "The second page is about storage."));
  g_assert_true (strstr (text, "first") < strstr (text, "second"));
}

static void
test_pdf_without_text (void)
{
  const char * const pages[] = { "", "", NULL };
  g_autoptr(GBytes) pdf = aic_test_make_pdf (pages);
  g_autoptr(GBytes) broken = g_bytes_new_static ("%PDF-1.4\nthis is no PDF body", 29);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = aic_document_extract_text (AIC_DOCUMENT_PDF, pdf, NULL, &error);

  g_assert_null (text);
  g_assert_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE);
  g_assert_nonnull (strstr (error->message, "no text"));
  g_clear_error (&error);

  text = aic_document_extract_text (AIC_DOCUMENT_PDF, broken, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/document/check", test_check);
  g_test_add_func ("/document/text", test_text);
  g_test_add_func ("/document/pdf", test_pdf);
  g_test_add_func ("/document/pdf-without-text", test_pdf_without_text);

  return g_test_run ();
}
