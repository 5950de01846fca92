/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-json.h"
#include "aic-realtime.h"

/* The voice session's event vocabulary: recorded sequences with the GA
 * and the beta names read the same; wrong types are errors in words;
 * what the client sends has the documented shape. */

static GPtrArray *
read_sequence (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "voice", name, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_realtime_event_free);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      AicRealtimeEvent *event;

      if (lines[i][0] == '\0')
        continue;
      event = aic_realtime_event_parse (lines[i], strlen (lines[i]), &error);
      g_assert_no_error (error);
      g_ptr_array_add (events, event);
    }
  return events;
}

static void
check_sequence (GPtrArray *events)
{
  const AicRealtimeKind expected[] = {
    AIC_REALTIME_SESSION_CREATED, AIC_REALTIME_SESSION_UPDATED, AIC_REALTIME_SPEECH_STARTED,
    AIC_REALTIME_SPEECH_STOPPED, AIC_REALTIME_INPUT_COMMITTED, AIC_REALTIME_INPUT_TRANSCRIPT,
    AIC_REALTIME_RESPONSE_CREATED, AIC_REALTIME_TRANSCRIPT_DELTA, AIC_REALTIME_AUDIO_DELTA,
    AIC_REALTIME_TRANSCRIPT_DELTA, AIC_REALTIME_AUDIO_DELTA, AIC_REALTIME_AUDIO_DONE,
    AIC_REALTIME_UNKNOWN, AIC_REALTIME_RESPONSE_DONE, AIC_REALTIME_ERROR,
  };
  AicRealtimeEvent *event;
  g_autoptr(GString) transcript = g_string_new (NULL);
  gsize audio = 0;

  g_assert_cmpuint (events->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < events->len; i++)
    {
      event = g_ptr_array_index (events, i);
      g_assert_cmpint (event->kind, ==, expected[i]);
      if (event->kind == AIC_REALTIME_TRANSCRIPT_DELTA)
        g_string_append (transcript, event->text);
      if (event->kind == AIC_REALTIME_AUDIO_DELTA)
        {
          audio += g_bytes_get_size (event->audio);
          g_assert_cmpstr (event->item_id, ==, "item_2");
        }
    }
  g_assert_cmpstr (transcript->str, ==, "It is sunny.");
  g_assert_cmpuint (audio, ==, 8 + 4);

  event = g_ptr_array_index (events, 2);
  g_assert_cmpint (event->audio_ms, ==, 1020);
  g_assert_cmpstr (event->item_id, ==, "item_1");
  event = g_ptr_array_index (events, 5);
  g_assert_cmpstr (event->text, ==, "What is the weather like?");
  event = g_ptr_array_index (events, 13);
  g_assert_cmpstr (event->response_id, ==, "resp_1");
  g_assert_cmpstr (event->status, ==, "completed");
  event = g_ptr_array_index (events, 14);
  g_assert_cmpstr (event->text, ==, "Unknown parameter: 'session.foo'.");
  g_assert_cmpstr (event->error_code, ==, "unknown_parameter");
}

static void
test_ga_and_beta (void)
{
  g_autoptr(GPtrArray) ga = read_sequence ("ga.jsonl");
  g_autoptr(GPtrArray) beta = read_sequence ("beta.jsonl");

  check_sequence (ga);
  check_sequence (beta);
  g_assert_cmpstr (((AicRealtimeEvent *) g_ptr_array_index (beta, 8))->type, ==, "response.audio.delta");
}

