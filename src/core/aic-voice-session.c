/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-ws-guard.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-pcm.h"
#include "aic-source.h"
#include "aic-voice-session.h"

/* A voice conversation over a WebSocket in the Realtime vocabulary
 * (PROTOCOL.md "Voice"): the console backend's /api/voice or a
 * Realtime-compatible service.
 *
 * Microphone audio goes up in 40 ms appends; the server detects turns
 * (or, push-to-talk, the caller commits); transcripts and reply audio
 * come back as signals. When the user speaks over a reply, the caller
 * flushes its playback and calls aic_voice_session_interrupt() with the
 * milliseconds heard: the reply is cancelled and truncated to what was
 * heard. Frames up to 16 MiB are accepted (libsoup's default of 128 KiB
 * would close the session on one long audio delta); pings go every 15 s;
 * a connection that drops is made again with backoff and the session
 * settings sent again. An `error` event is shown, not fatal: ::server-error
 * is emitted with the event's code as its detail.
 *
 * The console backend says in session.created and session.updated whether
 * it can turn speech into text ("speech_to_text", PROTOCOL.md extension);
 * :speech-to-text follows it, so the app can say so before the user
 * speaks. A turn that could not be transcribed ends with an error
 * ("no_speech_to_text" or "transcription_failed") and no response: the
 * session listens again. */

#define MAX_FRAME (16 * 1024 * 1024)
#define KEEPALIVE_S 15
#define APPEND_MS 40

struct _AicVoiceSession
{
  GObject                  parent_instance;

  AicClient               *client;
  char                    *path;
  char                    *instructions;
  gboolean                 server_vad;
  double                   threshold;
  guint                    prefix_ms;
  guint                    silence_ms;

  guint                    max_reconnects;
  guint                    reconnect_delay_ms;
  guint                    reconnects;
  guint                    attempts;       /* in a row, since the last success */
  guint                    retry_source;

  SoupWebsocketConnection *ws;
  GCancellable            *cancellable;
  GTask                   *connect_task;
  AicVoiceState            state;
  GByteArray              *pending;
  guint64                  sent_samples;
  char                    *reply_item_id;
  gboolean                 response_active;
  gboolean                 closing;
  guint                    keepalive_s;
  guint                    pongs;
  gboolean                 speech_to_text;
  char                    *error_code;    /* of the last error event */
};

