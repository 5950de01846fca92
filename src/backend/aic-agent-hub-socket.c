/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <string.h>

#include "aic-agent-hub-private.h"
#include "aic-error.h"
#include "aic-ws-guard.h"
#include "aic-json.h"

/* The control WebSocket of a run (/ws/runs/{id}, and the plainer
 * /ws/agent/{id}): what a client hears when it connects, and what it may
 * say (answers, cancel, and in the plainer shape, the goal). */


static void
socket_send_object (Socket     *socket,
                    JsonObject *object)
{
  g_autofree char *text = aic_agent_hub_object_to_string (object);

  if (soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    aic_ws_guard_send_text (socket->connection, text);
}

void
aic_agent_hub_socket_send_error (Socket     *socket,
                                 const char *code,
                                 const char *text)
{
  g_autoptr(JsonObject) message = json_object_new ();

  json_object_set_string_member (message, "type", "error");
  json_object_set_string_member (message, "code", code);
  json_object_set_string_member (message, "message", text);
  socket_send_object (socket, message);
}

void
aic_agent_hub_close_sockets (AicAgentHub *self,
                             const char  *run_id)
{
  for (guint i = 0; i < self->sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (self->sockets, i);

      if (g_strcmp0 (socket->run_id, run_id) == 0 &&
          soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (socket->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
}

void
aic_agent_hub_socket_free (Socket *socket)
{
  g_signal_handlers_disconnect_by_data (socket->connection, socket);
  g_object_unref (socket->connection);
  g_free (socket->run_id);
  g_free (socket);
}

static void
socket_closed_cb (SoupWebsocketConnection *connection,
                  Socket                  *socket)
{
  g_ptr_array_remove (socket->hub->sockets, socket);
}

static gboolean
valid_run_id (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-' && id[i] != '_')
      return FALSE;
  return TRUE;
}

/* What a new connection hears first: "connected", the run's state, the
 * messages it asked to have again, then the pending request, if any,
 * with the same resume token as before. */
static void
socket_greet (Socket *socket,
              Run    *run,
              gint64  after)  /* -1: nothing again */
{
  g_autoptr(JsonObject) connected = json_object_new ();
  g_autoptr(JsonObject) status = json_object_new ();

  json_object_set_string_member (connected, "type", "status");
  json_object_set_string_member (connected, "run_id", run->record->id);
  json_object_set_string_member (connected, "state", "connected");
  json_object_set_string_member (connected, "goal", run->record->goal);
  socket_send_object (socket, connected);

  if (after >= 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) events = aic_run_store_events (run->hub->store, run->record->id, "control", after, &error);

      for (guint i = 0; events != NULL && i < events->len; i++)
        {
          AicRunEvent *event = g_ptr_array_index (events, i);
          g_autoptr(JsonObject) again = aic_agent_hub_parse_object (event->body);

          if (again == NULL || g_strcmp0 (json_object_get_string_member_with_default (again, "type", ""), "need_input") == 0)
            continue;
          json_object_set_int_member (again, "seq", event->seq);
          socket_send_object (socket, again);
        }
    }

  json_object_set_string_member (status, "type", "status");
  json_object_set_string_member (status, "run_id", run->record->id);
  json_object_set_string_member (status, "state", aic_run_state_to_string (run->record->state));
  socket_send_object (socket, status);

  if (run->record->pending != NULL)
    socket_send_object (socket, run->record->pending->message);
}

static void
socket_attach (Socket *socket,
               Run    *run,
               gint64  after)
{
  g_free (socket->run_id);
  socket->run_id = g_strdup (run->record->id);
  socket_greet (socket, run, after);
  aic_agent_hub_run_start (run);
}

/* The plainer shape names its run in the path and says its goal in the
 * first message; a run already made ignores it. */
static void
socket_start (Socket                  *socket,
              SoupWebsocketConnection *connection,
              JsonObject              *object)
{
  g_autoptr(GError) error = NULL;
  const char *goal = NULL, *workspace = NULL, *model = NULL;
  g_autoptr(Run) created = NULL;

  if (!aic_json_get_string (object, "goal", TRUE, &goal, &error) ||
      !aic_json_get_string (object, "workspace", FALSE, &workspace, &error) ||
      !aic_json_get_string (object, "model", FALSE, &model, &error))
    {
      aic_agent_hub_socket_send_error (socket, "invalid_message", error->message);
      return;
    }
  if (workspace != NULL && !g_path_is_absolute (workspace))
    {
      aic_agent_hub_socket_send_error (socket, "invalid_workspace",
                                       "The workspace must be an absolute path to a folder on the server.");
      return;
    }
  created = aic_agent_hub_run_create (socket->hub, g_object_get_data (G_OBJECT (connection), "aic-run-id"),
                                      goal, model, workspace, &error);
  if (created == NULL)
    {
      if (g_error_matches (error, AIC_ERROR, AIC_ERROR_DISK_FULL))
        aic_agent_hub_socket_send_error (socket, "disk_full",
                                         "The server’s disk is full, so the run could not be saved. "
                                         "Free some space on the server and start it again.");
      else
        aic_agent_hub_socket_send_error (socket, "invalid_request", error->message);
      return;
    }
  socket_attach (socket, created, -1);
}

static void
socket_message_cb (SoupWebsocketConnection *connection,
                   int                      type,
                   GBytes                  *bytes,
                   Socket                  *socket)
{
  AicAgentHub *self = socket->hub;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  const char *kind = NULL;
  Run *run;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      aic_agent_hub_socket_send_error (socket, "invalid_message", "Control messages are JSON text frames.");
      return;
    }
  root = aic_json_parse_bytes (bytes, &error);
  if (root == NULL)
    {
      /* Say why: text nested too deep is refused, not merely "bad". */
      aic_agent_hub_socket_send_error (socket, "invalid_message", error->message);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      aic_agent_hub_socket_send_error (socket, "invalid_message", "A control message must be one JSON object.");
      return;
    }
  object = json_node_get_object (root);
  if (!aic_json_get_string (object, "type", TRUE, &kind, &error))
    {
      aic_agent_hub_socket_send_error (socket, "invalid_message", error->message);
      return;
    }

  run = socket->run_id ? aic_agent_hub_find_live (self, socket->run_id) : NULL;

  if (strcmp (kind, "start") == 0)
    {
      if (run == NULL && socket->plain)
        socket_start (socket, connection, object);
      return;
    }

  if (run == NULL)
    {
      aic_agent_hub_socket_send_error (socket, "not_running", "This run is not running.");
      return;
    }
  {
    g_autoptr(Run) hold = aic_agent_hub_run_ref (run);

    if (strcmp (kind, "user_reply") == 0)
      aic_agent_hub_run_reply (hold, socket, object);
    else if (strcmp (kind, "cancel") == 0)
      aic_agent_hub_run_cancel (hold);
    else
      {
        g_autofree char *text = g_strdup_printf ("Unknown message type “%s”.", kind);

        aic_agent_hub_socket_send_error (socket, "invalid_message", text);
      }
  }
}

/* An ended run: its history if asked for, how it ended, and goodbye. */
static void
socket_tell_ended (Socket       *socket,
                   AicRunRecord *record,
                   gint64        after)
{
  g_autoptr(JsonObject) done = json_object_new ();
  gboolean told = FALSE;

  json_object_set_string_member (done, "type", "status");
  json_object_set_string_member (done, "run_id", record->id);
  json_object_set_string_member (done, "state", "connected");
  json_object_set_string_member (done, "goal", record->goal);
  socket_send_object (socket, done);
  json_object_remove_member (done, "goal");
  if (after >= 0)
    {
      g_autoptr(GPtrArray) events = aic_run_store_events (socket->hub->store, record->id, "control", after, NULL);

      /* The kept "done" comes numbered, in its place after the text. */
      for (guint i = 0; events != NULL && i < events->len; i++)
        {
          AicRunEvent *event = g_ptr_array_index (events, i);
          g_autoptr(JsonObject) again = aic_agent_hub_parse_object (event->body);

          if (again == NULL)
            continue;
          json_object_set_int_member (again, "seq", event->seq);
          socket_send_object (socket, again);
          told |= g_strcmp0 (json_object_get_string_member_with_default (again, "type", ""), "done") == 0;
        }
    }
  if (!told)
    {
      json_object_set_string_member (done, "type", "done");
      json_object_set_string_member (done, "run_id", record->id);
      json_object_set_string_member (done, "state", aic_run_state_to_string (record->state));
      json_object_set_member (done, "result",
                              record->result ? json_node_copy (record->result) : json_node_new (JSON_NODE_NULL));
      socket_send_object (socket, done);
    }
  soup_websocket_connection_close (socket->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

/**
 * aic_agent_hub_accept:
 * @plain: whether this is /ws/agent/{id}, where an unknown run is made
 *   from the goal in the query or in the first message
 * @query: (nullable): the upgrade request's query
 */
void
aic_agent_hub_accept (AicAgentHub             *self,
                      SoupWebsocketConnection *connection,
                      const char              *run_id,
                      gboolean                 plain,
                      GHashTable              *query)
{
  Socket *socket = g_new0 (Socket, 1);
  const char *after_text = query ? g_hash_table_lookup (query, "after") : NULL;
  const char *goal = query ? g_hash_table_lookup (query, "goal") : NULL;
  guint64 after_value = 0;
  gint64 after = -1;
  Run *run;

  socket->hub = self;
  socket->connection = g_object_ref (connection);
  socket->plain = plain;
  g_ptr_array_add (self->sockets, socket);
  g_signal_connect (connection, "message", G_CALLBACK (socket_message_cb), socket);
  g_signal_connect (connection, "closed", G_CALLBACK (socket_closed_cb), socket);
  /* ?after=N asks for the kept messages after N again (0: all). */
  if (after_text != NULL && g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after_value, NULL))
    after = (gint64) after_value;

  run = aic_agent_hub_find_live (self, run_id);
  if (run != NULL)
    {
      socket_attach (socket, run, after);
      return;
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(AicRunRecord) record = aic_run_store_get (self->store, run_id, &error);

    if (record != NULL)
      {
        socket_tell_ended (socket, record, after);
        return;
      }
  }

  if (plain && valid_run_id (run_id))
    {
      g_object_set_data_full (G_OBJECT (connection), "aic-run-id", g_strdup (run_id), g_free);
      if (goal != NULL)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(Run) created = aic_agent_hub_run_create (self, run_id, goal, NULL, NULL, &error);

          if (created == NULL)
            aic_agent_hub_socket_send_error (socket, "invalid_request", error->message);
          else
            socket_attach (socket, created, -1);
        }
      return;
    }

  {
    g_autofree char *text = g_strdup_printf ("There is no run %s.", run_id);

    aic_agent_hub_socket_send_error (socket, "not_found", text);
    soup_websocket_connection_close (connection, 4404, "no such run");
  }
}
