/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-error.h"
#include "aic-job-manager.h"
#include "aic-source.h"

/* The document jobs of one owner ("app" or "cli"): the list the Documents
 * view shows, kept in the store, and followed to their end.
 *
 * Every change to a job is saved (coalesced to one write per main-loop
 * turn), so a restarted app or `--resume` finds each job where it was:
 * jobs the server had accepted are followed again; a job whose upload
 * never got an answer is sent again with the same Idempotency-Key, which
 * the server recognises. A server that cannot be reached pauses a job; a
 * submission is retried with backoff; nothing is failed for being
 * offline. */

#define RETRY_INITIAL_MS 1000
#define RETRY_MAX_MS 15000

struct _AicJobManager
{
  GObject       parent_instance;

  AicStore     *store;
  char         *owner;
  AicClient    *client;
  AicJobClient *job_client;
  GListStore   *jobs;
  GHashTable   *tracked;        /* job id → Tracked, for jobs being worked on */
};

G_DEFINE_FINAL_TYPE (AicJobManager, aic_job_manager, G_TYPE_OBJECT)

enum {
  JOB_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A job in hand. Reference counted: callbacks in flight hold one. */
typedef struct
{
  AicJobManager *manager;       /* weak */
  AicJob        *job;
  GCancellable  *cancellable;
  gulong         notify_id;
  guint          save_source;
  guint          retry_source;
  guint          retry_ms;
  GBytes        *document;
  char          *content_type;
} Tracked;

static void
tracked_clear (Tracked *tracked)
{
  g_clear_weak_pointer (&tracked->manager);
  g_clear_object (&tracked->job);
  g_clear_object (&tracked->cancellable);
  g_clear_pointer (&tracked->document, g_bytes_unref);
  g_free (tracked->content_type);
}

static void
tracked_release (Tracked *tracked)
{
  g_rc_box_release_full (tracked, (GDestroyNotify) tracked_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tracked, tracked_release)

/* Whether a callback should go on: not once the job was let go. */
static gboolean
tracked_alive (Tracked *tracked)
{
  return tracked->manager != NULL && !g_cancellable_is_cancelled (tracked->cancellable);
}

static void
save_job (AicJobManager *self,
          AicJob        *job)
{
  g_autoptr(GError) error = NULL;

  if (!aic_store_save_job (self->store, job, &error))
    g_warning ("Job %s could not be saved: %s", aic_job_get_id (job), error->message);
}

static gboolean
save_cb (gpointer data)
{
  Tracked *tracked = data;

  tracked->save_source = 0;
  if (tracked->manager != NULL)
    save_job (tracked->manager, tracked->job);
  return G_SOURCE_REMOVE;
}

static void
job_notify_cb (AicJob     *job,
               GParamSpec *pspec,
               Tracked    *tracked)
{
  if (tracked->save_source == 0)
    tracked->save_source = aic_idle_add (G_PRIORITY_DEFAULT, save_cb, tracked);
}

/* Stops all work on a job; whatever is in flight finds it cancelled. */
static void
untrack_destroy (gpointer data)
{
  Tracked *tracked = data;

  g_cancellable_cancel (tracked->cancellable);
  g_clear_handle_id (&tracked->retry_source, aic_source_remove);
  if (tracked->save_source != 0)
    {
      g_clear_handle_id (&tracked->save_source, aic_source_remove);
      if (tracked->manager != NULL)
        save_job (tracked->manager, tracked->job);
    }
  g_clear_signal_handler (&tracked->notify_id, tracked->job);
  tracked_release (tracked);
}

static void
untrack (AicJobManager *self,
         AicJob        *job)
{
  g_hash_table_remove (self->tracked, aic_job_get_id (job));
}

static Tracked *
track (AicJobManager *self,
       AicJob        *job)
{
  Tracked *tracked = g_rc_box_new0 (Tracked);

  g_set_weak_pointer (&tracked->manager, self);
  tracked->job = g_object_ref (job);
  tracked->cancellable = g_cancellable_new ();
  tracked->retry_ms = RETRY_INITIAL_MS;
  tracked->notify_id = g_signal_connect (job, "notify", G_CALLBACK (job_notify_cb), tracked);
  g_hash_table_replace (self->tracked, g_strdup (aic_job_get_id (job)), tracked);
  return tracked;
}

static void
finish_job (AicJobManager *self,
            AicJob        *job)
{
  g_autoptr(AicJob) hold = g_object_ref (job);

  untrack (self, job);
  save_job (self, job);
  g_signal_emit (self, signals[JOB_FINISHED], 0, job);
}

static void start_follow (Tracked *tracked);
static void start_submission (Tracked *tracked);

/* Offline, a busy server, a server that had a problem: worth trying again. */
static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, AIC_ERROR, AIC_ERROR_UNREACHABLE) ||
         g_error_matches (error, AIC_ERROR, AIC_ERROR_TIMEOUT) ||
         g_error_matches (error, AIC_ERROR, AIC_ERROR_SERVER) ||
         g_error_matches (error, AIC_ERROR, AIC_ERROR_BUSY);
}