G_DEFINE_FINAL_TYPE (AicVoiceSession, aic_voice_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_SPEECH_TO_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SPEECH_STARTED,
  USER_TRANSCRIPT,
  REPLY_TRANSCRIPT,
  REPLY_AUDIO,
  RESPONSE_DONE,
  SERVER_ERROR,
  DISCONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void open_connection (AicVoiceSession *self);

static void
set_state (AicVoiceSession *self,
           AicVoiceState    state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
send_text (AicVoiceSession *self,
           const char      *text)
{
  if (self->ws != NULL && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    aic_ws_guard_send_text (self->ws, text);
}

static void
send_session_update (AicVoiceSession *self)
{
  g_autofree char *update = aic_realtime_session_update (self->instructions, self->server_vad, self->threshold,
                                                         self->prefix_ms, self->silence_ms, NULL);
  send_text (self, update);
}

static void
drop_connection (AicVoiceSession *self)
{
  if (self->ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->ws, self);
  if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->ws);
}

static void
handle_event (AicVoiceSession  *self,
              AicRealtimeEvent *event)
{
  switch (event->kind)
    {
    case AIC_REALTIME_SPEECH_STARTED:
      set_state (self, AIC_VOICE_USER_SPEAKING);
      g_signal_emit (self, signals[SPEECH_STARTED], 0);
      break;
    case AIC_REALTIME_SPEECH_STOPPED:
    case AIC_REALTIME_INPUT_COMMITTED:
      set_state (self, AIC_VOICE_THINKING);
      break;
    case AIC_REALTIME_INPUT_TRANSCRIPT:
      g_signal_emit (self, signals[USER_TRANSCRIPT], 0, event->text ? event->text : "");
      break;
    case AIC_REALTIME_RESPONSE_CREATED:
      self->response_active = TRUE;
      break;
    case AIC_REALTIME_TRANSCRIPT_DELTA:
    case AIC_REALTIME_TEXT_DELTA:
      if (event->text != NULL)
        g_signal_emit (self, signals[REPLY_TRANSCRIPT], 0, event->text);
      break;
    case AIC_REALTIME_AUDIO_DELTA:
      if (event->item_id != NULL && g_strcmp0 (self->reply_item_id, event->item_id) != 0)
        {
          g_free (self->reply_item_id);
          self->reply_item_id = g_strdup (event->item_id);
        }
      set_state (self, AIC_VOICE_SPEAKING);
      g_signal_emit (self, signals[REPLY_AUDIO], 0, event->audio);
      break;
    case AIC_REALTIME_RESPONSE_DONE:
      self->response_active = FALSE;
      if (self->state != AIC_VOICE_USER_SPEAKING)
        set_state (self, AIC_VOICE_LISTENING);
      g_signal_emit (self, signals[RESPONSE_DONE], 0, event->status ? event->status : "completed");
      break;
    case AIC_REALTIME_ERROR:
      /* A barge-in that meets a reply just finishing: the cancel found
       * nothing to stop, which is what the user wanted. OpenAI's Realtime
       * service answers the same way. */
      if (g_strcmp0 (event->error_code, "response_cancel_not_active") == 0)
        {
          g_debug ("Cancel after the reply had ended: ignored");
          break;
        }
      g_free (self->error_code);
      self->error_code = g_strdup (event->error_code);
      /* The turn was dropped before any reply: nothing more will come
       * for it. */
      if (self->state == AIC_VOICE_THINKING && !self->response_active &&
          (g_strcmp0 (event->error_code, "no_speech_to_text") == 0 ||
           g_strcmp0 (event->error_code, "transcription_failed") == 0))
        set_state (self, AIC_VOICE_LISTENING);
      g_signal_emit (self, signals[SERVER_ERROR],
                     event->error_code != NULL ? g_quark_from_string (event->error_code) : 0, event->text);
      break;
    case AIC_REALTIME_SESSION_CREATED:
    case AIC_REALTIME_SESSION_UPDATED:
      if (event->speech_to_text >= 0 && self->speech_to_text != (event->speech_to_text == 1))
        {
          self->speech_to_text = event->speech_to_text == 1;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEECH_TO_TEXT]);
        }
      break;
    case AIC_REALTIME_AUDIO_DONE:
    case AIC_REALTIME_UNKNOWN:
    default:
      break;
    }
}

