/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "aic-end-follower.h"

/* Keeps the end of a scrolled list in view while the person is there: a
 * conversation, a spoken transcript, an agent's timeline, all of which
 * grow at their end while they are read.
 *
 * Only the person leaves the end (a scroll, a key, a press on the scroll
 * bar, a touch); whatever else moves the view (a resize, rows measured
 * anew, GTK 4.8's list view anchoring itself to another row) is undone.
 * Back at the end, the view follows again; aic_end_follower_follow()
 * brings it back from anywhere ("Jump to the Newest").
 *
 * The view is moved only from a tick callback, before the frame's layout,
 * never from a signal of the adjustment. Those signals come while the
 * scrolled widget allocates its children, and GTK 4.8 drops what a list
 * view queues in answer to a value set then (gtk_widget_allocate clears
 * alloc_needed when size_allocate returns): the scroll bar claimed the end
 * while the rows stayed where they were, and a reply taller than the view
 * could not be scrolled to its end. */

struct _AicEndFollower
{
  GObject parent_instance;

  GtkScrolledWindow *scroller;   /* weak */
  GtkAdjustment *adjustment;
  GtkEventController *person;    /* the scroller's */
  AicEndFollowerReady ready;
  gpointer ready_data;

  gboolean following;
  gint64 person_moved_at;
  gboolean person_pressing;
  guint tick_id;
  guint frames;
};

G_DEFINE_FINAL_TYPE (AicEndFollower, aic_end_follower, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FOLLOWING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* A few frames: rows not shown before are measured only when they are. */
#define FOLLOW_FRAMES 10
/* Within this of the end counts as at the end. */
#define AT_END_PX 40

static void
set_following (AicEndFollower *self,
               gboolean        following)
{
  if (self->following == following)
    return;
  self->following = following;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLLOWING]);
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  AicEndFollower *self = AIC_END_FOLLOWER (user_data);

  if (self->following && (self->ready == NULL || self->ready (self->ready_data)))
    gtk_adjustment_set_value (self->adjustment,
                              gtk_adjustment_get_upper (self->adjustment) -
                              gtk_adjustment_get_page_size (self->adjustment));
  if (!self->following || --self->frames == 0)
    {
      self->tick_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* At the next frames, before their layout, the view goes to the end. */
static void
pin (AicEndFollower *self)
{
  self->frames = FOLLOW_FRAMES;
  if (self->tick_id == 0 && self->scroller != NULL)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self->scroller), tick_cb, self, NULL);
}

static gboolean
moved_by_person (AicEndFollower *self)
{
  return self->person_pressing ||
         g_get_monotonic_time () - self->person_moved_at < 300 * G_TIME_SPAN_MILLISECOND;
}

static gboolean
person_event_cb (GtkEventControllerLegacy *controller,
                 GdkEvent                 *event,
                 AicEndFollower           *self)
{
  switch (gdk_event_get_event_type (event))
    {
    case GDK_BUTTON_PRESS:
    case GDK_TOUCH_BEGIN:
      self->person_pressing = TRUE;
      break;
    case GDK_BUTTON_RELEASE:
    case GDK_TOUCH_END:
    case GDK_TOUCH_CANCEL:
      self->person_pressing = FALSE;
      break;
    case GDK_SCROLL:
    case GDK_KEY_PRESS:
    case GDK_TOUCH_UPDATE:
    case GDK_TOUCHPAD_SWIPE:
      break;
    default:
      return GDK_EVENT_PROPAGATE;
    }
  self->person_moved_at = g_get_monotonic_time ();
  return GDK_EVENT_PROPAGATE;
}

static void
value_changed_cb (GtkAdjustment  *adjustment,
                  AicEndFollower *self)
{
  double bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);
  double value = gtk_adjustment_get_value (adjustment);

  if (self->following && !moved_by_person (self))
    {
      if (value < bottom - 1)
        pin (self);
      return;
    }
  set_following (self, value >= bottom - AT_END_PX);
}

static void
size_changed_cb (GtkAdjustment  *adjustment,
                 GParamSpec     *pspec,
                 AicEndFollower *self)
{
  if (self->following)
    pin (self);
}

