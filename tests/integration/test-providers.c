/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "aic-error.h"
#include "aic-fake-provider.h"
#include "aic-job-client.h"
#include "aic-job-store.h"
#include "aic-pcm.h"
#include "aic-server.h"
#include "aic-test-util.h"
#include "aic-tts.h"
#include "aic-voice-session.h"

/* The backend as the orchestrator of whichever provider is connected,
 * against scripted providers of each shape (tests/common/aic-fake-provider):
 *  - documents are summarised by the provider (OpenAI-compatible,
 *    Ollama-style, Anthropic with its headers), with the model list
 *    fetched when the engine has none and again when a model is gone;
 *  - a provider that starts after the backend, or goes away mid-job and
 *    comes back, still gets the document done; one that never comes
 *    fails it after the bounded wait; an overloaded one is waited for too,
 *    and fails the job in its own words if it stays overloaded;
 *  - a spoken turn (espeak-ng's WAV) is transcribed, answered and spoken
 *    by the provider, or by Anthropic and a separate speech server; with
 *    no speech-to-text anywhere the client is told so. */

#define TOKEN "providers-token"
#define SUMMARY_REPLY "TITLE: Fake title\nSUMMARY: The provider wrote this summary.\nKEY POINTS:\n- One point\n- Another point\n"
#define API_KEY "sk-fake-key"

/* ---- documents ---- */

typedef struct
{
  AicServer    *server;
  AicClient    *client;
  AicJobClient *jobs;
  GPtrArray    *stages;   /* every stage the job went through, in order */
  char         *waiting;  /* the message of the last "waiting" step */
} Backend;

static void
job_changed_cb (AicJobQueue  *queue,
                AicJobRecord *record,
                Backend      *backend)
{
  const char *stage = record->stage ? record->stage : "";
  const char *last = backend->stages->len ? g_ptr_array_index (backend->stages, backend->stages->len - 1) : NULL;

  if (g_strcmp0 (last, stage) != 0)
    g_ptr_array_add (backend->stages, g_strdup (stage));
  if (g_str_equal (stage, "waiting"))
    {
      g_free (backend->waiting);
      backend->waiting = g_strdup (record->message);
    }
}

static void
backend_start (Backend   *backend,
               AicEngine *engine)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(AicConnection) connection = NULL;
  AicJobQueue *queue;

  backend->server = aic_server_new (engine, TOKEN);
  g_assert_true (aic_server_listen (backend->server, "127.0.0.1", 0, &error));
  queue = aic_job_hub_get_queue (aic_server_get_job_hub (backend->server));
  /* Quick retries, and a bound a test can wait for. */
  aic_job_queue_set_upstream_wait (queue, 20000, 100);
  backend->stages = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (queue, "job-changed", G_CALLBACK (job_changed_cb), backend);
  url = aic_server_dup_url (backend->server);
  connection = aic_connection_new ("b", "Built-in", AIC_CONNECTION_KIND_CONSOLE, url);
  backend->client = aic_client_new (connection, TOKEN);
  backend->jobs = aic_job_client_new (backend->client);
}

static void
backend_stop (Backend *backend)
{
  g_clear_object (&backend->jobs);
  g_clear_object (&backend->client);
  g_clear_object (&backend->server);
  g_clear_pointer (&backend->stages, g_ptr_array_unref);
  g_clear_pointer (&backend->waiting, g_free);
}

static gboolean
saw_stage (Backend    *backend,
           const char *stage)
{
  for (guint i = 0; i < backend->stages->len; i++)
    if (g_str_equal (g_ptr_array_index (backend->stages, i), stage))
      return TRUE;
  return FALSE;
}

