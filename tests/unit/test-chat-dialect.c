/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-chat-dialect.h"
#include "aic-error.h"
#include "aic-sse-parser.h"

/* Recorded streams of each dialect (tests/data/chat), through the SSE
 * parser and the dialect, in several chunkings: the text, finish reason,
 * usage and errors that come out. */

#define EXPECTED_TEXT "The quick brown fox jumps over the lazy dog. Ünïcödé ✓ 😀\n\n```c\nint x;\n```"

typedef struct
{
  AicChatDialectState state;
  GPtrArray *events;
  GString *text;
  char *finish_reason;
  char *stream_id;
  char *model;
  char *error_text;
  char *error_code;
  gint64 prompt_tokens;
  gint64 completion_tokens;
  gboolean done;
  GError *parse_error;
} Result;

static void
on_event (gpointer           user_data,
          const AicSseEvent *sse)
{
  Result *r = user_data;

  if (r->parse_error != NULL)
    return;
  g_ptr_array_set_size (r->events, 0);
  if (!aic_chat_dialect_parse (&r->state, sse->type, sse->data, r->events, &r->parse_error))
    return;
  for (guint i = 0; i < r->events->len; i++)
    {
      AicChatEvent *event = g_ptr_array_index (r->events, i);

      switch (event->kind)
        {
        case AIC_CHAT_EVENT_START:
          g_free (r->stream_id);
          r->stream_id = g_strdup (event->stream_id);
          g_free (r->model);
          r->model = g_strdup (event->model);
          break;
        case AIC_CHAT_EVENT_TOKEN:
          g_assert_false (r->done);
          g_string_append (r->text, event->text);
          break;
        case AIC_CHAT_EVENT_USAGE:
          if (event->prompt_tokens >= 0)
            r->prompt_tokens = event->prompt_tokens;
          if (event->completion_tokens >= 0)
            r->completion_tokens = event->completion_tokens;
          break;
        case AIC_CHAT_EVENT_DONE:
          g_assert_false (r->done);
          r->done = TRUE;
          r->finish_reason = g_strdup (event->finish_reason);
          break;
        case AIC_CHAT_EVENT_ERROR:
          r->error_text = g_strdup (event->text);
          r->error_code = g_strdup (event->code);
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

static void
result_clear (Result *r)
{
  aic_chat_dialect_state_clear (&r->state);
  g_ptr_array_unref (r->events);
  g_string_free (r->text, TRUE);
  g_free (r->finish_reason);
  g_free (r->stream_id);
  g_free (r->model);
  g_free (r->error_text);
  g_free (r->error_code);
  g_clear_error (&r->parse_error);
}

static void
replay (const char        *fixture,
        AicConnectionKind  kind,
        gsize              chunk,
        gssize             cut,
        Result            *r)
{
  static const AicSseCallbacks callbacks = { on_event, NULL, NULL };
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "chat", fixture, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(AicSseParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  memset (r, 0, sizeof *r);
  aic_chat_dialect_state_init (&r->state, kind);
  r->events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_chat_event_free);
  r->text = g_string_new (NULL);
  r->prompt_tokens = r->completion_tokens = -1;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  if (cut >= 0)
    len = MIN (len, (gsize) cut);

  parser = aic_sse_parser_new (&callbacks, r);
  for (gsize pos = 0; pos < len; pos += chunk)
    g_assert_true (aic_sse_parser_feed (parser, contents + pos, MIN (chunk, len - pos), &error));
  g_assert_true (aic_sse_parser_finish (parser, kind != AIC_CONNECTION_KIND_CONSOLE, &error));

  if (r->parse_error == NULL && r->error_text == NULL)
    {
      g_ptr_array_set_size (r->events, 0);
      if (aic_chat_dialect_finish (&r->state, r->events, &r->parse_error))
        for (guint i = 0; i < r->events->len; i++)
          {
            AicChatEvent *event = g_ptr_array_index (r->events, i);
            g_assert_cmpint (event->kind, ==, AIC_CHAT_EVENT_DONE);
            r->done = TRUE;
            r->finish_reason = g_strdup (event->finish_reason);
          }
    }
}

typedef struct
{
  const char *fixture;
  AicConnectionKind kind;
  const char *finish_reason;
  gint64 prompt_tokens;
  gint64 completion_tokens;
} Case;

static const Case complete_cases[] = {
  { "console-full.sse",       AIC_CONNECTION_KIND_CONSOLE,   "stop",     12, 14 },
  { "console-data-only.sse",  AIC_CONNECTION_KIND_CONSOLE,   NULL,       -1, -1 },
  { "console-event-only.sse", AIC_CONNECTION_KIND_CONSOLE,   "stop",     -1, -1 },
  { "openai.sse",             AIC_CONNECTION_KIND_OPENAI,    "stop",     12, 14 },
  { "ollama.sse",             AIC_CONNECTION_KIND_OPENAI,    "stop",     -1, -1 },
  { "llamacpp.sse",           AIC_CONNECTION_KIND_OPENAI,    "stop",     -1, -1 },
  { "vllm.sse",               AIC_CONNECTION_KIND_OPENAI,    "length",    7, 14 },
  { "anthropic.sse",          AIC_CONNECTION_KIND_ANTHROPIC, "end_turn", 25, 15 },
};

static void
test_complete_streams (void)
{
  const gsize chunks[] = { 1, 3, 7, 64, 1 << 20 };

  for (guint i = 0; i < G_N_ELEMENTS (complete_cases); i++)
    for (guint c = 0; c < G_N_ELEMENTS (chunks); c++)
      {
        const Case *k = &complete_cases[i];
        Result r;

        g_test_message ("%s in chunks of %zu", k->fixture, chunks[c]);
        replay (k->fixture, k->kind, chunks[c], -1, &r);
        g_assert_no_error (r.parse_error);
        g_assert_null (r.error_text);
        g_assert_true (r.done);
        g_assert_cmpstr (r.text->str, ==, EXPECTED_TEXT);
        g_assert_cmpstr (r.finish_reason, ==, k->finish_reason);
        g_assert_cmpint (r.prompt_tokens, ==, k->prompt_tokens);
        g_assert_cmpint (r.completion_tokens, ==, k->completion_tokens);
        result_clear (&r);
      }
}

static void
test_start_event (void)
{
  Result r;

  replay ("console-full.sse", AIC_CONNECTION_KIND_CONSOLE, 4096, -1, &r);
  g_assert_cmpstr (r.stream_id, ==, "s-6f1c");
  g_assert_cmpstr (r.model, ==, "demo");
  result_clear (&r);

  replay ("anthropic.sse", AIC_CONNECTION_KIND_ANTHROPIC, 4096, -1, &r);
  g_assert_cmpstr (r.model, ==, "claude-sonnet-4-5");
  result_clear (&r);
}

static void
test_errors_in_stream (void)
{
  struct { const char *fixture; AicConnectionKind kind; const char *text; const char *code; } cases[] = {
    { "console-error.sse",   AIC_CONNECTION_KIND_CONSOLE,   "Partial", "upstream_failed" },
    { "openai-error.sse",    AIC_CONNECTION_KIND_OPENAI,    "Hel",     "rate_limit_exceeded" },
    { "anthropic-error.sse", AIC_CONNECTION_KIND_ANTHROPIC, "Partial", "overloaded_error" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Result r;

      replay (cases[i].fixture, cases[i].kind, 5, -1, &r);
      g_assert_no_error (r.parse_error);
      g_assert_nonnull (r.error_text);
      g_assert_cmpstr (r.error_code, ==, cases[i].code);
      /* What came before the error is kept. */
      g_assert_cmpstr (r.text->str, ==, cases[i].text);
      g_assert_false (r.done);
      result_clear (&r);
    }
}

/* Cut anywhere before the end: never "done", always an error, and the
 * text is a prefix of the whole reply. */
static void
test_cuts (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (complete_cases); i++)
    {
      const Case *k = &complete_cases[i];
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "chat", k->fixture, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      for (gsize cut = 0; cut < len; cut += 1 + len / 97)
        {
          Result r;

          replay (k->fixture, k->kind, 9, cut, &r);
          g_assert_true (g_str_has_prefix (EXPECTED_TEXT, r.text->str));
          if (!r.done)
            g_assert_error (r.parse_error, AIC_ERROR, AIC_ERROR_PROTOCOL);
          else
            /* Only a cut after the final event may still count as done
             * (provider EOF rules): then the text is complete. */
            g_assert_cmpstr (r.text->str, ==, EXPECTED_TEXT);
          result_clear (&r);
        }
    }
}

static void
parse_one (AicConnectionKind   kind,
           const char         *type,
           const char         *data,
           GPtrArray          *events,
           GError            **error)
{
  AicChatDialectState state;

  aic_chat_dialect_state_init (&state, kind);
  aic_chat_dialect_parse (&state, type, data, events, error);
  aic_chat_dialect_state_clear (&state);
}

static void
test_malformed (void)
{
  struct { AicConnectionKind kind; const char *type; const char *data; } cases[] = {
    { AIC_CONNECTION_KIND_CONSOLE,   "token",   "{\"content\": 5}" },
    { AIC_CONNECTION_KIND_CONSOLE,   "message", "not json" },
    { AIC_CONNECTION_KIND_CONSOLE,   "message", "[1, 2]" },
    { AIC_CONNECTION_KIND_CONSOLE,   "message", "{\"type\": 7}" },
    { AIC_CONNECTION_KIND_CONSOLE,   "done",    "{\"usage\": {\"prompt_tokens\": \"12\"}}" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "{\"choices\": {}}" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "{\"choices\": [{\"delta\": {\"content\": 1}}]}" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "{\"choices\": [{\"delta\": \"x\"}]}" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "{\"id\": \"x\", \"choices\": [], \"usage\": []}" },
    { AIC_CONNECTION_KIND_ANTHROPIC, "content_block_delta", "{\"type\": \"content_block_delta\", \"delta\": {\"type\": \"text_delta\", \"text\": null}}" },
    { AIC_CONNECTION_KIND_ANTHROPIC, "content_block_delta", "{\"type\": \"content_block_delta\"}" },
    { AIC_CONNECTION_KIND_ANTHROPIC, "message_start", "{\"type\": \"message_start\", \"message\": {\"model\": 3}}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_chat_event_free);
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u: %s", i, cases[i].data);
      parse_one (cases[i].kind, cases[i].type, cases[i].data, events, &error);
      g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
    }
}

static void
test_ignored (void)
{
  struct { AicConnectionKind kind; const char *type; const char *data; } cases[] = {
    { AIC_CONNECTION_KIND_CONSOLE,   "status",  "{\"type\": \"status\", \"state\": \"thinking\"}" },
    { AIC_CONNECTION_KIND_CONSOLE,   "message", "{\"type\": \"progress\", \"pct\": 5}" },
    { AIC_CONNECTION_KIND_CONSOLE,   "message", "{\"hello\": 1}" },
    { AIC_CONNECTION_KIND_CONSOLE,   "token",   "{\"content\": \"\"}" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "{\"choices\": [{\"index\": 1, \"delta\": {\"content\": \"second choice\"}}]}" },
    { AIC_CONNECTION_KIND_OPENAI,    "message", "{\"choices\": [{\"delta\": {\"content\": null, \"reasoning\": \"hm\"}}]}" },
    { AIC_CONNECTION_KIND_ANTHROPIC, "ping",    "{\"type\": \"ping\"}" },
    { AIC_CONNECTION_KIND_ANTHROPIC, "content_block_delta", "{\"type\": \"content_block_delta\", \"delta\": {\"type\": \"input_json_delta\", \"partial_json\": \"{\"}}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_chat_event_free);
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u: %s", i, cases[i].data);
      parse_one (cases[i].kind, cases[i].type, cases[i].data, events, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (events->len, ==, 0);
    }
}

/* Feeds @datas as consecutive events of one stream, then ends it; the
 * text of its tokens, and whether it ended in a DONE. */
static char *
stream_text (AicConnectionKind   kind,
             const char         *type,
             const char * const *datas,
             gboolean           *done,
             GError            **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_chat_event_free);
  GString *text = g_string_new (NULL);
  AicChatDialectState state;
  gboolean ok = TRUE;

  *done = FALSE;
  aic_chat_dialect_state_init (&state, kind);
  for (guint i = 0; ok && datas[i] != NULL; i++)
    ok = aic_chat_dialect_parse (&state, type, datas[i], events, error);
  if (ok)
    aic_chat_dialect_finish (&state, events, NULL);
  for (guint i = 0; i < events->len; i++)
    {
      AicChatEvent *event = g_ptr_array_index (events, i);

      if (event->kind == AIC_CHAT_EVENT_TOKEN)
        {
          g_assert_false (*done);
          g_string_append (text, event->text);
        }
      else if (event->kind == AIC_CHAT_EVENT_DONE)
        *done = TRUE;
    }
  aic_chat_dialect_state_clear (&state);
  return g_string_free (text, FALSE);
}

#define OPENAI_CHUNK(content) "{\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"" content "\"}}]}"
#define OPENAI_STOP "{\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"stop\"}]}"

static void
test_surrogates (void)
{
  struct {
    AicConnectionKind kind;
    const char *type;
    const char *datas[5];
    const char *expected;
  } cases[] = {
    /* A pair cut between two events (mock servers, some proxies). */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("Smile \\ud83d"), OPENAI_CHUNK ("\\ude00 now"), OPENAI_STOP, "[DONE]", NULL },
      "Smile \xf0\x9f\x98\x80 now" },
    { AIC_CONNECTION_KIND_CONSOLE, "message",
      { "{\"type\": \"token\", \"content\": \"a\\ud83d\"}", "{\"type\": \"token\", \"content\": \"\\ude00b\"}",
        "{\"type\": \"done\"}", NULL },
      "a\xf0\x9f\x98\x80" "b" },
    /* A whole pair in one event, as before. */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("x\\ud83d\\ude00y"), OPENAI_STOP, NULL },
      "x\xf0\x9f\x98\x80y" },
    /* A high half that ends the stream. */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("end \\ud83d"), OPENAI_STOP, NULL },
      "end \xef\xbf\xbd" },
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("end \\ud83d"), "[DONE]", NULL },
      "end \xef\xbf\xbd" },
    /* A high half whose next event does not bring its partner. */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("a\\ud83d"), OPENAI_CHUNK ("b"), OPENAI_STOP, NULL },
      "a\xef\xbf\xbd" "b" },
    /* A lone low half, and a high half inside a string. */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("\\ude00a"), OPENAI_CHUNK ("b\\ud83dc"), OPENAI_STOP, NULL },
      "\xef\xbf\xbd" "ab\xef\xbf\xbd" "c" },
    /* A low half not at the start of its string is not a partner. */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("a\\ud83d"), OPENAI_CHUNK ("b\\ude00"), OPENAI_STOP, NULL },
      "a\xef\xbf\xbd" "b\xef\xbf\xbd" },
    /* Escaped backslashes and quotes are not escapes of a surrogate. */
    { AIC_CONNECTION_KIND_OPENAI, "message",
      { OPENAI_CHUNK ("\\\\ud83d \\\"\\ud83d\\ude00"), OPENAI_STOP, NULL },
      "\\ud83d \"\xf0\x9f\x98\x80" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      gboolean done;

      g_test_message ("case %u: %s", i, cases[i].datas[0]);
      text = stream_text (cases[i].kind, cases[i].type, cases[i].datas, &done, &error);
      g_assert_no_error (error);
      g_assert_true (done);
      g_assert_cmpstr (text, ==, cases[i].expected);
      g_assert_true (g_utf8_validate (text, -1, NULL));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/chat-dialect/complete", test_complete_streams);
  g_test_add_func ("/chat-dialect/start", test_start_event);
  g_test_add_func ("/chat-dialect/errors", test_errors_in_stream);
  g_test_add_func ("/chat-dialect/cuts", test_cuts);
  g_test_add_func ("/chat-dialect/malformed", test_malformed);
  g_test_add_func ("/chat-dialect/ignored", test_ignored);
  g_test_add_func ("/chat-dialect/surrogates", test_surrogates);

  return g_test_run ();
}
