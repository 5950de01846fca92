/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define AIC_TYPE_END_FOLLOWER (aic_end_follower_get_type ())
G_DECLARE_FINAL_TYPE (AicEndFollower, aic_end_follower, AIC, END_FOLLOWER, GObject)

/* Whether the scrolled content can be moved now; see aic-end-follower.c. */
typedef gboolean (*AicEndFollowerReady) (gpointer user_data);

AicEndFollower *aic_end_follower_new            (GtkScrolledWindow   *scroller);
void            aic_end_follower_set_ready_func (AicEndFollower      *self,
                                                 AicEndFollowerReady  ready,
                                                 gpointer             user_data);
gboolean        aic_end_follower_get_following  (AicEndFollower      *self);
void            aic_end_follower_follow         (AicEndFollower      *self);
void            aic_end_follower_note_person    (AicEndFollower      *self);

G_END_DECLS