/* Submits a document of @n_paragraphs and follows it to its end. */
static AicJob *
summarize (Backend *backend,
           guint    n_paragraphs)
{
  AicJob *job = aic_job_new ("river.md");
  g_autoptr(GString) text = g_string_new ("# The river\n\n");
  g_autoptr(GBytes) upload = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n_paragraphs; i++)
    g_string_append_printf (text, "Paragraph %u says that the river floods the meadows every spring.\n\n", i);
  upload = g_bytes_new (text->str, text->len);

  aic_job_client_submit_async (backend->jobs, job, upload, "text/markdown", NULL, NULL,
                               aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_job_client_submit_finish (backend->jobs, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  aic_job_client_follow_async (backend->jobs, job, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 30000);
  g_assert_true (aic_job_client_follow_finish (backend->jobs, result, &error));
  g_assert_no_error (error);
  return job;
}

static AicEngine *
engine_for (AicFakeProvider      *provider,
            AicFakeProviderShape  shape)
{
  if (shape == AIC_FAKE_PROVIDER_ANTHROPIC)
    return aic_engine_new_anthropic (aic_fake_provider_get_base_url (provider), API_KEY);
  return aic_engine_new_openai (aic_fake_provider_get_base_url (provider), "Fake", API_KEY);
}

static const char *
chat_path (AicFakeProviderShape shape)
{
  return shape == AIC_FAKE_PROVIDER_ANTHROPIC ? "/v1/messages" : "/v1/chat/completions";
}

/* The engine starts with no models listed (as when the backend started
 * before the provider): it lists them before the first reply. */
static void
test_summary (gconstpointer data)
{
  AicFakeProviderShape shape = GPOINTER_TO_INT (data);
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (shape);
  g_autoptr(AicEngine) engine = engine_for (provider, shape);
  g_autoptr(AicJob) job = NULL;
  Backend backend = { 0 };
  const AicFakeRequest *request;

  aic_fake_provider_set_reply (provider, SUMMARY_REPLY);
  aic_fake_provider_start (provider);
  backend_start (&backend, engine);

  job = summarize (&backend, 3);
  g_assert_cmpstr (aic_job_get_error (job), ==, NULL);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_title (job), ==, "Fake title");
  g_assert_cmpstr (aic_job_get_summary (job), ==, "The provider wrote this summary.");
  g_assert_cmpstr (aic_job_get_key_points (job)[1], ==, "Another point");

  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/models"), ==, 1);
  request = aic_fake_provider_find (provider, chat_path (shape));
  g_assert_nonnull (request);
  g_assert_nonnull (strstr (g_bytes_get_data (request->body, NULL), "\"fake-model\""));
  if (shape == AIC_FAKE_PROVIDER_ANTHROPIC)
    {
      g_assert_cmpstr (aic_fake_request_get_header (request, "x-api-key"), ==, API_KEY);
      g_assert_cmpstr (aic_fake_request_get_header (request, "anthropic-version"), ==, "2023-06-01");
      g_assert_null (aic_fake_request_get_header (request, "Authorization"));
    }
  else
    g_assert_cmpstr (aic_fake_request_get_header (request, "Authorization"), ==, "Bearer " API_KEY);

  backend_stop (&backend);
}

/* The model the engine knew is gone upstream: the list is fetched again
 * and the new first model answers. */
static void
test_model_gone (void)
{
  const char *before[] = { "old-model", NULL };
  const char *after[] = { "new-model", NULL };
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OLLAMA);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OLLAMA);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicJob) job = NULL;
  g_auto(GStrv) models = NULL;
  Backend backend = { 0 };

  aic_fake_provider_set_reply (provider, SUMMARY_REPLY);
  aic_fake_provider_set_models (provider, before);
  aic_fake_provider_start (provider);
  aic_engine_refresh_async (engine, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_engine_refresh_finish (engine, result, &error));
  aic_fake_provider_set_models (provider, after);
  backend_start (&backend, engine);

  job = summarize (&backend, 2);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_summary (job), ==, "The provider wrote this summary.");
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/models"), ==, 2);
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/chat/completions"), ==, 2);
  g_assert_nonnull (strstr (g_bytes_get_data (aic_fake_provider_find (provider, "/v1/chat/completions")->body, NULL),
                            "\"new-model\""));
  models = aic_engine_dup_models (engine);
  g_assert_cmpstr (models[0], ==, "new-model");

  backend_stop (&backend);
}

static gboolean
start_provider_cb (gpointer data)
{
  aic_fake_provider_start (data);
  return G_SOURCE_REMOVE;
}

