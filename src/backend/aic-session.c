/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-embedded-backend.h"
#include "aic-engine.h"
#include "aic-local-probe.h"
#include "aic-secrets.h"
#include "aic-service-info.h"
#include "aic-session.h"

/* The one place that decides who answers each view, for the app and the
 * CLI alike.
 *
 * A provider connection (OpenAI-compatible or Anthropic) becomes the
 * engine of the built-in backend, which then serves documents, voice and
 * agents with it; chat may go to the provider directly. A remote AI
 * Console server serves everything itself. With nothing connected, the
 * built-in backend runs the first model server found on this computer, or
 * the demo engine.
 *
 * Views ask for the client of their kind of work and the voice path; none
 * of them looks at a connection's kind. */
struct _AicSession
{
  GObject             parent_instance;

  char               *data_dir;
  gboolean            probe_local;
  AicConnectionStore *store;          /* when following the user's choice */
  AicStore           *history;        /* conversations and document jobs */
  AicJobManager      *job_manager;

  /* What was chosen. */
  AicConnection      *connection;     /* NULL: automatic */
  char               *key;
  AicConnection      *speech;
  char               *speech_key;

  /* Every change of choice bumps the serial and cancels what the last
   * one started; late answers are dropped. */
  guint               serial;
  GCancellable       *cancellable;

  AicEmbeddedBackend *backend;
  AicSessionState     state;
  char               *summary;
  char               *detail;

  AicClient          *chat_client;
  AicClient          *backend_client;
  AicClient          *voice_client;
  char               *voice_path;
  char              **models;

  /* Key look-ups for the store's choice, apart from the rest: a list
   * edit that changes nothing must not cancel what is under way. */
  guint               lookup_serial;
  GCancellable       *lookup_cancellable;

  GPtrArray          *waiting;        /* (element-type GTask) */
  char               *applied;        /* what the last apply() used */
};

G_DEFINE_FINAL_TYPE (AicSession, aic_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_SUMMARY,
  PROP_DETAIL,
  PROP_CHAT_CLIENT,
  PROP_BACKEND_CLIENT,
  PROP_VOICE_CLIENT,
  PROP_MODELS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define BUILTIN_ID "builtin"

static gboolean
replace_string (char       **field,
                const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
finish_waiting (AicSession *self)
{
  g_autoptr(GPtrArray) waiting = NULL;

  if (self->state == AIC_SESSION_STATE_STARTING || self->waiting->len == 0)
    return;

  waiting = g_steal_pointer (&self->waiting);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *task = g_ptr_array_index (waiting, i);

      if (self->state == AIC_SESSION_STATE_FAILED)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", self->detail);
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
set_state (AicSession      *self,
           AicSessionState  state,
           const char      *summary,
           const char      *detail)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (replace_string (&self->summary, summary))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
  if (replace_string (&self->detail, detail))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DETAIL]);
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  finish_waiting (self);
}

static void
set_models (AicSession  *self,
            char       **models)
{
  g_strfreev (self->models);
  self->models = models ? models : g_new0 (char *, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODELS]);
}

typedef struct
{
  AicSession *self;
  guint       serial;
} Request;

static Request *
request_new (AicSession *self)
{
  Request *request = g_new0 (Request, 1);

  request->self = g_object_ref (self);
  request->serial = self->serial;
  return request;
}

static void
request_free (Request *request)
{
  g_object_unref (request->self);
  g_free (request);
}

/* Returns the session when the request is still the current choice's. */
static AicSession *
request_current (Request *request)
{
  return request->serial == request->self->serial ? request->self : NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_free)

static void
models_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(AicServiceInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  AicSession *self;

  info = aic_client_check_finish (AIC_CLIENT (object), result, &error);
  if ((self = request_current (request)) == NULL)
    return;
  if (info == NULL)
    g_debug ("No model list: %s", error->message);
  set_models (self, info ? g_strdupv (info->models) : NULL);
}

