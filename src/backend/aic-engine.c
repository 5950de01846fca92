/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-chat-stream.h"
#include "aic-client.h"
#include "aic-engine.h"
#include "aic-error.h"
#include "aic-source.h"

/* What produces the backend's text. "openai" forwards to any
 * OpenAI-compatible upstream through core's own client; "demo" is offline
 * and deterministic, and always says that it is the demo. */
struct _AicEngine
{
  GObject        parent_instance;

  AicEngineKind  kind;
  char          *upstream;
  char          *provider_name;
  char          *api_key;
  char          *default_model;
  char          *speech_url;   /* a second, OpenAI-compatible server for /audio */
  char          *speech_key;

  GMutex         lock;    /* models are read by request handlers */
  char         **models;

  guint          demo_delay_ms;
};

#define DEFAULT_DEMO_DELAY_MS 30

G_DEFINE_FINAL_TYPE (AicEngine, aic_engine, G_TYPE_OBJECT)

static void
aic_engine_finalize (GObject *object)
{
  AicEngine *self = (AicEngine *)object;

  g_clear_pointer (&self->upstream, g_free);
  g_clear_pointer (&self->provider_name, g_free);
  g_clear_pointer (&self->api_key, g_free);
  g_clear_pointer (&self->default_model, g_free);
  g_clear_pointer (&self->speech_url, g_free);
  g_clear_pointer (&self->speech_key, g_free);
  g_clear_pointer (&self->models, g_strfreev);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (aic_engine_parent_class)->finalize (object);
}

static void
aic_engine_class_init (AicEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_engine_finalize;
}

static void
aic_engine_init (AicEngine *self)
{
  g_mutex_init (&self->lock);
  self->demo_delay_ms = DEFAULT_DEMO_DELAY_MS;
}

AicEngine *
aic_engine_new_demo (void)
{
  AicEngine *self = g_object_new (AIC_TYPE_ENGINE, NULL);
  const char *models[] = { "demo", NULL };

  self->kind = AIC_ENGINE_KIND_DEMO;
  self->models = g_strdupv ((char **) models);
  return self;
}

/**
 * aic_engine_new_openai:
 * @upstream: base URL of the upstream, such as "http://127.0.0.1:11434/v1"
 * @provider_name: (nullable): what to call it, such as "Ollama"
 * @api_key: (nullable): the upstream's key
 */
AicEngine *
aic_engine_new_openai (const char *upstream,
                       const char *provider_name,
                       const char *api_key)
{
  AicEngine *self;

  g_return_val_if_fail (upstream != NULL, NULL);

  self = g_object_new (AIC_TYPE_ENGINE, NULL);
  self->kind = AIC_ENGINE_KIND_OPENAI;
  self->upstream = g_strdup (upstream);
  self->provider_name = g_strdup (provider_name);
  self->api_key = g_strdup (api_key);
  self->models = g_new0 (char *, 1);
  return self;
}

/**
 * aic_engine_new_anthropic:
 * @upstream: base URL of the Messages API without "/v1", such as
 *   "https://api.anthropic.com"
 * @api_key: (nullable): the key, sent as x-api-key
 */
AicEngine *
aic_engine_new_anthropic (const char *upstream,
                          const char *api_key)
{
  AicEngine *self;

  g_return_val_if_fail (upstream != NULL, NULL);

  self = g_object_new (AIC_TYPE_ENGINE, NULL);
  self->kind = AIC_ENGINE_KIND_ANTHROPIC;
  self->upstream = g_strdup (upstream);
  self->provider_name = g_strdup ("Anthropic");
  self->api_key = g_strdup (api_key);
  self->models = g_new0 (char *, 1);
  return self;
}

/**
 * aic_engine_set_default_model:
 * @model: (nullable): the model to use when a request names none (the
 *   one the user picked for the connection); %NULL or "" for the
 *   upstream's first. Set before the engine is shared.
 */
