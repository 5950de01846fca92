/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-agent-hub.h"
#include "aic-event-stream.h"
#include "aic-agent-tools.h"
#include "aic-workspace.h"

G_BEGIN_DECLS

/* Token streams: how soon a client should come back, and the longest
 * silence before a keep-alive comment (a run may wait half an hour for
 * an answer; proxies must not take its quiet stream for a dead one). */
#define AIC_AGENT_TOKEN_RETRY_MS 1000
#define AIC_AGENT_KEEP_ALIVE_MS  15000

/* AicAgentHub spans several files, one job each:
 *   aic-agent-hub.c         the object, its settings, making and resuming runs,
 *                           saving and telling (shared by the others)
 *   aic-agent-hub-loop.c    the run loop: asking the model, streaming its
 *                           text, ending a run, deadlines
 *   aic-agent-hub-tools.c   tool calls: policy, approvals and questions,
 *                           execution, answers
 *   aic-agent-hub-rest.c    the REST routes
 *   aic-agent-hub-socket.c  the control WebSocket */

#define AIC_AGENT_MAX_TOOL_SUMMARY 160

struct _AicAgentHub
{
  GObject         parent_instance;

  AicEngine      *engine;
  AicRunStore    *store;
  char           *default_workspace;
  GHashTable     *runs;              /* id → Run, the runs not yet ended */
  GPtrArray      *sockets;           /* Socket, every open control connection */
  AicAgentPolicy  policy[3];         /* by AicAgentRisk: read, write, execute */
  guint           deadline_ms;
  guint           command_ms;
  gsize           command_output;
  char          **command_env;
  GPtrArray      *secrets;           /* (element-type utf8) never shown to the model or kept */
  guint           keep_alive_ms;
  char          **roots;             /* where a run may name its workspace; NULL: anywhere */
};

typedef struct
{
  gatomicrefcount  ref_count;
  AicAgentHub     *hub;
  AicRunRecord    *record;           /* its memory and pending request, typed */
  AicWorkspace    *workspace;
  GCancellable    *cancellable;
  AicEventStream  *tokens;           /* the live token channel */
  guint            deadline_source;
  gboolean         busy;             /* a model call or a tool is under way */
  gboolean         ended;
} Run;

typedef struct
{
  AicAgentHub             *hub;
  SoupWebsocketConnection *connection;
  char                    *run_id;
  gboolean                 plain;
} Socket;

/* aic-agent-hub.c */
Run        *aic_agent_hub_run_ref          (Run               *run);
void        aic_agent_hub_run_unref        (Run               *run);
Run        *aic_agent_hub_find_live        (AicAgentHub       *self,
                                            const char        *id);
Run        *aic_agent_hub_run_create       (AicAgentHub       *self,
                                            const char        *id,
                                            const char        *goal,
                                            const char        *model,
                                            const char        *workspace,
                                            GError           **error);
void        aic_agent_hub_run_start        (Run               *run);
void        aic_agent_hub_run_save         (Run               *run);
void        aic_agent_hub_run_keep         (Run               *run,
                                            const char        *type,
                                            JsonObject        *message);
void        aic_agent_hub_run_broadcast    (Run               *run,
                                            JsonObject        *message);
void        aic_agent_hub_run_send         (Run               *run,
                                            const char        *type,
                                            JsonObject        *message,
                                            gboolean           keep);
void        aic_agent_hub_run_set_state    (Run               *run,
                                            AicRunState        state);
void        aic_agent_hub_run_send_status  (Run               *run);
gint64      aic_agent_hub_run_emit_event   (Run               *run,
                                            JsonObject        *event);
JsonObject *aic_agent_hub_parse_object     (const char        *text);
char       *aic_agent_hub_object_to_string (JsonObject        *object);

/* aic-agent-hub-loop.c */
void        aic_agent_hub_run_advance      (Run               *run);
void        aic_agent_hub_run_finish       (Run               *run,
                                            AicRunState        state,
                                            JsonNode          *result);
void        aic_agent_hub_run_cancel       (Run               *run);
void        aic_agent_hub_run_arm_deadline (Run               *run);
void        aic_agent_hub_run_clear_pending (Run              *run);

/* aic-agent-hub-tools.c */
void        aic_agent_hub_run_next_call    (Run               *run);
void        aic_agent_hub_run_reply        (Run               *run,
                                            Socket            *socket,
                                            JsonObject        *object);

/* aic-agent-hub-socket.c */
void        aic_agent_hub_socket_free      (Socket            *socket);
void        aic_agent_hub_socket_send_error (Socket           *socket,
                                            const char        *code,
                                            const char        *text);
void        aic_agent_hub_close_sockets    (AicAgentHub       *self,
                                            const char        *run_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, aic_agent_hub_run_unref)

G_END_DECLS
