/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The kinds of document the backend reads (PROTOCOL.md: at least these). */
typedef enum
{
  AIC_DOCUMENT_TEXT,
  AIC_DOCUMENT_MARKDOWN,
  AIC_DOCUMENT_PDF,
} AicDocumentType;

/* Why a document is refused; each maps to an HTTP status. */
typedef enum
{
  AIC_DOCUMENT_ERROR_EMPTY,        /* 400 */
  AIC_DOCUMENT_ERROR_UNSUPPORTED,  /* 415 */
  AIC_DOCUMENT_ERROR_UNREADABLE,   /* the job fails: a broken PDF, no text */
  AIC_DOCUMENT_ERROR_TOO_LARGE,    /* the job fails: past a limit below */
} AicDocumentError;

/* What one document may become, whatever its size on disk: a small PDF
 * can hold thousands of pages of repeated text. 0 is no limit. */
typedef struct
{
  guint  max_pages;
  gsize  max_text;                 /* bytes of extracted text */
  guint  max_parts;                /* parts summarized one by one */
} AicDocumentLimits;

#define AIC_DOCUMENT_DEFAULT_MAX_PAGES 1000
#define AIC_DOCUMENT_DEFAULT_MAX_TEXT  (4 * 1024 * 1024)
#define AIC_DOCUMENT_DEFAULT_MAX_PARTS 400

#define AIC_DOCUMENT_ERROR (aic_document_error_quark ())

GQuark       aic_document_error_quark      (void);
gboolean     aic_document_check            (const char       *filename,
                                            const char       *content_type,
                                            GBytes           *bytes,
                                            AicDocumentType  *out_type,
                                            GError          **error);
const char  *aic_document_type_to_mime     (AicDocumentType   type);
gboolean     aic_document_type_from_mime   (const char       *mime,
                                            AicDocumentType  *out_type);
char        *aic_document_extract_text     (AicDocumentType   type,
                                            GBytes           *bytes,
                                            GCancellable     *cancellable,
                                            GError          **error);
char        *aic_document_extract_text_limited (AicDocumentType          type,
                                            GBytes                  *bytes,
                                            const AicDocumentLimits *limits,
                                            GCancellable            *cancellable,
                                            GError                 **error);

G_END_DECLS
