/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

cairo_t *aic_test_pdf_new  (void);
GBytes  *aic_test_pdf_end  (cairo_t            *cr);
GBytes  *aic_test_make_pdf (const char * const *pages);

G_END_DECLS
