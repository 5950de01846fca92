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
  gboolean      text_only;       /* output_modalities ["text"]: no speech */
  gsize         audio_bytes;     /* PCM sent so far */
  gint64        prompt_tokens;   /* the engine's count; -1 when unknown */
  gint64        completion_tokens;
  gint64        input_chars;     /* what the reply was asked with, for estimates */
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
  guint                    events;      /* event_id counter */
  /* The effective session, echoed in session.created and .updated. */
  double                   threshold;
  gint64                   prefix_ms;
  gint64                   silence_ms;
  gboolean                 create_response;     /* server VAD answers a turn by itself */
  gboolean                 interrupt_response;  /* speech cancels the reply */
  gboolean                 text_only;           /* output_modalities ["text"] */
  char                    *voice;
  char                    *speech_item;  /* the user item of the speech under way (server VAD) */
  char                    *last_item;    /* the conversation's last item, for previous_item_id */
  guint                    transcribing; /* committed turns not yet transcribed */
  gboolean                 reply_wanted; /* response.create came while they were */
  GHashTable              *spoken;       /* assistant item id → milliseconds of audio sent */
  /* The latest user turn, for the demo's reply. */
  char                    *last_user_text;
  double                   last_seconds;
  gboolean                 last_heard_words;
};

static void response_finish (Response *response, const char *status, const char *reason);
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
  g_assert (text[0] == '{');
  /* Every server event carries an event_id, as in the Realtime API. */
  {
    g_autofree char *with_id = g_strdup_printf ("{\"event_id\": \"event_%u\", %s", ++session->events, text + 1);
    aic_ws_guard_send_text (session->ws, with_id);
  }
}

/* The beta Realtime API names some server events differently. */
static const char *
event_name (Session    *session,
            const char *ga)
{
  static const char * const beta_names[][2] = {
    { "response.output_audio.delta",            "response.audio.delta" },
    { "response.output_audio.done",             "response.audio.done" },
    { "response.output_audio_transcript.delta", "response.audio_transcript.delta" },
    { "response.output_audio_transcript.done",  "response.audio_transcript.done" },
    { "response.output_text.delta",             "response.text.delta" },
    { "response.output_text.done",              "response.text.done" },
    { "conversation.item.added",                "conversation.item.created" },
  };

  if (!session->beta)
    return ga;
  for (guint i = 0; i < G_N_ELEMENTS (beta_names); i++)
    if (g_str_equal (ga, beta_names[i][0]))
      return beta_names[i][1];
  return ga;
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
add_turn_detection (Session     *session,
                    JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "turn_detection");
  if (!session->server_vad)
    {
      json_builder_add_null_value (builder);
      return;
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "server_vad");
  json_builder_set_member_name (builder, "threshold");
  json_builder_add_double_value (builder, session->threshold);
  json_builder_set_member_name (builder, "prefix_padding_ms");
  json_builder_add_int_value (builder, session->prefix_ms);
  json_builder_set_member_name (builder, "silence_duration_ms");
  json_builder_add_int_value (builder, session->silence_ms);
  json_builder_set_member_name (builder, "create_response");
  json_builder_add_boolean_value (builder, session->create_response);
  json_builder_set_member_name (builder, "interrupt_response");
  json_builder_add_boolean_value (builder, session->interrupt_response);
  json_builder_end_object (builder);
}

static void
add_pcm_format (JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "format");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "audio/pcm");
  json_builder_set_member_name (builder, "rate");
  json_builder_add_int_value (builder, AIC_AUDIO_RATE);
  json_builder_end_object (builder);
}

/* The effective session, in the shape the client speaks: GA nests audio
 * settings under audio.input and audio.output, beta has them at the top. */
