/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Runs the main loop for @ms milliseconds without blocking. */
void aic_test_settle      (guint      ms);
/* Until @widget's frame clock has drawn @n frames (redraws are asked for). */
void aic_test_wait_frames (GtkWidget *widget,
                           guint      n);

G_END_DECLS