static void
message_cb (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *message,
            AicVoiceSession         *self)
{
  g_autoptr(AicRealtimeEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (message, &length);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  event = aic_realtime_event_parse (data, length, &error);
  if (event == NULL)
    {
      /* A bad message is reported; the conversation goes on. */
      g_clear_pointer (&self->error_code, g_free);
      g_signal_emit (self, signals[SERVER_ERROR], 0, error->message);
      return;
    }
  handle_event (self, event);
}

static gboolean
retry_cb (gpointer data)
{
  AicVoiceSession *self = data;

  self->retry_source = 0;
  open_connection (self);
  return G_SOURCE_REMOVE;
}

static void
lost (AicVoiceSession *self,
      GError          *error)   /* transfer full */
{
  drop_connection (self);
  self->response_active = FALSE;
  if (!self->closing && self->attempts < self->max_reconnects)
    {
      guint delay = self->reconnect_delay_ms << MIN (self->attempts, 5);

      self->attempts++;
      set_state (self, AIC_VOICE_CONNECTING);
      self->retry_source = aic_timeout_add (delay, retry_cb, self);
      g_error_free (error);
      return;
    }
  set_state (self, AIC_VOICE_DISCONNECTED);
  if (!self->closing)
    g_signal_emit (self, signals[DISCONNECTED], 0, error);
  g_error_free (error);
}

static void
closed_cb (SoupWebsocketConnection *ws,
           AicVoiceSession         *self)
{
  lost (self, g_error_new (AIC_ERROR, AIC_ERROR_UNREACHABLE,
                           _("The voice server closed the connection (%u)."),
                           soup_websocket_connection_get_close_code (ws)));
}

/* An answer to one of the keep-alive pings: the server is there. */
static void
pong_cb (AicVoiceSession *self)
{
  self->pongs++;
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(AicVoiceSession) self = user_data;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &error);
  SoupMessage *message = g_object_get_data (G_OBJECT (self), "aic-connect-message");
  GTask *task = g_steal_pointer (&self->connect_task);

  if (ws == NULL)
    {
      GError *mapped;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mapped = g_error_copy (error);
      else if (soup_message_get_status (message) >= 400)
        mapped = aic_http_error_from_status (message, NULL);
      else
        mapped = aic_http_error_from_transport (error, soup_message_get_uri (message));

      if (task != NULL)
        {
          /* The first connection: the caller hears of it. */
          set_state (self, AIC_VOICE_DISCONNECTED);
          g_task_return_error (task, mapped);
          g_object_unref (task);
        }
      else
        lost (self, mapped);
      return;
    }

  self->ws = ws;
  self->attempts = 0;
  /* A message, however fragmented, not only each frame. */
  /* A server that stops reading is sent about a minute of audio more. */
  aic_ws_guard_attach (ws, MAX_FRAME, 4 * 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (ws, self->keepalive_s);
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), self);
  g_signal_connect_swapped (ws, "pong", G_CALLBACK (pong_cb), self);
  g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), self);
  send_session_update (self);
  set_state (self, AIC_VOICE_LISTENING);

  if (task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  else
    self->reconnects++;
}

static void
open_connection (AicVoiceSession *self)
{
  g_autoptr(SoupMessage) message = aic_client_new_message (self->client, "GET", self->path);

  set_state (self, AIC_VOICE_CONNECTING);
  g_object_set_data_full (G_OBJECT (self), "aic-connect-message", g_object_ref (message), g_object_unref);
  soup_session_websocket_connect_async (aic_client_get_stream_session (self->client), message, NULL, NULL,
                                        G_PRIORITY_DEFAULT, self->cancellable, connected_cb, g_object_ref (self));
}

static void
aic_voice_session_dispose (GObject *object)
{
  AicVoiceSession *self = AIC_VOICE_SESSION (object);

  self->closing = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, aic_source_remove);
  drop_connection (self);

  G_OBJECT_CLASS (aic_voice_session_parent_class)->dispose (object);
}