static void
test_bad_events (void)
{
  const char *bad[] = {
    "not json",
    "[1, 2]",
    "{\"no_type\": 1}",
    "{\"type\": 5}",
    "{\"type\": \"response.output_audio.delta\", \"delta\": 7}",
    "{\"type\": \"response.output_audio.delta\", \"delta\": \"not base64 ☺\"}",
    "{\"type\": \"response.output_audio.delta\", \"delta\": \"AA==\"}",
    "{\"type\": \"input_audio_buffer.speech_started\", \"audio_start_ms\": \"soon\"}",
    "{\"type\": \"response.done\", \"response\": \"done\"}",
    "{\"type\": \"error\", \"error\": {\"message\": 3}}",
    "{\"type\": \"session.created\", \"session\": {\"speech_to_text\": \"no\"}}",
    "{\"type\": \"session.updated\", \"session\": 1}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AicRealtimeEvent) event = aic_realtime_event_parse (bad[i], strlen (bad[i]), &error);

      g_assert_null (event);
      g_assert_nonnull (error);
      g_assert_cmpuint (strlen (error->message), >, 10);
    }
}

/* The console backend's extension: whether it can turn speech into text. */
static void
test_speech_to_text (void)
{
  const struct { const char *json; int expected; } cases[] = {
    { "{\"type\": \"session.created\", \"session\": {\"type\": \"realtime\", \"speech_to_text\": false}}", 0 },
    { "{\"type\": \"session.updated\", \"session\": {\"speech_to_text\": true}}", 1 },
    { "{\"type\": \"session.created\", \"session\": {\"type\": \"realtime\"}}", -1 },
    { "{\"type\": \"session.updated\"}", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AicRealtimeEvent) event = aic_realtime_event_parse (cases[i].json, strlen (cases[i].json), &error);

      g_assert_no_error (error);
      g_assert_cmpint (event->speech_to_text, ==, cases[i].expected);
    }
}

static JsonObject *
parse (const char *json)
{
  g_autoptr(GBytes) bytes = g_bytes_new (json, strlen (json));
  g_autoptr(JsonNode) root = aic_json_parse_bytes (bytes, NULL);

  return json_object_ref (json_node_get_object (root));
}

static void
test_client_messages (void)
{
  g_autofree char *vad = aic_realtime_session_update ("Be brief.", TRUE, 0.5, 300, 500, "alloy");
  g_autofree char *ptt = aic_realtime_session_update (NULL, FALSE, 0, 0, 0, NULL);
  g_autoptr(GBytes) pcm = g_bytes_new_static ("\x01\x00\x02\x00", 4);
  g_autofree char *append = aic_realtime_append (pcm);
  g_autofree char *truncate = aic_realtime_truncate ("item_2", 1234);
  g_autofree char *commit = aic_realtime_simple ("input_audio_buffer.commit");
  g_autoptr(JsonObject) a = parse (vad);
  g_autoptr(JsonObject) b = parse (ptt);
  g_autoptr(JsonObject) c = parse (append);
  g_autoptr(JsonObject) d = parse (truncate);
  g_autoptr(JsonObject) e = parse (commit);
  JsonObject *input;

  g_assert_cmpstr (json_object_get_string_member (a, "type"), ==, "session.update");
  input = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (a, "session"), "audio"), "input");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (input, "turn_detection"), "type"), ==, "server_vad");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (input, "turn_detection"), "silence_duration_ms"), ==, 500);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (input, "format"), "rate"), ==, 24000);

  input = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (b, "session"), "audio"), "input");
  g_assert_true (json_object_get_null_member (input, "turn_detection"));

  g_assert_cmpstr (json_object_get_string_member (c, "audio"), ==, "AQACAA==");
  g_assert_cmpstr (json_object_get_string_member (d, "type"), ==, "conversation.item.truncate");
  g_assert_cmpint (json_object_get_int_member (d, "audio_end_ms"), ==, 1234);
  g_assert_cmpint (json_object_get_int_member (d, "content_index"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "type"), ==, "input_audio_buffer.commit");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/realtime/ga-and-beta", test_ga_and_beta);
  g_test_add_func ("/realtime/bad-events", test_bad_events);
  g_test_add_func ("/realtime/speech-to-text", test_speech_to_text);
  g_test_add_func ("/realtime/client-messages", test_client_messages);

  return g_test_run ();
}
