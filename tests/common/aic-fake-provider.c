/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "aic-fake-provider.h"
#include "aic-json.h"
#include "aic-test-util.h"

/* A model provider that answers from a script, on 127.0.0.1 with a port
 * chosen when it is made, so that its URL is known before it starts: a
 * test can start it late, stop it (connections are then refused) and
 * start it again on the same port, as a provider that goes away and comes
 * back. Every request is recorded (method, path, headers, body) and
 * announced with ::request before it is answered.
 *
 * The shapes:
 *  - openai: GET /v1/models; POST /v1/chat/completions, streamed ("stream":
 *    true: a chunk per word, a usage chunk, [DONE]) or not; POST
 *    /v1/audio/transcriptions (multipart) with the set transcript; POST
 *    /v1/audio/speech with a quarter second of tone as raw 24 kHz PCM16 or
 *    as a 22,050 Hz WAV, whichever "response_format" asks for (with
 *    wav-only set, "pcm" is refused with 400).
 *  - ollama: models and chat as above; every audio route answers 404
 *    with Ollama's plain "404 page not found".
 *  - anthropic: GET /v1/models; POST /v1/messages, streamed (message_start,
 *    content_block_start, a text_delta per word with a ping among them,
 *    content_block_stop, message_delta, message_stop) or not; with
 *    overloaded set, the stream is an `event: error` with overloaded_error.
 */

#define SPEECH_MS 250
#define WAV_RATE 22050

struct _AicFakeProvider
{
  GObject               parent_instance;

  AicFakeProviderShape  shape;
  guint                 port;
  char                 *url;
  char                 *base_url;
  SoupServer           *server;
  char                **models;
  char                 *reply;
  char                 *transcript;
  gboolean              wav_only;
  gboolean              overloaded;
  GPtrArray            *requests;
};

G_DEFINE_FINAL_TYPE (AicFakeProvider, aic_fake_provider, G_TYPE_OBJECT)

enum {
  REQUEST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
request_free (AicFakeRequest *request)
{
  g_free (request->method);
  g_free (request->path);
  soup_message_headers_unref (request->headers);
  g_bytes_unref (request->body);
  g_free (request);
}

static void
copy_header (const char *name,
             const char *value,
             gpointer    user_data)
{
  soup_message_headers_append (user_data, name, value);
}

/* ---- answers ---- */

static char **
split_words (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *p = text;

  /* Each piece keeps the spaces before it, as model tokens do. */
  while (*p != '\0')
    {
      const char *start = p;
      g_autofree char *piece = NULL;

      while (*p == ' ' || *p == '\n')
        p++;
      while (*p != '\0' && *p != ' ' && *p != '\n')
        p++;
      piece = g_strndup (start, p - start);
      g_strv_builder_add (builder, piece);
    }
  return g_strv_builder_end (builder);
}

static char *
json_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return aic_json_to_string (node, FALSE);
}

static void
reply_stream (SoupServerMessage *message,
              const char        *text)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  soup_server_message_set_status (message, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_body_append (soup_server_message_get_response_body (message), SOUP_MEMORY_COPY, text, strlen (text));
}

static void
answer_models (AicFakeProvider   *self,
               SoupServerMessage *message)
{
  g_autoptr(GString) body = g_string_new ("{\"object\": \"list\", \"data\": [");

  for (guint i = 0; self->models[i] != NULL; i++)
    {
      g_autofree char *id = json_quote (self->models[i]);

      if (self->shape == AIC_FAKE_PROVIDER_ANTHROPIC)
        g_string_append_printf (body, "%s{\"type\": \"model\", \"id\": %s, \"display_name\": %s, "
                                "\"created_at\": \"2026-01-01T00:00:00Z\"}", i ? ", " : "", id, id);
      else
        g_string_append_printf (body, "%s{\"id\": %s, \"object\": \"model\", \"owned_by\": \"fake\"}",
                                i ? ", " : "", id);
    }
  g_string_append (body, "]");
  if (self->shape == AIC_FAKE_PROVIDER_ANTHROPIC)
    g_string_append (body, ", \"has_more\": false, \"first_id\": null, \"last_id\": null");
  g_string_append (body, "}");
  aic_test_reply (message, 200, "application/json", body->str);
}

