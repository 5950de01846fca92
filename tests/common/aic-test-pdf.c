/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Real PDFs with a text layer, written by cairo into memory, for the
 * tests that read or send them. */

#include <cairo-pdf.h>

#include "aic-test-pdf.h"

static const cairo_user_data_key_t out_key;

static cairo_status_t
append_cb (void                *closure,
           const unsigned char *data,
           unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/**
 * aic_test_pdf_new:
 * An A4 PDF to draw on; aic_test_pdf_end() makes it bytes.
 */
cairo_t *
aic_test_pdf_new (void)
{
  GByteArray *out = g_byte_array_new ();
  cairo_surface_t *surface = cairo_pdf_surface_create_for_stream (append_cb, out, 595, 842);
  cairo_t *cr = cairo_create (surface);

  cairo_surface_set_user_data (surface, &out_key, out, NULL);
  cairo_surface_destroy (surface);
  return cr;
}

/**
 * aic_test_pdf_end:
 * Finishes the PDF of @cr (from aic_test_pdf_new()) and frees @cr.
 * Returns: (transfer full): the PDF
 */
GBytes *
aic_test_pdf_end (cairo_t *cr)
{
  cairo_surface_t *surface = cairo_surface_reference (cairo_get_target (cr));
  GByteArray *out = cairo_surface_get_user_data (surface, &out_key);

  cairo_destroy (cr);
  cairo_surface_finish (surface);
  cairo_surface_destroy (surface);
  return g_byte_array_free_to_bytes (out);
}

/**
 * aic_test_make_pdf:
 * @pages: (array zero-terminated=1): one line of text for each page; an
 *   empty one leaves its page without text
 */
GBytes *
aic_test_make_pdf (const char * const *pages)
{
  cairo_t *cr = aic_test_pdf_new ();

  for (guint i = 0; pages[i] != NULL; i++)
    {
      cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size (cr, 14);
      cairo_move_to (cr, 50, 100);
      if (pages[i][0] != '\0')
        cairo_show_text (cr, pages[i]);
      cairo_show_page (cr);
    }
  return aic_test_pdf_end (cr);
}