/* The backend (and the job) start first; the provider a second later. */
static void
test_late_provider (void)
{
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicJob) job = NULL;
  Backend backend = { 0 };

  aic_fake_provider_set_reply (provider, SUMMARY_REPLY);
  backend_start (&backend, engine);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, start_provider_cb, g_object_ref (provider), g_object_unref);

  job = summarize (&backend, 2);
  g_assert_cmpstr (aic_job_get_error (job), ==, NULL);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_summary (job), ==, "The provider wrote this summary.");
  g_assert_true (saw_stage (&backend, "waiting"));
  /* The step says what it waits for, and why. */
  g_assert_true (g_str_has_prefix (backend.waiting, "Waiting for the model server: Nothing is listening at 127.0.0.1:"));

  backend_stop (&backend);
}

/* ---- a provider that goes away after its first answer, and comes back ---- */

static gboolean
stop_provider_cb (gpointer data)
{
  AicFakeProvider *provider = data;

  aic_fake_provider_stop (provider);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, start_provider_cb, g_object_ref (provider), g_object_unref);
  return G_SOURCE_REMOVE;
}

static void
answered_cb (SoupServerMessage *message,
             AicFakeProvider   *provider)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, stop_provider_cb, g_object_ref (provider), g_object_unref);
}

static void
first_chat_cb (AicFakeProvider   *provider,
               const char        *path,
               SoupServerMessage *message,
               gboolean          *stopped)
{
  if (*stopped || !g_str_equal (path, "/v1/chat/completions"))
    return;
  *stopped = TRUE;
  g_signal_connect_object (message, "finished", G_CALLBACK (answered_cb), provider, 0);
}

static void
test_provider_comes_back (void)
{
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicJob) job = NULL;
  Backend backend = { 0 };
  gboolean stopped = FALSE;

  aic_fake_provider_set_reply (provider, SUMMARY_REPLY);
  g_signal_connect (provider, "request", G_CALLBACK (first_chat_cb), &stopped);
  aic_fake_provider_start (provider);
  backend_start (&backend, engine);
  aic_job_queue_set_part_size (aic_job_hub_get_queue (aic_server_get_job_hub (backend.server)), 300);

  /* Several parts: the first is answered, then the provider is gone. */
  job = summarize (&backend, 12);
  g_assert_true (stopped);
  g_assert_cmpstr (aic_job_get_error (job), ==, NULL);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
  g_assert_cmpstr (aic_job_get_summary (job), ==, "The provider wrote this summary.");
  g_assert_true (saw_stage (&backend, "waiting"));
  /* After the wait, the work went on where it was. */
  g_assert_true (saw_stage (&backend, "combining"));

  backend_stop (&backend);
}

/* Nobody ever listens: the job fails after the bounded wait, saying why. */
static void
test_provider_never_comes (void)
{
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicJob) job = NULL;
  Backend backend = { 0 };

  backend_start (&backend, engine);
  aic_job_queue_set_upstream_wait (aic_job_hub_get_queue (aic_server_get_job_hub (backend.server)), 800, 100);

  job = summarize (&backend, 2);
  g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_FAILED);
  g_assert_nonnull (strstr (aic_job_get_error (job), "Nothing is listening"));
  g_assert_true (saw_stage (&backend, "waiting"));

  backend_stop (&backend);
}

static void
recovered_cb (AicFakeProvider   *provider,
              const char        *path,
              SoupServerMessage *message,
              guint             *n_requests)
{
  /* Overloaded for the first two requests, well again from the third. */
  if (g_str_equal (path, "/v1/messages") && ++*n_requests == 3)
    aic_fake_provider_set_overloaded (provider, FALSE);
}

/* Anthropic says it is overloaded (an error event in the stream): the job
 * waits and tries again, and completes when the provider recovers; or
 * fails with the provider's words when it does not within the bound. */
static void
test_anthropic_overloaded (gconstpointer data)
{
  gboolean recovers = GPOINTER_TO_INT (data);
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_ANTHROPIC);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_ANTHROPIC);
  g_autoptr(AicJob) job = NULL;
  Backend backend = { 0 };
  guint n_requests = 0;

  aic_fake_provider_set_reply (provider, SUMMARY_REPLY);
  aic_fake_provider_set_overloaded (provider, TRUE);
  if (recovers)
    g_signal_connect (provider, "request", G_CALLBACK (recovered_cb), &n_requests);
  aic_fake_provider_start (provider);
  backend_start (&backend, engine);
  if (!recovers)
    aic_job_queue_set_upstream_wait (aic_job_hub_get_queue (aic_server_get_job_hub (backend.server)), 500, 100);

  job = summarize (&backend, 2);
  g_assert_true (saw_stage (&backend, "waiting"));
  if (recovers)
    {
      g_assert_cmpstr (aic_job_get_error (job), ==, NULL);
      g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_DONE);
      g_assert_cmpstr (aic_job_get_summary (job), ==, "The provider wrote this summary.");
      g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/messages"), ==, 3);
    }
  else
    {
      g_assert_cmpint (aic_job_get_status (job), ==, AIC_JOB_FAILED);
      g_assert_nonnull (strstr (aic_job_get_error (job), "Overloaded"));
      g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/messages"), >=, 2);
    }

  backend_stop (&backend);
}