void
aic_engine_set_default_model (AicEngine  *self,
                              const char *model)
{
  g_return_if_fail (AIC_IS_ENGINE (self));

  g_free (self->default_model);
  self->default_model = model && model[0] ? g_strdup (model) : NULL;
}

/**
 * aic_engine_set_speech:
 * @url: (nullable): an OpenAI-compatible base URL that serves
 *   /audio/transcriptions and /audio/speech, or %NULL to use the
 *   upstream's own (when it is OpenAI-compatible)
 * @api_key: (nullable): its key
 *
 * Speech may come from another server than the text: a local Whisper-style
 * server beside Ollama, say. Set before the engine is shared.
 */
void
aic_engine_set_speech (AicEngine  *self,
                       const char *url,
                       const char *api_key)
{
  g_return_if_fail (AIC_IS_ENGINE (self));

  g_free (self->speech_url);
  self->speech_url = g_strdup (url);
  g_free (self->speech_key);
  self->speech_key = g_strdup (api_key);
}

gboolean
aic_engine_kind_from_string (const char    *string,
                             AicEngineKind *out_kind)
{
  if (g_strcmp0 (string, "demo") == 0)
    *out_kind = AIC_ENGINE_KIND_DEMO;
  else if (g_strcmp0 (string, "openai") == 0)
    *out_kind = AIC_ENGINE_KIND_OPENAI;
  else if (g_strcmp0 (string, "anthropic") == 0)
    *out_kind = AIC_ENGINE_KIND_ANTHROPIC;
  else
    return FALSE;
  return TRUE;
}

AicEngineKind
aic_engine_get_kind (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), AIC_ENGINE_KIND_DEMO);
  return self->kind;
}

const char *
aic_engine_get_kind_string (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  switch (self->kind)
    {
    case AIC_ENGINE_KIND_OPENAI:    return "openai";
    case AIC_ENGINE_KIND_ANTHROPIC: return "anthropic";
    case AIC_ENGINE_KIND_DEMO:
    default:                        return "demo";
    }
}

/* The engine's upstream as core's client sees it: the same dialect for
 * chat, models and the tool loop. */
static AicClient *
new_client (AicEngine *self)
{
  AicConnectionKind kind = self->kind == AIC_ENGINE_KIND_ANTHROPIC
    ? AIC_CONNECTION_KIND_ANTHROPIC : AIC_CONNECTION_KIND_OPENAI;
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "upstream", kind, self->upstream);

  return aic_client_new (connection, self->api_key);
}

const char *
aic_engine_get_upstream (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);
  return self->upstream;
}

/**
 * aic_engine_dup_label:
 * Returns: (transfer full): what the window shows, such as
 *   "Ollama at 127.0.0.1:11434" or "Demo engine (offline)"
 */
char *
aic_engine_dup_label (AicEngine *self)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *where = NULL;

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    return g_strdup (_("Demo engine (offline)"));

  uri = g_uri_parse (self->upstream, G_URI_FLAGS_NONE, NULL);
  if (uri != NULL && g_uri_get_port (uri) > 0)
    where = g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
  else if (uri != NULL)
    where = g_strdup (g_uri_get_host (uri));
  else
    where = g_strdup (self->upstream);

  /* Translators: “Ollama at 127.0.0.1:11434” */
  return g_strdup_printf (_("%s at %s"),
                          self->provider_name ? self->provider_name : _("OpenAI-compatible server"),
                          where);
}

/**
 * aic_engine_dup_models:
 * Returns: (transfer full): the models the engine can use; thread-safe
 */
char **
aic_engine_dup_models (AicEngine *self)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  locker = g_mutex_locker_new (&self->lock);
  return g_strdupv (self->models);
}

static void
refresh_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicEngine *self = g_task_get_source_object (task);
  g_autoptr(AicServiceInfo) info = NULL;
  GError *error = NULL;

  info = aic_client_check_finish (AIC_CLIENT (object), result, &error);
  if (info == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_mutex_lock (&self->lock);
  g_strfreev (self->models);
  self->models = g_strdupv (info->models);
  g_mutex_unlock (&self->lock);

  g_task_return_boolean (task, TRUE);
}