static void
send_session (Session    *session,
              const char *type)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "session");
  json_builder_begin_object (builder);
  if (!session->beta)
    {
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "realtime");
    }
  json_builder_set_member_name (builder, "object");
  json_builder_add_string_value (builder, "realtime.session");
  json_builder_set_member_name (builder, "instructions");
  json_builder_add_string_value (builder, session->instructions ? session->instructions : "");
  json_builder_set_member_name (builder, session->beta ? "modalities" : "output_modalities");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, session->text_only ? "text" : "audio");
  if (session->beta && !session->text_only)
    json_builder_add_string_value (builder, "text");
  json_builder_end_array (builder);
  if (session->beta)
    {
      json_builder_set_member_name (builder, "voice");
      json_builder_add_string_value (builder, session->voice);
      json_builder_set_member_name (builder, "input_audio_format");
      json_builder_add_string_value (builder, "pcm16");
      json_builder_set_member_name (builder, "output_audio_format");
      json_builder_add_string_value (builder, "pcm16");
      add_turn_detection (session, builder);
    }
  else
    {
      json_builder_set_member_name (builder, "audio");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "input");
      json_builder_begin_object (builder);
      add_pcm_format (builder);
      add_turn_detection (session, builder);
      json_builder_end_object (builder);
      json_builder_set_member_name (builder, "output");
      json_builder_begin_object (builder);
      add_pcm_format (builder);
      json_builder_set_member_name (builder, "voice");
      json_builder_add_string_value (builder, session->voice);
      json_builder_end_object (builder);
      json_builder_end_object (builder);
    }
  json_builder_set_member_name (builder, "engine");
  json_builder_add_string_value (builder, aic_engine_get_kind_string (session->hub->engine));
  json_builder_set_member_name (builder, "speech_to_text");
  json_builder_add_boolean_value (builder, can_transcribe (session));
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = aic_json_to_string (root, FALSE);
  send_event (session, "%s", text);
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

      send_event (response->session, "{\"type\": \"%s\", \"response_id\": \"%s\", "
                                     "\"item_id\": \"%s\", \"output_index\": 0, \"content_index\": 0, \"delta\": \"%s\"}",
                  event_name (response->session, "response.output_audio.delta"), response->id, response->item_id, encoded);
    }
  response->audio_bytes += size;
  g_hash_table_insert (response->session->spoken, g_strdup (response->item_id),
                       GSIZE_TO_POINTER (response->audio_bytes / aic_pcm_bytes_for_ms (1)));
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
      response_finish (response, "failed", NULL);
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
  json_builder_add_string_value (builder, session->voice);
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
        response_finish (response, "completed", NULL);
      return;
    }

  {
    g_autofree char *delta = response->said->len ? g_strconcat (" ", sentence, NULL) : g_strdup (sentence);
    quoted = json_string (delta);
  }
  send_event (response->session, "{\"type\": \"%s\", \"response_id\": \"%s\", "
                                 "\"item_id\": \"%s\", \"output_index\": 0, \"content_index\": 0, \"delta\": %s}",
              event_name (response->session, response->text_only ? "response.output_text.delta"
                                                                  : "response.output_audio_transcript.delta"),
              response->id, response->item_id, quoted);
  if (response->said->len)
    g_string_append_c (response->said, ' ');
  g_string_append (response->said, sentence);
  if (response->text_only)
    {
      speak_next (response);
      return;
    }
  response->speaking = TRUE;
  if (response->session->upstream != NULL && !response->session->espeak_only)
    speak_upstream (response, sentence);
  else
    aic_tts_espeak_async (sentence, NULL, NULL, spoken_cb, response_ref (response));
}

/* An item as the Realtime API shows it. A user's audio has no transcript
 * yet (null), a reply's content is one part, or none while it starts. */
static char *
item_json (Session    *session,
           const char *id,
           const char *role,
           const char *status,
           const char *content_type,
           const char *text_member,
           const char *text)
{
  g_autofree char *quoted = text != NULL ? json_string (text) : g_strdup ("null");
  g_autofree char *content = content_type == NULL ? g_strdup ("[]")
                             : g_strdup_printf ("[{\"type\": \"%s\", \"%s\": %s}]", content_type, text_member, quoted);

  return g_strdup_printf ("{\"id\": \"%s\", \"object\": \"realtime.item\", \"type\": \"message\", "
                          "\"status\": \"%s\", \"role\": \"%s\", \"content\": %s}",
                          id, status, role, content);
}

/* conversation.item.added and .done (GA), conversation.item.created (beta). */
static void
announce_item (Session    *session,
               const char *id,
               const char *item,
               gboolean    done)
{
  g_autofree char *previous = session->last_item ? g_strdup_printf ("\"%s\"", session->last_item) : g_strdup ("null");

  if (done && session->beta)
    return;
  send_event (session, "{\"type\": \"%s\", \"previous_item_id\": %s, \"item\": %s}",
              done ? "conversation.item.done" : event_name (session, "conversation.item.added"), previous, item);
}

