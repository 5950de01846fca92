/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include "aic-culling-box.h"

/* A vertical box that draws only the children near the view.
 *
 * A GtkBox snapshots all of its children, and GTK 4.8's cairo renderer
 * draws every node it is given, those outside the clip too: with a
 * streamed reply of 20,000 tokens in view, a frame in which nothing of
 * the reply changed took 7.9 ms to draw under cairo, against 1.6 ms with
 * 2,000 tokens (bench-chat-render, repaint, 900×700). The GL renderer
 * leaves out what it cannot see, but only after walking the whole tree.
 *
 * This box snapshots the children that meet the view of the nearest
 * GtkScrolledWindow, widened by half its height above and below (so that
 * most scrolling finds its rows drawn already). GTK keeps the render node
 * until something in the box changes, and the view can move without that:
 * a scroll, or the box moved by what is above it in a list. So after each
 * layout of the window (the frame clock's "layout", before its paint) the
 * box checks that the view is still inside the area it drew, and draws
 * again if not. With no scrolled window around it, or one child, it draws
 * everything, as a GtkBox does. */

struct _AicCullingBox
{
  GtkBox           parent_instance;

  GdkFrameClock   *clock;
  gulong           layout_id;
  gboolean         culled;      /* the last snapshot left children out */
  graphene_rect_t  drawn;       /* what it covered, in the box's space */
  guint            n_drawn;
};

G_DEFINE_FINAL_TYPE (AicCullingBox, aic_culling_box, GTK_TYPE_BOX)

/* The nearest scrolled window's area, in the box's space. */
static gboolean
get_view (AicCullingBox   *self,
          graphene_rect_t *view)
{
  GtkWidget *scroller = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);

  return scroller != NULL && gtk_widget_compute_bounds (scroller, GTK_WIDGET (self), view);
}

static gboolean
meets (GtkWidget             *child,
       GtkWidget             *box,
       const graphene_rect_t *area)
{
  graphene_rect_t bounds;

  if (!gtk_widget_compute_bounds (child, box, &bounds))
    return TRUE;
  return bounds.origin.y < area->origin.y + area->size.height &&
         bounds.origin.y + bounds.size.height > area->origin.y;
}

static void
aic_culling_box_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  AicCullingBox *self = AIC_CULLING_BOX (widget);
  GtkWidget *first = gtk_widget_get_first_child (widget);

  self->culled = first != NULL && first != gtk_widget_get_last_child (widget) &&
                 get_view (self, &self->drawn);
  if (self->culled)
    {
      float margin = self->drawn.size.height / 2;

      self->drawn.origin.y -= margin;
      self->drawn.size.height += 2 * margin;
    }

  self->n_drawn = 0;
  for (GtkWidget *child = first; child != NULL; child = gtk_widget_get_next_sibling (child))
    if (!self->culled || meets (child, widget, &self->drawn))
      {
        gtk_widget_snapshot_child (widget, child, snapshot);
        self->n_drawn++;
      }
}

static void
layout_cb (GdkFrameClock *clock,
           AicCullingBox *self)
{
  graphene_rect_t view;

  if (!self->culled)
    return;
  /* What is in view must have been drawn; the margin may have gone. */
  if (!get_view (self, &view) ||
      view.origin.y < self->drawn.origin.y ||
      view.origin.y + view.size.height > self->drawn.origin.y + self->drawn.size.height)
    {
      self->culled = FALSE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
aic_culling_box_map (GtkWidget *widget)
{
  AicCullingBox *self = AIC_CULLING_BOX (widget);

  GTK_WIDGET_CLASS (aic_culling_box_parent_class)->map (widget);
  self->clock = gtk_widget_get_frame_clock (widget);
  if (self->clock != NULL)
    {
      g_object_ref (self->clock);
      /* After the window's own handler, which allocates it. */
      self->layout_id = g_signal_connect_after (self->clock, "layout", G_CALLBACK (layout_cb), self);
    }
}

static void
aic_culling_box_unmap (GtkWidget *widget)
{
  AicCullingBox *self = AIC_CULLING_BOX (widget);

  if (self->clock != NULL)
    g_clear_signal_handler (&self->layout_id, self->clock);
  g_clear_object (&self->clock);
  GTK_WIDGET_CLASS (aic_culling_box_parent_class)->unmap (widget);
}

static void
aic_culling_box_class_init (AicCullingBoxClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = aic_culling_box_snapshot;
  widget_class->map = aic_culling_box_map;
  widget_class->unmap = aic_culling_box_unmap;
}

static void
aic_culling_box_init (AicCullingBox *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}

GtkWidget *
aic_culling_box_new (int spacing)
{
  return g_object_new (AIC_TYPE_CULLING_BOX, "spacing", spacing, NULL);
}

/* For tests: the children the last snapshot drew. */
guint
aic_culling_box_get_n_drawn (AicCullingBox *self)
{
  g_return_val_if_fail (AIC_IS_CULLING_BOX (self), 0);
  return self->n_drawn;
}
