/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-document.h"
#include "aic-error.h"
#include "aic-job-queue.h"
#include "aic-json.h"
#include "aic-source.h"
#include "aic-summary.h"
#include "aic-summary-private.h"

/* Runs document jobs: at most n_workers at once, the rest wait in order.
 *
 * A job goes extracting → chunking → summarizing (part by part) →
 * combining, and every step is committed to the job store before it is
 * announced through ::job-changed, so what a client reads is what a
 * restart would find. Blocking work (PDF text, splitting) runs in a GTask
 * thread; model calls are asynchronous on the server's context; the demo
 * engine paces its steps so progress can be watched. Cancelling stops the
 * work in hand, including an upstream request. */

#define DEFAULT_PART_CHARS 12000
#define DEMO_SENTENCES_PER_PART 8
#define DEMO_MAX_TOTAL_MS 10000
#define DERIVED_DELAY G_MAXUINT
/* A model server that is not there yet (started after us, restarting,
 * busy) is waited for: 1 s, 2 s, 4 s … up to 30 s apart, for at most
 * three minutes in a row before the job fails. */
#define DEFAULT_UPSTREAM_WAIT_MS (3 * 60 * 1000)
#define DEFAULT_FIRST_RETRY_MS 1000
#define MAX_RETRY_MS 30000

struct _AicJobQueue
{
  GObject      parent_instance;

  AicJobStore *store;
  AicEngine   *engine;
  guint        n_workers;
  GQueue       pending;         /* job ids */
  GHashTable  *active;          /* id → Work */
  guint        step_delay_ms;
  gsize        part_chars;
  AicDocumentLimits limits;
  guint        upstream_wait_ms;
  guint        first_retry_ms;
  GHashTable  *unsaved;         /* id → AicJobRecord: newer than the store, which had no room */
  guint        unsaved_source;
};

G_DEFINE_FINAL_TYPE (AicJobQueue, aic_job_queue, G_TYPE_OBJECT)

enum {
  JOB_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  AicJobQueue  *queue;          /* weak */
  AicJobRecord *record;
  GCancellable *cancellable;
  char         *text;
  char         *title;
  GArray       *parts;          /* AicSummaryPart: where in text, not copies */
  GPtrArray    *gathered;       /* demo: chosen sentences; openai: part summaries */
  guint         part;
  guint         timeout;
  gint64        waiting_since;  /* monotonic µs; 0 while the model answers */
  guint         retry_ms;
} Work;

static void run_next (AicJobQueue *self);

static void
work_free (Work *work)
{
  g_clear_handle_id (&work->timeout, aic_source_remove);
  g_clear_weak_pointer (&work->queue);
  g_clear_pointer (&work->record, aic_job_record_free);
  g_clear_object (&work->cancellable);
  g_free (work->text);
  g_free (work->title);
  g_clear_pointer (&work->parts, g_array_unref);
  g_clear_pointer (&work->gathered, g_ptr_array_unref);
  g_free (work);
}

/* Whether a callback should go on with @work: not when the job was
 * cancelled or the queue is gone; then @work is freed here. */
static gboolean
work_alive (Work *work)
{
  if (work->queue != NULL && !g_cancellable_is_cancelled (work->cancellable))
    return TRUE;
  work_free (work);
  return FALSE;
}

/* With the disk full, a job goes on in memory: its newest state is
 * served from here and saved as soon as there is room again. Were the
 * server to stop first, the job would be run again from what was saved,
 * as after any crash. */
#define UNSAVED_RETRY_MS 2000

static gboolean
save_unsaved (gpointer data)
{
  AicJobQueue *self = data;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->unsaved);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr(GError) error = NULL;
      AicJobRecord *record = value;

      if (aic_job_store_save (self->store, record, &error))
        {
          g_message ("Job %s is saved again", record->id);
          g_hash_table_iter_remove (&iter);
        }
      else if (!g_error_matches (error, AIC_ERROR, AIC_ERROR_DISK_FULL))
        g_warning ("Job %s: %s", record->id, error->message);
    }
  if (g_hash_table_size (self->unsaved) > 0)
    return G_SOURCE_CONTINUE;
  self->unsaved_source = 0;
  return G_SOURCE_REMOVE;
}

