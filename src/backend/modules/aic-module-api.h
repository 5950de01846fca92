/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gmodule.h>

#include "aic-module.h"

G_BEGIN_DECLS

/* The backend's loadable parts (aic-module.h says why there are any):
 * poppler and its NSS, eSpeak NG and the PulseAudio and libsndfile it
 * pulls in, about 5 MiB of RSS at start. */

/* aic-pdf: reads the text of a PDF (poppler-glib). */
#define AIC_PDF_MODULE_NAME   "aic-pdf"
#define AIC_PDF_MODULE_SYMBOL "aic_pdf_module"

typedef struct
{
  guint     abi;
  /* Returns: (transfer full) (nullable): the document, with @error set
   * (poppler's message) when it cannot be read */
  GObject *(*open)      (GBytes   *bytes,
                         GError  **error);
  int      (*n_pages)   (GObject  *document);
  /* Returns: (transfer full) (nullable): the page's text */
  char    *(*page_text) (GObject  *document,
                         int       index);
} AicPdfModule;

/* aic-speech: speaks text offline (eSpeak NG). Not thread-safe: the
 * caller holds one lock around every call. */
#define AIC_SPEECH_MODULE_NAME   "aic-speech"
#define AIC_SPEECH_MODULE_SYMBOL "aic_speech_module"

typedef struct
{
  guint     abi;
  /* Returns: the sample rate of what speak() appends, or <= 0 when eSpeak
   * NG cannot start (no espeak-ng-data) */
  int      (*start)     (void);
  gboolean (*set_voice) (const char *name);
  /* Appends mono 16-bit samples to @samples (element size 2).
   * Returns: 0, or eSpeak NG's error number */
  int      (*speak)     (const char *text,
                         GArray     *samples);
} AicSpeechModule;

G_END_DECLS
