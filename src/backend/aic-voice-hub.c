/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-pcm.h"
#include "aic-realtime.h"
#include "aic-source.h"
#include "aic-tts.h"
#include "aic-vad.h"
#include "aic-voice-hub.h"
#include "aic-ws-guard.h"

/* The console backend's /api/voice (PROTOCOL.md "Voice"): a WebSocket in
 * the Realtime vocabulary.
 *
 * Audio comes in as appends. With server_vad, AicVad finds the turns;
 * with turn_detection null the client commits. A finished turn is
 * transcribed, answered by the engine, and the answer spoken sentence by
 * sentence: each sentence goes to speech as soon as it is complete, so the
 * first audio leaves after the first sentence, not the whole reply.
 * Speech from the user while a reply is being made or played cancels it.
 *
 * Speech goes through the engine's speech client: the speech server when
 * one is set, else an OpenAI-compatible upstream. Turns are transcribed by
 * its /audio/transcriptions (a WAV upload) and replies spoken by its
 * /audio/speech, asked for PCM at 24 kHz (the wire format); a server that
 * answers with WAV anyway is decoded and resampled, and one that refuses
 * "pcm" is asked for "wav". A server without /audio/speech (Ollama, say)
 * is noticed on the first failure and eSpeak NG speaks instead.
 *
 * Without speech-to-text (no speech client, as with anthropic and no speech
 * server, or a server that answers 404 or 405 at /audio/transcriptions)
 * the client is told plainly: session.created and session.updated carry
 * "speech_to_text": false, and a turn that cannot be transcribed gets an
 * error with code "no_speech_to_text". So that the app can say so before
 * the user speaks, the first session asks the speech client once: a POST
 * to /audio/transcriptions without a file, which a server with the route
 * refuses (400, 422) and one without it answers 404 or 405. The demo engine still answers such
 * a turn: its transcript says how long the user spoke and that no
 * speech-to-text is configured, and its spoken reply says what it is. */

#define STT_MODEL "whisper-1"
#define TTS_MODEL "tts-1"
#define TTS_VOICE "alloy"
#define MAX_SPEECH_BODY (16 * 1024 * 1024)

#define KEEPALIVE_S 15
/* Audio of one turn kept at most: 15 minutes of PCM16 mono at 24 kHz
 * (43 MB). A client that streams more without a pause, or never commits,
 * gets an error and starts again, instead of growing the server. */
#define MAX_INPUT_MS (15 * 60 * 1000)
#define AUDIO_CHUNK_MS 100

struct _AicVoiceHub
{
  GObject     parent_instance;