static void
conversation_append (Session    *session,
                     const char *id)
{
  g_free (session->last_item);
  session->last_item = g_strdup (id);
}

static const char *
reply_content_type (Response *response)
{
  if (response->text_only)
    return response->session->beta ? "text" : "output_text";
  return response->session->beta ? "audio" : "output_audio";
}

static char *
reply_item_json (Response   *response,
                 const char *status,
                 gboolean    with_content)
{
  return item_json (response->session, response->item_id, "assistant", status,
                    with_content ? reply_content_type (response) : NULL,
                    response->text_only ? "text" : "transcript", response->said->str);
}

static char *
reply_part_json (Response *response)
{
  g_autofree char *quoted = json_string (response->said->str);

  return g_strdup_printf ("{\"type\": \"%s\", \"%s\": %s}", response->text_only ? "text" : "audio",
                          response->text_only ? "text" : "transcript", quoted);
}

/* Token counts: the engine's when it gave them, else about four
 * characters a token; audio at about ten tokens a second. */
static char *
usage_json (Response *response)
{
  gint64 input = response->prompt_tokens >= 0 ? response->prompt_tokens : (response->input_chars + 3) / 4;
  gint64 text = response->completion_tokens >= 0 ? response->completion_tokens : ((gint64) response->said->len + 3) / 4;
  gint64 audio = (gint64) (response->audio_bytes / aic_pcm_bytes_for_ms (100));

  return g_strdup_printf ("{\"total_tokens\": %" G_GINT64_FORMAT ", \"input_tokens\": %" G_GINT64_FORMAT
                          ", \"output_tokens\": %" G_GINT64_FORMAT ", \"input_token_details\": "
                          "{\"text_tokens\": %" G_GINT64_FORMAT ", \"audio_tokens\": 0, \"cached_tokens\": 0}, "
                          "\"output_token_details\": {\"text_tokens\": %" G_GINT64_FORMAT ", \"audio_tokens\": %" G_GINT64_FORMAT "}}",
                          input + text + audio, input, text + audio, input, text, audio);
}

/* Ends @response (completed, cancelled or failed), closes what it opened
 * (part, item), tells the client, and lets the session's reference go.
 * @reason: why it was cancelled ("turn_detected", "client_cancelled"). */
static void
response_finish (Response   *response,
                 const char *status,
                 const char *reason)
{
  Session *session = response->session;
  const char *item_status = g_str_equal (status, "completed") ? "completed" : "incomplete";
  g_autofree char *item = NULL;
  g_autofree char *part = NULL;
  g_autofree char *said = NULL;
  g_autofree char *usage = NULL;
  g_autofree char *details = NULL;

  if (response->finished)
    return;
  response->finished = TRUE;
  g_cancellable_cancel (response->cancellable);
  if (session == NULL)
    return;

  said = json_string (response->said->str);
  part = reply_part_json (response);
  if (response->text_only)
    send_event (session, "{\"type\": \"%s\", \"response_id\": \"%s\", \"item_id\": \"%s\", \"output_index\": 0, "
                         "\"content_index\": 0, \"text\": %s}",
                event_name (session, "response.output_text.done"), response->id, response->item_id, said);
  else
    {
      send_event (session, "{\"type\": \"%s\", \"response_id\": \"%s\", \"item_id\": \"%s\", \"output_index\": 0, "
                           "\"content_index\": 0}",
                  event_name (session, "response.output_audio.done"), response->id, response->item_id);
      send_event (session, "{\"type\": \"%s\", \"response_id\": \"%s\", \"item_id\": \"%s\", \"output_index\": 0, "
                           "\"content_index\": 0, \"transcript\": %s}",
                  event_name (session, "response.output_audio_transcript.done"), response->id, response->item_id, said);
    }
  send_event (session, "{\"type\": \"response.content_part.done\", \"response_id\": \"%s\", \"item_id\": \"%s\", "
                       "\"output_index\": 0, \"content_index\": 0, \"part\": %s}",
              response->id, response->item_id, part);
  item = reply_item_json (response, item_status, TRUE);
  send_event (session, "{\"type\": \"response.output_item.done\", \"response_id\": \"%s\", \"output_index\": 0, "
                       "\"item\": %s}", response->id, item);
  announce_item (session, response->item_id, item, TRUE);

  usage = usage_json (response);
  if (g_str_equal (status, "cancelled"))
    details = g_strdup_printf ("{\"type\": \"cancelled\", \"reason\": \"%s\"}", reason ? reason : "client_cancelled");
  else if (g_str_equal (status, "failed"))
    details = g_strdup ("{\"type\": \"failed\"}");
  else
    details = g_strdup ("null");
  send_event (session, "{\"type\": \"response.done\", \"response\": {\"id\": \"%s\", \"object\": \"realtime.response\", "
                       "\"status\": \"%s\", \"status_details\": %s, \"output\": [%s], \"usage\": %s}}",
              response->id, status, details, item, usage);
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
      response_finish (response, "failed", NULL);
    }
  else if (!response->finished)
    {
      response->prompt_tokens = reply->prompt_tokens;
      response->completion_tokens = reply->completion_tokens;
      take_sentences (response, TRUE);
      response->text_done = TRUE;
      speak_next (response);
    }
  response_unref (response);
}

