/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void aic_label_make_selectable (GtkLabel *label);
void aic_label_wrap_prose       (GtkLabel *label);

G_END_DECLS