static void
followed_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(Tracked) tracked = user_data;
  g_autoptr(GError) error = NULL;

  aic_job_client_follow_finish (AIC_JOB_CLIENT (object), result, &error);
  if (!tracked_alive (tracked))
    return;
  if (error != NULL)
    aic_job_fail (tracked->job, error->message);
  finish_job (tracked->manager, tracked->job);
}

static void
start_follow (Tracked *tracked)
{
  aic_job_client_follow_async (tracked->manager->job_client, tracked->job, tracked->cancellable,
                               followed_cb, g_rc_box_acquire (tracked));
}

static gboolean
retry_submission_cb (gpointer data)
{
  Tracked *tracked = data;

  tracked->retry_source = 0;
  start_submission (tracked);
  return G_SOURCE_REMOVE;
}

static void
submitted_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Tracked) tracked = user_data;
  g_autoptr(GError) error = NULL;

  aic_job_client_submit_finish (AIC_JOB_CLIENT (object), result, &error);
  if (!tracked_alive (tracked))
    return;

  if (error == NULL)
    {
      g_clear_pointer (&tracked->document, g_bytes_unref);
      save_job (tracked->manager, tracked->job);
      start_follow (tracked);
      return;
    }

  if (is_transient (error))
    {
      aic_job_set_paused (tracked->job, error->message);
      tracked->retry_source = aic_timeout_add (tracked->retry_ms, retry_submission_cb, tracked);
      tracked->retry_ms = MIN (tracked->retry_ms * 2, RETRY_MAX_MS);
      return;
    }

  aic_job_fail (tracked->job, error->message);
  finish_job (tracked->manager, tracked->job);
}

static void
send_document (Tracked *tracked)
{
  aic_job_client_submit_async (tracked->manager->job_client, tracked->job, tracked->document,
                               tracked->content_type, aic_job_get_instructions (tracked->job), tracked->cancellable,
                               submitted_cb, g_rc_box_acquire (tracked));
}

static void
loaded_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Tracked) tracked = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_file_load_bytes_finish (G_FILE (object), result, NULL, &error);

  if (!tracked_alive (tracked))
    return;
  if (bytes == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("“%s” could not be read: %s"),
                                               aic_job_get_filename (tracked->job), error->message);
      aic_job_fail (tracked->job, text);
      finish_job (tracked->manager, tracked->job);
      return;
    }

  tracked->document = g_steal_pointer (&bytes);
  g_free (tracked->content_type);
  tracked->content_type = aic_job_guess_content_type (aic_job_get_filename (tracked->job), tracked->document);
  send_document (tracked);
}

static void
start_submission (Tracked *tracked)
{
  g_autoptr(GFile) file = NULL;
  const char *path = aic_job_get_source_path (tracked->job);

  if (tracked->document != NULL)
    {
      send_document (tracked);
      return;
    }
  if (path == NULL)
    {
      aic_job_fail (tracked->job, _("The document was not sent before the app stopped, and where it came from is unknown."));
      finish_job (tracked->manager, tracked->job);
      return;
    }
  file = g_file_new_for_commandline_arg (path);
  g_file_load_bytes_async (file, tracked->cancellable, loaded_cb, g_rc_box_acquire (tracked));
}

static gboolean
belongs_to_client (AicJobManager *self,
                   AicJob        *job)
{
  return self->client != NULL &&
         g_strcmp0 (aic_job_get_connection_id (job),
                    aic_connection_get_id (aic_client_get_connection (self->client))) == 0;
}

