/* SPDX-License-Identifier: GPL-3.0-or-later */
/* aic-pdf: the part of the backend that links poppler-glib, loaded the
 * first time a PDF is read (aic-document.c). */

#include <poppler.h>

#include "aic-module-api.h"

static GObject *
pdf_open (GBytes  *bytes,
          GError **error)
{
  return G_OBJECT (poppler_document_new_from_bytes (bytes, NULL, error));
}

static int
pdf_n_pages (GObject *document)
{
  return poppler_document_get_n_pages (POPPLER_DOCUMENT (document));
}

static char *
pdf_page_text (GObject *document,
               int      index)
{
  g_autoptr(GObject) page = G_OBJECT (poppler_document_get_page (POPPLER_DOCUMENT (document), index));

  if (page == NULL)
    return NULL;
  return poppler_page_get_text (POPPLER_PAGE (page));
}

G_MODULE_EXPORT const AicPdfModule aic_pdf_module = {
  .abi = AIC_MODULE_ABI,
  .open = pdf_open,
  .n_pages = pdf_n_pages,
  .page_text = pdf_page_text,
};