/* ---- voice ---- */

typedef struct
{
  Backend          backend;
  AicVoiceSession *session;
  GString         *user;
  GString         *reply;
  gsize            audio;
  GPtrArray       *done;
  GPtrArray       *errors;
  guint            no_stt_errors;
  guint            stt_notifies;
} Voice;

static void on_user (AicVoiceSession *s, const char *t, Voice *v) { g_string_append (v->user, t); }
static void on_reply (AicVoiceSession *s, const char *t, Voice *v) { g_string_append (v->reply, t); }
static void on_audio (AicVoiceSession *s, GBytes *pcm, Voice *v) { v->audio += g_bytes_get_size (pcm); }
static void on_done (AicVoiceSession *s, const char *st, Voice *v) { g_ptr_array_add (v->done, g_strdup (st)); }
static void on_no_stt (AicVoiceSession *s, const char *t, Voice *v) { v->no_stt_errors++; }
static void on_stt (AicVoiceSession *s, GParamSpec *p, Voice *v) { v->stt_notifies++; }

static void
on_error (AicVoiceSession *session,
          const char      *text,
          Voice           *v)
{
  g_ptr_array_add (v->errors, g_strdup_printf ("%s: %s", aic_voice_session_get_error_code (session), text));
}

static AicVoiceSession *
voice_connect (Voice *v)
{
  AicVoiceSession *session = aic_voice_session_new (v->backend.client, "/api/voice");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_voice_session_set_reconnect (session, 0, 10);
  aic_voice_session_set_turn_detection (session, FALSE, 0, 0, 0);   /* push-to-talk */
  g_signal_connect (session, "user-transcript", G_CALLBACK (on_user), v);
  g_signal_connect (session, "reply-transcript", G_CALLBACK (on_reply), v);
  g_signal_connect (session, "reply-audio", G_CALLBACK (on_audio), v);
  g_signal_connect (session, "response-done", G_CALLBACK (on_done), v);
  g_signal_connect (session, "server-error", G_CALLBACK (on_error), v);
  g_signal_connect (session, "server-error::no_speech_to_text", G_CALLBACK (on_no_stt), v);
  g_signal_connect (session, "notify::speech-to-text", G_CALLBACK (on_stt), v);
  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (session, result, &error));
  g_assert_no_error (error);
  return session;
}

static void
voice_start (Voice     *v,
             AicEngine *engine)
{
  backend_start (&v->backend, engine);
  v->user = g_string_new (NULL);
  v->reply = g_string_new (NULL);
  v->done = g_ptr_array_new_with_free_func (g_free);
  v->errors = g_ptr_array_new_with_free_func (g_free);
  v->session = voice_connect (v);
}

static void
voice_stop (Voice *v)
{
  g_clear_object (&v->session);
  backend_stop (&v->backend);
  g_string_free (v->user, TRUE);
  g_string_free (v->reply, TRUE);
  g_ptr_array_unref (v->done);
  g_ptr_array_unref (v->errors);
}

/* What the user says, as espeak-ng writes it: a 22,050 Hz WAV, made into
 * the wire format. */
static GBytes *
spoken_question (void)
{
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "aic-test-providers-XXXXXX.wav", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) wav = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) pcm = NULL;
  gsize length;
  int fd;
  int status;
  const char *argv[] = { "espeak-ng", "-w", NULL, "What is the weather like?", NULL };

  fd = g_mkstemp (path);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  argv[2] = path;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                     G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error))
    {
      g_unlink (path);
      g_test_skip ("espeak-ng is not installed");
      return NULL;
    }
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_unlink (path);
  wav = g_bytes_new_take (g_steal_pointer (&contents), length);
  pcm = aic_tts_decode_wav (wav, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (pcm), >, aic_pcm_bytes_for_ms (500));
  return g_steal_pointer (&pcm);
}

