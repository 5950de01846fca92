/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-end-follower.h"
#include "aic-voice-call.h"
#include "aic-selectable.h"
#include "aic-voice-page.h"
#include "aic-voice-session.h"

/* The Voice view: a talk button that starts and ends a conversation,
 * Mute, a level meter, the state, and the transcript of both sides.
 *
 * The microphone feeds an AicVoiceSession; reply audio goes to the
 * speakers. When the server hears the user start speaking while a reply
 * plays, playback is flushed at once and the session told how much was
 * heard (barge-in). With the microphone and speakers both real, echo
 * cancellation keeps the reply from interrupting itself. Push-to-talk:
 * hold Space to speak, release to send the turn.
 *
 * AI_CONSOLE_VOICE_INPUT (a WAV file) and AI_CONSOLE_VOICE_OUTPUT (a WAV
 * to write) replace the microphone and the speakers, for tests and
 * demonstrations without audio hardware. */

/* How long the microphone is held while the echo canceller learns a new
 * reply's echo (bench/bench-echo measures it). */
#define ECHO_WARMUP_MS 300

struct _AicVoicePage
{
  GtkWidget         parent_instance;

  AicClient        *client;
  char             *path;       /* where on @client the session is */
  AicVoiceCall     *call;
  AicVoiceSession  *session;
  AicAudioCapture  *capture;
  AicAudioPlayback *playback;
  GtkWidget        *reply_row;      /* the assistant row being written */
  gboolean          push_to_talk;
  gboolean          holding;        /* Space is down */
  guint             state_source;   /* refreshes the state while playing */

  /* Template widgets */
  GtkWidget        *content;
  GtkLevelBar      *level_bar;
  GtkToggleButton  *mute_button;
  GtkCheckButton   *push_to_talk_check;
  GtkLabel         *state_label;
  GtkWidget        *notice;
  GtkLabel         *notice_label;
  GtkWidget        *notice_button;
  GtkToggleButton  *talk_button;
  GtkListBox       *transcript;
  GtkScrolledWindow *transcript_scroller;
  AicEndFollower   *follower;
};

G_DEFINE_FINAL_TYPE (AicVoicePage, aic_voice_page, GTK_TYPE_WIDGET)