/* A reply to the conversation so far: response.created, its item and
 * part opened, then deltas as the engine writes and speech is made. */
static void
start_response (Session *session)
{
  Response *response = g_rc_box_new0 (Response);
  g_autofree char *item = NULL;
  g_autofree char *modalities = NULL;

  if (session->response != NULL)
    response_finish (session->response, "cancelled", "client_cancelled");
  session->reply_wanted = FALSE;

  response->session = session;
  response->id = next_id (session, "resp");
  response->item_id = next_id (session, "item");
  response->cancellable = g_cancellable_new ();
  response->unspoken = g_string_new (NULL);
  response->said = g_string_new (NULL);
  response->text_only = session->text_only;
  response->prompt_tokens = -1;
  response->completion_tokens = -1;
  g_queue_init (&response->sentences);
  session->response = response;
  for (guint i = 1; i < session->history->len; i += 2)
    response->input_chars += strlen (g_ptr_array_index (session->history, i));

  modalities = g_strdup_printf ("[\"%s\"]", response->text_only ? "text" : "audio");
  send_event (session, "{\"type\": \"response.created\", \"response\": {\"id\": \"%s\", \"object\": \"realtime.response\", "
                       "\"status\": \"in_progress\", \"status_details\": null, \"output\": [], \"%s\": %s, \"usage\": null}}",
              response->id, session->beta ? "modalities" : "output_modalities", modalities);
  item = reply_item_json (response, "in_progress", FALSE);
  send_event (session, "{\"type\": \"response.output_item.added\", \"response_id\": \"%s\", \"output_index\": 0, "
                       "\"item\": %s}", response->id, item);
  announce_item (session, response->item_id, item, FALSE);
  conversation_append (session, response->item_id);
  send_event (session, "{\"type\": \"response.content_part.added\", \"response_id\": \"%s\", \"item_id\": \"%s\", "
                       "\"output_index\": 0, \"content_index\": 0, \"part\": {\"type\": \"%s\", \"%s\": \"\"}}",
              response->id, response->item_id, response->text_only ? "text" : "audio",
              response->text_only ? "text" : "transcript");

  if (aic_engine_get_kind (session->hub->engine) == AIC_ENGINE_KIND_DEMO)
    {
      /* The demo speaks a short, honest reply. */
      g_autofree char *text = NULL;

      if (session->last_user_text == NULL)
        text = g_strdup ("This is the demo engine, not a language model. "
                         "Connect a real model to talk about anything you like.");
      else if (session->last_heard_words)
        text = g_strdup_printf ("This is the demo engine, not a language model. You said: “%s” "
                                "Connect a real model to talk about anything you like.", session->last_user_text);
      else
        text = g_strdup_printf ("This is the demo engine. I heard %.1f seconds of speech. "
                                "No speech-to-text is configured, so I cannot tell what you said. "
                                "Connect a real model to talk about anything you like.", session->last_seconds);
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
    aic_engine_chat_async (session->hub->engine, turns, NULL, on_token, response,
                           response->cancellable, reply_done_cb, response_ref (response));
  }
}