static void
save_and_announce (AicJobQueue  *self,
                   AicJobRecord *record)
{
  g_autoptr(GError) error = NULL;

  if (aic_job_store_save (self->store, record, &error))
    g_hash_table_remove (self->unsaved, record->id);
  else if (g_error_matches (error, AIC_ERROR, AIC_ERROR_DISK_FULL))
    {
      if (!g_hash_table_contains (self->unsaved, record->id))
        g_message ("Job %s goes on without being saved: %s", record->id, error->message);
      g_hash_table_replace (self->unsaved, g_strdup (record->id), aic_job_record_copy (record));
      if (self->unsaved_source == 0)
        self->unsaved_source = aic_timeout_add (UNSAVED_RETRY_MS, save_unsaved, self);
    }
  else
    g_warning ("Job %s: %s", record->id, error->message);
  g_signal_emit (self, signals[JOB_CHANGED], 0, record);
}

static void
set_step (Work       *work,
          const char *stage,
          int         progress,
          char       *message)   /* transfer full */
{
  g_free (work->record->stage);
  work->record->stage = g_strdup (stage);
  work->record->progress = progress;
  g_free (work->record->message);
  work->record->message = message;
  save_and_announce (work->queue, work->record);
}

/* The job leaves the workers; the next one may start. */
static void
work_end (Work *work)
{
  AicJobQueue *self = work->queue;

  g_hash_table_steal (self->active, work->record->id);
  work_free (work);
  run_next (self);
}

static void
work_fail (Work       *work,
           const char *code,
           const char *message)
{
  AicJobRecord *record = work->record;

  record->status = AIC_JOB_FAILED;
  g_free (record->error_code);
  record->error_code = g_strdup (code);
  g_free (record->error_message);
  record->error_message = g_strdup (message);
  g_clear_pointer (&record->stage, g_free);
  g_free (record->message);
  record->message = g_strdup ("Failed");
  save_and_announce (work->queue, record);
  work_end (work);
}

static guint
step_delay (AicJobQueue *self)
{
  if (aic_engine_get_kind (self->engine) != AIC_ENGINE_KIND_DEMO)
    return 0;
  if (self->step_delay_ms != DERIVED_DELAY)
    return self->step_delay_ms;
  return aic_engine_get_demo_delay (self->engine) * 10;
}

static void
after_delay (Work        *work,
             guint        milliseconds,
             GSourceFunc  next)
{
  work->timeout = aic_timeout_add (milliseconds, next, work);
}

static char *
result_json (AicSummary *summary,
             const char *note)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, summary->title);
  json_builder_set_member_name (builder, "summary");
  json_builder_add_string_value (builder, summary->summary);
  json_builder_set_member_name (builder, "key_points");
  json_builder_begin_array (builder);
  for (guint i = 0; summary->key_points != NULL && summary->key_points[i] != NULL; i++)
    json_builder_add_string_value (builder, summary->key_points[i]);
  json_builder_end_array (builder);
  if (note != NULL)
    {
      json_builder_set_member_name (builder, "note");
      json_builder_add_string_value (builder, note);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return aic_json_to_string (root, FALSE);
}

/* The demo engine says what its summaries are (PROTOCOL.md allows
 * members beyond title, summary and key_points). */
#define DEMO_NOTE "An extractive summary by the demo engine: the sentences that best represent the document " \
                  "(by how often their words occur in it), kept as written. No language model was used."

static void
work_succeed (Work       *work,
              AicSummary *summary)
{
  gboolean demo = aic_engine_get_kind (work->queue->engine) == AIC_ENGINE_KIND_DEMO;
  AicJobRecord *record = work->record;

  /* A text too fragmented for whole sentences still gets a summary: its
   * opening words. */
  if (summary->summary == NULL || summary->summary[0] == '\0')
    {
      g_autofree char *opening = g_utf8_substring (work->text, 0, MIN (g_utf8_strlen (work->text, -1), 400));

      g_free (summary->summary);
      summary->summary = g_strstrip (g_steal_pointer (&opening));
    }

  record->status = AIC_JOB_DONE;
  record->progress = 100;
  g_clear_pointer (&record->stage, g_free);
  g_free (record->message);
  record->message = g_strdup ("Done");
  g_free (record->result);
  record->result = result_json (summary, demo ? DEMO_NOTE : NULL);
  save_and_announce (work->queue, record);
  work_end (work);
}

/* ---- the model's part ---- */