static void
aic_voice_session_finalize (GObject *object)
{
  AicVoiceSession *self = AIC_VOICE_SESSION (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_free (self->path);
  g_free (self->instructions);
  g_free (self->reply_item_id);
  g_free (self->error_code);
  g_byte_array_unref (self->pending);

  G_OBJECT_CLASS (aic_voice_session_parent_class)->finalize (object);
}

static void
aic_voice_session_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  AicVoiceSession *self = AIC_VOICE_SESSION (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_SPEECH_TO_TEXT:
      g_value_set_boolean (value, self->speech_to_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_voice_session_class_init (AicVoiceSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_voice_session_dispose;
  object_class->finalize = aic_voice_session_finalize;
  object_class->get_property = aic_voice_session_get_property;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, AIC_VOICE_DISCONNECTED, AIC_VOICE_SPEAKING, AIC_VOICE_DISCONNECTED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * AicVoiceSession:speech-to-text:
   * Whether the server can turn the user's speech into text. %TRUE until
   * the server says otherwise (a Realtime service never does).
   */
  properties[PROP_SPEECH_TO_TEXT] =
    g_param_spec_boolean ("speech-to-text", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The server heard the user start speaking: time to stop any reply. */
  signals[SPEECH_STARTED] =
    g_signal_new ("speech-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[USER_TRANSCRIPT] =
    g_signal_new ("user-transcript", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[REPLY_TRANSCRIPT] =
    g_signal_new ("reply-transcript", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * AicVoiceSession::reply-audio:
   * @pcm: PCM16 mono 24 kHz of the reply, for playback
   */
  signals[REPLY_AUDIO] =
    g_signal_new ("reply-audio", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);
  /**
   * AicVoiceSession::response-done:
   * @status: "completed", "cancelled" or "failed"
   */
  signals[RESPONSE_DONE] =
    g_signal_new ("response-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * AicVoiceSession::server-error:
   * @message: what went wrong, in words
   *
   * An error event, or a message that could not be read: shown, not
   * fatal. The detail is the event's code, such as
   * "server-error::no_speech_to_text"; aic_voice_session_get_error_code()
   * gives it to a handler of every error.
   */
  signals[SERVER_ERROR] =
    g_signal_new ("server-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The connection is gone for good (reconnecting gave up). */
  signals[DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
aic_voice_session_init (AicVoiceSession *self)
{
  self->pending = g_byte_array_new ();
  self->cancellable = g_cancellable_new ();
  self->server_vad = TRUE;
  self->threshold = 0.5;
  self->prefix_ms = 300;
  self->silence_ms = 500;
  self->max_reconnects = 5;
  self->reconnect_delay_ms = 500;
  self->keepalive_s = KEEPALIVE_S;
  self->speech_to_text = TRUE;
}

/**
 * aic_voice_session_new:
 * @path: "/api/voice" for a console backend, "/v1/realtime?model=…" for a
 *   Realtime service
 */
AicVoiceSession *
aic_voice_session_new (AicClient  *client,
                       const char *path)
{
  AicVoiceSession *self;

  g_return_val_if_fail (AIC_IS_CLIENT (client), NULL);

  self = g_object_new (AIC_TYPE_VOICE_SESSION, NULL);
  self->client = g_object_ref (client);
  self->path = g_strdup (path ? path : "/api/voice");
  return self;
}

/**
 * aic_voice_session_set_turn_detection:
 * @server_vad: %FALSE for push-to-talk (aic_voice_session_commit())
 */
void
aic_voice_session_set_turn_detection (AicVoiceSession *self,
                                      gboolean         server_vad,
                                      double           threshold,
                                      guint            prefix_padding_ms,
                                      guint            silence_duration_ms)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));

  self->server_vad = server_vad;
  self->threshold = threshold;
  self->prefix_ms = prefix_padding_ms;
  self->silence_ms = silence_duration_ms;
  if (self->ws != NULL)
    send_session_update (self);
}

void
aic_voice_session_set_instructions (AicVoiceSession *self,
                                    const char      *instructions)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));
  g_free (self->instructions);
  self->instructions = g_strdup (instructions);
}

/* Reconnecting after a drop: up to @max_attempts in a row, waiting
 * @first_delay_ms, then twice as long each time. */
void
aic_voice_session_set_reconnect (AicVoiceSession *self,
                                 guint            max_attempts,
                                 guint            first_delay_ms)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));
  self->max_reconnects = max_attempts;
  self->reconnect_delay_ms = MAX (first_delay_ms, 1);
}

AicVoiceState
aic_voice_session_get_state (AicVoiceSession *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_SESSION (self), AIC_VOICE_DISCONNECTED);
  return self->state;
}

void
aic_voice_session_connect_async (AicVoiceSession     *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (AIC_IS_VOICE_SESSION (self));
  g_return_if_fail (self->connect_task == NULL && self->ws == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_voice_session_connect_async);
  self->connect_task = task;
  self->closing = FALSE;
  open_connection (self);
}

gboolean
aic_voice_session_connect_finish (AicVoiceSession  *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
flush_pending (AicVoiceSession *self)
{
  g_autoptr(GBytes) chunk = NULL;
  g_autofree char *append = NULL;

  if (self->pending->len == 0)
    return;
  chunk = g_bytes_new (self->pending->data, self->pending->len);
  append = aic_realtime_append (chunk);
  self->sent_samples += self->pending->len / 2;
  g_byte_array_set_size (self->pending, 0);
  send_text (self, append);
}

/**
 * aic_voice_session_send_audio:
 * @pcm: microphone audio, PCM16 mono 24 kHz (20 ms frames, say)
 *
 * Sent in appends of 40 ms. Audio while disconnected is dropped: it would
 * be stale by the time the connection is back.
 */
void
aic_voice_session_send_audio (AicVoiceSession *self,
                              GBytes          *pcm)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));

  if (self->ws == NULL)
    return;
  g_byte_array_append (self->pending, g_bytes_get_data (pcm, NULL), g_bytes_get_size (pcm));
  if (self->pending->len >= aic_pcm_bytes_for_ms (APPEND_MS))
    flush_pending (self);
}