static void
remember_user (Session    *session,
               const char *text,
               double      seconds,
               gboolean    heard_words)
{
  g_ptr_array_add (session->history, g_strdup ("user"));
  g_ptr_array_add (session->history, g_strdup (text));
  g_free (session->last_user_text);
  session->last_user_text = g_strdup (text);
  session->last_seconds = seconds;
  session->last_heard_words = heard_words;
}

/* A committed turn is answered once transcribed: by itself with server
 * VAD, else when response.create asks (which may have come already). */
static void
turn_settled (Session  *session,
              gboolean  usable)
{
  gboolean wanted = session->reply_wanted || (session->server_vad && session->create_response);

  if (session->transcribing > 0)
    session->transcribing--;
  if (!usable)
    {
      session->reply_wanted = FALSE;
      return;
    }
  if (session->transcribing == 0 && wanted)
    start_response (session);
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
                       "\"item_id\": \"%s\", \"content_index\": 0, \"transcript\": %s, "
                       "\"usage\": {\"type\": \"duration\", \"seconds\": %.1f}}", item, quoted, seconds);
  remember_user (session, transcript, seconds, heard_words);
  turn_settled (session, TRUE);
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
        {
          send_no_speech_to_text (session);
          turn_settled (session, FALSE);
        }
      transcription_free (transcription);
      return;
    }
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !aic_json_get_string (json_node_get_object (root), "text", TRUE, &text, NULL))
    {
      g_autofree char *message = g_strdup_printf ("Speech-to-text failed: %s",
                                                  error ? error->message : "the upstream's answer has no \"text\"");
      send_error (session, "transcription_failed", message);
      turn_settled (session, FALSE);
      transcription_free (transcription);
      return;
    }
  transcribed (session, transcription->item, text, transcription->seconds, TRUE);
  transcription_free (transcription);
}

/* A finished turn: committed, added to the conversation, transcribed. */
static void
commit_turn (Session    *session,
             const char *item,
             GBytes     *audio)
{
  double seconds = (double) g_bytes_get_size (audio) / aic_pcm_bytes_for_ms (1000);
  g_autofree char *previous = session->last_item ? g_strdup_printf ("\"%s\"", session->last_item) : g_strdup ("null");
  g_autofree char *json = item_json (session, item, "user", "completed", "input_audio", "transcript", NULL);

  send_event (session, "{\"type\": \"input_audio_buffer.committed\", \"previous_item_id\": %s, \"item_id\": \"%s\"}",
              previous, item);
  announce_item (session, item, json, FALSE);
  announce_item (session, item, json, TRUE);
  conversation_append (session, item);
  session->transcribing++;

  if (!can_transcribe (session))
    {
      if (aic_engine_get_kind (session->hub->engine) == AIC_ENGINE_KIND_DEMO)
        demo_transcript (session, item, seconds);
      else
        {
          send_no_speech_to_text (session);
          turn_settled (session, FALSE);
        }
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

/* GLib decodes anything, skipping what is not base64: the text is
 * checked first, so a client's bug is told, not heard as noise. */
static gboolean
base64_valid (const char *text)
{
  gsize length = strlen (text), padding = 0;

  if (length % 4 != 0)
    return FALSE;
  while (padding < 2 && length > padding && text[length - 1 - padding] == '=')
    padding++;
  for (gsize i = 0; i < length - padding; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;
  return TRUE;
}

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
  if (!base64_valid (encoded))
    {
      send_error (session, "invalid_base64", "The audio of input_audio_buffer.append is not valid base64.");
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
          if (session->response != NULL && session->interrupt_response)
            response_finish (session->response, "cancelled", "turn_detected");
          g_free (session->speech_item);
          session->speech_item = next_id (session, "item");
          send_event (session, "{\"type\": \"input_audio_buffer.speech_started\", \"audio_start_ms\": %" G_GUINT64_FORMAT
                               ", \"item_id\": \"%s\"}", aic_vad_get_start_ms (session->vad), session->speech_item);
          break;
        case AIC_VAD_SPEECH_STOPPED:
          {
            g_autoptr(GBytes) utterance = aic_vad_take_utterance (session->vad);
            g_autofree char *item = g_steal_pointer (&session->speech_item);

            if (item == NULL)
              item = next_id (session, "item");
            send_event (session, "{\"type\": \"input_audio_buffer.speech_stopped\", \"audio_end_ms\": %" G_GUINT64_FORMAT
                                 ", \"item_id\": \"%s\"}", aic_vad_get_end_ms (session->vad), item);
            commit_turn (session, item, utterance);
          }
          break;
        case AIC_VAD_NOTHING:
        default:
          break;
        }
    }
}

/* turn_detection, GA (audio.input.turn_detection) or beta (at the top):
 * null is push-to-talk. */
static gboolean
read_turn_detection (Session    *session,
                     JsonObject *parent)
{
  JsonObject *detection = NULL;
  JsonNode *node = json_object_get_member (parent, "turn_detection");
  double threshold = session->threshold;
  gint64 prefix = session->prefix_ms, silence = session->silence_ms;
  gboolean create_response = TRUE, interrupt_response = TRUE;

  if (node == NULL)
    return TRUE;   /* nothing about turns: keep what is set */
  if (JSON_NODE_HOLDS_NULL (node))
    {
      session->server_vad = FALSE;
      return TRUE;
    }
  if (!aic_json_get_object (parent, "turn_detection", FALSE, &detection, NULL))
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
  for (guint i = 0; i < 2; i++)
    {
      const char *name = i == 0 ? "create_response" : "interrupt_response";
      JsonNode *value = json_object_get_member (detection, name);

      if (value == NULL || JSON_NODE_HOLDS_NULL (value))
        continue;
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN)
        return FALSE;
      *(i == 0 ? &create_response : &interrupt_response) = json_node_get_boolean (value);
    }

  session->server_vad = TRUE;
  session->threshold = threshold;
  session->prefix_ms = prefix;
  session->silence_ms = silence;
  session->create_response = create_response;
  session->interrupt_response = interrupt_response;
  g_clear_pointer (&session->vad, aic_vad_free);
  session->vad = aic_vad_new (threshold, prefix, silence);
  return TRUE;
}