enum {
  SHOW_MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_message (AicVoicePage *self,
              const char   *message)
{
  g_signal_emit (self, signals[SHOW_MESSAGE], 0, message);
}

static GtkWidget *
add_line (AicVoicePage *self,
          const char   *who,
          const char   *text)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (who);
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_add_css_class (name, "caption-heading");
  gtk_widget_add_css_class (name, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  aic_label_wrap_prose (GTK_LABEL (label));
  aic_label_make_selectable (GTK_LABEL (label));
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  g_object_set_data (G_OBJECT (row), "text-label", label);
  gtk_list_box_append (self->transcript, row);
  return row;
}

static void
append_to_row (GtkWidget  *row,
               const char *text)
{
  GtkLabel *label = g_object_get_data (G_OBJECT (row), "text-label");
  g_autofree char *joined = g_strconcat (gtk_label_get_label (label), text, NULL);

  gtk_label_set_label (label, joined);
}

/* One plain sentence on the page, where it stays until it no longer
 * holds; with the way to Preferences when that is where the fix is. */
static void
show_notice (AicVoicePage *self,
             const char   *text,
             gboolean      preferences)
{
  gtk_label_set_label (self->notice_label, text);
  gtk_widget_set_visible (self->notice_button, preferences);
  gtk_widget_set_visible (self->notice, TRUE);
}

static void
show_no_speech_to_text (AicVoicePage *self)
{
  show_notice (self, _("This connection cannot turn speech into text. Choose a speech server in Preferences."), TRUE);
}

static void
no_microphone (AicVoicePage *self,
               const GError *error)
{
  /* The sound system's own words (PulseAudio's, ALSA's) help nobody here. */
  g_message ("The microphone could not be opened: %s", error->message);
  show_notice (self, _("No microphone could be opened. Check that one is connected and that AI Console may use it."), FALSE);
}

static void
update_state (AicVoicePage *self)
{
  const char *text;

  switch (self->session ? aic_voice_session_get_state (self->session) : AIC_VOICE_DISCONNECTED)
    {
    case AIC_VOICE_CONNECTING:
      text = _("Connecting…");
      break;
    case AIC_VOICE_LISTENING:
      /* The server is done; the speakers may not be. */
      if (self->playback != NULL && aic_audio_playback_is_playing (self->playback))
        text = _("The assistant is speaking");
      else
        text = self->push_to_talk ? _("Hold Space to speak") : _("Listening");
      break;
    case AIC_VOICE_USER_SPEAKING:
      text = _("You are speaking");
      break;
    case AIC_VOICE_THINKING:
      text = _("Thinking…");
      break;
    case AIC_VOICE_SPEAKING:
      text = _("The assistant is speaking");
      break;
    case AIC_VOICE_DISCONNECTED:
    default:
      text = _("Press the button to start talking");
      break;
    }
  gtk_label_set_label (self->state_label, text);
}

/* ---- glue between microphone, session and speakers ---- */

static void
level_cb (AicAudioCapture *capture,
          double           level,
          AicVoicePage    *self)
{
  gtk_level_bar_set_value (self->level_bar, CLAMP (level * 3.0, 0.0, 1.0));
}

static void
capture_failed_cb (AicAudioCapture *capture,
                   GError          *error,
                   AicVoicePage    *self)
{
  no_microphone (self, error);
  aic_voice_page_stop (self);
}

static void
user_transcript_cb (AicVoiceSession *session,
                    const char      *text,
                    AicVoicePage    *self)
{
  add_line (self, _("You"), text);
}

static void
reply_transcript_cb (AicVoiceSession *session,
                     const char      *text,
                     AicVoicePage    *self)
{
  if (self->reply_row == NULL)
    self->reply_row = add_line (self, _("Assistant"), "");
  append_to_row (self->reply_row, text);
}

static gboolean
refresh_state_cb (gpointer data)
{
  AicVoicePage *self = data;

  update_state (self);
  if (self->playback != NULL && aic_audio_playback_is_playing (self->playback))
    return G_SOURCE_CONTINUE;
  self->state_source = 0;
  return G_SOURCE_REMOVE;
}

static void
reply_audio_cb (AicVoiceSession *session,
                GBytes          *pcm,
                AicVoicePage    *self)
{
  /* The call plays it; the state follows the speakers. */
  if (self->playback != NULL && self->state_source == 0)
    self->state_source = g_timeout_add (250, refresh_state_cb, self);
}

static void
response_done_cb (AicVoiceSession *session,
                  const char      *status,
                  AicVoicePage    *self)
{
  if (self->reply_row != NULL && !g_str_equal (status, "completed"))
    append_to_row (self->reply_row, g_str_equal (status, "cancelled") ? _(" (interrupted)") : _(" (failed)"));
  self->reply_row = NULL;
}

/* With nothing to turn speech into text, no turn can be answered: say so
 * on the page, once, with the way to fix it, and end the conversation
 * (the server's own error says the same, so no toast as well). */
static void
no_speech_to_text (AicVoicePage *self)
{
  show_no_speech_to_text (self);
  aic_voice_page_stop (self);
}

/* Known as the session starts, before anyone speaks: say it then. The
 * demo engine still answers (without knowing what was said), so the
 * conversation goes on until a turn cannot be answered. */
static void
speech_to_text_changed_cb (AicVoiceSession *session,
                           GParamSpec      *pspec,
                           AicVoicePage    *self)
{
  if (!aic_voice_session_get_speech_to_text (session))
    show_no_speech_to_text (self);
}

static void
server_error_cb (AicVoiceSession *session,
                 const char      *text,
                 AicVoicePage    *self)
{
  if (g_strcmp0 (aic_voice_session_get_error_code (session), "no_speech_to_text") == 0)
    no_speech_to_text (self);
  else
    show_message (self, text);
}

static void
disconnected_cb (AicVoiceSession *session,
                 GError          *error,
                 AicVoicePage    *self)
{
  show_message (self, error->message);
  aic_voice_page_stop (self);
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(AicVoicePage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_voice_session_connect_finish (AIC_VOICE_SESSION (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("The voice conversation could not start: %s"), error->message);
          show_message (self, text);
        }
      aic_voice_page_stop (self);
      return;
    }
  if (self->capture == NULL || !aic_audio_capture_start (self->capture, &error))
    {
      if (error != NULL)
        no_microphone (self, error);
      aic_voice_page_stop (self);
    }
}

static void
start (AicVoicePage *self)
{
  const char *input = g_getenv ("AI_CONSOLE_VOICE_INPUT");
  const char *output = g_getenv ("AI_CONSOLE_VOICE_OUTPUT");
  g_autoptr(GError) error = NULL;
  gboolean real_audio = input == NULL && output == NULL;

  if (self->client == NULL)
    {
      show_message (self, _("Voice is not ready yet: the backend is still starting."));
      gtk_toggle_button_set_active (self->talk_button, FALSE);
      return;
    }

  /* GStreamer is loaded here, the first time Voice is used. */
  if (!aic_audio_init (&error))
    {
      g_autofree char *text = g_strdup_printf (_("Voice cannot start: %s"), error->message);

      show_message (self, text);
      gtk_toggle_button_set_active (self->talk_button, FALSE);
      return;
    }

  self->capture = input ? aic_audio_capture_new_file (input, TRUE) : aic_audio_capture_new_microphone ();
  self->playback = output ? aic_audio_playback_new_file (output) : aic_audio_playback_new_speaker ();
  /* The reply from the speakers must not interrupt itself: the canceller
   * lines up what is played and what is heard by running time, so both
   * pipelines share one base time. */
  aic_audio_capture_set_echo_cancel (self->capture, real_audio);
  aic_audio_playback_set_echo_probe (self->playback, real_audio);
  if (real_audio)
    {
      GstClockTime base = aic_audio_clock_now ();

      aic_audio_capture_set_base_time (self->capture, base);
      aic_audio_playback_set_base_time (self->playback, base);
    }
  if (!aic_audio_playback_start (self->playback, &error))
    {
      show_message (self, error->message);
      g_clear_error (&error);
      g_clear_object (&self->playback);
    }

  self->session = aic_voice_session_new (self->client, self->path);
  if (self->push_to_talk)
    aic_voice_session_set_turn_detection (self->session, FALSE, 0, 0, 0);
  self->call = aic_voice_call_new (self->session, self->capture, self->playback);
  aic_voice_call_set_gate (self->call, !self->push_to_talk);
  if (aic_audio_capture_get_echo_cancel (self->capture))
    aic_voice_call_set_echo_warmup (self->call, ECHO_WARMUP_MS);
  g_signal_connect_swapped (self->session, "notify::state", G_CALLBACK (update_state), self);
  g_signal_connect (self->session, "user-transcript", G_CALLBACK (user_transcript_cb), self);
  g_signal_connect (self->session, "reply-transcript", G_CALLBACK (reply_transcript_cb), self);
  g_signal_connect (self->session, "reply-audio", G_CALLBACK (reply_audio_cb), self);
  g_signal_connect (self->session, "response-done", G_CALLBACK (response_done_cb), self);
  g_signal_connect (self->session, "server-error", G_CALLBACK (server_error_cb), self);
  g_signal_connect (self->session, "notify::speech-to-text", G_CALLBACK (speech_to_text_changed_cb), self);
  g_signal_connect (self->session, "disconnected", G_CALLBACK (disconnected_cb), self);
  g_signal_connect (self->capture, "level", G_CALLBACK (level_cb), self);
  g_signal_connect (self->capture, "failed", G_CALLBACK (capture_failed_cb), self);
  aic_audio_capture_set_muted (self->capture, gtk_toggle_button_get_active (self->mute_button));

  aic_voice_session_connect_async (self->session, NULL, connected_cb, g_object_ref (self));
  update_state (self);
}

/**
 * aic_voice_page_stop:
 * Ends the conversation: microphone, speakers and connection.
 */
void
aic_voice_page_stop (AicVoicePage *self)
{
  g_return_if_fail (AIC_IS_VOICE_PAGE (self));

  g_clear_object (&self->call);
  if (self->capture != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->capture, self);
      aic_audio_capture_stop (self->capture);
      g_clear_object (&self->capture);
    }
  if (self->playback != NULL)
    {
      aic_audio_playback_stop (self->playback);
      g_clear_object (&self->playback);
    }
  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      aic_voice_session_close (self->session);
      g_clear_object (&self->session);
    }
  self->reply_row = NULL;
  self->holding = FALSE;
  g_clear_handle_id (&self->state_source, g_source_remove);
  gtk_level_bar_set_value (self->level_bar, 0);
  if (gtk_toggle_button_get_active (self->talk_button))
    gtk_toggle_button_set_active (self->talk_button, FALSE);
  update_state (self);
}