static void
answer_chat_completions (AicFakeProvider   *self,
                         SoupServerMessage *message,
                         JsonObject        *request)
{
  g_autofree char *quoted = json_quote (self->reply);
  const char *model = json_object_get_string_member_with_default (request, "model", "");
  g_autofree char *model_quoted = json_quote (model);

  if (!g_strv_contains ((const char * const *) self->models, model))
    {
      g_autofree char *body = g_strdup_printf ("{\"error\": {\"message\": \"The model %s does not exist.\", "
                                               "\"type\": \"invalid_request_error\", \"code\": \"model_not_found\"}}",
                                               model);
      aic_test_reply (message, 404, "application/json", body);
      return;
    }

  if (json_object_get_boolean_member_with_default (request, "stream", FALSE))
    {
      g_auto(GStrv) pieces = split_words (self->reply);
      g_autoptr(GString) sse = g_string_new (NULL);

      g_string_append_printf (sse, "data: {\"id\": \"c1\", \"model\": %s, \"choices\": [{\"index\": 0, "
                              "\"delta\": {\"role\": \"assistant\", \"content\": null}}]}\n\n", model_quoted);
      for (guint i = 0; pieces[i] != NULL; i++)
        {
          g_autofree char *piece = json_quote (pieces[i]);

          g_string_append_printf (sse, "data: {\"id\": \"c1\", \"model\": %s, \"choices\": [{\"index\": 0, "
                                  "\"delta\": {\"content\": %s}}]}\n\n", model_quoted, piece);
        }
      g_string_append_printf (sse, "data: {\"id\": \"c1\", \"model\": %s, \"choices\": [{\"index\": 0, "
                              "\"delta\": {}, \"finish_reason\": \"stop\"}]}\n\n"
                              "data: {\"id\": \"c1\", \"model\": %s, \"choices\": [], "
                              "\"usage\": {\"prompt_tokens\": 12, \"completion_tokens\": %u}}\n\n"
                              "data: [DONE]\n\n", model_quoted, model_quoted, g_strv_length (pieces));
      reply_stream (message, sse->str);
    }
  else
    {
      g_autofree char *body = g_strdup_printf ("{\"id\": \"c1\", \"object\": \"chat.completion\", \"model\": %s, "
                                               "\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", "
                                               "\"content\": %s}, \"finish_reason\": \"stop\"}], "
                                               "\"usage\": {\"prompt_tokens\": 12, \"completion_tokens\": 5}}",
                                               model_quoted, quoted);
      aic_test_reply (message, 200, "application/json", body);
    }
}