/* The views' clients change together; each view is told once. */
static void
set_clients (AicSession *self,
             AicClient  *chat,
             AicClient  *backend,
             AicClient  *voice,
             const char *voice_path)
{
  gboolean chat_changed = self->chat_client != chat;

  g_object_freeze_notify (G_OBJECT (self));
  if (g_set_object (&self->chat_client, chat))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHAT_CLIENT]);
  if (g_set_object (&self->backend_client, backend))
    {
      /* Document jobs always go to a backend; the manager takes up the
       * unfinished ones there. */
      if (self->job_manager != NULL)
        aic_job_manager_set_client (self->job_manager, backend);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_CLIENT]);
    }
  if (g_set_object (&self->voice_client, voice) | replace_string (&self->voice_path, voice_path))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VOICE_CLIENT]);
  if (chat_changed)
    {
      set_models (self, NULL);
      if (chat != NULL)
        aic_client_check_async (chat, self->cancellable, models_cb, request_new (self));
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
stop_backend (AicSession *self)
{
  if (self->backend == NULL)
    return;
  /* Joins the backend's thread; its jobs and runs are on disk, and the
   * next backend in the same folder takes them up. */
  aic_embedded_backend_stop (self->backend);
  g_clear_object (&self->backend);
}

static AicClient *
new_builtin_client (AicSession *self)
{
  g_autoptr(AicConnection) connection = NULL;

  /* One id for every built-in backend, whatever its engine: jobs sent to
   * one are followed on the next. */
  connection = aic_connection_new (BUILTIN_ID, _("Built-in"), AIC_CONNECTION_KIND_CONSOLE,
                                   aic_embedded_backend_get_url (self->backend));
  if (self->connection != NULL)
    aic_connection_set_model (connection, aic_connection_get_model (self->connection));
  return aic_client_new (connection, aic_embedded_backend_get_token (self->backend));
}

static void
describe_running (AicSession *self)
{
  const char *label = aic_embedded_backend_get_engine_label (self->backend);
  g_autofree char *summary = NULL;
  g_autofree char *detail = NULL;

  if (self->connection != NULL)
    {
      /* Translators: the banner and tooltip; %s is the connection’s name */
      detail = g_strdup_printf (_("“%s” answers in every view, through the built-in backend."),
                                aic_connection_get_name (self->connection));
      set_state (self, AIC_SESSION_STATE_PROVIDER, aic_connection_get_name (self->connection), detail);
      return;
    }
  if (aic_embedded_backend_is_demo (self->backend))
    {
      set_state (self, AIC_SESSION_STATE_BUILTIN_DEMO,
                 /* Translators: the header bar subtitle */
                 _("Built-in · Demo engine"),
                 _("The built-in backend is running the offline demo engine: its answers are canned examples, not a real model."));
      return;
    }
  /* Translators: the header bar subtitle; %s is like “Ollama at 127.0.0.1:11434” */
  summary = g_strdup_printf (_("Built-in · %s"), label);
  detail = g_strdup_printf (_("The built-in backend is using %s on this computer."), label);
  set_state (self, AIC_SESSION_STATE_BUILTIN_LOCAL, summary, detail);
}

static void
backend_started_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicClient) builtin = NULL;
  gboolean started;
  AicSession *self;

  started = aic_embedded_backend_start_finish (AIC_EMBEDDED_BACKEND (object), result, &error);
  if ((self = request_current (request)) == NULL || AIC_EMBEDDED_BACKEND (object) != self->backend)
    return;

  if (!started)
    {
      g_autofree char *detail = g_strdup_printf (_("The built-in backend could not start: %s"), error->message);

      g_warning ("The built-in backend did not start: %s", error->message);
      set_state (self, AIC_SESSION_STATE_FAILED, _("Built-in backend unavailable"), detail);
      return;
    }

  g_message ("Built-in backend on %s using %s",
             aic_embedded_backend_get_url (self->backend),
             aic_embedded_backend_get_engine_label (self->backend));

  builtin = new_builtin_client (self);
  if (self->connection != NULL)
    {
      g_autoptr(AicClient) provider = aic_client_new (self->connection, self->key);
      gboolean realtime = aic_connection_get_realtime_voice (self->connection) &&
                          aic_connection_get_kind (self->connection) == AIC_CONNECTION_KIND_OPENAI;
      const char *model = aic_connection_get_model (self->connection);
      g_autofree char *escaped = g_uri_escape_string (model && model[0] ? model : "gpt-realtime", NULL, FALSE);
      g_autofree char *realtime_path = g_strdup_printf ("/realtime?model=%s", escaped);

      /* Chat goes straight to the provider, so that Stop reaches it at
       * once; everything that needs jobs, turns or tools goes through the
       * backend. A Realtime service is used only when chosen. */
      set_clients (self, provider, builtin,
                   realtime ? provider : builtin,
                   realtime ? realtime_path : "/api/voice");
    }
  else
    set_clients (self, builtin, builtin, builtin, "/api/voice");
  describe_running (self);
}

