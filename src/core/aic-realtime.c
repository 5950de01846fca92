/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-json.h"
#include "aic-pcm.h"
#include "aic-realtime.h"

/* Reading and writing the JSON text frames of a voice session. Every
 * member is type-checked; unknown event types come back as UNKNOWN, to be
 * ignored, so a newer server does not break an older client. */

static const struct
{
  const char      *type;
  AicRealtimeKind  kind;
} names[] = {
  { "session.created",                                        AIC_REALTIME_SESSION_CREATED },
  { "session.updated",                                        AIC_REALTIME_SESSION_UPDATED },
  { "input_audio_buffer.speech_started",                      AIC_REALTIME_SPEECH_STARTED },
  { "input_audio_buffer.speech_stopped",                      AIC_REALTIME_SPEECH_STOPPED },
  { "input_audio_buffer.committed",                           AIC_REALTIME_INPUT_COMMITTED },
  { "conversation.item.input_audio_transcription.completed",  AIC_REALTIME_INPUT_TRANSCRIPT },
  { "response.created",                                       AIC_REALTIME_RESPONSE_CREATED },
  /* GA names */
  { "response.output_audio_transcript.delta",                 AIC_REALTIME_TRANSCRIPT_DELTA },
  { "response.output_text.delta",                             AIC_REALTIME_TEXT_DELTA },
  { "response.output_audio.delta",                            AIC_REALTIME_AUDIO_DELTA },
  { "response.output_audio.done",                             AIC_REALTIME_AUDIO_DONE },
  /* beta names */
  { "response.audio_transcript.delta",                        AIC_REALTIME_TRANSCRIPT_DELTA },
  { "response.text.delta",                                    AIC_REALTIME_TEXT_DELTA },
  { "response.audio.delta",                                   AIC_REALTIME_AUDIO_DELTA },
  { "response.audio.done",                                    AIC_REALTIME_AUDIO_DONE },
  { "response.done",                                          AIC_REALTIME_RESPONSE_DONE },
  { "error",                                                  AIC_REALTIME_ERROR },
};

void
aic_realtime_event_free (AicRealtimeEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->type);
  g_free (event->item_id);
  g_free (event->response_id);
  g_free (event->text);
  g_clear_pointer (&event->audio, g_bytes_unref);
  g_free (event->status);
  g_free (event->error_code);
  g_free (event);
}

static gboolean
bad (GError     **error,
     const char  *type,
     const char  *member)
{
  g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
               _("The voice server sent “%s” with an unexpected “%s”."), type, member);
  return FALSE;
}

static gboolean
copy_string (JsonObject  *object,
             const char  *member,
             char       **out,
             const char  *type,
             GError     **error)
{
  const char *value = NULL;

  if (object == NULL)
    return TRUE;
  if (!aic_json_get_string (object, member, FALSE, &value, NULL))
    return bad (error, type, member);
  if (value != NULL && *out == NULL)
    *out = g_strdup (value);
  return TRUE;
}

static gboolean
read_audio (AicRealtimeEvent  *event,
            JsonObject        *object,
            GError           **error)
{
  const char *encoded = NULL;
  guchar *decoded;
  gsize length = 0;

  if (!aic_json_get_string (object, "delta", TRUE, &encoded, NULL))
    return bad (error, event->type, "delta");
  /* g_base64_decode accepts anything; check the alphabet first. */
  for (const char *p = encoded; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=' && *p != '\n' && *p != '\r')
      return bad (error, event->type, "delta");
  decoded = g_base64_decode (encoded, &length);
  if (length % 2 != 0)
    {
      g_free (decoded);
      return bad (error, event->type, "delta");
    }
  event->audio = g_bytes_new_take (decoded, length);
  return TRUE;
}

/**
 * aic_realtime_event_parse:
 * Returns: (transfer full): the event, or %NULL with %AIC_ERROR_PROTOCOL
 */
AicRealtimeEvent *
aic_realtime_event_parse (const char  *json,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (json, length);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(AicRealtimeEvent) event = g_new0 (AicRealtimeEvent, 1);
  JsonObject *object, *inner = NULL;
  const char *type = NULL;
  gint64 ms = -1;

  root = aic_json_parse_bytes (bytes, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !aic_json_get_string (json_node_get_object (root), "type", TRUE, &type, NULL))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The voice server sent a message without a type."));
      return NULL;
    }
  object = json_node_get_object (root);
  event->type = g_strdup (type);
  event->audio_ms = -1;
  event->speech_to_text = -1;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (type, names[i].type) == 0)
      event->kind = names[i].kind;

  switch (event->kind)
    {
    case AIC_REALTIME_SPEECH_STARTED:
    case AIC_REALTIME_SPEECH_STOPPED:
      if (!copy_string (object, "item_id", &event->item_id, type, error))
        return NULL;
      if (!aic_json_get_int (object, event->kind == AIC_REALTIME_SPEECH_STARTED ? "audio_start_ms" : "audio_end_ms",
                             FALSE, &ms, NULL))
        {
          bad (error, type, "audio_ms");
          return NULL;
        }
      event->audio_ms = ms;
      break;

    case AIC_REALTIME_INPUT_COMMITTED:
      if (!copy_string (object, "item_id", &event->item_id, type, error))
        return NULL;
      break;

    case AIC_REALTIME_INPUT_TRANSCRIPT:
      if (!copy_string (object, "item_id", &event->item_id, type, error) ||
          !copy_string (object, "transcript", &event->text, type, error))
        return NULL;
      break;

    case AIC_REALTIME_TRANSCRIPT_DELTA:
    case AIC_REALTIME_TEXT_DELTA:
      if (!copy_string (object, "response_id", &event->response_id, type, error) ||
          !copy_string (object, "item_id", &event->item_id, type, error) ||
          !copy_string (object, "delta", &event->text, type, error))
        return NULL;
      break;

    case AIC_REALTIME_AUDIO_DELTA:
      if (!copy_string (object, "response_id", &event->response_id, type, error) ||
          !copy_string (object, "item_id", &event->item_id, type, error) ||
          !read_audio (event, object, error))
        return NULL;
      break;

    case AIC_REALTIME_AUDIO_DONE:
      if (!copy_string (object, "response_id", &event->response_id, type, error) ||
          !copy_string (object, "item_id", &event->item_id, type, error))
        return NULL;
      break;

    case AIC_REALTIME_RESPONSE_CREATED:
    case AIC_REALTIME_RESPONSE_DONE:
      if (!aic_json_get_object (object, "response", FALSE, &inner, NULL))
        {
          bad (error, type, "response");
          return NULL;
        }
      if (!copy_string (inner, "id", &event->response_id, type, error) ||
          !copy_string (inner, "status", &event->status, type, error))
        return NULL;
      break;

    case AIC_REALTIME_ERROR:
      if (!aic_json_get_object (object, "error", FALSE, &inner, NULL))
        {
          bad (error, type, "error");
          return NULL;
        }
      if (!copy_string (inner, "message", &event->text, type, error) ||
          !copy_string (inner, "code", &event->error_code, type, error) ||
          !copy_string (inner, "type", &event->error_code, type, error))
        return NULL;
      if (event->text == NULL)
        event->text = g_strdup (_("The voice server reported an error without saying what."));
      break;

    case AIC_REALTIME_SESSION_CREATED:
    case AIC_REALTIME_SESSION_UPDATED:
      /* The console backend says whether it can turn speech into text;
       * Realtime services do not say, and always can. */
      if (!aic_json_get_object (object, "session", FALSE, &inner, NULL))
        {
          bad (error, type, "session");
          return NULL;
        }
      if (inner != NULL && json_object_has_member (inner, "speech_to_text"))
        {
          JsonNode *node = json_object_get_member (inner, "speech_to_text");

          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
            {
              bad (error, type, "speech_to_text");
              return NULL;
            }
          event->speech_to_text = json_node_get_boolean (node) ? 1 : 0;
        }
      break;

    case AIC_REALTIME_UNKNOWN:
    default:
      break;
    }

  return g_steal_pointer (&event);
}