  AicEngine    *engine;
  GPtrArray    *sessions;
  gboolean      no_speech_to_text;   /* the speech client said it has none */
  gboolean      probed;              /* the speech client answered the probe */
  gboolean      probing;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (AicVoiceHub, aic_voice_hub, G_TYPE_OBJECT)

typedef struct _Session Session;

typedef struct
{
  Session      *session;
  char         *id;
  char         *item_id;
  GCancellable *cancellable;
  GString      *unspoken;        /* reply text not yet a whole sentence */
  GString      *said;            /* the whole reply so far */
  GQueue        sentences;       /* char *, waiting to be spoken */
  gboolean      speaking;        /* a sentence is being synthesised */
  gboolean      text_done;       /* the engine has finished */
  gboolean      finished;
} Response;

struct _Session
{
  AicVoiceHub             *hub;
  SoupWebsocketConnection *ws;
  gboolean                 server_vad;
  AicVad                  *vad;
  GByteArray              *buffer;     /* push-to-talk: audio since the last commit */
  char                    *instructions;
  GPtrArray               *history;    /* role, content, role, content … */
  Response                *response;
  guint                    sequence;
  AicClient               *upstream;   /* the speech client; NULL when there is none */
  gboolean                 espeak_only; /* the upstream has no speech */
  const char              *speech_format;   /* "pcm", or "wav" when pcm was refused */
  gboolean                 beta;        /* the beta Realtime names and session shape */
};

static void response_finish (Response *response, const char *status);
static void speak_next (Response *response);

static char *
next_id (Session    *session,
         const char *prefix)
{
  return g_strdup_printf ("%s_%u", prefix, ++session->sequence);
}

static void
send_event (Session    *session,
            const char *format,
            ...) G_GNUC_PRINTF (2, 3);

static void
send_event (Session    *session,
            const char *format,
            ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (session->ws == NULL || soup_websocket_connection_get_state (session->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  aic_ws_guard_send_text (session->ws, text);
}

static char *
json_string (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return aic_json_to_string (node, FALSE);
}

static void
send_error (Session    *session,
            const char *code,
            const char *message)
{
  g_autofree char *quoted = json_string (message);

  send_event (session, "{\"type\": \"error\", \"error\": {\"type\": \"invalid_request_error\", "
                       "\"code\": \"%s\", \"message\": %s}}", code, quoted);
}

static gboolean
can_transcribe (Session *session)
{
  return session->upstream != NULL && !session->hub->no_speech_to_text;
}

static void
send_session (Session    *session,
              const char *type)
{
  send_event (session, "{\"type\": \"%s\", \"session\": {\"type\": \"realtime\", \"engine\": \"%s\", "
                       "\"speech_to_text\": %s}}",
              type, aic_engine_get_kind_string (session->hub->engine), can_transcribe (session) ? "true" : "false");
}

static void
send_no_speech_to_text (Session *session)
{
  send_error (session, "no_speech_to_text",
              _("This connection cannot turn speech into text. Choose a speech server in Preferences."));
}

/* The speech client has no /audio/transcriptions: every session hears of
 * it at once, not at its own next turn. */
static void
learn_no_speech_to_text (AicVoiceHub *hub)
{
  if (hub->no_speech_to_text)
    return;
  hub->no_speech_to_text = TRUE;
  for (guint i = 0; i < hub->sessions->len; i++)
    send_session (g_ptr_array_index (hub->sessions, i), "session.updated");
}

typedef struct
{
  AicVoiceHub *hub;          /* weak */
  AicClient   *client;
  SoupMessage *message;
} Probe;

static void
probe_free (Probe *probe)
{
  g_clear_weak_pointer (&probe->hub);
  g_object_unref (probe->client);
  g_object_unref (probe->message);
  g_free (probe);
}

static void
probed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Probe *probe = user_data;
  AicVoiceHub *hub = probe->hub;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  guint status = soup_message_get_status (probe->message);

  if (hub == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      probe_free (probe);
      return;
    }
  hub->probing = FALSE;
  /* Nobody answered: the next session asks again. */
  if (body != NULL)
    {
      hub->probed = TRUE;
      if (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_METHOD_NOT_ALLOWED)
        {
          g_message ("The speech server has no /audio/transcriptions (%u)", status);
          learn_no_speech_to_text (hub);
        }
    }
  probe_free (probe);
}

static void
probe_speech_to_text (AicVoiceHub *hub,
                      AicClient   *client)
{
  g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  g_autoptr(GBytes) body = NULL;
  Probe *probe;

  if (hub->probed || hub->probing || hub->no_speech_to_text)
    return;
  hub->probing = TRUE;
  probe = g_new0 (Probe, 1);
  g_set_weak_pointer (&probe->hub, hub);
  probe->client = g_object_ref (client);
  probe->message = aic_client_new_message (client, "POST", "/audio/transcriptions");
  soup_multipart_append_form_string (multipart, "model", STT_MODEL);
  soup_multipart_to_message (multipart, soup_message_get_request_headers (probe->message), &body);
  soup_message_set_request_body_from_bytes (probe->message, NULL, body);
  soup_session_send_and_read_async (aic_client_get_session (client), probe->message, G_PRIORITY_DEFAULT,
                                    hub->cancellable, probed_cb, probe);
}

/* ---- replies ---- */

static void
response_clear (Response *response)
{
  g_cancellable_cancel (response->cancellable);
  g_clear_object (&response->cancellable);
  g_free (response->id);
  g_free (response->item_id);
  g_string_free (response->unspoken, TRUE);
  g_string_free (response->said, TRUE);
  g_queue_clear_full (&response->sentences, g_free);
}

/* A response is shared by its session and whatever is in flight for it
 * (the engine's reply, a synthesis): each holds a reference. */
static Response *
response_ref (Response *response)
{
  return g_rc_box_acquire (response);
}

static void
response_unref (Response *response)
{
  g_rc_box_release_full (response, (GDestroyNotify) response_clear);
}

/* Whole sentences move from @unspoken to the queue. */
static void
take_sentences (Response *response,
                gboolean  all)
{
  GString *text = response->unspoken;
  gsize start = 0;

  for (gsize i = 0; i < text->len; i++)
    {
      char c = text->str[i];
      gboolean end = c == '\n' ||
                     ((c == '.' || c == '!' || c == '?') && i + 1 < text->len && text->str[i + 1] == ' ');

      if (!end)
        continue;
      {
        g_autofree char *sentence = g_strstrip (g_strndup (text->str + start, i + 1 - start));
        if (sentence[0] != '\0')
          g_queue_push_tail (&response->sentences, g_steal_pointer (&sentence));
      }
      start = i + 1;
    }
  g_string_erase (text, 0, start);
  if (all)
    {
      g_autofree char *rest = g_strstrip (g_string_free (g_string_new (text->str), FALSE));
      if (rest[0] != '\0')
        g_queue_push_tail (&response->sentences, g_steal_pointer (&rest));
      g_string_truncate (text, 0);
    }
}

static void
send_audio (Response *response,
            GBytes   *pcm)
{
  gsize size, chunk = aic_pcm_bytes_for_ms (AUDIO_CHUNK_MS);
  const guint8 *data = g_bytes_get_data (pcm, &size);

  for (gsize offset = 0; offset < size; offset += chunk)
    {
      g_autofree char *encoded = g_base64_encode (data + offset, MIN (chunk, size - offset));

      send_event (response->session, "{\"type\": \"response.output_audio.delta\", \"response_id\": \"%s\", "
                                     "\"item_id\": \"%s\", \"output_index\": 0, \"content_index\": 0, \"delta\": \"%s\"}",
                  response->id, response->item_id, encoded);
    }
}

static void
spoken_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Response *response = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) pcm = aic_tts_espeak_finish (result, &error);