/**
 * aic_engine_refresh_async:
 * Asks the upstream for its models. The demo engine has nothing to ask.
 */
static void refresh_with_timeout (AicEngine           *self,
                                  guint                seconds,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);

void
aic_engine_refresh_async (AicEngine           *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (AIC_IS_ENGINE (self));

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    {
      g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

      g_task_set_source_tag (task, aic_engine_refresh_async);
      g_task_return_boolean (task, TRUE);
      return;
    }
  refresh_with_timeout (self, 10, cancellable, callback, user_data);
}

gboolean
aic_engine_refresh_finish (AicEngine     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * aic_engine_resolve_model:
 * @requested: (nullable): the model a client asked for
 * Returns: (transfer full): the model that will answer: always "demo" for
 *   the demo engine; else the one asked for, or the upstream's first
 */
char *
aic_engine_resolve_model (AicEngine  *self,
                          const char *requested)
{
  g_auto(GStrv) models = NULL;

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    return g_strdup ("demo");
  if (requested != NULL && requested[0] != '\0')
    return g_strdup (requested);
  if (self->default_model != NULL)
    return g_strdup (self->default_model);
  models = aic_engine_dup_models (self);
  return g_strdup (models[0] ? models[0] : "");
}

/* A server started before its upstream lists no models; a model can be
 * removed or renamed upstream while we run. So a reply first lists the
 * models again when it has none to choose from, and lists them once more
 * when the upstream says the model is not there. The listing is short:
 * a person or a job is waiting. */
#define RESOLVE_REFRESH_TIMEOUT_S 5

static void
listed_for_resolve_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicEngine *self = AIC_ENGINE (object);
  g_autoptr(GError) error = NULL;
  g_autofree char *model = NULL;

  if (!aic_engine_refresh_finish (self, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  model = aic_engine_resolve_model (self, NULL);
  if (model[0] == '\0')
    {
      g_task_return_new_error (task, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                               "No model was named, and the upstream listed none.");
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&model), g_free);
}

/**
 * aic_engine_resolve_model_async:
 * @requested: (nullable): the model a client asked for
 *
 * Like aic_engine_resolve_model(), but when no model is named and none is
 * known yet (the upstream was not there when the server started), the
 * upstream is asked for its models first, with a short timeout. Fails
 * with the listing's error (%AIC_ERROR_UNREACHABLE when nothing answers),
 * or %AIC_ERROR_INVALID_ARGUMENT when the upstream lists no model.
 */
void
aic_engine_resolve_model_async (AicEngine           *self,
                                const char          *requested,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *model = NULL;

  g_return_if_fail (AIC_IS_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_engine_resolve_model_async);

  model = aic_engine_resolve_model (self, requested);
  if (model[0] != '\0')
    {
      g_task_return_pointer (task, g_steal_pointer (&model), g_free);
      return;
    }
  refresh_with_timeout (self, RESOLVE_REFRESH_TIMEOUT_S, cancellable, listed_for_resolve_cb, g_steal_pointer (&task));
}

/**
 * aic_engine_resolve_model_finish:
 * Returns: (transfer full): the model, never empty; %NULL on error
 */
char *
aic_engine_resolve_model_finish (AicEngine     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * aic_engine_set_demo_delay:
 * The demo engine's pause between tokens; 30 ms reads like a person
 * typing fast. Tests and benchmarks shorten it.
 */
void
aic_engine_set_demo_delay (AicEngine *self,
                           guint      milliseconds)
{
  g_return_if_fail (AIC_IS_ENGINE (self));
  self->demo_delay_ms = milliseconds;
}

guint
aic_engine_get_demo_delay (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), 0);
  return self->demo_delay_ms;
}

void
aic_engine_reply_free (AicEngineReply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->model);
  g_free (reply->finish_reason);
  g_free (reply);
}