/* Takes up every unfinished job of the current connection. */
static void
resume_all (AicJobManager *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->jobs));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(AicJob) job = g_list_model_get_item (G_LIST_MODEL (self->jobs), i);
      Tracked *tracked;

      if (aic_job_is_finished (job) || g_hash_table_contains (self->tracked, aic_job_get_id (job)))
        continue;
      /* Added before any connection was ready: the first one takes it. */
      if (self->client != NULL && aic_job_get_connection_id (job) == NULL && aic_job_get_remote_id (job) == NULL)
        aic_job_set_connection_id (job, aic_connection_get_id (aic_client_get_connection (self->client)));
      if (self->client == NULL)
        {
          aic_job_set_paused (job, _("Waiting for a connection to the server."));
          continue;
        }
      if (!belongs_to_client (self, job))
        {
          aic_job_set_paused (job, _("This document went to another connection; choose that connection to follow it."));
          continue;
        }
      aic_job_set_paused (job, NULL);
      tracked = track (self, job);
      if (aic_job_get_remote_id (job) == NULL)
        start_submission (tracked);
      else
        start_follow (tracked);
    }
}

static void
aic_job_manager_dispose (GObject *object)
{
  AicJobManager *self = AIC_JOB_MANAGER (object);

  g_clear_pointer (&self->tracked, g_hash_table_unref);
  g_clear_object (&self->jobs);
  g_clear_object (&self->job_client);
  g_clear_object (&self->client);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (aic_job_manager_parent_class)->dispose (object);
}

static void
aic_job_manager_finalize (GObject *object)
{
  AicJobManager *self = AIC_JOB_MANAGER (object);

  g_free (self->owner);

  G_OBJECT_CLASS (aic_job_manager_parent_class)->finalize (object);
}

static void
aic_job_manager_class_init (AicJobManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_job_manager_dispose;
  object_class->finalize = aic_job_manager_finalize;

  /**
   * AicJobManager::job-finished:
   * @job: a job that is done, failed or cancelled
   */
  signals[JOB_FINISHED] =
    g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, AIC_TYPE_JOB);
}

static void
aic_job_manager_init (AicJobManager *self)
{
  self->jobs = g_list_store_new (AIC_TYPE_JOB);
  self->tracked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, untrack_destroy);
}

/**
 * aic_job_manager_new:
 * @owner: "app" or "cli": whose jobs these are in @store
 */
AicJobManager *
aic_job_manager_new (AicStore   *store,
                     const char *owner)
{
  AicJobManager *self;

  g_return_val_if_fail (AIC_IS_STORE (store), NULL);
  g_return_val_if_fail (owner != NULL, NULL);

  self = g_object_new (AIC_TYPE_JOB_MANAGER, NULL);
  self->store = g_object_ref (store);
  self->owner = g_strdup (owner);
  return self;
}

/**
 * aic_job_manager_set_client:
 * @client: (nullable): the connection to send and follow jobs with
 *
 * Work in hand stops; the new connection's unfinished jobs are taken up.
 */
void
aic_job_manager_set_client (AicJobManager *self,
                            AicClient     *client)
{
  g_return_if_fail (AIC_IS_JOB_MANAGER (self));

  g_hash_table_remove_all (self->tracked);
  g_set_object (&self->client, client);
  g_clear_object (&self->job_client);
  if (client != NULL)
    self->job_client = aic_job_client_new (client);
  resume_all (self);
}

AicJobClient *
aic_job_manager_get_job_client (AicJobManager *self)
{
  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), NULL);
  return self->job_client;
}

/**
 * aic_job_manager_get_jobs:
 * Returns: (transfer none): the jobs, newest first
 */
GListModel *
aic_job_manager_get_jobs (AicJobManager *self)
{
  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), NULL);
  return G_LIST_MODEL (self->jobs);
}

/**
 * aic_job_manager_load:
 * Reads the owner's saved jobs into the list (all, or only unfinished
 * ones) and takes up the unfinished ones of the current connection.
 */
