/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-client.h"

G_BEGIN_DECLS

/* How long a "yes" holds. */
typedef enum
{
  AIC_AGENT_DECISION_DENY,
  AIC_AGENT_DECISION_ALLOW_ONCE,
  AIC_AGENT_DECISION_ALLOW_RUN,
} AicAgentDecision;

/* A run's question to its user: an approval of one tool call, or a
 * question to answer in words. */
typedef struct
{
  char *resume_token;
  char *kind;          /* "approval" or "question" */
  char *prompt;
  char *tool_name;     /* (nullable) */
  char *args;          /* (nullable) the arguments, as indented JSON */
  char *risk;          /* (nullable) "read", "write", "execute", "network" */
  char *diff;          /* (nullable) a write's change, as a unified diff */
  char *command;       /* (nullable) a command's command line */
  char *scope;         /* (nullable) what "Allow for this run" covers: a command's program */
} AicAgentRequest;

#define AIC_TYPE_AGENT_REQUEST (aic_agent_request_get_type ())
GType            aic_agent_request_get_type (void) G_GNUC_CONST;
AicAgentRequest *aic_agent_request_copy     (const AicAgentRequest *request);
void             aic_agent_request_free     (AicAgentRequest       *request);
gboolean         aic_agent_request_is_question (const AicAgentRequest *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicAgentRequest, aic_agent_request_free)

#define AIC_TYPE_AGENT_RUN (aic_agent_run_get_type ())
G_DECLARE_FINAL_TYPE (AicAgentRun, aic_agent_run, AIC, AGENT_RUN, GObject)

AicAgentRun     *aic_agent_run_new          (AicClient           *client,
                                             const char          *goal,
                                             const char          *workspace,
                                             const char          *model);
AicAgentRun     *aic_agent_run_new_for_id   (AicClient           *client,
                                             const char          *run_id);
void             aic_agent_run_start_async  (AicAgentRun         *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean         aic_agent_run_start_finish (AicAgentRun         *self,
                                             GAsyncResult        *result,
                                             GError             **error);
void             aic_agent_run_reply        (AicAgentRun         *self,
                                             const char          *resume_token,
                                             AicAgentDecision     decision,
                                             const char          *text);
void             aic_agent_run_cancel       (AicAgentRun         *self);
void             aic_agent_run_reconnect    (AicAgentRun         *self);
void             aic_agent_run_close        (AicAgentRun         *self);
const char      *aic_agent_run_get_id       (AicAgentRun         *self);
const char      *aic_agent_run_get_goal     (AicAgentRun         *self);
const char      *aic_agent_run_get_state    (AicAgentRun         *self);
const char      *aic_agent_run_get_summary  (AicAgentRun         *self);
gboolean         aic_agent_run_is_finished  (AicAgentRun         *self);
gboolean         aic_agent_run_is_plain     (AicAgentRun         *self);
const AicAgentRequest *aic_agent_run_get_pending (AicAgentRun    *self);
guint            aic_agent_run_get_reconnects (AicAgentRun       *self);

/* One line of the server's list of runs. */
typedef struct
{
  char   *run_id;
  char   *goal;
  char   *state;
  gint64  created_at;    /* seconds since the epoch, 0 when not said */
} AicAgentRunInfo;

void             aic_agent_run_info_free    (AicAgentRunInfo     *info);
void             aic_agent_list_runs_async  (AicClient           *client,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
GPtrArray       *aic_agent_list_runs_finish (GAsyncResult        *result,
                                             GError             **error);

G_END_DECLS