  response->speaking = FALSE;
  if (response->finished)
    {
      response_unref (response);
      return;
    }
  if (pcm == NULL)
    {
      send_error (response->session, "speech_failed", error->message);
      response_finish (response, "failed");
      response_unref (response);
      return;
    }

  send_audio (response, pcm);
  speak_next (response);
  response_unref (response);
}

typedef struct
{
  Response    *response;
  SoupMessage *message;
  char        *sentence;
} Speech;

static void
speech_free (Speech *speech)
{
  g_object_unref (speech->message);
  g_free (speech->sentence);
  g_free (speech);
}

static void speak_upstream (Response *response, const char *sentence);

/* What /audio/speech answered, as wire PCM: WAV decoded, raw PCM as is. */
static GBytes *
speech_to_pcm (Session     *session,
               GBytes      *answer,
               GError     **error)
{
  if (aic_tts_is_wav (answer))
    return aic_tts_decode_wav (answer, error);
  if (g_str_equal (session->speech_format, "pcm") && g_bytes_get_size (answer) % 2 == 0)
    return g_bytes_ref (answer);
  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL, "The speech server's answer is not audio that can be played.");
  return NULL;
}

static void
upstream_spoken_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Speech *speech = user_data;
  Response *response = speech->response;
  Session *session = response->session;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) answer = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  g_autoptr(GBytes) pcm = NULL;
  guint status = soup_message_get_status (speech->message);

  if (response->finished)
    {
      response->speaking = FALSE;
      response_unref (response);
      speech_free (speech);
      return;
    }
  if (answer != NULL && SOUP_STATUS_IS_SUCCESSFUL (status))
    pcm = speech_to_pcm (session, answer, &error);
  if (pcm != NULL)
    {
      response->speaking = FALSE;
      send_audio (response, pcm);
      speak_next (response);
      response_unref (response);
      speech_free (speech);
      return;
    }

  /* Some servers make only WAV (or MP3, …) and refuse "pcm": ask again. */
  if (answer != NULL && (status == 400 || status == SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE || status == 422) &&
      g_str_equal (session->speech_format, "pcm"))
    {
      g_debug ("The speech server refused PCM (%u); asking it for WAV", status);
      session->speech_format = "wav";
      speak_upstream (response, speech->sentence);
      response_unref (response);
      speech_free (speech);
      return;
    }

  /* No speech upstream (or it failed): eSpeak NG speaks from now on. */
  g_message ("The speech server did not speak (%u%s%s); eSpeak NG speaks instead",
             status, error ? ": " : "", error ? error->message : "");
  session->espeak_only = TRUE;
  aic_tts_espeak_async (speech->sentence, NULL, NULL, spoken_cb, response);
  speech_free (speech);
}