static void
on_talk_toggled (AicVoicePage *self)
{
  gboolean active = gtk_toggle_button_get_active (self->talk_button);
  GtkWidget *talk = GTK_WIDGET (self->talk_button);
  const char *what = active ? _("End the conversation") : _("Start a conversation");

  /* On, it is a stop button, as in Sound Recorder. */
  gtk_button_set_icon_name (GTK_BUTTON (talk), active ? "media-playback-stop-symbolic" : "audio-input-microphone-symbolic");
  if (active)
    {
      gtk_widget_remove_css_class (talk, "suggested-action");
      gtk_widget_add_css_class (talk, "destructive-action");
    }
  else
    {
      gtk_widget_remove_css_class (talk, "destructive-action");
      gtk_widget_add_css_class (talk, "suggested-action");
    }
  gtk_widget_set_tooltip_text (talk, what);
  gtk_accessible_update_property (GTK_ACCESSIBLE (talk), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, what, -1);
  if (active)
    gtk_widget_set_visible (self->notice, FALSE);

  if (active && self->session == NULL)
    start (self);
  else if (!active && self->session != NULL)
    aic_voice_page_stop (self);
}

static void
on_mute_toggled (AicVoicePage *self)
{
  gboolean muted = gtk_toggle_button_get_active (self->mute_button);

  gtk_widget_set_tooltip_text (GTK_WIDGET (self->mute_button),
                               muted ? _("Unmute the microphone") : _("Mute the microphone"));
  /* Shows what the microphone does now, not a greyed-out look. */
  gtk_button_set_icon_name (GTK_BUTTON (self->mute_button),
                            muted ? "microphone-disabled-symbolic" : "audio-input-microphone-symbolic");
  if (self->capture != NULL)
    aic_audio_capture_set_muted (self->capture, muted);
}

