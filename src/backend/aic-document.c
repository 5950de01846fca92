/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-document.h"
#include "aic-module-api.h"

/* What a submitted document is, and its text.
 *
 * The type comes from the bytes first (a PDF starts with "%PDF-"), then
 * from the declared content type, then from the file name; a vague
 * declaration (application/octet-stream, none) defers to the name. Text
 * must be UTF-8 without NUL bytes: anything else is most likely a binary
 * format we cannot read, and saying so beats summarising noise. */

G_DEFINE_QUARK (aic-document-error-quark, aic_document_error)

static const struct
{
  const char      *mime;
  AicDocumentType  type;
} mime_types[] = {
  { "text/plain",      AIC_DOCUMENT_TEXT },
  { "text/markdown",   AIC_DOCUMENT_MARKDOWN },
  { "text/x-markdown", AIC_DOCUMENT_MARKDOWN },
  { "application/pdf", AIC_DOCUMENT_PDF },
};

static const struct
{
  const char      *suffix;
  AicDocumentType  type;
} suffixes[] = {
  { ".txt",      AIC_DOCUMENT_TEXT },
  { ".text",     AIC_DOCUMENT_TEXT },
  { ".md",       AIC_DOCUMENT_MARKDOWN },
  { ".markdown", AIC_DOCUMENT_MARKDOWN },
  { ".pdf",      AIC_DOCUMENT_PDF },
};

const char *
aic_document_type_to_mime (AicDocumentType type)
{
  switch (type)
    {
    case AIC_DOCUMENT_MARKDOWN:
      return "text/markdown";
    case AIC_DOCUMENT_PDF:
      return "application/pdf";
    case AIC_DOCUMENT_TEXT:
    default:
      return "text/plain";
    }
}

gboolean
aic_document_type_from_mime (const char      *mime,
                             AicDocumentType *out_type)
{
  for (guint i = 0; mime != NULL && i < G_N_ELEMENTS (mime_types); i++)
    if (g_ascii_strcasecmp (mime, mime_types[i].mime) == 0)
      {
        *out_type = mime_types[i].type;
        return TRUE;
      }
  return FALSE;
}

static gboolean
type_from_name (const char      *filename,
                AicDocumentType *out_type)
{
  g_autofree char *lower = filename ? g_ascii_strdown (filename, -1) : NULL;

  for (guint i = 0; lower != NULL && i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (lower, suffixes[i].suffix))
      {
        *out_type = suffixes[i].type;
        return TRUE;
      }
  return FALSE;
}

static gboolean
is_vague (const char *content_type)
{
  return content_type == NULL || content_type[0] == '\0' ||
         g_ascii_strcasecmp (content_type, "application/octet-stream") == 0;
}

static gboolean
unsupported (GError     **error,
             const char  *what)
{
  g_set_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNSUPPORTED,
               "%s The server reads plain text, Markdown and PDF.", what);
  return FALSE;
}

static gboolean
only_whitespace (const char *text,
                 gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (text[i]))
      return FALSE;
  return TRUE;
}

/**
 * aic_document_check:
 * @content_type: (nullable): as declared by the client, without parameters
 *
 * Decides whether the server can read @bytes, before anything is stored:
 * %AIC_DOCUMENT_ERROR_EMPTY or %AIC_DOCUMENT_ERROR_UNSUPPORTED otherwise.
 */