static void
speak_upstream (Response   *response,
                const char *sentence)
{
  Session *session = response->session;
  Speech *speech = g_new0 (Speech, 1);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(GBytes) bytes = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, TTS_MODEL);
  json_builder_set_member_name (builder, "voice");
  json_builder_add_string_value (builder, TTS_VOICE);
  json_builder_set_member_name (builder, "input");
  json_builder_add_string_value (builder, sentence);
  json_builder_set_member_name (builder, "response_format");
  json_builder_add_string_value (builder, session->speech_format);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = aic_json_to_string (root, FALSE);
  bytes = g_bytes_new (body, strlen (body));

  speech->response = response_ref (response);
  speech->sentence = g_strdup (sentence);
  speech->message = aic_client_new_message (session->upstream, "POST", "/audio/speech");
  soup_message_set_request_body_from_bytes (speech->message, "application/json", bytes);
  soup_session_send_and_read_async (aic_client_get_session (session->upstream), speech->message, G_PRIORITY_DEFAULT,
                                    response->cancellable, upstream_spoken_cb, speech);
}

static void
speak_next (Response *response)
{
  g_autofree char *sentence = NULL;
  g_autofree char *quoted = NULL;

  if (response->speaking || response->finished)
    return;
  sentence = g_queue_pop_head (&response->sentences);
  if (sentence == NULL)
    {
      if (response->text_done)
        response_finish (response, "completed");
      return;
    }

  {
    g_autofree char *delta = response->said->len ? g_strconcat (" ", sentence, NULL) : g_strdup (sentence);
    quoted = json_string (delta);
  }
  send_event (response->session, "{\"type\": \"response.output_audio_transcript.delta\", \"response_id\": \"%s\", "
                                 "\"item_id\": \"%s\", \"output_index\": 0, \"content_index\": 0, \"delta\": %s}",
              response->id, response->item_id, quoted);
  if (response->said->len)
    g_string_append_c (response->said, ' ');
  g_string_append (response->said, sentence);
  response->speaking = TRUE;
  if (response->session->upstream != NULL && !response->session->espeak_only)
    speak_upstream (response, sentence);
  else
    aic_tts_espeak_async (sentence, NULL, NULL, spoken_cb, response_ref (response));
}

/* Ends @response (completed, cancelled or failed), tells the client, and
 * lets the session's reference go. */
static void
response_finish (Response   *response,
                 const char *status)
{
  Session *session = response->session;

  if (response->finished)
    return;
  response->finished = TRUE;
  g_cancellable_cancel (response->cancellable);
  if (session == NULL)
    return;
  if (g_str_equal (status, "completed"))
    send_event (session, "{\"type\": \"response.output_audio.done\", \"response_id\": \"%s\", \"item_id\": \"%s\"}",
                response->id, response->item_id);
  send_event (session, "{\"type\": \"response.done\", \"response\": {\"id\": \"%s\", \"status\": \"%s\"}}",
              response->id, status);
  if (response->said->len > 0)
    {
      g_ptr_array_add (session->history, g_strdup ("assistant"));
      g_ptr_array_add (session->history, g_strdup (response->said->str));
    }
  if (session->response == response)
    {
      session->response = NULL;
      response_unref (response);
    }
}

static void
on_token (const char *text,
          gpointer    user_data)
{
  Response *response = user_data;

  if (response->finished)
    return;
  g_string_append (response->unspoken, text);
  take_sentences (response, FALSE);
  speak_next (response);
}

static void
reply_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Response *response = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicEngineReply) reply = aic_engine_chat_finish (AIC_ENGINE (object), result, &error);

  if (!response->finished && reply == NULL)
    {
      send_error (response->session, "engine_failed", error->message);
      response_finish (response, "failed");
    }
  else if (!response->finished)
    {
      take_sentences (response, TRUE);
      response->text_done = TRUE;
      speak_next (response);
    }
  response_unref (response);
}