static AicEngineReply *
new_reply (const char *model,
           const char *finish_reason)
{
  AicEngineReply *reply = g_new0 (AicEngineReply, 1);

  reply->model = g_strdup (model);
  reply->finish_reason = g_strdup (finish_reason);
  reply->prompt_tokens = -1;
  reply->completion_tokens = -1;
  return reply;
}

/* ---- demo engine: offline, deterministic, and honest about it ---- */

typedef struct _DemoPacer DemoPacer;

typedef struct
{
  char               *text;        /* the reply, cut into pieces as it goes */
  gsize               pos;         /* where the next piece starts */
  guint               next;        /* pieces sent */
  guint               delay_ms;
  DemoPacer          *pacer;       /* while a token is due */
  GList               link;        /* in the pacer's queue; data is the task */
  gint64              due;         /* monotonic µs */
  AicEngineTokenFunc  on_token;
  gpointer            token_data;
  GCancellable       *cancellable;
  gulong              cancel_handler;
  gint64              prompt_tokens;
} DemoState;

static void
demo_state_free (DemoState *state)
{
  g_assert (state->pacer == NULL && state->cancel_handler == 0);
  g_clear_object (&state->cancellable);
  g_free (state->text);
  g_free (state);
}

/* One timer for every demo reply on a main context, not one each: a
 * GMainContext prepares and checks each of its sources on every
 * iteration, so with a thousand replies a timer each made the cost of a
 * token grow with the number of replies. The queue holds the replies
 * (tasks, with a reference) in the order their next token is due. */
struct _DemoPacer
{
  GSource  source;
  GQueue   queue;
};

static GMutex      pacers_lock;
static GHashTable *pacers;         /* GMainContext → DemoPacer */

static gboolean demo_tick (GTask *task);

static void
pacer_update (DemoPacer *pacer)
{
  if (pacer->queue.head != NULL)
    {
      DemoState *state = g_task_get_task_data (pacer->queue.head->data);

      g_source_set_ready_time (&pacer->source, state->due);
      return;
    }
  /* Nothing due: the context keeps no timer of ours. */
  g_mutex_lock (&pacers_lock);
  g_hash_table_remove (pacers, g_source_get_context (&pacer->source));
  g_mutex_unlock (&pacers_lock);
  g_source_destroy (&pacer->source);
}

/* How early a token may go so that it shares a wakeup with others: a
 * twentieth of the delay, at most 10 ms. Every main loop iteration costs
 * time in proportion to the streams open (libsoup keeps a source for
 * each paused response), so with ten thousand streams a wakeup per token
 * was most of the cost of a token. Each reply keeps its own schedule:
 * tokens go at most this much early, never drifting. */
static gint64
pacer_slack (DemoState *state)
{
  return MIN ((gint64) state->delay_ms * 1000 / 20, 10 * 1000);
}

static void
pacer_push (DemoPacer *pacer,
            GTask     *task,
            gint64     now)
{
  DemoState *state = g_task_get_task_data (task);
  GList *after = pacer->queue.tail;
  gint64 delay = (gint64) state->delay_ms * 1000;

  /* On its schedule; when the loop was late, a delay from now. */
  state->due = state->due + delay > now ? state->due + delay : now + delay;
  state->pacer = pacer;
  state->link.data = task;
  /* From the end: with one delay for all, that is where it goes. */
  while (after != NULL && ((DemoState *) g_task_get_task_data (after->data))->due > state->due)
    after = after->prev;
  if (after == NULL)
    g_queue_push_head_link (&pacer->queue, &state->link);
  else
    g_queue_insert_after_link (&pacer->queue, after, &state->link);
}