static void
answer_messages (AicFakeProvider   *self,
                 SoupServerMessage *message,
                 JsonObject        *request)
{
  const char *model = json_object_get_string_member_with_default (request, "model", "");
  g_autofree char *model_quoted = json_quote (model);
  g_autofree char *quoted = json_quote (self->reply);

  if (!g_strv_contains ((const char * const *) self->models, model))
    {
      g_autofree char *body = g_strdup_printf ("{\"type\": \"error\", \"error\": {\"type\": \"not_found_error\", "
                                               "\"message\": \"model: %s\"}}", model);
      aic_test_reply (message, 404, "application/json", body);
      return;
    }

  if (!json_object_get_boolean_member_with_default (request, "stream", FALSE))
    {
      g_autofree char *body = g_strdup_printf ("{\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", "
                                               "\"model\": %s, \"content\": [{\"type\": \"text\", \"text\": %s}], "
                                               "\"stop_reason\": \"end_turn\", \"usage\": {\"input_tokens\": 12, "
                                               "\"output_tokens\": 5}}", model_quoted, quoted);
      aic_test_reply (message, 200, "application/json", body);
      return;
    }

  if (self->overloaded)
    {
      reply_stream (message, "event: error\n"
                             "data: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", "
                             "\"message\": \"Overloaded\"}}\n\n");
      return;
    }

  {
    g_auto(GStrv) pieces = split_words (self->reply);
    g_autoptr(GString) sse = g_string_new (NULL);

    g_string_append_printf (sse, "event: message_start\n"
                            "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1\", \"type\": \"message\", "
                            "\"role\": \"assistant\", \"model\": %s, \"content\": [], \"stop_reason\": null, "
                            "\"usage\": {\"input_tokens\": 12, \"output_tokens\": 1}}}\n\n"
                            "event: content_block_start\n"
                            "data: {\"type\": \"content_block_start\", \"index\": 0, "
                            "\"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n", model_quoted);
    for (guint i = 0; pieces[i] != NULL; i++)
      {
        g_autofree char *piece = json_quote (pieces[i]);

        g_string_append_printf (sse, "event: content_block_delta\n"
                                "data: {\"type\": \"content_block_delta\", \"index\": 0, "
                                "\"delta\": {\"type\": \"text_delta\", \"text\": %s}}\n\n", piece);
        if (i == 0)
          g_string_append (sse, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
      }
    g_string_append_printf (sse, "event: content_block_stop\n"
                            "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n"
                            "event: message_delta\n"
                            "data: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", "
                            "\"stop_sequence\": null}, \"usage\": {\"output_tokens\": %u}}\n\n"
                            "event: message_stop\n"
                            "data: {\"type\": \"message_stop\"}\n\n", g_strv_length (pieces));
    reply_stream (message, sse->str);
  }
}

/* A quarter second of a 220 Hz tone at @rate: audible, and not silence. */
static GBytes *
tone (guint rate)
{
  gsize n = (gsize) rate * SPEECH_MS / 1000;
  gint16 *samples = g_new (gint16, n);

  for (gsize i = 0; i < n; i++)
    samples[i] = (gint16) (8000 * sin (2 * G_PI * 220 * i / rate));
  return g_bytes_new_take (samples, n * 2);
}

static GBytes *
wav_of (GBytes *pcm,
        guint   rate)
{
  gsize size = g_bytes_get_size (pcm);
  GByteArray *wav = g_byte_array_new ();
  guint32 u32;
  guint16 u16;

#define PUT(bytes, n) g_byte_array_append (wav, (const guint8 *) (bytes), n)
#define PUT32(v) (u32 = GUINT32_TO_LE (v), PUT (&u32, 4))
#define PUT16(v) (u16 = GUINT16_TO_LE (v), PUT (&u16, 2))
  PUT ("RIFF", 4);
  PUT32 (36 + size);
  PUT ("WAVEfmt ", 8);
  PUT32 (16);
  PUT16 (1);
  PUT16 (1);
  PUT32 (rate);
  PUT32 (rate * 2);
  PUT16 (2);
  PUT16 (16);
  PUT ("data", 4);
  PUT32 (size);
  PUT (g_bytes_get_data (pcm, NULL), size);
#undef PUT
#undef PUT32
#undef PUT16
  return g_byte_array_free_to_bytes (wav);
}

static void
answer_speech (AicFakeProvider   *self,
               SoupServerMessage *message,
               JsonObject        *request)
{
  const char *format = json_object_get_string_member_with_default (request, "response_format", "mp3");

  if (g_str_equal (format, "pcm") && !self->wav_only)
    {
      g_autoptr(GBytes) pcm = tone (24000);

      soup_server_message_set_status (message, 200, NULL);
      soup_server_message_set_response (message, "audio/pcm", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (pcm, NULL), g_bytes_get_size (pcm));
    }
  else if (g_str_equal (format, "wav"))
    {
      g_autoptr(GBytes) pcm = tone (WAV_RATE);
      g_autoptr(GBytes) wav = wav_of (pcm, WAV_RATE);

      soup_server_message_set_status (message, 200, NULL);
      soup_server_message_set_response (message, "audio/wav", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (wav, NULL), g_bytes_get_size (wav));
    }
  else
    aic_test_reply (message, 400, "application/json",
                    "{\"error\": {\"message\": \"Unsupported response_format.\", \"type\": \"invalid_request_error\"}}");
}

static void
answer_transcription (AicFakeProvider   *self,
                      SoupServerMessage *message)
{
  g_autoptr(SoupMultipart) multipart = NULL;
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  g_autofree char *quoted = NULL;
  g_autofree char *answer = NULL;

  multipart = soup_multipart_new_from_message (soup_server_message_get_request_headers (message), body);
  if (multipart == NULL || soup_multipart_get_length (multipart) == 0)
    {
      aic_test_reply (message, 400, "application/json", "{\"error\": {\"message\": \"No file.\"}}");
      return;
    }
  quoted = json_quote (self->transcript);
  answer = g_strdup_printf ("{\"text\": %s}", quoted);
  aic_test_reply (message, 200, "application/json", answer);
}

static void
handler (SoupServer        *server,
         SoupServerMessage *message,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  AicFakeProvider *self = user_data;
  AicFakeRequest *request = g_new0 (AicFakeRequest, 1);
  const char *method = soup_server_message_get_method (message);
  gboolean is_post = g_str_equal (method, "POST");
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object = NULL;

  request->method = g_strdup (method);
  request->path = g_strdup (path);
  request->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  soup_message_headers_foreach (soup_server_message_get_request_headers (message), copy_header, request->headers);
  request->body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  g_ptr_array_add (self->requests, request);
  g_signal_emit (self, signals[REQUEST], 0, path, message);

  if (is_post && !g_str_has_prefix (path, "/v1/audio/"))
    {
      root = aic_json_parse_bytes (request->body, NULL);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          aic_test_reply (message, 400, "application/json", "{\"error\": {\"message\": \"Not JSON.\"}}");
          return;
        }
      object = json_node_get_object (root);
    }

  if (g_str_equal (path, "/v1/models") && g_str_equal (method, "GET"))
    answer_models (self, message);
  else if (g_str_equal (path, "/v1/chat/completions") && is_post && self->shape != AIC_FAKE_PROVIDER_ANTHROPIC)
    answer_chat_completions (self, message, object);
  else if (g_str_equal (path, "/v1/messages") && is_post && self->shape == AIC_FAKE_PROVIDER_ANTHROPIC)
    answer_messages (self, message, object);
  else if (g_str_equal (path, "/v1/audio/transcriptions") && is_post && self->shape == AIC_FAKE_PROVIDER_OPENAI)
    answer_transcription (self, message);
  else if (g_str_equal (path, "/v1/audio/speech") && is_post && self->shape == AIC_FAKE_PROVIDER_OPENAI)
    {
      root = aic_json_parse_bytes (request->body, NULL);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        aic_test_reply (message, 400, "application/json", "{\"error\": {\"message\": \"Not JSON.\"}}");
      else
        answer_speech (self, message, json_node_get_object (root));
    }
  else if (self->shape == AIC_FAKE_PROVIDER_OLLAMA)
    aic_test_reply (message, 404, "text/plain", "404 page not found");
  else
    aic_test_reply (message, 404, "application/json",
                    "{\"error\": {\"message\": \"Unknown request URL.\", \"type\": \"invalid_request_error\"}}");
}