static void
start_response (Session    *session,
                const char *user_text,
                double      seconds,
                gboolean    heard_words)
{
  Response *response = g_rc_box_new0 (Response);

  if (session->response != NULL)
    response_finish (session->response, "cancelled");

  response->session = session;
  response->id = next_id (session, "resp");
  response->item_id = next_id (session, "item");
  response->cancellable = g_cancellable_new ();
  response->unspoken = g_string_new (NULL);
  response->said = g_string_new (NULL);
  g_queue_init (&response->sentences);
  session->response = response;

  send_event (session, "{\"type\": \"response.created\", \"response\": {\"id\": \"%s\", \"status\": \"in_progress\"}}",
              response->id);

  if (aic_engine_get_kind (session->hub->engine) == AIC_ENGINE_KIND_DEMO)
    {
      /* The demo speaks a short, honest reply. */
      g_autofree char *text = NULL;

      if (heard_words)
        text = g_strdup_printf ("This is the demo engine, not a language model. You said: “%s” "
                                "Connect a real model to talk about anything you like.", user_text);
      else
        text = g_strdup_printf ("This is the demo engine. I heard %.1f seconds of speech. "
                                "No speech-to-text is configured, so I cannot tell what you said. "
                                "Connect a real model to talk about anything you like.", seconds);
      g_string_append (response->unspoken, text);
      take_sentences (response, TRUE);
      response->text_done = TRUE;
      speak_next (response);
      return;
    }

  {
    g_autoptr(GPtrArray) turns = g_ptr_array_new_with_free_func (g_free);

    g_ptr_array_add (turns, g_strdup ("system"));
    g_ptr_array_add (turns, g_strdup (session->instructions ? session->instructions
                                      : "You are talking with the user by voice. Answer briefly, in plain sentences, "
                                        "without lists, tables or code."));
    for (guint i = 0; i < session->history->len; i++)
      g_ptr_array_add (turns, g_strdup (g_ptr_array_index (session->history, i)));
    g_ptr_array_add (turns, g_strdup ("user"));
    g_ptr_array_add (turns, g_strdup (user_text));
    aic_engine_chat_async (session->hub->engine, turns, NULL, on_token, response,
                           response->cancellable, reply_done_cb, response_ref (response));
  }
}

static void
transcribed (Session    *session,
             const char *item,
             const char *transcript,
             double      seconds,
             gboolean    heard_words)
{
  g_autofree char *quoted = json_string (transcript);

  send_event (session, "{\"type\": \"conversation.item.input_audio_transcription.completed\", "
                       "\"item_id\": \"%s\", \"content_index\": 0, \"transcript\": %s}", item, quoted);
  g_ptr_array_add (session->history, g_strdup ("user"));
  g_ptr_array_add (session->history, g_strdup (transcript));
  start_response (session, transcript, seconds, heard_words);
}

/* The demo engine answers even a turn nobody could transcribe. */
static void
demo_transcript (Session    *session,
                 const char *item,
                 double      seconds)
{
  g_autofree char *transcript = g_strdup_printf ("speech, %.1f s — no speech-to-text configured", seconds);

  transcribed (session, item, transcript, seconds, FALSE);
}

typedef struct
{
  AicVoiceHub *hub;          /* weak: the session may be gone */
  Session     *session;
  SoupMessage *message;
  char        *item;
  double       seconds;
} Transcription;

static void
transcription_free (Transcription *transcription)
{
  g_clear_weak_pointer (&transcription->hub);
  g_object_unref (transcription->message);
  g_free (transcription->item);
  g_free (transcription);
}

static void
transcribed_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Transcription *transcription = user_data;
  Session *session = transcription->session;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = aic_http_get_json_finish (result, &error);
  const char *text = NULL;
  guint status;

  if (transcription->hub == NULL || !g_ptr_array_find (transcription->hub->sessions, session, NULL))
    {
      transcription_free (transcription);
      return;
    }
  status = soup_message_get_status (transcription->message);
  if (root == NULL && (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_METHOD_NOT_ALLOWED))
    {
      /* Ollama and other text-only servers: no such route. */
      g_message ("The speech server has no /audio/transcriptions (%u)", status);
      learn_no_speech_to_text (transcription->hub);
      if (aic_engine_get_kind (session->hub->engine) == AIC_ENGINE_KIND_DEMO)
        demo_transcript (session, transcription->item, transcription->seconds);
      else
        send_no_speech_to_text (session);
      transcription_free (transcription);
      return;
    }
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !aic_json_get_string (json_node_get_object (root), "text", TRUE, &text, NULL))
    {
      g_autofree char *message = g_strdup_printf ("Speech-to-text failed: %s",
                                                  error ? error->message : "the upstream's answer has no \"text\"");
      send_error (session, "transcription_failed", message);
      transcription_free (transcription);
      return;
    }
  transcribed (session, transcription->item, text, transcription->seconds, TRUE);
  transcription_free (transcription);
}