static gboolean
pacer_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  DemoPacer *pacer = (DemoPacer *) source;
  gint64 now = g_source_get_time (source);

  /* Tokens pushed back meanwhile are due a delay later: never again in
   * this loop. */
  while (pacer->queue.head != NULL &&
         ((DemoState *) g_task_get_task_data (pacer->queue.head->data))->due <=
           now + pacer_slack (g_task_get_task_data (pacer->queue.head->data)))
    {
      GTask *task = pacer->queue.head->data;
      DemoState *state = g_task_get_task_data (task);

      g_queue_unlink (&pacer->queue, &state->link);
      state->pacer = NULL;
      if (demo_tick (task))
        pacer_push (pacer, task, now);
      else
        g_object_unref (task);
    }
  pacer_update (pacer);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs pacer_funcs = { NULL, NULL, pacer_dispatch, NULL, NULL, NULL };

/* Takes a reference on @task until its reply ends or stops. */
static void
pacer_add (GTask *task)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  DemoPacer *pacer;

  g_mutex_lock (&pacers_lock);
  if (pacers == NULL)
    pacers = g_hash_table_new (NULL, NULL);
  pacer = g_hash_table_lookup (pacers, context);
  if (pacer == NULL)
    {
      pacer = (DemoPacer *) g_source_new (&pacer_funcs, sizeof (DemoPacer));
      g_source_set_static_name (&pacer->source, "[aic] demo engine pacer");
      g_hash_table_insert (pacers, context, pacer);
      g_source_attach (&pacer->source, context);
      g_source_unref (&pacer->source);   /* the context holds it while attached */
    }
  g_mutex_unlock (&pacers_lock);
  pacer_push (pacer, g_object_ref (task), g_source_get_time (&pacer->source));
  pacer_update (pacer);
}

/* Takes @task out of its pacer, and drops the pacer's reference. */
static void
pacer_remove (GTask *task)
{
  DemoState *state = g_task_get_task_data (task);
  DemoPacer *pacer = state->pacer;

  g_queue_unlink (&pacer->queue, &state->link);
  state->pacer = NULL;
  pacer_update (pacer);
  g_object_unref (task);
}

static const char *
last_user_text (GPtrArray *turns)
{
  for (guint i = turns->len; i >= 2; i -= 2)
    if (g_str_equal (g_ptr_array_index (turns, i - 2), "user"))
      return g_ptr_array_index (turns, i - 1);
  return "";
}

/* The end of the word-sized piece of text starting at @p, keeping its
 * leading spaces, the way model tokens look. */
static char *
piece_end (char *p)
{
  while (*p == ' ' || *p == '\n')
    p++;
  while (*p != '\0' && *p != ' ' && *p != '\n')
    p = g_utf8_next_char (p);
  return p;
}

static char *
demo_reply_text (GPtrArray *turns)
{
  g_autofree char *quoted = NULL;
  const char *said = last_user_text (turns);
  glong len = g_utf8_strlen (said, -1);

  if (len > 200)
    {
      g_autofree char *head = g_utf8_substring (said, 0, 200);
      quoted = g_strconcat (head, "…", NULL);
    }
  else
    quoted = g_strdup (said);

  /* Not translated: it is what the "model" answers, like any model's text. */
  return g_strdup_printf ("**This is the demo engine**, not a language model: its answers are canned. "
                          "Connect a real provider in Preferences to talk with a model.\n\n"
                          "You wrote: “%s”\n\n"
                          "Replies are shown as Markdown while they arrive, for example:\n\n"
                          "- a list with *emphasis* and `inline code`\n"
                          "- a [link](https://gnome.org)\n\n"
                          "```c\n"
                          "int\nmain (void)\n{\n  return 0;\n}\n"
                          "```\n",
                          quoted);
}

static void
demo_disconnect (DemoState *state)
{
  if (state->cancel_handler != 0)
    g_cancellable_disconnect (state->cancellable, state->cancel_handler);
  state->cancel_handler = 0;
}

/* Sends the next token, or ends the reply; returns whether another is
 * due. */