static gboolean
turn_over (gpointer data)
{
  Voice *v = data;

  return v->done->len > 0 || v->errors->len > 0;
}

/* Says the question, push-to-talk, and waits for the reply or an error. */
static gboolean
say_question (Voice *v)
{
  g_autoptr(GBytes) pcm = spoken_question ();

  if (pcm == NULL)
    return FALSE;
  aic_voice_session_send_audio (v->session, pcm);
  aic_voice_session_commit (v->session);
  aic_test_wait_for (turn_over, v, 20000);
  return TRUE;
}

static void
check_spoken_reply (Voice      *v,
                    const char *reply)
{
  g_assert_cmpuint (v->errors->len, ==, 0);
  g_assert_cmpstr (v->user->str, ==, "What is the weather like?");
  g_assert_cmpstr (v->reply->str, ==, reply);
  g_assert_cmpstr (g_ptr_array_index (v->done, 0), ==, "completed");
  /* The speech server's quarter second of tone, not eSpeak NG's speech. */
  g_assert_cmpuint (v->audio, >=, aic_pcm_bytes_for_ms (240));
  g_assert_cmpuint (v->audio, <=, aic_pcm_bytes_for_ms (250));
  g_assert_true (aic_voice_session_get_speech_to_text (v->session));
}

static gboolean
contains_bytes (const char *data,
                gsize       size,
                const char *needle)
{
  gsize length = strlen (needle);

  for (gsize i = 0; i + length <= size; i++)
    if (memcmp (data + i, needle, length) == 0)
      return TRUE;
  return FALSE;
}

static void
check_transcription_request (AicFakeProvider *speech)
{
  const AicFakeRequest *request = aic_fake_provider_find (speech, "/v1/audio/transcriptions");
  gsize size;
  const char *body;

  g_assert_nonnull (request);
  body = g_bytes_get_data (request->body, &size);
  /* The body is binary: search it whole, NULs and all. */
  g_assert_true (contains_bytes (body, size, "RIFF"));
  g_assert_true (contains_bytes (body, size, "WAVEfmt "));
  g_assert_true (contains_bytes (body, size, "whisper-1"));
  g_assert_true (g_str_has_prefix (aic_fake_request_get_header (request, "Content-Type"), "multipart/form-data"));
}

static void
test_voice_openai (gconstpointer data)
{
  gboolean wav_only = GPOINTER_TO_INT (data);
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OPENAI);
  Voice v = { 0 };
  const AicFakeRequest *speech;

  aic_fake_provider_set_wav_only (provider, wav_only);
  aic_fake_provider_start (provider);
  voice_start (&v, engine);
  if (!say_question (&v))
    {
      voice_stop (&v);
      return;
    }

  check_spoken_reply (&v, "The OpenAI-compatible provider answered.");
  check_transcription_request (provider);
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/chat/completions"), ==, 1);
  speech = aic_fake_provider_find (provider, "/v1/audio/speech");
  g_assert_nonnull (speech);
  g_assert_nonnull (strstr (g_bytes_get_data (speech->body, NULL), "\"input\":\"The OpenAI-compatible provider answered.\""));
  if (wav_only)
    {
      /* PCM refused: asked again for WAV, which was decoded. */
      g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/audio/speech"), ==, 2);
      g_assert_nonnull (strstr (g_bytes_get_data (speech->body, NULL), "\"response_format\":\"wav\""));
    }
  else
    {
      g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/audio/speech"), ==, 1);
      g_assert_nonnull (strstr (g_bytes_get_data (speech->body, NULL), "\"response_format\":\"pcm\""));
    }

  voice_stop (&v);
}

/* Heard by the speech server, answered by Anthropic, spoken by the speech
 * server. */