static char *
finish (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return aic_json_to_string (root, FALSE);
}

static JsonBuilder *
begin (const char *type)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  return builder;
}

static void
add_format (JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "format");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "audio/pcm");
  json_builder_set_member_name (builder, "rate");
  json_builder_add_int_value (builder, AIC_AUDIO_RATE);
  json_builder_end_object (builder);
}

/**
 * aic_realtime_session_update:
 * @server_vad: the server detects turns; %FALSE is push-to-talk
 * @voice: (nullable): the reply's voice
 */
char *
aic_realtime_session_update (const char *instructions,
                             gboolean    server_vad,
                             double      threshold,
                             guint       prefix_padding_ms,
                             guint       silence_duration_ms,
                             const char *voice)
{
  g_autoptr(JsonBuilder) builder = begin ("session.update");

  json_builder_set_member_name (builder, "session");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "realtime");
  if (instructions != NULL)
    {
      json_builder_set_member_name (builder, "instructions");
      json_builder_add_string_value (builder, instructions);
    }
  json_builder_set_member_name (builder, "audio");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "input");
  json_builder_begin_object (builder);
  add_format (builder);
  json_builder_set_member_name (builder, "turn_detection");
  if (server_vad)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "server_vad");
      json_builder_set_member_name (builder, "threshold");
      json_builder_add_double_value (builder, threshold);
      json_builder_set_member_name (builder, "prefix_padding_ms");
      json_builder_add_int_value (builder, prefix_padding_ms);
      json_builder_set_member_name (builder, "silence_duration_ms");
      json_builder_add_int_value (builder, silence_duration_ms);
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "output");
  json_builder_begin_object (builder);
  add_format (builder);
  if (voice != NULL)
    {
      json_builder_set_member_name (builder, "voice");
      json_builder_add_string_value (builder, voice);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return finish (builder);
}

char *
aic_realtime_append (GBytes *pcm)
{
  g_autoptr(JsonBuilder) builder = begin ("input_audio_buffer.append");
  g_autofree char *encoded = g_base64_encode (g_bytes_get_data (pcm, NULL), g_bytes_get_size (pcm));

  json_builder_set_member_name (builder, "audio");
  json_builder_add_string_value (builder, encoded);
  return finish (builder);
}

/* After barge-in: how much of the reply the user heard. */
char *
aic_realtime_truncate (const char *item_id,
                       guint64     audio_end_ms)
{
  g_autoptr(JsonBuilder) builder = begin ("conversation.item.truncate");

  json_builder_set_member_name (builder, "item_id");
  json_builder_add_string_value (builder, item_id);
  json_builder_set_member_name (builder, "content_index");
  json_builder_add_int_value (builder, 0);
  json_builder_set_member_name (builder, "audio_end_ms");
  json_builder_add_int_value (builder, audio_end_ms);
  return finish (builder);
}

/* input_audio_buffer.commit, .clear, response.create, response.cancel */
char *
aic_realtime_simple (const char *type)
{
  g_autoptr(JsonBuilder) builder = begin (type);

  return finish (builder);
}