/* A finished turn: committed, transcribed, answered. */
static void
end_turn (Session *session,
          GBytes  *audio)
{
  g_autofree char *item = next_id (session, "item");
  double seconds = (double) g_bytes_get_size (audio) / aic_pcm_bytes_for_ms (1000);

  send_event (session, "{\"type\": \"input_audio_buffer.committed\", \"item_id\": \"%s\"}", item);

  if (!can_transcribe (session))
    {
      if (aic_engine_get_kind (session->hub->engine) == AIC_ENGINE_KIND_DEMO)
        demo_transcript (session, item, seconds);
      else
        send_no_speech_to_text (session);
      return;
    }

  {
    g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
    g_autoptr(GBytes) wav = aic_pcm_wav_bytes (audio);
    g_autoptr(GBytes) body = NULL;
    Transcription *transcription = g_new0 (Transcription, 1);

    soup_multipart_append_form_file (multipart, "file", "speech.wav", "audio/wav", wav);
    soup_multipart_append_form_string (multipart, "model", STT_MODEL);
    soup_multipart_append_form_string (multipart, "response_format", "json");
    g_set_weak_pointer (&transcription->hub, session->hub);
    transcription->session = session;
    transcription->item = g_strdup (item);
    transcription->seconds = seconds;
    transcription->message = aic_client_new_message (session->upstream, "POST", "/audio/transcriptions");
    soup_multipart_to_message (multipart, soup_message_get_request_headers (transcription->message), &body);
    soup_message_set_request_body_from_bytes (transcription->message, NULL, body);
    aic_http_get_json_async (aic_client_get_session (session->upstream), transcription->message, 0, NULL,
                             transcribed_cb, transcription);
  }
}

/* ---- messages from the client ---- */

static void
append_audio (Session    *session,
              JsonObject *object)
{
  const char *encoded = NULL;
  g_autofree guchar *pcm = NULL;
  gsize length = 0;

  if (!aic_json_get_string (object, "audio", TRUE, &encoded, NULL))
    {
      send_error (session, "invalid_audio", "input_audio_buffer.append needs \"audio\": base64 PCM16.");
      return;
    }
  pcm = g_base64_decode (encoded, &length);
  if (length % 2 != 0)
    {
      send_error (session, "invalid_audio", "The audio is not whole 16-bit samples.");
      return;
    }

  if (!session->server_vad)
    {
      if (session->buffer->len + length > aic_pcm_bytes_for_ms (MAX_INPUT_MS))
        {
          g_byte_array_set_size (session->buffer, 0);
          send_error (session, "input_audio_buffer_full",
                      "More than 15 minutes of audio came without a commit; the buffer was cleared.");
          return;
        }
      g_byte_array_append (session->buffer, pcm, length);
      return;
    }

  if (aic_vad_in_speech (session->vad) &&
      aic_vad_get_position_ms (session->vad) - aic_vad_get_start_ms (session->vad) > MAX_INPUT_MS)
    {
      aic_vad_reset (session->vad);
      send_error (session, "input_audio_buffer_full",
                  "Speech went on for more than 15 minutes without a pause; it was dropped.");
      return;
    }

  for (gsize offset = 0; offset < length; offset += AIC_AUDIO_FRAME_BYTES)
    {
      gsize n = MIN (AIC_AUDIO_FRAME_BYTES, length - offset) / 2;
      g_autofree gint16 *samples = g_memdup2 (pcm + offset, n * 2);

      switch (aic_vad_feed (session->vad, samples, n))
        {
        case AIC_VAD_SPEECH_STARTED:
          /* Speaking over a reply stops it. */
          if (session->response != NULL)
            response_finish (session->response, "cancelled");
          send_event (session, "{\"type\": \"input_audio_buffer.speech_started\", \"audio_start_ms\": %" G_GUINT64_FORMAT
                               ", \"item_id\": \"item_%u\"}", aic_vad_get_start_ms (session->vad), session->sequence + 1);
          break;
        case AIC_VAD_SPEECH_STOPPED:
          {
            g_autoptr(GBytes) utterance = aic_vad_take_utterance (session->vad);

            send_event (session, "{\"type\": \"input_audio_buffer.speech_stopped\", \"audio_end_ms\": %" G_GUINT64_FORMAT
                                 ", \"item_id\": \"item_%u\"}", aic_vad_get_end_ms (session->vad), session->sequence + 1);
            end_turn (session, utterance);
          }
          break;
        case AIC_VAD_NOTHING:
        default:
          break;
        }
    }
}