/* output_modalities (GA) or modalities (beta): without "audio", replies
 * are text only. */
static gboolean
read_modalities (Session    *session,
                 JsonObject *object,
                 const char *member,
                 gboolean   *text_only)
{
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array;
  gboolean audio = FALSE;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *name = json_array_get_string_element (array, i);

      if (name == NULL)
        return FALSE;
      audio = audio || g_str_equal (name, "audio");
    }
  *text_only = !audio;
  return TRUE;
}

/* A beta session has its audio settings at the top and no type; a GA
 * one says "type": "realtime". */
static gboolean
looks_beta (JsonObject *inner)
{
  static const char * const beta_members[] = { "turn_detection", "voice", "input_audio_format",
                                               "output_audio_format", "modalities", NULL };
  const char *type = NULL;

  if (aic_json_get_string (inner, "type", FALSE, &type, NULL) && type != NULL)
    return FALSE;
  for (guint i = 0; beta_members[i] != NULL; i++)
    if (json_object_has_member (inner, beta_members[i]))
      return TRUE;
  return FALSE;
}

static gboolean
read_session (Session    *session,
              JsonObject *object)
{
  JsonObject *inner = NULL, *audio = NULL, *input = NULL, *output = NULL;
  const char *instructions = NULL, *voice = NULL, *type = NULL;
  gboolean text_only = session->text_only;

  if (!aic_json_get_object (object, "session", FALSE, &inner, NULL) || inner == NULL ||
      !aic_json_get_string (inner, "instructions", FALSE, &instructions, NULL) ||
      !aic_json_get_string (inner, "type", FALSE, &type, NULL))
    return FALSE;
  if (type != NULL)
    session->beta = FALSE;
  else if (looks_beta (inner))
    session->beta = TRUE;

  if (session->beta)
    {
      if (!aic_json_get_string (inner, "voice", FALSE, &voice, NULL) ||
          !read_modalities (session, inner, "modalities", &text_only) ||
          !read_turn_detection (session, inner))
        return FALSE;
    }
  else
    {
      if (!read_modalities (session, inner, "output_modalities", &text_only) ||
          !aic_json_get_object (inner, "audio", FALSE, &audio, NULL) ||
          (audio != NULL && (!aic_json_get_object (audio, "input", FALSE, &input, NULL) ||
                             !aic_json_get_object (audio, "output", FALSE, &output, NULL))) ||
          (output != NULL && !aic_json_get_string (output, "voice", FALSE, &voice, NULL)) ||
          (input != NULL && !read_turn_detection (session, input)))
        return FALSE;
    }

  if (instructions != NULL)
    {
      g_free (session->instructions);
      session->instructions = g_strdup (instructions);
    }
  if (voice != NULL)
    {
      g_free (session->voice);
      session->voice = g_strdup (voice);
    }
  session->text_only = text_only;
  return TRUE;
}