static gboolean
demo_tick (GTask *task)
{
  DemoState *state = g_task_get_task_data (task);
  AicEngineReply *reply;

  if (state->text[state->pos] != '\0')
    {
      /* Cut in place, not copied: a reply's pieces cost nothing apart. */
      char *start = state->text + state->pos;
      char *end = piece_end (start);
      char saved = *end;

      *end = '\0';
      state->pos = end - state->text;
      state->next++;
      state->on_token (start, state->token_data);
      *end = saved;
      return TRUE;
    }

  demo_disconnect (state);
  reply = new_reply ("demo", "stop");
  reply->prompt_tokens = state->prompt_tokens;
  reply->completion_tokens = state->next;
  g_task_return_pointer (task, reply, (GDestroyNotify) aic_engine_reply_free);
  return FALSE;
}

/* In the task's context: stop the timer and say "cancelled". */
static gboolean
demo_stop (gpointer data)
{
  g_autoptr(GTask) task = data;
  DemoState *state = g_task_get_task_data (task);

  if (state->pacer == NULL)
    return G_SOURCE_REMOVE;   /* finished meanwhile */
  pacer_remove (task);
  demo_disconnect (state);
  g_task_return_error_if_cancelled (task);
  return G_SOURCE_REMOVE;
}

static void
demo_cancelled (GCancellable *cancellable,
                GTask        *task)
{
  g_autoptr(GSource) idle = g_idle_source_new ();

  /* May run in another thread, or inside g_cancellable_connect(); and
   * disconnecting from inside this handler would deadlock. Go through an
   * idle in the task's context, where the timer lives. */
  g_source_set_callback (idle, demo_stop, g_object_ref (task), NULL);
  g_source_attach (idle, g_task_get_context (task));
}

static void
demo_chat (AicEngine          *self,
           GTask              *task,
           GPtrArray          *turns,
           AicEngineTokenFunc  on_token,
           gpointer            token_data)
{
  DemoState *state = g_new0 (DemoState, 1);
  GCancellable *cancellable = g_task_get_cancellable (task);

  state->text = demo_reply_text (turns);
  state->on_token = on_token;
  state->token_data = token_data;
  for (guint i = 1; i < turns->len; i += 2)
    state->prompt_tokens += 1 + (gint64) strlen (g_ptr_array_index (turns, i)) / 4;
  state->delay_ms = MAX (self->demo_delay_ms, 1);
  g_task_set_task_data (task, state, (GDestroyNotify) demo_state_free);

  pacer_add (task);
  if (cancellable != NULL)
    {
      state->cancellable = g_object_ref (cancellable);
      /* No reference for the handler: it is disconnected before the task
       * can finish. */
      state->cancel_handler = g_cancellable_connect (cancellable, G_CALLBACK (demo_cancelled), task, NULL);
    }
}

/* ---- openai and anthropic engines: the upstream, through core ---- */

typedef struct
{
  GPtrArray          *turns;
  char               *requested;   /* as the caller named it, or NULL */
  char               *model;       /* in use */
  gboolean            refreshed;
  gboolean            spoke;       /* tokens went out: too late to try again */
  AicEngineTokenFunc  on_token;
  gpointer            token_data;
} UpstreamState;

static void
upstream_state_free (UpstreamState *state)
{
  g_ptr_array_unref (state->turns);
  g_free (state->requested);
  g_free (state->model);
  g_free (state);
}

static void upstream_run (GTask *task);

/* Thread-safe: the list is swapped under the lock, and each caller's
 * callback runs in its own thread-default context. */
static void
refresh_with_timeout (AicEngine           *self,
                      guint                seconds,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(AicClient) client = new_client (self);

  g_task_set_source_tag (task, aic_engine_refresh_async);
  aic_client_set_timeout (client, seconds);
  aic_client_check_async (client, cancellable, refresh_cb, g_steal_pointer (&task));
}

static gboolean
engine_knows (AicEngine  *self,
              const char *model)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return g_strv_contains ((const char * const *) self->models, model);
}