static gboolean
read_turn_detection (Session     *session,
                     JsonObject  *object)
{
  JsonObject *inner = NULL, *audio = NULL, *input = NULL, *detection = NULL;
  JsonNode *node;
  double threshold = 0.5;
  gint64 prefix = 300, silence = 500;

  const char *instructions = NULL;

  if (!aic_json_get_object (object, "session", FALSE, &inner, NULL) || inner == NULL ||
      !aic_json_get_string (inner, "instructions", FALSE, &instructions, NULL))
    return FALSE;
  if (instructions != NULL)
    {
      g_free (session->instructions);
      session->instructions = g_strdup (instructions);
    }
  if (!aic_json_get_object (inner, "audio", FALSE, &audio, NULL) || audio == NULL ||
      !aic_json_get_object (audio, "input", FALSE, &input, NULL) || input == NULL)
    return TRUE;   /* nothing about turns: keep what is set */

  node = json_object_get_member (input, "turn_detection");
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (node))
    {
      session->server_vad = FALSE;
      return TRUE;
    }
  if (!aic_json_get_object (input, "turn_detection", FALSE, &detection, NULL))
    return FALSE;
  if (json_object_has_member (detection, "threshold"))
    {
      JsonNode *value = json_object_get_member (detection, "threshold");

      if (!JSON_NODE_HOLDS_VALUE (value) ||
          (json_node_get_value_type (value) != G_TYPE_DOUBLE && json_node_get_value_type (value) != G_TYPE_INT64))
        return FALSE;
      threshold = json_node_get_double (value);
    }
  if (!aic_json_get_int (detection, "prefix_padding_ms", FALSE, &prefix, NULL) ||
      !aic_json_get_int (detection, "silence_duration_ms", FALSE, &silence, NULL) ||
      prefix < 0 || prefix > 5000 || silence < 0 || silence > 10000)
    return FALSE;

  session->server_vad = TRUE;
  g_clear_pointer (&session->vad, aic_vad_free);
  session->vad = aic_vad_new (threshold, prefix, silence);
  return TRUE;
}

static void
message_cb (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *message,
            Session                 *session)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  const char *kind = NULL;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      send_error (session, "binary_not_supported", "Send JSON text messages.");
      return;
    }
  root = aic_json_parse_bytes (message, &error);
  if (root == NULL)
    {
      /* Say why: text nested too deep is refused, not merely "bad". */
      send_error (session, "invalid_event", error->message);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !aic_json_get_string (json_node_get_object (root), "type", TRUE, &kind, NULL))
    {
      send_error (session, "invalid_event", "Every message must be a JSON object with a \"type\".");
      return;
    }
  object = json_node_get_object (root);

  if (g_str_equal (kind, "session.update"))
    {
      if (!read_turn_detection (session, object))
        send_error (session, "invalid_session", "session.update has members of the wrong type or out of range.");
      else
        send_session (session, "session.updated");
    }
  else if (g_str_equal (kind, "input_audio_buffer.append"))
    append_audio (session, object);
  else if (g_str_equal (kind, "input_audio_buffer.commit"))
    {
      g_autoptr(GBytes) audio = g_bytes_new (session->buffer->data, session->buffer->len);

      if (session->buffer->len == 0)
        {
          send_error (session, "input_audio_buffer_commit_empty", "There is no audio to commit.");
          return;
        }
      g_byte_array_set_size (session->buffer, 0);
      /* The reply comes with response.create, as in the Realtime API. */
      g_object_set_data_full (G_OBJECT (ws), "aic-committed", g_bytes_ref (audio), (GDestroyNotify) g_bytes_unref);
    }
  else if (g_str_equal (kind, "response.create"))
    {
      GBytes *audio = g_object_steal_data (G_OBJECT (ws), "aic-committed");

      if (audio == NULL)
        audio = g_bytes_new (NULL, 0);
      end_turn (session, audio);
      g_bytes_unref (audio);
    }
  else if (g_str_equal (kind, "input_audio_buffer.clear"))
    {
      g_byte_array_set_size (session->buffer, 0);
      if (session->vad != NULL)
        aic_vad_reset (session->vad);
    }
  else if (g_str_equal (kind, "response.cancel"))
    {
      if (session->response != NULL)
        response_finish (session->response, "cancelled");
    }
  else if (g_str_equal (kind, "conversation.item.truncate"))
    ;  /* what was heard is noted by the client; the reply is already cancelled */
  else
    {
      g_autofree char *text = g_strdup_printf ("Unknown event type “%s”.", kind);
      send_error (session, "unknown_event", text);
    }
}