static void
aic_end_follower_dispose (GObject *object)
{
  AicEndFollower *self = AIC_END_FOLLOWER (object);

  if (self->scroller != NULL)
    {
      if (self->tick_id != 0)
        gtk_widget_remove_tick_callback (GTK_WIDGET (self->scroller), self->tick_id);
      gtk_widget_remove_controller (GTK_WIDGET (self->scroller), self->person);
      g_object_remove_weak_pointer (G_OBJECT (self->scroller), (gpointer *) &self->scroller);
      self->scroller = NULL;
    }
  self->tick_id = 0;
  self->person = NULL;
  if (self->adjustment != NULL)
    g_signal_handlers_disconnect_by_data (self->adjustment, self);
  g_clear_object (&self->adjustment);

  G_OBJECT_CLASS (aic_end_follower_parent_class)->dispose (object);
}

static void
aic_end_follower_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  AicEndFollower *self = AIC_END_FOLLOWER (object);

  switch (prop_id)
    {
    case PROP_FOLLOWING:
      g_value_set_boolean (value, self->following);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_end_follower_class_init (AicEndFollowerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_end_follower_dispose;
  object_class->get_property = aic_end_follower_get_property;

  /**
   * AicEndFollower:following:
   * Whether the view is kept at the end; FALSE once the person scrolled
   * away from it.
   */
  properties[PROP_FOLLOWING] =
    g_param_spec_boolean ("following", NULL, NULL, TRUE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_end_follower_init (AicEndFollower *self)
{
  self->following = TRUE;
}

/**
 * aic_end_follower_new:
 * Follows the end of what @scroller shows, from now on and while @scroller
 * lives; the view starts at the end.
 */
AicEndFollower *
aic_end_follower_new (GtkScrolledWindow *scroller)
{
  AicEndFollower *self;

  g_return_val_if_fail (GTK_IS_SCROLLED_WINDOW (scroller), NULL);

  self = g_object_new (AIC_TYPE_END_FOLLOWER, NULL);
  self->scroller = scroller;
  g_object_add_weak_pointer (G_OBJECT (scroller), (gpointer *) &self->scroller);
  self->adjustment = g_object_ref (gtk_scrolled_window_get_vadjustment (scroller));

  /* Capture: the person's events are seen before the scroller uses them. */
  self->person = gtk_event_controller_legacy_new ();
  gtk_event_controller_set_propagation_phase (self->person, GTK_PHASE_CAPTURE);
  g_signal_connect (self->person, "event", G_CALLBACK (person_event_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (scroller), self->person);

  g_signal_connect (self->adjustment, "value-changed", G_CALLBACK (value_changed_cb), self);
  g_signal_connect (self->adjustment, "notify::upper", G_CALLBACK (size_changed_cb), self);
  /* The view also shrinks (a bar appears under it): the end must stay in
   * view then too. */
  g_signal_connect (self->adjustment, "notify::page-size", G_CALLBACK (size_changed_cb), self);
  return self;
}

/**
 * aic_end_follower_set_ready_func:
 * @ready: (nullable): whether the view can be moved now
 *
 * A GTK 4.8 list view has no height for rows it has not measured yet, and
 * moving its view before its next layout finds no row to anchor to (it is
 * ignored, with a warning): @ready says when it can be moved.
 */
void
aic_end_follower_set_ready_func (AicEndFollower      *self,
                                 AicEndFollowerReady  ready,
                                 gpointer             user_data)
{
  g_return_if_fail (AIC_IS_END_FOLLOWER (self));

  self->ready = ready;
  self->ready_data = user_data;
}

gboolean
aic_end_follower_get_following (AicEndFollower *self)
{
  g_return_val_if_fail (AIC_IS_END_FOLLOWER (self), FALSE);

  return self->following;
}

/**
 * aic_end_follower_follow:
 * To the end, and following it again, wherever the person had scrolled.
 */
void
aic_end_follower_follow (AicEndFollower *self)
{
  g_return_if_fail (AIC_IS_END_FOLLOWER (self));

  set_following (self, TRUE);
  pin (self);
}

/**
 * aic_end_follower_note_person:
 * Counts the next moves of the view as the person's, as a scroll or a key
 * would: for tests, which move the adjustment themselves.
 */
void
aic_end_follower_note_person (AicEndFollower *self)
{
  g_return_if_fail (AIC_IS_END_FOLLOWER (self));

  self->person_moved_at = g_get_monotonic_time ();
}