static void
resolved_for_start_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UpstreamState *state = g_task_get_task_data (task);
  GError *error = NULL;

  g_free (state->model);
  state->model = aic_engine_resolve_model_finish (AIC_ENGINE (object), result, &error);
  if (state->model == NULL)
    {
      /* Unreachable stays unreachable: the caller may wait and try again. */
      g_task_return_error (task, error);
      return;
    }
  upstream_run (task);
}

static void
listed_after_not_found_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicEngine *self = AIC_ENGINE (object);
  UpstreamState *state = g_task_get_task_data (task);
  GError *first = g_object_steal_data (G_OBJECT (task), "aic-first-error");
  g_autofree char *again = NULL;

  if (g_task_return_error_if_cancelled (task))
    {
      g_error_free (first);
      return;
    }
  if (!aic_engine_refresh_finish (self, result, NULL))
    {
      g_task_return_error (task, first);
      return;
    }
  /* Worth a second try only if the list now offers something else: the
   * named model itself, or (none named) a first model that changed. */
  again = state->requested != NULL ? g_strdup (state->requested) : aic_engine_resolve_model (self, NULL);
  if (again[0] == '\0' ||
      (state->requested != NULL && !engine_knows (self, again)) ||
      (state->requested == NULL && g_str_equal (again, state->model)))
    {
      g_task_return_error (task, first);
      return;
    }
  g_error_free (first);
  g_free (state->model);
  state->model = g_steal_pointer (&again);
  upstream_run (task);
}

static void
upstream_token_cb (AicChatStream *stream,
                   const char    *text,
                   GTask         *task)
{
  UpstreamState *state = g_task_get_task_data (task);

  state->spoke = TRUE;
  state->on_token (text, state->token_data);
}

static void
upstream_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AicChatStream *stream = AIC_CHAT_STREAM (object);
  UpstreamState *state = g_task_get_task_data (task);
  AicEngine *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  AicEngineReply *reply;

  g_signal_handlers_disconnect_by_data (stream, task);
  if (!aic_chat_stream_run_finish (stream, result, &error))
    {
      if (g_error_matches (error, AIC_ERROR, AIC_ERROR_NOT_FOUND) && !state->refreshed && !state->spoke &&
          !g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          /* The model may be gone or renamed: list them again, once. */
          state->refreshed = TRUE;
          g_object_set_data_full (G_OBJECT (task), "aic-first-error", g_steal_pointer (&error),
                                  (GDestroyNotify) g_error_free);
          refresh_with_timeout (self, RESOLVE_REFRESH_TIMEOUT_S, g_task_get_cancellable (task),
                                listed_after_not_found_cb, g_object_ref (task));
          return;
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  reply = new_reply (aic_chat_stream_get_model (stream), aic_chat_stream_get_finish_reason (stream));
  reply->prompt_tokens = aic_chat_stream_get_prompt_tokens (stream);
  reply->completion_tokens = aic_chat_stream_get_completion_tokens (stream);
  g_task_return_pointer (task, reply, (GDestroyNotify) aic_engine_reply_free);
}

static void
upstream_run (GTask *task)
{
  AicEngine *self = g_task_get_source_object (task);
  UpstreamState *state = g_task_get_task_data (task);
  g_autoptr(AicClient) client = new_client (self);
  g_autoptr(AicChatStream) stream = aic_chat_stream_new (client);

  for (guint i = 0; i + 1 < state->turns->len; i += 2)
    aic_chat_stream_add_turn (stream, g_ptr_array_index (state->turns, i), g_ptr_array_index (state->turns, i + 1));
  aic_chat_stream_set_model (stream, state->model);
  g_signal_connect (stream, "token", G_CALLBACK (upstream_token_cb), task);
  aic_chat_stream_run_async (stream, g_task_get_cancellable (task), upstream_done_cb, g_object_ref (task));
}

static void
upstream_chat (AicEngine          *self,
               GTask              *task,
               GPtrArray          *turns,
               const char         *model,
               AicEngineTokenFunc  on_token,
               gpointer            token_data)
{
  UpstreamState *state = g_new0 (UpstreamState, 1);

  state->turns = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < turns->len; i++)
    g_ptr_array_add (state->turns, g_strdup (g_ptr_array_index (turns, i)));
  state->requested = model != NULL && model[0] != '\0' ? g_strdup (model) : NULL;
  state->model = aic_engine_resolve_model (self, model);
  state->on_token = on_token;
  state->token_data = token_data;
  g_task_set_task_data (task, state, (GDestroyNotify) upstream_state_free);

  if (state->model[0] == '\0')
    {
      aic_engine_resolve_model_async (self, NULL, g_task_get_cancellable (task),
                                      resolved_for_start_cb, g_object_ref (task));
      return;
    }
  upstream_run (task);
}