/* ---- the object ---- */

static void
aic_fake_provider_dispose (GObject *object)
{
  AicFakeProvider *self = AIC_FAKE_PROVIDER (object);

  aic_fake_provider_stop (self);

  G_OBJECT_CLASS (aic_fake_provider_parent_class)->dispose (object);
}

static void
aic_fake_provider_finalize (GObject *object)
{
  AicFakeProvider *self = AIC_FAKE_PROVIDER (object);

  g_free (self->url);
  g_free (self->base_url);
  g_strfreev (self->models);
  g_free (self->reply);
  g_free (self->transcript);
  g_ptr_array_unref (self->requests);

  G_OBJECT_CLASS (aic_fake_provider_parent_class)->finalize (object);
}

static void
aic_fake_provider_class_init (AicFakeProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_fake_provider_dispose;
  object_class->finalize = aic_fake_provider_finalize;

  /**
   * AicFakeProvider::request:
   * @path: the request's path
   * @message: the request, about to be answered
   *
   * After the request is recorded and before it is answered: a test may
   * stop the provider once the answer has gone (SoupServerMessage::finished).
   */
  signals[REQUEST] =
    g_signal_new ("request", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, SOUP_TYPE_SERVER_MESSAGE);
}

static void
aic_fake_provider_init (AicFakeProvider *self)
{
  const char *models[] = { "fake-model", NULL };

  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) request_free);
  self->models = g_strdupv ((char **) models);
  self->transcript = g_strdup ("What is the weather like?");
}

/**
 * aic_fake_provider_new:
 * Makes the provider and chooses its port; it does not listen until
 * aic_fake_provider_start().
 */
AicFakeProvider *
aic_fake_provider_new (AicFakeProviderShape shape)
{
  AicFakeProvider *self = g_object_new (AIC_TYPE_FAKE_PROVIDER, NULL);

  self->shape = shape;
  self->port = aic_test_free_port ();
  self->url = g_strdup_printf ("http://127.0.0.1:%u", self->port);
  /* Anthropic's base URL has no /v1: the client adds it. */
  self->base_url = shape == AIC_FAKE_PROVIDER_ANTHROPIC ? g_strdup (self->url) : g_strconcat (self->url, "/v1", NULL);
  switch (shape)
    {
    case AIC_FAKE_PROVIDER_OPENAI:
      self->reply = g_strdup ("The OpenAI-compatible provider answered.");
      break;
    case AIC_FAKE_PROVIDER_OLLAMA:
      self->reply = g_strdup ("The Ollama-style provider answered.");
      break;
    case AIC_FAKE_PROVIDER_ANTHROPIC:
    default:
      self->reply = g_strdup ("The Anthropic provider answered.");
      break;
    }
  return self;
}