static GPtrArray *
new_turns (const char *system,
           char       *user)   /* transfer full */
{
  GPtrArray *turns = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (turns, g_strdup ("system"));
  g_ptr_array_add (turns, g_strdup (system));
  g_ptr_array_add (turns, g_strdup ("user"));
  g_ptr_array_add (turns, user);
  return turns;
}

static void
collect_token (const char *text,
               gpointer    user_data)
{
  g_string_append (user_data, text);
}

typedef struct
{
  Work    *work;
  GString *reply;
} ModelCall;

static const char structured_format[] =
  "Answer in exactly this form:\n"
  "TITLE: a short title for the document\n"
  "SUMMARY: one paragraph of at most five sentences\n"
  "KEY POINTS:\n"
  "- three to six key points, one per line\n";

static void model_call (Work *work, GPtrArray *turns, GAsyncReadyCallback done);
static gboolean summarize_next (gpointer data);

/* Whether @error means the model server is away for now rather than that
 * it refused the work: nothing listening, no answer, or busy. */
static gboolean
upstream_is_away (const GError *error)
{
  return g_error_matches (error, AIC_ERROR, AIC_ERROR_UNREACHABLE) ||
         g_error_matches (error, AIC_ERROR, AIC_ERROR_TIMEOUT) ||
         g_error_matches (error, AIC_ERROR, AIC_ERROR_BUSY);
}

/* When the model server is away, the job waits for it and the step it was
 * on runs again (the text gathered so far is kept); past the bound, it
 * fails like any other error. Returns whether the job is waiting. */
static gboolean
wait_for_upstream (Work         *work,
                   const GError *error)
{
  AicJobQueue *self = work->queue;
  gint64 now = g_get_monotonic_time ();
  guint delay;

  if (!upstream_is_away (error))
    return FALSE;
  if (work->waiting_since == 0)
    {
      work->waiting_since = now;
      work->retry_ms = self->first_retry_ms;
    }
  if ((now - work->waiting_since) / 1000 >= self->upstream_wait_ms)
    return FALSE;

  delay = work->retry_ms;
  work->retry_ms = MIN (work->retry_ms * 2, MAX_RETRY_MS);
  g_debug ("Job %s: the model server is away (%s); trying again in %u ms", work->record->id, error->message, delay);
  set_step (work, "waiting", work->record->progress,
            /* Translators: %s says why, such as "Nothing is listening at 127.0.0.1:11434. Is the server running?" */
            g_strdup_printf (_("Waiting for the model server: %s"), error->message));
  after_delay (work, delay, summarize_next);
  return TRUE;
}

static char *
instructions_line (Work *work)
{
  const char *instructions = work->record->instructions;

  if (instructions == NULL || instructions[0] == '\0')
    return g_strdup ("");
  return g_strdup_printf ("The reader's instructions: %s\n", instructions);
}

static void
combined_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  ModelCall *call = user_data;
  Work *work = call->work;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicEngineReply) reply = aic_engine_chat_finish (AIC_ENGINE (object), result, &error);
  g_autoptr(GString) text = call->reply;
  g_autoptr(AicSummary) summary = NULL;

  g_free (call);
  if (!work_alive (work))
    return;
  if (reply == NULL && wait_for_upstream (work, error))
    return;
  work->waiting_since = 0;
  if (reply == NULL)
    {
      g_autofree char *message = g_strdup_printf ("The model failed when asked to combine the parts: %s",
                                                  error->message);
      work_fail (work, "engine_failed", message);
      return;
    }
  if (text->len == 0)
    {
      work_fail (work, "engine_failed", "The model did not answer when asked to combine the parts.");
      return;
    }
  summary = aic_summary_parse_reply (text->str, work->title);
  work_succeed (work, summary);
}

static void
part_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  ModelCall *call = user_data;
  Work *work = call->work;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicEngineReply) reply = aic_engine_chat_finish (AIC_ENGINE (object), result, &error);
  g_autoptr(GString) text = call->reply;

  g_free (call);
  if (!work_alive (work))
    return;
  if (reply == NULL && wait_for_upstream (work, error))
    return;
  work->waiting_since = 0;
  if (reply == NULL)
    {
      g_autofree char *message = g_strdup_printf ("The model failed on part %u of %u: %s",
                                                  work->part + 1, work->parts->len, error->message);
      work_fail (work, "engine_failed", message);
      return;
    }

  if (work->parts->len == 1)
    {
      g_autoptr(AicSummary) summary = aic_summary_parse_reply (text->str, work->title);
      work_succeed (work, summary);
      return;
    }
  g_ptr_array_add (work->gathered, g_string_free (g_steal_pointer (&text), FALSE));
  work->part++;
  summarize_next (work);
}

