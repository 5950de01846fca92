/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An aic-pdf module from another version of AI Console: its table has
 * another abi, which test-modules expects to be refused in words. */

#include <gmodule.h>

G_MODULE_EXPORT const guint aic_pdf_module[4] = { 0, 0, 0, 0 };