gboolean
aic_job_manager_load (AicJobManager  *self,
                      gboolean        unfinished_only,
                      GError        **error)
{
  g_autoptr(GPtrArray) jobs = NULL;

  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), FALSE);

  jobs = aic_store_list_jobs (self->store, self->owner, unfinished_only, error);
  if (jobs == NULL)
    return FALSE;
  g_list_store_remove_all (self->jobs);
  g_list_store_splice (self->jobs, 0, 0, jobs->pdata, jobs->len);
  resume_all (self);
  return TRUE;
}

/**
 * aic_job_manager_read_result:
 * Reads in a saved job's result from the manager's store, for showing it
 * (aic_store_read_job_result()).
 */
gboolean
aic_job_manager_read_result (AicJobManager  *self,
                             AicJob         *job,
                             GError        **error)
{
  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), FALSE);

  return aic_store_read_job_result (self->store, job, error);
}

/**
 * aic_job_manager_submit_file:
 * @instructions: (nullable): what the reader wants from the summary
 *
 * Adds a job for @file at the top of the list, saves it and sends it.
 * Errors (an unreadable file, a refused document) end up on the job, in
 * words.
 * Returns: (transfer none): the new job
 */
AicJob *
aic_job_manager_submit_file (AicJobManager *self,
                             GFile         *file,
                             const char    *instructions)
{
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autoptr(AicJob) job = NULL;
  Tracked *tracked;

  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  name = g_file_get_basename (file);
  path = g_file_get_path (file);
  if (path == NULL)
    path = g_file_get_uri (file);
  job = aic_job_new (name);
  aic_job_set_owner (job, self->owner);
  aic_job_set_source_path (job, path);
  aic_job_set_instructions (job, instructions);
  if (self->client != NULL)
    aic_job_set_connection_id (job, aic_connection_get_id (aic_client_get_connection (self->client)));
  g_list_store_insert (self->jobs, 0, job);
  save_job (self, job);

  if (self->client == NULL)
    {
      /* Sent as soon as a connection is set. */
      aic_job_set_paused (job, _("Waiting for a connection to the server."));
      return job;
    }

  tracked = track (self, job);
  start_submission (tracked);
  return job;
}

static void
cancelled_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(AicJob) job = user_data;
  g_autoptr(GError) error = NULL;
  AicJobManager *self = g_object_get_data (G_OBJECT (job), "aic-manager");

  if (!aic_job_client_cancel_finish (AIC_JOB_CLIENT (object), result, &error))
    {
      /* The job is cancelled here either way; say that the server may go on. */
      g_autofree char *text = g_strdup_printf (_("Cancelled here, but the server could not be told: %s"),
                                               error->message);
      aic_job_set_cancelled (job);
      aic_job_set_paused (job, NULL);
      g_debug ("%s", text);
    }
  if (self != NULL)
    {
      g_object_set_data (G_OBJECT (job), "aic-manager", NULL);
      finish_job (self, job);
    }
}

/**
 * aic_job_manager_cancel:
 * Stops following @job and asks the server to cancel it.
 */
void
aic_job_manager_cancel (AicJobManager *self,
                        AicJob        *job)
{
  g_return_if_fail (AIC_IS_JOB_MANAGER (self));
  g_return_if_fail (AIC_IS_JOB (job));

  if (aic_job_is_finished (job))
    return;
  untrack (self, job);
  if (self->job_client == NULL)
    {
      aic_job_set_cancelled (job);
      finish_job (self, job);
      return;
    }
  g_object_set_data (G_OBJECT (job), "aic-manager", self);
  aic_job_client_cancel_async (self->job_client, job, NULL, cancelled_cb, g_object_ref (job));
}

/**
 * aic_job_manager_remove:
 * Removes a finished job from the list and the store.
 */
gboolean
aic_job_manager_remove (AicJobManager  *self,
                        AicJob         *job,
                        GError        **error)
{
  guint position;

  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), FALSE);

  if (!aic_job_is_finished (job))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("Cancel the job before removing it."));
      return FALSE;
    }
  if (!aic_store_delete_job (self->store, aic_job_get_id (job), error))
    return FALSE;
  if (g_list_store_find (self->jobs, job, &position))
    g_list_store_remove (self->jobs, position);
  return TRUE;
}

/* Jobs being sent or followed now. */
guint
aic_job_manager_get_n_active (AicJobManager *self)
{
  g_return_val_if_fail (AIC_IS_JOB_MANAGER (self), 0);
  return g_hash_table_size (self->tracked);
}