static void
start_backend (AicSession *self,
               AicEngine  *engine)
{
  stop_backend (self);
  self->backend = aic_embedded_backend_new (self->data_dir);
  aic_embedded_backend_start_async (self->backend, engine, self->cancellable,
                                    backend_started_cb, request_new (self));
}

static AicEngine *
new_provider_engine (AicSession *self)
{
  AicConnection *connection = self->connection;
  AicEngine *engine;

  if (aic_connection_get_kind (connection) == AIC_CONNECTION_KIND_ANTHROPIC)
    engine = aic_engine_new_anthropic (aic_connection_get_base_url (connection), self->key);
  else
    engine = aic_engine_new_openai (aic_connection_get_base_url (connection),
                                    aic_connection_get_name (connection), self->key);
  aic_engine_set_default_model (engine, aic_connection_get_model (connection));
  return engine;
}

static void
use_speech (AicSession *self,
            AicEngine  *engine)
{
  /* Only OpenAI-compatible servers have the /audio routes. */
  if (self->speech != NULL && aic_connection_get_kind (self->speech) == AIC_CONNECTION_KIND_OPENAI)
    aic_engine_set_speech (engine, aic_connection_get_base_url (self->speech), self->speech_key);
}

static void
probe_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(AicLocalProvider) provider = NULL;
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(GError) error = NULL;
  AicSession *self;

  provider = aic_local_probe_finish (result, &error);
  if ((self = request_current (request)) == NULL)
    return;

  if (provider != NULL)
    engine = aic_engine_new_openai (provider->base_url, provider->name, NULL);
  else
    engine = aic_engine_new_demo ();
  use_speech (self, engine);
  start_backend (self, engine);
}

/* Everything a choice is made of, to tell a real change from a list edit
 * that left the connections in use as they were. */
static char *
describe_choice (AicSession *self)
{
  GString *out = g_string_new (NULL);
  AicConnection *parts[] = { self->connection, self->speech };
  const char *keys[] = { self->key, self->speech_key };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    if (parts[i] != NULL)
      g_string_append_printf (out, "%s\n%d\n%s\n%s\n%s\n%d\n%s\n",
                              aic_connection_get_id (parts[i]),
                              aic_connection_get_kind (parts[i]),
                              aic_connection_get_name (parts[i]),
                              aic_connection_get_base_url (parts[i]),
                              aic_connection_get_model (parts[i]),
                              aic_connection_get_realtime_voice (parts[i]),
                              keys[i] ? keys[i] : "");
    else
      g_string_append (out, "-\n");
  return g_string_free (out, FALSE);
}

static void
apply (AicSession *self)
{
  g_autofree char *choice = describe_choice (self);

  if (g_strcmp0 (choice, self->applied) == 0 && self->state != AIC_SESSION_STATE_FAILED)
    return;
  g_free (self->applied);
  self->applied = g_steal_pointer (&choice);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->serial++;

  if (self->connection != NULL && aic_connection_get_kind (self->connection) == AIC_CONNECTION_KIND_CONSOLE)
    {
      g_autoptr(AicClient) server = aic_client_new (self->connection, self->key);
      g_autofree char *detail = NULL;

      /* A remote AI Console server serves every view itself. */
      stop_backend (self);
      set_clients (self, server, server, server, "/api/voice");
      detail = g_strdup_printf (_("The AI Console server “%s” (%s) answers in every view."),
                                aic_connection_get_name (self->connection),
                                aic_connection_get_base_url (self->connection));
      set_state (self, AIC_SESSION_STATE_SERVER, aic_connection_get_name (self->connection), detail);
      return;
    }

  set_clients (self, NULL, NULL, NULL, NULL);
  set_state (self, AIC_SESSION_STATE_STARTING, _("Starting the built-in backend…"), NULL);

  if (self->connection != NULL)
    {
      g_autoptr(AicEngine) engine = new_provider_engine (self);

      use_speech (self, engine);
      start_backend (self, engine);
    }
  else if (self->probe_local)
    {
      guint n_candidates;
      const AicLocalCandidate *candidates = aic_local_probe_default_candidates (&n_candidates);

      aic_local_probe_async (candidates, n_candidates, 2, self->cancellable, probe_cb, request_new (self));
    }
  else
    {
      g_autoptr(AicEngine) engine = aic_engine_new_demo ();

      use_speech (self, engine);
      start_backend (self, engine);
    }
}

