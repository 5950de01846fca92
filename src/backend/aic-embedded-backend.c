/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include "aic-embedded-backend.h"
#include "aic-server.h"
#include "aic-token.h"

/* The console backend running inside the app: the same AicServer as
 * ai-console-server, on 127.0.0.1 with a random port and a random token
 * that lives only in memory. It has a thread and GMainContext of its own,
 * so that the backend's request handling never waits on the UI and the
 * UI never waits on it. */
struct _AicEmbeddedBackend
{
  GObject       parent_instance;

  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;

  /* Written by the backend thread before the start task returns, read-only
   * afterwards. */
  char         *url;
  char         *token;
  char         *engine_label;
  gboolean      demo;
  gboolean      started;       /* main thread only: set by start_finish() */

  /* Only for the start-up hand-over; the backend thread owns the engine
   * from then on. */
  AicEngine    *engine;
  char         *data_dir;
  GTask        *start_task;
};

G_DEFINE_FINAL_TYPE (AicEmbeddedBackend, aic_embedded_backend, G_TYPE_OBJECT)

static void
refresh_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *pending = user_data;
  g_autoptr(GError) error = NULL;

  *pending = FALSE;
  if (!aic_engine_refresh_finish (AIC_ENGINE (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("The built-in backend could not list the upstream’s models: %s", error->message);
}

static gpointer
backend_thread (gpointer data)
{
  AicEmbeddedBackend *self = data;
  g_autoptr(AicEngine) engine = g_steal_pointer (&self->engine);
  g_autoptr(AicServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GTask *task = g_steal_pointer (&self->start_task);
  gboolean refresh_pending = TRUE;

  g_main_context_push_thread_default (self->context);

  /* Each client holds a descriptor, in the app's process here. */
  aic_server_raise_fd_limit ();
  server = aic_server_new (engine, self->token);
  /* Jobs outlive the app: the built-in backend keeps them on disk. */
  if (!aic_server_open_jobs (server, self->data_dir, &error))
    {
      g_warning ("The built-in backend keeps document jobs in memory only: %s", error->message);
      g_clear_error (&error);
    }
  if (!aic_server_open_runs (server, self->data_dir, NULL, &error))
    {
      g_warning ("The built-in backend keeps agent runs in memory only: %s", error->message);
      g_clear_error (&error);
    }
  if (!aic_server_listen (server, "127.0.0.1", 0, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      g_clear_object (&server);
      g_main_context_pop_thread_default (self->context);
      return NULL;
    }

  self->url = aic_server_dup_url (server);
  self->engine_label = aic_engine_dup_label (engine);
  self->demo = aic_engine_get_kind (engine) == AIC_ENGINE_KIND_DEMO;
  g_debug ("Built-in backend listening on %s (%s)", self->url, self->engine_label);

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);

  aic_engine_refresh_async (engine, cancellable, refresh_cb, &refresh_pending);
  g_main_loop_run (self->loop);

  /* Let nothing outlive the thread: stop the model request, and run the
   * context until its callback has been. */
  g_cancellable_cancel (cancellable);
  while (refresh_pending)
    g_main_context_iteration (self->context, TRUE);
  aic_server_disconnect (server);
  /* Timers belong to this thread's context: they must go while it is
   * still the thread default. */
  g_clear_object (&server);
  /* A client taken just before the stop still has a read under way on its
   * connection, cancelled by the server's finalize: its callback, which
   * lets the connection go, runs in this context. A bounded number of
   * rounds, should anything keep rearming itself. */
  for (guint i = 0; i < 100 && g_main_context_iteration (self->context, FALSE); i++)
    ;
  g_clear_object (&engine);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static void
aic_embedded_backend_dispose (GObject *object)
{
  aic_embedded_backend_stop (AIC_EMBEDDED_BACKEND (object));

  G_OBJECT_CLASS (aic_embedded_backend_parent_class)->dispose (object);
}

static void
aic_embedded_backend_finalize (GObject *object)
{
  AicEmbeddedBackend *self = (AicEmbeddedBackend *)object;

  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->engine_label, g_free);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->data_dir, g_free);

  G_OBJECT_CLASS (aic_embedded_backend_parent_class)->finalize (object);
}

static void
aic_embedded_backend_class_init (AicEmbeddedBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_embedded_backend_dispose;
  object_class->finalize = aic_embedded_backend_finalize;
}

static void
aic_embedded_backend_init (AicEmbeddedBackend *self)
{
}

/**
 * aic_embedded_backend_new:
 * @data_dir: where the backend keeps its jobs and runs; every backend
 *   started there takes up what an earlier one left
 */
AicEmbeddedBackend *
aic_embedded_backend_new (const char *data_dir)
{
  AicEmbeddedBackend *self;

  g_return_val_if_fail (data_dir != NULL, NULL);

  self = g_object_new (AIC_TYPE_EMBEDDED_BACKEND, NULL);
  self->data_dir = g_strdup (data_dir);
  return self;
}

/**
 * aic_embedded_backend_start_async:
 * @engine: what answers: the user's provider, a local server, or the
 *   demo; from here on it belongs to the backend's thread
 */
void
aic_embedded_backend_start_async (AicEmbeddedBackend  *self,
                                  AicEngine           *engine,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (AIC_IS_EMBEDDED_BACKEND (self));
  g_return_if_fail (AIC_IS_ENGINE (engine));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_embedded_backend_start_async);

  if (self->context != NULL)
    {
      /* One start per object: a stopped backend is replaced, not revived. */
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               "The built-in backend was started before");
      return;
    }

  self->engine = g_object_ref (engine);
  self->token = aic_token_generate ();
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->start_task = g_steal_pointer (&task);
  self->thread = g_thread_new ("aic-backend", backend_thread, self);
}

gboolean
aic_embedded_backend_start_finish (AicEmbeddedBackend  *self,
                                   GAsyncResult        *result,
                                   GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  /* The backend thread wrote url, label and demo before returning the
   * task; from here on the main thread may read them. */
  self->started = g_task_propagate_boolean (G_TASK (result), error);
  return self->started;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/**
 * aic_embedded_backend_stop:
 * Stops serving and joins the backend thread. Safe to call twice.
 */
void
aic_embedded_backend_stop (AicEmbeddedBackend *self)
{
  g_return_if_fail (AIC_IS_EMBEDDED_BACKEND (self));

  if (self->thread == NULL)
    return;

  g_main_context_invoke (self->context, quit_loop, self->loop);
  g_thread_join (g_steal_pointer (&self->thread));
  self->started = FALSE;
}

gboolean
aic_embedded_backend_is_running (AicEmbeddedBackend *self)
{
  g_return_val_if_fail (AIC_IS_EMBEDDED_BACKEND (self), FALSE);
  return self->started && self->thread != NULL;
}

const char *
aic_embedded_backend_get_url (AicEmbeddedBackend *self)
{
  g_return_val_if_fail (AIC_IS_EMBEDDED_BACKEND (self), NULL);
  return self->url;
}

const char *
aic_embedded_backend_get_token (AicEmbeddedBackend *self)
{
  g_return_val_if_fail (AIC_IS_EMBEDDED_BACKEND (self), NULL);
  return self->token;
}

const char *
aic_embedded_backend_get_engine_label (AicEmbeddedBackend *self)
{
  g_return_val_if_fail (AIC_IS_EMBEDDED_BACKEND (self), NULL);
  return self->engine_label;
}

gboolean
aic_embedded_backend_is_demo (AicEmbeddedBackend *self)
{
  g_return_val_if_fail (AIC_IS_EMBEDDED_BACKEND (self), FALSE);
  return self->demo;
}