gboolean
aic_document_check (const char       *filename,
                    const char       *content_type,
                    GBytes           *bytes,
                    AicDocumentType  *out_type,
                    GError          **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  AicDocumentType declared, type;
  gboolean has_declared = aic_document_type_from_mime (content_type, &declared);

  gboolean pdf_magic = len >= 5 && memcmp (data, "%PDF-", 5) == 0;

  if (len == 0 || (!pdf_magic && only_whitespace (data, len)))
    {
      g_set_error_literal (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_EMPTY,
                           "The document is empty.");
      return FALSE;
    }

  if (pdf_magic)
    type = AIC_DOCUMENT_PDF;
  else if (has_declared)
    type = declared;
  else if (is_vague (content_type) && type_from_name (filename, &type))
    ;
  else
    {
      g_autofree char *what = is_vague (content_type)
        ? g_strdup_printf ("“%s” is not a kind of document the server can read.", filename ? filename : "")
        : g_strdup_printf ("Documents of type “%s” cannot be read.", content_type);
      return unsupported (error, what);
    }

  if (type == AIC_DOCUMENT_PDF && !pdf_magic)
    return unsupported (error, "The document is declared as PDF but is not one.");

  if (type != AIC_DOCUMENT_PDF &&
      (!g_utf8_validate_len (data, len, NULL) || memchr (data, '\0', len) != NULL))
    return unsupported (error, "The document is not UTF-8 text.");

  *out_type = type;
  return TRUE;
}

static void
set_text_too_large (GError **error,
                    gsize    max_text)
{
  g_autofree char *size = g_format_size (max_text);

  g_set_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_TOO_LARGE,
               "The document holds more than %s of text, more than this server reads.", size);
}

/* PDFs are read by poppler, in a module loaded on the first PDF. */
static char *
extract_pdf (GBytes                  *bytes,
             const AicDocumentLimits *limits,
             GCancellable            *cancellable,
             GError                 **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GObject) document = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const AicPdfModule *pdf;
  int n_pages;

  pdf = aic_module_get (AIC_PDF_MODULE_NAME, AIC_PDF_MODULE_SYMBOL, &local_error);
  if (pdf == NULL)
    {
      g_set_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE,
                   "PDFs cannot be read here. %s", local_error->message);
      return NULL;
    }
  document = pdf->open (bytes, &local_error);
  if (document == NULL)
    {
      g_set_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE,
                   "The PDF could not be read: %s", local_error->message);
      return NULL;
    }

  n_pages = pdf->n_pages (document);
  /* Before any page is read: pages are what costs time. */
  if (limits->max_pages > 0 && n_pages > 0 && (guint) n_pages > limits->max_pages)
    {
      g_set_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_TOO_LARGE,
                   "The PDF has %d pages; this server reads at most %u.", n_pages, limits->max_pages);
      return NULL;
    }
  for (int i = 0; i < n_pages; i++)
    {
      g_autofree char *page_text = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      page_text = pdf->page_text (document, i);
      if (page_text == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, page_text);
      if (limits->max_text > 0 && text->len > limits->max_text)
        {
          set_text_too_large (error, limits->max_text);
          return NULL;
        }
    }

  if (only_whitespace (text->str, text->len))
    {
      g_set_error (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_UNREADABLE,
                   "The PDF has %d page(s) but no text to read; it may be scanned images.", n_pages);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/**
 * aic_document_extract_text:
 * The document's text, UTF-8, without a byte order mark. May take a while
 * for a large PDF: call it from a worker thread.
 */
char *
aic_document_extract_text (AicDocumentType   type,
                           GBytes           *bytes,
                           GCancellable     *cancellable,
                           GError          **error)
{
  static const AicDocumentLimits none = { 0 };

  return aic_document_extract_text_limited (type, bytes, &none, cancellable, error);
}

/**
 * aic_document_extract_text_limited:
 * @limits: pages and bytes of text past which the document is refused
 *   (AIC_DOCUMENT_ERROR_TOO_LARGE); max_parts is the caller's to check
 */
char *
aic_document_extract_text_limited (AicDocumentType          type,
                                   GBytes                  *bytes,
                                   const AicDocumentLimits *limits,
                                   GCancellable            *cancellable,
                                   GError                 **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_return_val_if_fail (limits != NULL, NULL);

  if (type == AIC_DOCUMENT_PDF)
    return extract_pdf (bytes, limits, cancellable, error);

  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    {
      data += 3;
      len -= 3;
    }
  if (limits->max_text > 0 && len > limits->max_text)
    {
      set_text_too_large (error, limits->max_text);
      return NULL;
    }
  return g_strndup (data, len);
}