static void
model_call (Work                *work,
            GPtrArray           *turns,
            GAsyncReadyCallback  done)
{
  ModelCall *call = g_new0 (ModelCall, 1);

  call->work = work;
  call->reply = g_string_new (NULL);
  aic_engine_chat_async (work->queue->engine, turns, work->record->model, collect_token, call->reply,
                         work->cancellable, done, call);
}

/* The part in hand, as text of its own: one part is copied at a time. */
static char *
dup_part (Work *work)
{
  const AicSummaryPart *part = &g_array_index (work->parts, AicSummaryPart, work->part);

  return g_strndup (work->text + part->offset, part->length);
}

static void
model_summarize_part (Work *work)
{
  g_autofree char *extra = instructions_line (work);
  g_autofree char *part = dup_part (work);
  g_autoptr(GPtrArray) turns = NULL;

  if (work->parts->len == 1)
    turns = new_turns ("You summarise documents faithfully. Never invent facts.",
                       g_strdup_printf ("%s%s\nThe document “%s”:\n\n%s",
                                        structured_format, extra, work->record->filename, part));
  else
    turns = new_turns ("You summarise documents faithfully. Never invent facts.",
                       g_strdup_printf ("%sSummarise part %u of %u of the document “%s” in a few sentences, "
                                        "keeping names, numbers and conclusions:\n\n%s",
                                        extra, work->part + 1, work->parts->len, work->record->filename, part));
  model_call (work, turns, part_done_cb);
}

static void
model_combine (Work *work)
{
  g_autofree char *extra = instructions_line (work);
  g_autoptr(GString) prompt = g_string_new (NULL);
  g_autoptr(GPtrArray) turns = NULL;

  g_string_append_printf (prompt, "%s%sThese are summaries of the %u parts of the document “%s”, in order. "
                          "Combine them into one summary of the whole document.\n",
                          structured_format, extra, work->gathered->len, work->record->filename);
  for (guint i = 0; i < work->gathered->len; i++)
    g_string_append_printf (prompt, "\nPart %u: %s\n", i + 1, (char *) g_ptr_array_index (work->gathered, i));
  turns = new_turns ("You summarise documents faithfully. Never invent facts.",
                     g_string_free (g_steal_pointer (&prompt), FALSE));
  model_call (work, turns, combined_cb);
}

/* ---- the demo's part: extractive, deterministic ---- */

static gboolean
demo_combine_cb (gpointer data)
{
  Work *work = data;
  g_autoptr(AicSummary) summary = NULL;

  work->timeout = 0;
  summary = aic_summary_combine (work->gathered, work->title);
  work_succeed (work, summary);
  return G_SOURCE_REMOVE;
}

static guint
demo_part_delay (Work *work)
{
  guint delay = step_delay (work->queue);
  guint n = MAX (work->parts->len, 1);

  return MIN (delay, DEMO_MAX_TOTAL_MS / n);
}

/* ---- the steps ---- */

static gboolean
summarize_next (gpointer data)
{
  Work *work = data;
  guint n = work->parts->len;
  gboolean demo = aic_engine_get_kind (work->queue->engine) == AIC_ENGINE_KIND_DEMO;

  work->timeout = 0;
  if (work->part >= n)
    {
      set_step (work, "combining", 90, g_strdup (n > 1 ? "Combining the parts" : "Writing the summary"));
      if (demo)
        after_delay (work, step_delay (work->queue), demo_combine_cb);
      else
        model_combine (work);
      return G_SOURCE_REMOVE;
    }

  set_step (work, "summarizing", 15 + (int) (75.0 * work->part / n),
            g_strdup_printf ("Summarizing part %u of %u", work->part + 1, n));
  if (demo)
    {
      g_autofree char *part = dup_part (work);
      g_autoptr(GPtrArray) sentences = aic_summary_split_sentences (part);
      g_autoptr(GPtrArray) picked = aic_summary_pick_sentences (sentences, DEMO_SENTENCES_PER_PART);

      for (guint i = 0; i < picked->len; i++)
        g_ptr_array_add (work->gathered, g_strdup (g_ptr_array_index (picked, i)));
      work->part++;
      after_delay (work, demo_part_delay (work), summarize_next);
    }
  else
    model_summarize_part (work);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  AicDocumentType  type;
  GBytes          *document;
  gsize            part_chars;
  AicDocumentLimits limits;
  char            *text;
  GArray          *parts;
} Extraction;

