/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "aic-selectable.h"

/* Text a person reads and may copy from: a reply, a summary, a transcript.
 *
 * A selectable GtkLabel takes part in keyboard navigation, and when Tab
 * reaches it GTK selects all of its text (gtk-label-select-on-focus):
 * walking through a reply highlighted every paragraph in turn, and a
 * finished document's title lit up. Only not focusable, it is worse: GTK
 * 4.8's label still answers Tab as if it had taken the focus (it returns
 * TRUE from its focus vfunc without checking its grab worked), so Tab
 * stopped on it, with nothing focused; and it can be selected with the
 * pointer but never gets the focus, so Ctrl+C copied nothing.
 *
 * So the label is left out of keyboard navigation (neither focusable nor
 * can-focus) and can be focused only from a press on it: the label's own press handler then
 * takes the focus as a click (which selects nothing by itself), the
 * selection is made with the pointer, and Ctrl+C and the context menu work.
 * When the focus leaves, the label is out of the Tab order again. */

static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            GtkWidget       *label)
{
  gtk_widget_set_can_focus (label, TRUE);
  gtk_widget_set_focusable (label, TRUE);
}

static void
focus_left_cb (GtkEventControllerFocus *controller,
               GtkWidget               *label)
{
  gtk_widget_set_focusable (label, FALSE);
  gtk_widget_set_can_focus (label, FALSE);
}

void
aic_label_make_selectable (GtkLabel *label)
{
  GtkGesture *click;
  GtkEventController *focus;

  g_return_if_fail (GTK_IS_LABEL (label));

  gtk_label_set_selectable (label, TRUE);
  gtk_widget_set_focusable (GTK_WIDGET (label), FALSE);
  gtk_widget_set_can_focus (GTK_WIDGET (label), FALSE);

  /* Capture phase: before the label's own gesture, which is in the bubble
   * phase of the same widget. It claims nothing. */
  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), label);
  gtk_widget_add_controller (GTK_WIDGET (label), GTK_EVENT_CONTROLLER (click));

  focus = gtk_event_controller_focus_new ();
  g_signal_connect (focus, "leave", G_CALLBACK (focus_left_cb), label);
  gtk_widget_add_controller (GTK_WIDGET (label), focus);
}

/* The narrowest a wrapped paragraph asks to be, in characters. */
#define PROSE_MIN_CHARS 10

/**
 * aic_label_wrap_prose:
 *
 * Wraps @label's text at words, and inside a word too long for a line.
 *
 * GtkLabel 4.8 measures its narrowest width by laying its text out at
 * the width its width-chars asks for, zero when unset, where breaking
 * inside words puts every character on a line of its own: for a 60-word
 * paragraph that layout took 1.3 ms, ten times one at any real width,
 * and 5.3 ms for 240 words (Pango 1.50). A streamed paragraph is measured
 * again each frame, so that was most of a frame's layout. With
 * width-chars set, the layout is made at that many of the base font's
 * average characters (about 80 px), which is also the least the label
 * asks for, even for shorter text: these labels fill their row's width,
 * and no text is shown that narrow.
 */
void
aic_label_wrap_prose (GtkLabel *label)
{
  g_return_if_fail (GTK_IS_LABEL (label));

  gtk_label_set_wrap (label, TRUE);
  gtk_label_set_wrap_mode (label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_width_chars (label, PROSE_MIN_CHARS);
}