/* conversation.item.create: a message with text, added to what the next
 * reply answers. */
static void
create_item (Session    *session,
             JsonObject *object)
{
  JsonObject *item = NULL;
  JsonNode *content_node;
  const char *type = NULL, *role = NULL, *id = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *item_id = NULL;
  g_autofree char *json = NULL;
  const char *content_type;

  if (!aic_json_get_object (object, "item", TRUE, &item, NULL) ||
      !aic_json_get_string (item, "type", FALSE, &type, NULL) ||
      !aic_json_get_string (item, "role", TRUE, &role, NULL) ||
      !aic_json_get_string (item, "id", FALSE, &id, NULL) ||
      (type != NULL && !g_str_equal (type, "message")) ||
      (!g_str_equal (role, "user") && !g_str_equal (role, "assistant") && !g_str_equal (role, "system")))
    {
      send_error (session, "invalid_item", "conversation.item.create takes a message with a role: user, assistant or system.");
      return;
    }
  content_node = json_object_get_member (item, "content");
  if (content_node == NULL || !JSON_NODE_HOLDS_ARRAY (content_node))
    {
      send_error (session, "invalid_item", "The item's content must be an array of parts.");
      return;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (content_node)); i++)
    {
      JsonNode *part = json_array_get_element (json_node_get_array (content_node), i);
      const char *part_type = NULL, *part_text = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (part) ||
          !aic_json_get_string (json_node_get_object (part), "type", TRUE, &part_type, NULL) ||
          !aic_json_get_string (json_node_get_object (part), "text", FALSE, &part_text, NULL) ||
          part_text == NULL ||
          (!g_str_equal (part_type, "input_text") && !g_str_equal (part_type, "text") &&
           !g_str_equal (part_type, "output_text")))
        {
          send_error (session, "unsupported_content", "Only text parts (input_text, text, output_text) can be added.");
          return;
        }
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, part_text);
    }

  item_id = id != NULL ? g_strdup (id) : next_id (session, "item");
  if (g_str_equal (role, "user"))
    content_type = "input_text";
  else if (g_str_equal (role, "assistant"))
    content_type = session->beta ? "text" : "output_text";
  else
    content_type = "input_text";
  json = item_json (session, item_id, role, "completed", content_type, "text", text->str);
  announce_item (session, item_id, json, FALSE);
  announce_item (session, item_id, json, TRUE);
  conversation_append (session, item_id);
  if (g_str_equal (role, "system"))
    {
      g_ptr_array_add (session->history, g_strdup ("system"));
      g_ptr_array_add (session->history, g_strdup (text->str));
    }
  else if (g_str_equal (role, "user"))
    remember_user (session, text->str, 0, TRUE);
  else
    {
      g_ptr_array_add (session->history, g_strdup ("assistant"));
      g_ptr_array_add (session->history, g_strdup (text->str));
    }
}

static void
create_response (Session    *session,
                 JsonObject *object)
{
  JsonObject *params = NULL;
  gboolean text_only = session->text_only, session_text_only = session->text_only;

  if (!aic_json_get_object (object, "response", FALSE, &params, NULL) ||
      (params != NULL && (!read_modalities (session, params, "output_modalities", &text_only) ||
                          !read_modalities (session, params, "modalities", &text_only))))
    {
      send_error (session, "invalid_response", "response.create has members of the wrong type.");
      return;
    }
  /* The reply's own modalities hold for it alone. */
  if (session->transcribing > 0)
    {
      session->reply_wanted = TRUE;
      return;
    }
  session->text_only = text_only;
  start_response (session);
  session->text_only = session_text_only;
}