/* ---- following the user's choice in the connection store ---- */

typedef struct
{
  AicSession    *self;
  guint          serial;
  AicConnection *connection;
  AicConnection *speech;
  char          *key;
} Lookup;

static void
lookup_free (Lookup *lookup)
{
  g_object_unref (lookup->self);
  g_clear_object (&lookup->connection);
  g_clear_object (&lookup->speech);
  g_free (lookup->key);
  g_free (lookup);
}

static gboolean
lookup_current (Lookup       *lookup,
                const GError *error)
{
  if (lookup->serial != lookup->self->lookup_serial)
    return FALSE;
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("A key could not be read from the keyring: %s", error->message);
  return TRUE;
}

static void
speech_key_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Lookup *lookup = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *speech_key = aic_secrets_lookup_finish (result, &error);

  if (lookup_current (lookup, error))
    aic_session_use (lookup->self, lookup->connection, lookup->key, lookup->speech, speech_key);
  lookup_free (lookup);
}

static void
key_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  Lookup *lookup = user_data;
  g_autoptr(GError) error = NULL;

  lookup->key = aic_secrets_lookup_finish (result, &error);
  if (!lookup_current (lookup, error))
    lookup_free (lookup);
  else if (lookup->speech != NULL)
    aic_secrets_lookup_async (aic_connection_get_id (lookup->speech), lookup->self->lookup_cancellable,
                              speech_key_cb, lookup);
  else
    {
      aic_session_use (lookup->self, lookup->connection, lookup->key, NULL, NULL);
      lookup_free (lookup);
    }
}

static void
store_changed (AicSession *self)
{
  AicConnection *active = aic_connection_store_get_active (self->store);
  AicConnection *speech = aic_connection_store_get_speech (self->store);
  Lookup *lookup;

  /* Keys live only in the keyring: read them, then apply (which does
   * nothing when the connections in use did not change). */
  g_cancellable_cancel (self->lookup_cancellable);
  g_clear_object (&self->lookup_cancellable);
  self->lookup_cancellable = g_cancellable_new ();

  lookup = g_new0 (Lookup, 1);
  lookup->self = g_object_ref (self);
  lookup->serial = ++self->lookup_serial;
  lookup->connection = active ? g_object_ref (active) : NULL;
  lookup->speech = speech ? g_object_ref (speech) : NULL;
  if (active != NULL)
    aic_secrets_lookup_async (aic_connection_get_id (active), self->lookup_cancellable, key_cb, lookup);
  else if (speech != NULL)
    aic_secrets_lookup_async (aic_connection_get_id (speech), self->lookup_cancellable, speech_key_cb, lookup);
  else
    {
      aic_session_use (self, NULL, NULL, NULL, NULL);
      lookup_free (lookup);
    }
}

/* ---- GObject ---- */

static void
aic_session_dispose (GObject *object)
{
  AicSession *self = AIC_SESSION (object);

  aic_session_shutdown (self);
  self->lookup_serial++;
  g_cancellable_cancel (self->lookup_cancellable);
  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_clear_object (&self->store);
  /* Jobs are saved as they are; the next start follows them again. */
  g_clear_object (&self->job_manager);
  g_clear_object (&self->history);

  G_OBJECT_CLASS (aic_session_parent_class)->dispose (object);
}

static void
aic_session_finalize (GObject *object)
{
  AicSession *self = AIC_SESSION (object);

  g_clear_pointer (&self->data_dir, g_free);
  g_clear_object (&self->connection);
  g_clear_pointer (&self->key, g_free);
  g_clear_object (&self->speech);
  g_clear_pointer (&self->speech_key, g_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->lookup_cancellable);
  g_clear_pointer (&self->summary, g_free);
  g_clear_pointer (&self->detail, g_free);
  g_clear_object (&self->chat_client);
  g_clear_object (&self->backend_client);
  g_clear_object (&self->voice_client);
  g_clear_pointer (&self->voice_path, g_free);
  g_clear_pointer (&self->models, g_strfreev);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_pointer (&self->applied, g_free);

  G_OBJECT_CLASS (aic_session_parent_class)->finalize (object);
}

