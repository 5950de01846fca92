/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Where a run is; the last three are final. */
typedef enum
{
  AIC_RUN_STATE_PLANNING,
  AIC_RUN_STATE_RUNNING,
  AIC_RUN_STATE_WAITING,
  AIC_RUN_STATE_COMPLETED,
  AIC_RUN_STATE_CANCELLED,
  AIC_RUN_STATE_FAILED,
} AicRunState;

/* One tool call the model asked for and the loop has still to take. */
typedef struct
{
  char     *id;
  char     *name;
  char     *arguments;  /* JSON text as the model wrote it */
  gboolean  announced;  /* its tool_call message went out */
  gboolean  executing;  /* it started; after a restart: interrupted */
  gboolean  approved;   /* the user said yes to it */
} AicRunCall;

/* The loop's own state: the conversation with the model (OpenAI's
 * shape, whatever the engine), the calls still to do, what the user
 * allowed for the whole run, and how far it got. */
typedef struct
{
  JsonArray *messages;
  GPtrArray *queue;     /* (element-type AicRunCall) */
  GPtrArray *allowed;   /* (element-type utf8) "tool:risk[:scope]" */
  guint      steps;
  gboolean   started;   /* a client connected and the loop began */
} AicRunMemory;

/* The request that waits for an answer. */
typedef struct
{
  JsonObject *message;  /* the need_input message as sent, with its seq */
  char       *call_id;
} AicRunPending;

const char    *aic_run_state_to_string   (AicRunState          state);
gboolean       aic_run_state_from_string (const char          *string,
                                          AicRunState         *out_state);
gboolean       aic_run_state_is_final    (AicRunState          state);

AicRunCall    *aic_run_call_new          (const char          *id,
                                          const char          *name,
                                          const char          *arguments);
void           aic_run_call_free         (AicRunCall          *call);

AicRunMemory  *aic_run_memory_new        (void);
void           aic_run_memory_free       (AicRunMemory        *memory);
AicRunMemory  *aic_run_memory_from_json  (const char          *text,
                                          GError             **error);
char          *aic_run_memory_to_json    (const AicRunMemory  *memory);
gboolean       aic_run_memory_allows     (const AicRunMemory  *memory,
                                          const char          *key);

AicRunPending *aic_run_pending_new       (JsonObject          *message,
                                          const char          *call_id);
void           aic_run_pending_free      (AicRunPending       *pending);
AicRunPending *aic_run_pending_from_json (const char          *text,
                                          GError             **error);
char          *aic_run_pending_to_json   (const AicRunPending *pending);
const char    *aic_run_pending_get_token (const AicRunPending *pending);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicRunCall, aic_run_call_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicRunMemory, aic_run_memory_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicRunPending, aic_run_pending_free)

G_END_DECLS