/**
 * aic_engine_chat_async:
 * @turns: (element-type utf8): role, content, role, content …
 * @model: (nullable): the model to use; %NULL for the engine's default
 *
 * Produces one reply. Cancelling stops the generation itself: the demo's
 * timer, or the upstream request. With no model named and none listed
 * yet, the upstream is asked for its models first; when it says the model
 * is not found (before any text came), it is asked once more. An upstream
 * that cannot be reached fails with %AIC_ERROR_UNREACHABLE, so that the
 * caller can wait and try again.
 */
void
aic_engine_chat_async (AicEngine           *self,
                       GPtrArray           *turns,
                       const char          *model,
                       AicEngineTokenFunc   on_token,
                       gpointer             token_data,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (AIC_IS_ENGINE (self));
  g_return_if_fail (turns != NULL && on_token != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_engine_chat_async);
  g_task_set_return_on_cancel (task, FALSE);

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    demo_chat (self, task, turns, on_token, token_data);
  else
    upstream_chat (self, task, turns, model, on_token, token_data);
}

AicEngineReply *
aic_engine_chat_finish (AicEngine     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * aic_engine_new_upstream_client:
 * Returns: (transfer full) (nullable): a client for the upstream (in its
 *   own dialect: see aic_client_get_connection()), or %NULL for the demo
 *   engine
 */
AicClient *
aic_engine_new_upstream_client (AicEngine *self)
{
  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  if (self->kind == AIC_ENGINE_KIND_DEMO)
    return NULL;
  return new_client (self);
}

/**
 * aic_engine_new_speech_client:
 * Returns: (transfer full) (nullable): an OpenAI-compatible client for
 *   /audio/transcriptions and /audio/speech: the speech server when one
 *   was set, else the upstream when it is OpenAI-compatible, else %NULL
 */
AicClient *
aic_engine_new_speech_client (AicEngine *self)
{
  g_autoptr(AicConnection) connection = NULL;

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  if (self->speech_url != NULL)
    {
      connection = aic_connection_new (NULL, "speech", AIC_CONNECTION_KIND_OPENAI, self->speech_url);
      return aic_client_new (connection, self->speech_key);
    }
  if (self->kind != AIC_ENGINE_KIND_OPENAI)
    return NULL;
  return new_client (self);
}

/**
 * aic_engine_dup_secrets:
 *
 * The keys this engine holds (upstream and speech), for the places that
 * must never show or keep them.
 *
 * Returns: (transfer full): a %NULL-terminated array, perhaps empty
 */
char **
aic_engine_dup_secrets (AicEngine *self)
{
  GPtrArray *secrets = g_ptr_array_new ();

  g_return_val_if_fail (AIC_IS_ENGINE (self), NULL);

  if (self->api_key != NULL && self->api_key[0] != '\0')
    g_ptr_array_add (secrets, g_strdup (self->api_key));
  if (self->speech_key != NULL && self->speech_key[0] != '\0')
    g_ptr_array_add (secrets, g_strdup (self->speech_key));
  g_ptr_array_add (secrets, NULL);
  return (char **) g_ptr_array_free (secrets, FALSE);
}