static void
extraction_free (Extraction *extraction)
{
  g_clear_pointer (&extraction->document, g_bytes_unref);
  g_free (extraction->text);
  g_clear_pointer (&extraction->parts, g_array_unref);
  g_free (extraction);
}

static void
extract_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Extraction *extraction = task_data;
  GError *error = NULL;

  extraction->text = aic_document_extract_text_limited (extraction->type, extraction->document,
                                                        &extraction->limits, cancellable, &error);
  if (extraction->text == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The text is all that is kept of the document from here on, and the
   * parts are places in it. */
  g_clear_pointer (&extraction->document, g_bytes_unref);
  extraction->parts = aic_summary_find_parts (extraction->text, extraction->part_chars);
  /* Each part is a request to the model: a bound on parts is one on the
   * job's time and cost. */
  if (extraction->limits.max_parts > 0 && extraction->parts->len > extraction->limits.max_parts)
    {
      g_task_return_new_error (task, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_TOO_LARGE,
                               "The document makes %u parts; this server summarizes at most %u.",
                               extraction->parts->len, extraction->limits.max_parts);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static gboolean
chunking_done_cb (gpointer data)
{
  Work *work = data;

  work->timeout = 0;
  summarize_next (work);
  return G_SOURCE_REMOVE;
}

static void
extracted_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Work *work = user_data;
  Extraction *extraction = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  guint n;

  if (!work_alive (work))
    return;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      work_fail (work, g_error_matches (error, AIC_DOCUMENT_ERROR, AIC_DOCUMENT_ERROR_TOO_LARGE)
                       ? "too_large" : "unreadable",
                 error->message);
      return;
    }

  work->text = g_steal_pointer (&extraction->text);
  work->parts = g_steal_pointer (&extraction->parts);
  work->title = aic_summary_guess_title (work->text, work->record->filename);
  n = work->parts->len;
  if (n == 0)
    {
      work_fail (work, "empty", "The document has no text.");
      return;
    }
  set_step (work, "chunking", 10,
            n == 1 ? g_strdup ("The document is one part")
                   : g_strdup_printf ("Split into %u parts", n));
  after_delay (work, step_delay (work->queue), chunking_done_cb);
}

static void
start_work (AicJobQueue  *self,
            AicJobRecord *record)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) document = NULL;
  g_autoptr(GTask) task = NULL;
  Extraction *extraction;
  Work *work;

  work = g_new0 (Work, 1);
  g_set_weak_pointer (&work->queue, self);
  work->record = record;
  work->cancellable = g_cancellable_new ();
  work->gathered = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_insert (self->active, record->id, work);

  record->status = AIC_JOB_RUNNING;
  record->attempts++;
  g_clear_pointer (&record->error_code, g_free);
  g_clear_pointer (&record->error_message, g_free);
  set_step (work, "extracting", 2, g_strdup ("Reading the document"));

  document = aic_job_store_get_document (self->store, record->id, &error);
  if (document == NULL)
    {
      work_fail (work, "lost", error->message);
      return;
    }

  extraction = g_new0 (Extraction, 1);
  extraction->document = g_steal_pointer (&document);
  extraction->part_chars = self->part_chars;
  extraction->limits = self->limits;
  if (!aic_document_type_from_mime (record->mime, &extraction->type))
    extraction->type = AIC_DOCUMENT_TEXT;

  task = g_task_new (NULL, work->cancellable, extracted_cb, work);
  g_task_set_source_tag (task, start_work);
  g_task_set_task_data (task, extraction, (GDestroyNotify) extraction_free);
  g_task_run_in_thread (task, extract_thread);
}