/**
 * aic_fake_provider_start:
 * Listens on the provider's port (the same one every time).
 */
void
aic_fake_provider_start (AicFakeProvider *self)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new (address, self->port);
  g_autoptr(GError) error = NULL;

  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  g_return_if_fail (self->server == NULL);

  self->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
  soup_server_listen (self->server, socket_address, 0, &error);
  g_assert_no_error (error);
}

/**
 * aic_fake_provider_stop:
 * Closes every connection and stops listening: new connections are
 * refused until the provider starts again.
 */
void
aic_fake_provider_stop (AicFakeProvider *self)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));

  if (self->server == NULL)
    return;
  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
}

gboolean
aic_fake_provider_is_running (AicFakeProvider *self)
{
  g_return_val_if_fail (AIC_IS_FAKE_PROVIDER (self), FALSE);
  return self->server != NULL;
}

/* "http://127.0.0.1:PORT" */
const char *
aic_fake_provider_get_url (AicFakeProvider *self)
{
  g_return_val_if_fail (AIC_IS_FAKE_PROVIDER (self), NULL);
  return self->url;
}

/* What an engine is given: the URL with /v1 for the OpenAI-compatible
 * shapes, without for Anthropic. */
const char *
aic_fake_provider_get_base_url (AicFakeProvider *self)
{
  g_return_val_if_fail (AIC_IS_FAKE_PROVIDER (self), NULL);
  return self->base_url;
}

/* The models listed, and the only ones chat accepts (else 404); default
 * "fake-model". */
void
aic_fake_provider_set_models (AicFakeProvider    *self,
                              const char * const *models)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  g_strfreev (self->models);
  self->models = g_strdupv ((char **) models);
}

/* The text every chat request is answered with. */
void
aic_fake_provider_set_reply (AicFakeProvider *self,
                             const char      *text)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  g_free (self->reply);
  self->reply = g_strdup (text);
}

void
aic_fake_provider_set_transcript (AicFakeProvider *self,
                                  const char      *text)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  g_free (self->transcript);
  self->transcript = g_strdup (text);
}

/* /audio/speech refuses "pcm" with 400, as servers that only make WAV do. */
void
aic_fake_provider_set_wav_only (AicFakeProvider *self,
                                gboolean         wav_only)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  self->wav_only = wav_only;
}

/* Anthropic: streamed messages answer with an overloaded_error event. */
void
aic_fake_provider_set_overloaded (AicFakeProvider *self,
                                  gboolean         overloaded)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  self->overloaded = overloaded;
}

/**
 * aic_fake_provider_get_requests:
 * Returns: (transfer none) (element-type AicFakeRequest): every request
 *   so far, oldest first
 */
GPtrArray *
aic_fake_provider_get_requests (AicFakeProvider *self)
{
  g_return_val_if_fail (AIC_IS_FAKE_PROVIDER (self), NULL);
  return self->requests;
}

guint
aic_fake_provider_count (AicFakeProvider *self,
                         const char      *path)
{
  guint n = 0;

  g_return_val_if_fail (AIC_IS_FAKE_PROVIDER (self), 0);

  for (guint i = 0; i < self->requests->len; i++)
    if (g_str_equal (((AicFakeRequest *) g_ptr_array_index (self->requests, i))->path, path))
      n++;
  return n;
}

/**
 * aic_fake_provider_find:
 * Returns: (nullable): the latest request for @path
 */
const AicFakeRequest *
aic_fake_provider_find (AicFakeProvider *self,
                        const char      *path)
{
  g_return_val_if_fail (AIC_IS_FAKE_PROVIDER (self), NULL);

  for (guint i = self->requests->len; i > 0; i--)
    {
      AicFakeRequest *request = g_ptr_array_index (self->requests, i - 1);

      if (g_str_equal (request->path, path))
        return request;
    }
  return NULL;
}

void
aic_fake_provider_clear_requests (AicFakeProvider *self)
{
  g_return_if_fail (AIC_IS_FAKE_PROVIDER (self));
  g_ptr_array_set_size (self->requests, 0);
}

const char *
aic_fake_request_get_header (const AicFakeRequest *request,
                             const char           *name)
{
  return soup_message_headers_get_one (request->headers, name);
}
