/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define AIC_TYPE_CULLING_BOX (aic_culling_box_get_type ())
G_DECLARE_FINAL_TYPE (AicCullingBox, aic_culling_box, AIC, CULLING_BOX, GtkBox)

GtkWidget *aic_culling_box_new           (int           spacing);
guint      aic_culling_box_get_n_drawn   (AicCullingBox *self);

G_END_DECLS