static void
run_next (AicJobQueue *self)
{
  while (g_hash_table_size (self->active) < self->n_workers && !g_queue_is_empty (&self->pending))
    {
      g_autofree char *id = g_queue_pop_head (&self->pending);
      g_autoptr(GError) error = NULL;
      AicJobRecord *record = aic_job_store_get (self->store, id, &error);

      if (record == NULL)
        {
          g_warning ("Job %s: %s", id, error->message);
          continue;
        }
      if (record->status != AIC_JOB_QUEUED)
        {
          /* Cancelled while it waited. */
          aic_job_record_free (record);
          continue;
        }
      start_work (self, record);
    }
}

static void
cancel_work (gpointer data)
{
  Work *work = data;

  /* Whatever is in flight finds the job cancelled and frees it; a timer
   * has nobody to do so. */
  g_cancellable_cancel (work->cancellable);
  if (work->timeout != 0)
    work_free (work);
}

static void
aic_job_queue_dispose (GObject *object)
{
  AicJobQueue *self = AIC_JOB_QUEUE (object);

  g_clear_pointer (&self->active, g_hash_table_unref);
  g_clear_handle_id (&self->unsaved_source, aic_source_remove);
  g_clear_pointer (&self->unsaved, g_hash_table_unref);
  g_queue_clear_full (&self->pending, g_free);
  g_clear_object (&self->store);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (aic_job_queue_parent_class)->dispose (object);
}

static void
aic_job_queue_class_init (AicJobQueueClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = aic_job_queue_dispose;

  /**
   * AicJobQueue::job-changed:
   * @record: (type gpointer): the job's new state, already saved
   */
  signals[JOB_CHANGED] =
    g_signal_new ("job-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
aic_job_queue_init (AicJobQueue *self)
{
  g_queue_init (&self->pending);
  self->active = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cancel_work);
  self->unsaved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) aic_job_record_free);
  self->step_delay_ms = DERIVED_DELAY;
  self->part_chars = DEFAULT_PART_CHARS;
  self->limits.max_pages = AIC_DOCUMENT_DEFAULT_MAX_PAGES;
  self->limits.max_text = AIC_DOCUMENT_DEFAULT_MAX_TEXT;
  self->limits.max_parts = AIC_DOCUMENT_DEFAULT_MAX_PARTS;
  self->upstream_wait_ms = DEFAULT_UPSTREAM_WAIT_MS;
  self->first_retry_ms = DEFAULT_FIRST_RETRY_MS;
}

AicJobQueue *
aic_job_queue_new (AicJobStore *store,
                   AicEngine   *engine,
                   guint        n_workers)
{
  AicJobQueue *self;

  g_return_val_if_fail (AIC_IS_JOB_STORE (store), NULL);
  g_return_val_if_fail (AIC_IS_ENGINE (engine), NULL);

  self = g_object_new (AIC_TYPE_JOB_QUEUE, NULL);
  self->store = g_object_ref (store);
  self->engine = g_object_ref (engine);
  self->n_workers = MAX (n_workers, 1);
  return self;
}

/**
 * aic_job_queue_start:
 * Picks up what a previous server left: running jobs are queued again
 * (or failed, after too many attempts), and queued ones start.
 */
gboolean
aic_job_queue_start (AicJobQueue  *self,
                     GError      **error)
{
  g_autoptr(GPtrArray) queued = NULL;

  g_return_val_if_fail (AIC_IS_JOB_QUEUE (self), FALSE);

  queued = aic_job_store_recover (self->store, AIC_JOB_QUEUE_MAX_ATTEMPTS, error);
  if (queued == NULL)
    return FALSE;
  if (queued->len > 0)
    g_message ("Resuming %u document job(s) from before the restart", queued->len);
  for (guint i = 0; i < queued->len; i++)
    g_queue_push_tail (&self->pending, g_strdup (((AicJobRecord *) g_ptr_array_index (queued, i))->id));
  run_next (self);
  return TRUE;
}

AicJobStore *
aic_job_queue_get_store (AicJobQueue *self)
{
  g_return_val_if_fail (AIC_IS_JOB_QUEUE (self), NULL);
  return self->store;
}

/**
 * aic_job_queue_submit:
 * Stores a new job and queues it; with an idempotency key already known,
 * returns that job instead and sets @out_existing.
 */
