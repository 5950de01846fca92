/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-run-state.h"

G_BEGIN_DECLS

/* One agent run as the backend keeps it. @memory is the loop's own state
 * (the conversation with the model, the tool calls still to do, what the
 * user allowed for the run) and @pending the request waiting for an
 * answer: with both on disk a restarted server carries on where it was.
 * The store writes them as JSON and reads them back typed. */
typedef struct
{
  char          *id;
  char          *goal;
  char          *model;
  char          *workspace;
  AicRunState    state;
  JsonNode      *result;       /* or NULL */
  AicRunMemory  *memory;       /* never NULL */
  AicRunPending *pending;      /* or NULL */
  gint64         deadline_at;  /* µs since the epoch; 0 when nothing waits */
  gint64         created_at;
  gint64         updated_at;
} AicRunRecord;

typedef struct
{
  gint64  seq;
  char   *body;          /* one JSON message */
} AicRunEvent;

void          aic_run_record_free (AicRunRecord *record);
void          aic_run_event_free  (AicRunEvent  *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicRunRecord, aic_run_record_free)

#define AIC_TYPE_RUN_STORE (aic_run_store_get_type ())
G_DECLARE_FINAL_TYPE (AicRunStore, aic_run_store, AIC, RUN_STORE, GObject)

AicRunStore  *aic_run_store_open       (const char    *path,
                                        GError       **error);
gboolean      aic_run_store_insert     (AicRunStore   *self,
                                        AicRunRecord  *record,
                                        GError       **error);
gboolean      aic_run_store_save       (AicRunStore   *self,
                                        AicRunRecord  *record,
                                        GError       **error);
AicRunRecord *aic_run_store_get        (AicRunStore   *self,
                                        const char    *id,
                                        GError       **error);
GPtrArray    *aic_run_store_list       (AicRunStore   *self,
                                        guint          limit,
                                        gboolean       unfinished_only,
                                        GError       **error);
gint64        aic_run_store_append     (AicRunStore   *self,
                                        const char    *run_id,
                                        const char    *channel,
                                        const char    *body,
                                        GError       **error);
GPtrArray    *aic_run_store_events     (AicRunStore   *self,
                                        const char    *run_id,
                                        const char    *channel,
                                        gint64         after_seq,
                                        GError       **error);

G_END_DECLS