static void
test_voice_anthropic_with_speech (void)
{
  g_autoptr(AicFakeProvider) anthropic = aic_fake_provider_new (AIC_FAKE_PROVIDER_ANTHROPIC);
  g_autoptr(AicFakeProvider) speech = aic_fake_provider_new (AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicEngine) engine = engine_for (anthropic, AIC_FAKE_PROVIDER_ANTHROPIC);
  Voice v = { 0 };

  aic_engine_set_speech (engine, aic_fake_provider_get_base_url (speech), "speech-key");
  aic_fake_provider_start (anthropic);
  aic_fake_provider_start (speech);
  voice_start (&v, engine);
  if (!say_question (&v))
    {
      voice_stop (&v);
      return;
    }

  check_spoken_reply (&v, "The Anthropic provider answered.");
  check_transcription_request (speech);
  g_assert_cmpstr (aic_fake_request_get_header (aic_fake_provider_find (speech, "/v1/audio/transcriptions"),
                                                "Authorization"), ==, "Bearer speech-key");
  g_assert_cmpuint (aic_fake_provider_count (speech, "/v1/audio/speech"), ==, 1);
  g_assert_cmpuint (aic_fake_provider_count (speech, "/v1/chat/completions"), ==, 0);
  g_assert_cmpuint (aic_fake_provider_count (anthropic, "/v1/messages"), ==, 1);
  g_assert_cmpstr (aic_fake_request_get_header (aic_fake_provider_find (anthropic, "/v1/messages"), "x-api-key"),
                   ==, API_KEY);
  g_assert_cmpuint (aic_fake_provider_count (anthropic, "/v1/audio/transcriptions"), ==, 0);

  voice_stop (&v);
}

static gboolean
stt_said (gpointer data)
{
  return ((Voice *) data)->stt_notifies > 0;
}

/* Ollama-style, no speech server: the backend finds out when the session
 * opens and says so before the user speaks; a turn gets the error; the
 * next session knows from the start. */
static void
test_voice_ollama (void)
{
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OLLAMA);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OLLAMA);
  g_autoptr(AicVoiceSession) second = NULL;
  Voice v = { 0 };

  aic_fake_provider_start (provider);
  voice_start (&v, engine);
  aic_test_wait_for (stt_said, &v, 5000);
  g_assert_false (aic_voice_session_get_speech_to_text (v.session));
  g_assert_cmpuint (v.errors->len, ==, 0);
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/audio/transcriptions"), ==, 1);

  if (!say_question (&v))
    {
      voice_stop (&v);
      return;
    }
  g_assert_cmpuint (v.errors->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (v.errors, 0), ==,
                   "no_speech_to_text: This connection cannot turn speech into text. "
                   "Choose a speech server in Preferences.");
  g_assert_cmpuint (v.no_stt_errors, ==, 1);
  g_assert_cmpuint (v.stt_notifies, ==, 1);
  /* No reply was made for the turn, and the session listens again. */
  g_assert_cmpuint (v.done->len, ==, 0);
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/chat/completions"), ==, 0);
  g_assert_cmpint (aic_voice_session_get_state (v.session), ==, AIC_VOICE_LISTENING);

  v.stt_notifies = 0;
  second = voice_connect (&v);
  aic_test_wait_for (stt_said, &v, 5000);
  g_assert_false (aic_voice_session_get_speech_to_text (second));
  /* Asked once, not again for the turn or the second session. */
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/audio/transcriptions"), ==, 1);

  g_clear_object (&second);
  voice_stop (&v);
}

static gboolean
spun_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context for @milliseconds, whatever happens. */
static void
spin (guint milliseconds)
{
  gboolean over = FALSE;

  g_timeout_add (milliseconds, spun_cb, &over);
  while (!over)
    g_main_context_iteration (NULL, TRUE);
}

/* The speech server is not there when the first session opens: nothing is
 * concluded from that, and a session opened after it is up asks again. */
static void
test_voice_speech_server_late (void)
{
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_OLLAMA);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_OLLAMA);
  g_autoptr(AicVoiceSession) second = NULL;
  Voice v = { 0 };

  voice_start (&v, engine);
  /* Give the unanswered question time to fail. */
  spin (500);
  g_assert_true (aic_voice_session_get_speech_to_text (v.session));

  aic_fake_provider_start (provider);
  second = voice_connect (&v);
  aic_test_wait_for (stt_said, &v, 5000);
  g_assert_false (aic_voice_session_get_speech_to_text (second));
  g_assert_false (aic_voice_session_get_speech_to_text (v.session));
  g_assert_cmpuint (v.stt_notifies, ==, 2);

  g_clear_object (&second);
  voice_stop (&v);
}