AicJobRecord *
aic_job_queue_submit (AicJobQueue         *self,
                      const AicJobRecord  *record,
                      GBytes              *document,
                      gboolean            *out_existing,
                      GError             **error)
{
  AicJobRecord *stored;

  g_return_val_if_fail (AIC_IS_JOB_QUEUE (self), NULL);

  stored = aic_job_store_insert (self->store, record, document, out_existing, error);
  if (stored == NULL)
    return NULL;
  if (!*out_existing)
    {
      g_queue_push_tail (&self->pending, g_strdup (stored->id));
      g_signal_emit (self, signals[JOB_CHANGED], 0, stored);
      run_next (self);
    }
  return stored;
}

/**
 * aic_job_queue_get:
 * Returns: (transfer full): the job's current state
 */
AicJobRecord *
aic_job_queue_get (AicJobQueue  *self,
                   const char   *id,
                   GError      **error)
{
  Work *work;

  g_return_val_if_fail (AIC_IS_JOB_QUEUE (self), NULL);

  work = g_hash_table_lookup (self->active, id);
  if (work != NULL)
    return aic_job_record_copy (work->record);
  if (g_hash_table_contains (self->unsaved, id))
    return aic_job_record_copy (g_hash_table_lookup (self->unsaved, id));
  return aic_job_store_get (self->store, id, error);
}

/**
 * aic_job_queue_cancel:
 * Cancels a queued or running job; a job that has ended stays as it was.
 * Returns: (transfer full): the job's state afterwards
 */
AicJobRecord *
aic_job_queue_cancel (AicJobQueue  *self,
                      const char   *id,
                      GError      **error)
{
  AicJobRecord *record;
  Work *work;

  g_return_val_if_fail (AIC_IS_JOB_QUEUE (self), NULL);

  work = g_hash_table_lookup (self->active, id);
  if (work != NULL)
    {
      record = g_steal_pointer (&work->record);
      work->record = aic_job_record_copy (record);
      g_hash_table_remove (self->active, id);   /* cancels the work */
    }
  else
    {
      if (g_hash_table_contains (self->unsaved, id))
        record = aic_job_record_copy (g_hash_table_lookup (self->unsaved, id));
      else
        record = aic_job_store_get (self->store, id, error);
      if (record == NULL)
        return NULL;
      if (aic_job_status_is_final (record->status))
        return record;
    }

  record->status = AIC_JOB_CANCELLED;
  g_clear_pointer (&record->stage, g_free);
  g_free (record->message);
  record->message = g_strdup ("Cancelled");
  save_and_announce (self, record);
  run_next (self);
  return record;
}

guint
aic_job_queue_get_n_running (AicJobQueue *self)
{
  g_return_val_if_fail (AIC_IS_JOB_QUEUE (self), 0);
  return g_hash_table_size (self->active);
}

/**
 * aic_job_queue_set_step_delay:
 * The demo engine's pause between steps (default: ten of its token
 * delays); tests and benchmarks change it.
 */
void
aic_job_queue_set_step_delay (AicJobQueue *self,
                              guint        milliseconds)
{
  g_return_if_fail (AIC_IS_JOB_QUEUE (self));
  self->step_delay_ms = milliseconds;
}

/**
 * aic_job_queue_set_document_limits:
 * What a document may become before its job fails as too large.
 */
void
aic_job_queue_set_document_limits (AicJobQueue             *self,
                                   const AicDocumentLimits *limits)
{
  g_return_if_fail (AIC_IS_JOB_QUEUE (self));
  g_return_if_fail (limits != NULL);
  self->limits = *limits;
}

void
aic_job_queue_set_part_size (AicJobQueue *self,
                             gsize        max_chars)
{
  g_return_if_fail (AIC_IS_JOB_QUEUE (self));
  g_return_if_fail (max_chars >= 256);
  self->part_chars = max_chars;
}

/**
 * aic_job_queue_set_upstream_wait:
 * @max_ms: how long a job waits, in a row, for a model server that cannot
 *   be reached or is busy before it fails (default three minutes); 0 fails
 *   at once
 * @first_retry_ms: the first pause between tries (default 1 s); each next
 *   one doubles, up to 30 s
 */
void
aic_job_queue_set_upstream_wait (AicJobQueue *self,
                                 guint        max_ms,
                                 guint        first_retry_ms)
{
  g_return_if_fail (AIC_IS_JOB_QUEUE (self));
  self->upstream_wait_ms = max_ms;
  self->first_retry_ms = MAX (first_retry_ms, 1);
}