static void
truncate_item (Session    *session,
               JsonObject *object)
{
  const char *item_id = NULL;
  gint64 content_index = 0, audio_end_ms = 0;
  gpointer spoken_ms;

  if (!aic_json_get_string (object, "item_id", TRUE, &item_id, NULL) ||
      !aic_json_get_int (object, "content_index", FALSE, &content_index, NULL) ||
      !aic_json_get_int (object, "audio_end_ms", TRUE, &audio_end_ms, NULL) || audio_end_ms < 0)
    {
      send_error (session, "invalid_event", "conversation.item.truncate needs \"item_id\" and \"audio_end_ms\".");
      return;
    }
  if (!g_hash_table_lookup_extended (session->spoken, item_id, NULL, &spoken_ms))
    {
      g_autofree char *text = g_strdup_printf ("No reply with audio has the id “%s”.", item_id);
      send_error (session, "item_truncate_invalid_item_id", text);
      return;
    }
  /* What was heard cannot be more than what was sent. */
  audio_end_ms = MIN (audio_end_ms, (gint64) GPOINTER_TO_SIZE (spoken_ms));
  /* Cutting a reply that is still being made stops it. */
  if (session->response != NULL && g_str_equal (session->response->item_id, item_id))
    response_finish (session->response, "cancelled", "client_cancelled");
  send_event (session, "{\"type\": \"conversation.item.truncated\", \"item_id\": \"%s\", \"content_index\": %"
                       G_GINT64_FORMAT ", \"audio_end_ms\": %" G_GINT64_FORMAT "}",
              item_id, content_index, audio_end_ms);
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
      if (!read_session (session, object))
        send_error (session, "invalid_session", "session.update has members of the wrong type or out of range.");
      else
        send_session (session, "session.updated");
    }
  else if (g_str_equal (kind, "input_audio_buffer.append"))
    append_audio (session, object);
  else if (g_str_equal (kind, "input_audio_buffer.commit"))
    {
      g_autoptr(GBytes) audio = NULL;
      g_autofree char *item = NULL;

      if (session->buffer->len == 0)
        {
          send_error (session, "input_audio_buffer_commit_empty", "There is no audio to commit.");
          return;
        }
      audio = g_bytes_new (session->buffer->data, session->buffer->len);
      g_byte_array_set_size (session->buffer, 0);
      item = next_id (session, "item");
      /* Committed now; the reply comes with response.create, as in the
       * Realtime API. */
      commit_turn (session, item, audio);
    }
  else if (g_str_equal (kind, "response.create"))
    create_response (session, object);
  else if (g_str_equal (kind, "input_audio_buffer.clear"))
    {
      g_byte_array_set_size (session->buffer, 0);
      if (session->vad != NULL)
        aic_vad_reset (session->vad);
      g_clear_pointer (&session->speech_item, g_free);
      send_event (session, "{\"type\": \"input_audio_buffer.cleared\"}");
    }
  else if (g_str_equal (kind, "response.cancel"))
    {
      if (session->response != NULL)
        response_finish (session->response, "cancelled", "client_cancelled");
      else if (session->reply_wanted)
        session->reply_wanted = FALSE;
      else
        send_error (session, "response_cancel_not_active", "There is no response in progress to cancel.");
    }
  else if (g_str_equal (kind, "conversation.item.truncate"))
    truncate_item (session, object);
  else if (g_str_equal (kind, "conversation.item.create"))
    create_item (session, object);
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
      response_finish (response, "cancelled", NULL);
      response_unref (response);
    }
  g_signal_handlers_disconnect_by_data (session->ws, session);
  g_clear_object (&session->ws);
  g_clear_pointer (&session->vad, aic_vad_free);
  g_byte_array_unref (session->buffer);
  g_ptr_array_unref (session->history);
  g_clear_object (&session->upstream);
  g_clear_pointer (&session->spoken, g_hash_table_unref);
  g_free (session->instructions);
  g_free (session->voice);
  g_free (session->speech_item);
  g_free (session->last_item);
  g_free (session->last_user_text);
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
  session->threshold = 0.5;
  session->prefix_ms = 300;
  session->silence_ms = 500;
  session->create_response = TRUE;
  session->interrupt_response = TRUE;
  session->voice = g_strdup (TTS_VOICE);
  session->spoken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  session->vad = aic_vad_new (session->threshold, session->prefix_ms, session->silence_ms);
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