/**
 * aic_voice_session_send_silence:
 * Sends @milliseconds of silence: after a recording used as the
 * microphone ends, enough of it lets a server's VAD end the last turn.
 */
void
aic_voice_session_send_silence (AicVoiceSession *self,
                                guint            milliseconds)
{
  g_autoptr(GBytes) silence = NULL;

  g_return_if_fail (AIC_IS_VOICE_SESSION (self));

  silence = g_bytes_new_take (g_malloc0 (aic_pcm_bytes_for_ms (milliseconds)), aic_pcm_bytes_for_ms (milliseconds));
  aic_voice_session_send_audio (self, silence);
  flush_pending (self);
}

/* Push-to-talk: the user's turn ends now, and a reply is asked for. */
void
aic_voice_session_commit (AicVoiceSession *self)
{
  g_autofree char *commit = aic_realtime_simple ("input_audio_buffer.commit");
  g_autofree char *create = aic_realtime_simple ("response.create");

  g_return_if_fail (AIC_IS_VOICE_SESSION (self));

  flush_pending (self);
  send_text (self, commit);
  send_text (self, create);
  set_state (self, AIC_VOICE_THINKING);
}

/**
 * aic_voice_session_interrupt:
 * @heard_ms: how much of the reply was played before playback was flushed
 *
 * Barge-in: cancels the reply being made and truncates the one being
 * played to what the user heard, so the model knows where it was cut off.
 */
void
aic_voice_session_interrupt (AicVoiceSession *self,
                             guint64          heard_ms)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));

  if (self->response_active)
    {
      g_autofree char *cancel = aic_realtime_simple ("response.cancel");
      send_text (self, cancel);
    }
  if (self->reply_item_id != NULL)
    {
      g_autofree char *truncate = aic_realtime_truncate (self->reply_item_id, heard_ms);
      send_text (self, truncate);
      g_clear_pointer (&self->reply_item_id, g_free);
    }
}

void
aic_voice_session_close (AicVoiceSession *self)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));

  self->closing = TRUE;
  g_clear_handle_id (&self->retry_source, aic_source_remove);
  flush_pending (self);
  drop_connection (self);
  set_state (self, AIC_VOICE_DISCONNECTED);
}

guint
aic_voice_session_get_reconnects (AicVoiceSession *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_SESSION (self), 0);
  return self->reconnects;
}

guint64
aic_voice_session_get_sent_audio_ms (AicVoiceSession *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_SESSION (self), 0);
  return self->sent_samples * 1000 / AIC_AUDIO_RATE;
}

/* Seconds between pings (15); takes effect at the next connection. */
void
aic_voice_session_set_keepalive (AicVoiceSession *self,
                                 guint            seconds)
{
  g_return_if_fail (AIC_IS_VOICE_SESSION (self));
  self->keepalive_s = seconds;
}

/* Pongs received: each answers a keep-alive ping. */
guint
aic_voice_session_get_pongs (AicVoiceSession *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_SESSION (self), 0);
  return self->pongs;
}

/**
 * aic_voice_session_get_speech_to_text:
 * Returns: whether the server can turn speech into text (see
 *   :speech-to-text)
 */
gboolean
aic_voice_session_get_speech_to_text (AicVoiceSession *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_SESSION (self), FALSE);
  return self->speech_to_text;
}

/**
 * aic_voice_session_get_error_code:
 * Returns: (nullable): the code of the last error event, such as
 *   "no_speech_to_text"; %NULL when it had none or the last error was a
 *   message that could not be read
 */
const char *
aic_voice_session_get_error_code (AicVoiceSession *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_SESSION (self), NULL);
  return self->error_code;
}