static void
session_free (Session *session)
{
  if (session->response != NULL)
    {
      Response *response = g_steal_pointer (&session->response);

      /* Nobody to tell: stop the work and let go. */
      response->session = NULL;
      response_finish (response, "cancelled");
      response_unref (response);
    }
  g_signal_handlers_disconnect_by_data (session->ws, session);
  g_clear_object (&session->ws);
  g_clear_pointer (&session->vad, aic_vad_free);
  g_byte_array_unref (session->buffer);
  g_ptr_array_unref (session->history);
  g_clear_object (&session->upstream);
  g_free (session->instructions);
  g_free (session);
}

static void
closed_cb (SoupWebsocketConnection *ws,
           Session                 *session)
{
  g_ptr_array_remove (session->hub->sessions, session);
}

/**
 * aic_voice_hub_accept:
 * @beta: the client asked for the beta Realtime vocabulary (OpenAI-Beta:
 *   realtime=v1); a beta-shaped session.update says so too
 *
 * Takes a connection the server upgraded at a voice path.
 */
void
aic_voice_hub_accept (AicVoiceHub             *self,
                      SoupWebsocketConnection *connection,
                      gboolean                 beta)
{
  Session *session = g_new0 (Session, 1);

  session->hub = self;
  session->ws = g_object_ref (connection);
  session->server_vad = TRUE;
  session->vad = aic_vad_new (0.5, 300, 500);
  session->buffer = g_byte_array_new ();
  session->history = g_ptr_array_new_with_free_func (g_free);
  session->upstream = aic_engine_new_speech_client (self->engine);
  session->speech_format = "pcm";
  session->beta = beta;
  g_ptr_array_add (self->sessions, session);

  soup_websocket_connection_set_keepalive_interval (connection, KEEPALIVE_S);
  g_signal_connect (connection, "message", G_CALLBACK (message_cb), session);
  g_signal_connect (connection, "closed", G_CALLBACK (closed_cb), session);
  send_session (session, "session.created");
  if (session->upstream != NULL)
    probe_speech_to_text (self, session->upstream);
}

guint
aic_voice_hub_get_n_sessions (AicVoiceHub *self)
{
  g_return_val_if_fail (AIC_IS_VOICE_HUB (self), 0);
  return self->sessions->len;
}

static void
aic_voice_hub_dispose (GObject *object)
{
  AicVoiceHub *self = AIC_VOICE_HUB (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->sessions, g_ptr_array_unref);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (aic_voice_hub_parent_class)->dispose (object);
}

static void
aic_voice_hub_class_init (AicVoiceHubClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = aic_voice_hub_dispose;
}

static void
aic_voice_hub_init (AicVoiceHub *self)
{
  self->sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) session_free);
  self->cancellable = g_cancellable_new ();
}

AicVoiceHub *
aic_voice_hub_new (AicEngine *engine)
{
  AicVoiceHub *self;

  g_return_val_if_fail (AIC_IS_ENGINE (engine), NULL);

  self = g_object_new (AIC_TYPE_VOICE_HUB, NULL);
  self->engine = g_object_ref (engine);
  return self;
}