static void
on_push_to_talk_toggled (AicVoicePage *self)
{
  self->push_to_talk = gtk_check_button_get_active (self->push_to_talk_check);
  if (self->call != NULL)
    aic_voice_call_set_gate (self->call, !self->push_to_talk);
  if (self->session != NULL)
    {
      if (self->push_to_talk)
        aic_voice_session_set_turn_detection (self->session, FALSE, 0, 0, 0);
      else
        aic_voice_session_set_turn_detection (self->session, TRUE, 0.5, 300, 500);
    }
  update_state (self);
}

/* Push-to-talk: Space held is the user's turn. */
static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                AicVoicePage          *self)
{
  if (keyval != GDK_KEY_space || !self->push_to_talk || self->call == NULL)
    return FALSE;
  if (!self->holding)
    {
      /* Speaking over a reply stops it, as with the server's VAD. */
      self->holding = TRUE;
      aic_voice_call_barge_in (self->call);
      aic_voice_call_set_gate (self->call, TRUE);
      gtk_label_set_label (self->state_label, _("You are speaking"));
    }
  return TRUE;
}

static void
key_released_cb (GtkEventControllerKey *controller,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 AicVoicePage          *self)
{
  if (keyval != GDK_KEY_space || !self->holding)
    return;
  self->holding = FALSE;
  aic_voice_call_set_gate (self->call, FALSE);
  aic_voice_session_commit (self->session);
}

static void
aic_voice_page_dispose (GObject *object)
{
  AicVoicePage *self = AIC_VOICE_PAGE (object);

  if (self->talk_button != NULL)
    aic_voice_page_stop (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->path, g_free);
  g_clear_object (&self->follower);
  gtk_widget_dispose_template (GTK_WIDGET (self), AIC_TYPE_VOICE_PAGE);

  G_OBJECT_CLASS (aic_voice_page_parent_class)->dispose (object);
}

static void
aic_voice_page_class_init (AicVoicePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_voice_page_dispose;

  /**
   * AicVoicePage::show-message:
   * @message: a sentence for a toast
   */
  signals[SHOW_MESSAGE] =
    g_signal_new ("show-message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PATH "/ui/aic-voice-page.ui");
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, content);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, level_bar);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, mute_button);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, push_to_talk_check);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, state_label);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, notice);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, notice_button);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, notice_label);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, talk_button);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, transcript);
  gtk_widget_class_bind_template_child (widget_class, AicVoicePage, transcript_scroller);
  gtk_widget_class_bind_template_callback (widget_class, on_mute_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_push_to_talk_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_talk_toggled);
}

static void
aic_voice_page_init (AicVoicePage *self)
{
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));
  /* The newest words stay in view while the person is at the end. */
  self->follower = aic_end_follower_new (self->transcript_scroller);
  {
    GtkWidget *placeholder = gtk_label_new (_("What you say and what the assistant answers will be written here."));

    gtk_widget_add_css_class (placeholder, "dim-label");
    gtk_label_set_wrap (GTK_LABEL (placeholder), TRUE);
    gtk_widget_set_margin_top (placeholder, 18);
    gtk_widget_set_margin_bottom (placeholder, 18);
    gtk_widget_set_margin_start (placeholder, 12);
    gtk_widget_set_margin_end (placeholder, 12);
    gtk_list_box_set_placeholder (self->transcript, placeholder);
  }

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  g_signal_connect (keys, "key-released", G_CALLBACK (key_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
}

/**
 * aic_voice_page_set_client:
 * @client: (nullable): where to talk, or %NULL while nothing is ready
 * @path: (nullable): the session's path there: the backend's /api/voice
 *   or a Realtime service's
 */
void
aic_voice_page_set_client (AicVoicePage *self,
                           AicClient    *client,
                           const char   *path)
{
  g_return_if_fail (AIC_IS_VOICE_PAGE (self));

  if (self->client == client && g_strcmp0 (self->path, path) == 0)
    return;
  aic_voice_page_stop (self);
  gtk_widget_set_visible (self->notice, FALSE);
  g_set_object (&self->client, client);
  g_free (self->path);
  self->path = g_strdup (path);
}

gboolean
aic_voice_page_is_active (AicVoicePage *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_PAGE (self), FALSE);
  return self->session != NULL;
}