/* Anthropic with no speech server: nobody can transcribe, and the session
 * says so from the start. */
static void
test_voice_anthropic_alone (void)
{
  g_autoptr(AicFakeProvider) provider = aic_fake_provider_new (AIC_FAKE_PROVIDER_ANTHROPIC);
  g_autoptr(AicEngine) engine = engine_for (provider, AIC_FAKE_PROVIDER_ANTHROPIC);
  Voice v = { 0 };

  aic_fake_provider_start (provider);
  voice_start (&v, engine);
  aic_test_wait_for (stt_said, &v, 5000);
  g_assert_false (aic_voice_session_get_speech_to_text (v.session));
  if (!say_question (&v))
    {
      voice_stop (&v);
      return;
    }

  g_assert_cmpuint (v.no_stt_errors, ==, 1);
  g_assert_cmpuint (v.done->len, ==, 0);
  g_assert_cmpuint (aic_fake_provider_count (provider, "/v1/messages"), ==, 0);

  voice_stop (&v);
}

/* The demo engine with a speech server: it hears the words, and its
 * honest reply repeats them, spoken by the speech server. */
static void
test_voice_demo_with_speech (void)
{
  g_autoptr(AicFakeProvider) speech = aic_fake_provider_new (AIC_FAKE_PROVIDER_OPENAI);
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  Voice v = { 0 };

  aic_engine_set_speech (engine, aic_fake_provider_get_base_url (speech), NULL);
  aic_fake_provider_start (speech);
  voice_start (&v, engine);
  if (!say_question (&v))
    {
      voice_stop (&v);
      return;
    }

  g_assert_cmpuint (v.errors->len, ==, 0);
  g_assert_cmpstr (v.user->str, ==, "What is the weather like?");
  g_assert_cmpstr (v.reply->str, ==, "This is the demo engine, not a language model. "
                   "You said: “What is the weather like?” Connect a real model to talk about anything you like.");
  g_assert_cmpuint (aic_fake_provider_count (speech, "/v1/audio/speech"), ==, 2);
  g_assert_cmpuint (aic_fake_provider_count (speech, "/v1/chat/completions"), ==, 0);
  g_assert_cmpuint (v.audio, ==, 2 * aic_pcm_bytes_for_ms (250));

  voice_stop (&v);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/providers/summary/openai", GINT_TO_POINTER (AIC_FAKE_PROVIDER_OPENAI), test_summary);
  g_test_add_data_func ("/providers/summary/ollama", GINT_TO_POINTER (AIC_FAKE_PROVIDER_OLLAMA), test_summary);
  g_test_add_data_func ("/providers/summary/anthropic", GINT_TO_POINTER (AIC_FAKE_PROVIDER_ANTHROPIC), test_summary);
  g_test_add_func ("/providers/model-gone", test_model_gone);
  g_test_add_func ("/providers/late-provider", test_late_provider);
  g_test_add_func ("/providers/provider-comes-back", test_provider_comes_back);
  g_test_add_func ("/providers/provider-never-comes", test_provider_never_comes);
  g_test_add_data_func ("/providers/anthropic-overloaded/recovers", GINT_TO_POINTER (TRUE), test_anthropic_overloaded);
  g_test_add_data_func ("/providers/anthropic-overloaded/stays", GINT_TO_POINTER (FALSE), test_anthropic_overloaded);
  g_test_add_data_func ("/providers/voice/openai", GINT_TO_POINTER (FALSE), test_voice_openai);
  g_test_add_data_func ("/providers/voice/openai-wav-only", GINT_TO_POINTER (TRUE), test_voice_openai);
  g_test_add_func ("/providers/voice/anthropic-with-speech-server", test_voice_anthropic_with_speech);
  g_test_add_func ("/providers/voice/ollama-without-speech", test_voice_ollama);
  g_test_add_func ("/providers/voice/speech-server-late", test_voice_speech_server_late);
  g_test_add_func ("/providers/voice/anthropic-alone", test_voice_anthropic_alone);
  g_test_add_func ("/providers/voice/demo-with-speech-server", test_voice_demo_with_speech);

  return g_test_run ();
}