static void
aic_session_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  AicSession *self = AIC_SESSION (object);

  switch (prop_id)
    {
    case PROP_STATE:          g_value_set_int (value, self->state); break;
    case PROP_SUMMARY:        g_value_set_string (value, self->summary); break;
    case PROP_DETAIL:         g_value_set_string (value, self->detail); break;
    case PROP_CHAT_CLIENT:    g_value_set_object (value, self->chat_client); break;
    case PROP_BACKEND_CLIENT: g_value_set_object (value, self->backend_client); break;
    case PROP_VOICE_CLIENT:   g_value_set_object (value, self->voice_client); break;
    case PROP_MODELS:         g_value_set_boxed (value, self->models); break;
    default:                  G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_session_class_init (AicSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_session_dispose;
  object_class->finalize = aic_session_finalize;
  object_class->get_property = aic_session_get_property;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      AIC_SESSION_STATE_STARTING, AIC_SESSION_STATE_FAILED, AIC_SESSION_STATE_STARTING,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SUMMARY] =
    g_param_spec_string ("summary", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DETAIL] =
    g_param_spec_string ("detail", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Chat: the provider itself, or the backend. */
  properties[PROP_CHAT_CLIENT] =
    g_param_spec_object ("chat-client", NULL, NULL, AIC_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Documents and agents: always an AI Console backend, built-in or remote. */
  properties[PROP_BACKEND_CLIENT] =
    g_param_spec_object ("backend-client", NULL, NULL, AIC_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Voice: the backend's /api/voice, or a Realtime service the user chose;
   * notified also when only the path changes. */
  properties[PROP_VOICE_CLIENT] =
    g_param_spec_object ("voice-client", NULL, NULL, AIC_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODELS] =
    g_param_spec_boxed ("models", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_session_init (AicSession *self)
{
  self->cancellable = g_cancellable_new ();
  self->lookup_cancellable = g_cancellable_new ();
  self->models = g_new0 (char *, 1);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  self->state = AIC_SESSION_STATE_STARTING;
}

/**
 * aic_session_new:
 * @data_dir: where the built-in backend keeps its jobs and runs
 *
 * Nothing runs until aic_session_follow() or aic_session_use().
 */
AicSession *
aic_session_new (const char *data_dir)
{
  AicSession *self;

  g_return_val_if_fail (data_dir != NULL, NULL);

  self = g_object_new (AIC_TYPE_SESSION, NULL);
  self->data_dir = g_strdup (data_dir);
  return self;
}

/**
 * aic_session_set_probe_local:
 * With nothing connected, look for a model server on this computer
 * (Ollama, llama.cpp, LM Studio) before falling back to the demo engine.
 * Off by default, so that tests do not depend on what runs here.
 */
void
aic_session_set_probe_local (AicSession *self,
                             gboolean    probe_local)
{
  g_return_if_fail (AIC_IS_SESSION (self));
  self->probe_local = probe_local;
}

/**
 * aic_session_open_history:
 * @path: the SQLite database of conversations and document jobs
 * @owner: whose jobs to follow: "app" or "cli"
 *
 * Opens the history, keeps what a crash cut off as interrupted, and
 * follows the owner's unfinished document jobs on the backend. The file
 * is not read for damage here: call aic_store_check_async() on
 * aic_session_get_store() once started.
 */
gboolean
aic_session_open_history (AicSession  *self,
                          const char  *path,
                          const char  *owner,
                          GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (AIC_IS_SESSION (self), FALSE);
  g_return_val_if_fail (self->history == NULL, FALSE);

  /* The history grows with the years: it is read for damage once the app
   * has started (aic_store_check_async(), by the window), not before. */
  self->history = aic_store_open_full (path, AIC_STORE_OPEN_CHECK_LATER, error);
  if (self->history == NULL)
    return FALSE;
  if (aic_store_recover_interrupted (self->history, &local_error) > 0)
    g_message ("Replies cut off when the app last ended are kept, marked as interrupted");
  else if (local_error != NULL)
    g_warning ("Could not mark interrupted replies: %s", local_error->message);
  g_clear_error (&local_error);

  self->job_manager = aic_job_manager_new (self->history, owner);
  if (!aic_job_manager_load (self->job_manager, FALSE, &local_error))
    g_warning ("Could not read the saved document jobs: %s", local_error->message);
  if (self->backend_client != NULL)
    aic_job_manager_set_client (self->job_manager, self->backend_client);
  return TRUE;
}

/**
 * aic_session_get_store:
 * Returns: (transfer none) (nullable): the conversations, once opened
 */
AicStore *
aic_session_get_store (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->history;
}

/**
 * aic_session_get_job_manager:
 * Returns: (transfer none) (nullable): the document jobs, once the history
 *   is open
 */
AicJobManager *
aic_session_get_job_manager (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->job_manager;
}

/**
 * aic_session_follow:
 * Uses the store's active and speech connections, with their keys from
 * the keyring, now and whenever they change.
 */
void
aic_session_follow (AicSession         *self,
                    AicConnectionStore *store)
{
  g_return_if_fail (AIC_IS_SESSION (self));
  g_return_if_fail (AIC_IS_CONNECTION_STORE (store));
  g_return_if_fail (self->store == NULL);

  self->store = g_object_ref (store);
  g_signal_connect_object (store, "notify::active", G_CALLBACK (store_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "notify::speech", G_CALLBACK (store_changed), self, G_CONNECT_SWAPPED);
  /* An edit of a connection in use (its address, model or key) changes
   * the list: apply it again. */
  g_signal_connect_object (store, "items-changed", G_CALLBACK (store_changed), self, G_CONNECT_SWAPPED);
  store_changed (self);
}

/**
 * aic_session_use:
 * @connection: (nullable): the provider or server to use; %NULL for the
 *   built-in backend on its own (a local model server, or the demo)
 * @key: (nullable): its key or token
 * @speech: (nullable): an OpenAI-compatible server for speech to text and
 *   text to speech, when @connection has none of its own
 * @speech_key: (nullable): its key
 *
 * Applies a choice: (re)starts the built-in backend with the provider as
 * its engine, or drops it for a remote server.
 */
void
aic_session_use (AicSession    *self,
                 AicConnection *connection,
                 const char    *key,
                 AicConnection *speech,
                 const char    *speech_key)
{
  g_return_if_fail (AIC_IS_SESSION (self));
  g_return_if_fail (connection == NULL || AIC_IS_CONNECTION (connection));
  g_return_if_fail (speech == NULL || AIC_IS_CONNECTION (speech));

  g_set_object (&self->connection, connection);
  replace_string (&self->key, key);
  g_set_object (&self->speech, speech);
  replace_string (&self->speech_key, speech_key);
  apply (self);
}

/**
 * aic_session_shutdown:
 * Stops the built-in backend and everything under way. Safe to call
 * twice.
 */
void
aic_session_shutdown (AicSession *self)
{
  g_return_if_fail (AIC_IS_SESSION (self));

  self->serial++;
  g_cancellable_cancel (self->cancellable);
  stop_backend (self);
  g_clear_pointer (&self->applied, g_free);
}

AicSessionState
aic_session_get_state (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), AIC_SESSION_STATE_STARTING);
  return self->state;
}

const char *
aic_session_get_summary (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->summary;
}

const char *
aic_session_get_detail (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->detail;
}

/**
 * aic_session_get_connection:
 * Returns: (transfer none) (nullable): the connection chosen, or %NULL
 *   when the built-in backend serves on its own
 */
AicConnection *
aic_session_get_connection (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->connection;
}

/**
 * aic_session_get_chat_client:
 * Returns: (transfer none) (nullable): where Chat sends its requests, or
 *   %NULL while nothing is ready
 */
AicClient *
aic_session_get_chat_client (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->chat_client;
}

/**
 * aic_session_get_backend_client:
 * Returns: (transfer none) (nullable): the AI Console backend (built-in
 *   or remote) for documents and agents, or %NULL while none is ready
 */
AicClient *
aic_session_get_backend_client (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->backend_client;
}

/**
 * aic_session_get_voice_client:
 * Returns: (transfer none) (nullable): where Voice connects, at
 *   aic_session_get_voice_path()
 */
AicClient *
aic_session_get_voice_client (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->voice_client;
}

const char *
aic_session_get_voice_path (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return self->voice_path;
}

/**
 * aic_session_get_models:
 * Returns: (transfer none): the models the chat client lists; empty while
 *   unknown
 */
const char * const *
aic_session_get_models (AicSession *self)
{
  g_return_val_if_fail (AIC_IS_SESSION (self), NULL);
  return (const char * const *) self->models;
}

/**
 * aic_session_wait_async:
 * Completes once the current choice is ready to serve (or has failed,
 * with the reason in words).
 */
void
aic_session_wait_async (AicSession          *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (AIC_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_session_wait_async);
  g_ptr_array_add (self->waiting, task);
  finish_waiting (self);
}

gboolean
aic_session_wait_finish (AicSession    *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
