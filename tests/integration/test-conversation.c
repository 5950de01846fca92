/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-conversation.h"
#include "aic-error.h"
#include "aic-server.h"
#include "aic-test-util.h"

/* AicConversation against the real backend (demo engine) and a real
 * SQLite file: send, stop, regenerate, edit, errors, and that what was
 * streamed is on disk before it could be drawn. */

typedef struct
{
  AicServer *server;
  char *url;
  char *dir;
  char *db;
  AicStore *store;
  AicClient *client;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  aic_engine_set_demo_delay (engine, GPOINTER_TO_UINT (data) ? GPOINTER_TO_UINT (data) : 1);
  f->server = aic_server_new (engine, "tok");
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", 0, &error));
  f->url = aic_server_dup_url (f->server);
  connection = aic_connection_new (NULL, "Built-in", AIC_CONNECTION_KIND_CONSOLE, f->url);
  f->client = aic_client_new (connection, "tok");

  f->dir = g_dir_make_tmp ("aic-conversation-XXXXXX", &error);
  f->db = g_build_filename (f->dir, "ai-console.db", NULL);
  f->store = aic_store_open (f->db, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *wal = g_strconcat (f->db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (f->db, "-shm", NULL);

  g_clear_object (&f->client);
  g_clear_object (&f->store);
  g_clear_object (&f->server);
  g_unlink (f->db);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (f->dir);
  g_free (f->db);
  g_free (f->dir);
  g_free (f->url);
}

static gboolean
idle_now (gpointer data)
{
  return !aic_conversation_get_busy (data);
}

static void
wait_idle (AicConversation *conversation)
{
  aic_test_wait_for (idle_now, conversation, 20000);
}

static AicChatMessage *
message_at (AicConversation *conversation,
            guint            i)
{
  AicChatMessage *message = g_list_model_get_item (aic_conversation_get_messages (conversation), i);

  g_object_unref (message);   /* the list keeps it */
  return message;
}

static const char *
stored_text (Fixture    *f,
             const char *conversation_id,
             guint       i)
{
  static char *text;
  g_autoptr(GPtrArray) stored = aic_store_list_messages (f->store, conversation_id, NULL);

  g_free (text);
  text = g_strdup (((AicStoredMessage *) g_ptr_array_index (stored, i))->content);
  return text;
}

static void
test_send (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(AicConversation) conversation = aic_conversation_new (f->store, NULL, NULL);
  g_autoptr(AicConversation) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stats = NULL;
  AicChatMessage *reply;

  aic_conversation_set_client (conversation, f->client);
  g_assert_true (aic_conversation_send (conversation, "  Tell me about foxes\nin detail  ", &error));
  g_assert_no_error (error);
  g_assert_true (aic_conversation_get_busy (conversation));
  g_assert_cmpstr (aic_conversation_get_title (conversation), ==, "Tell me about foxes");
  wait_idle (conversation);

  g_assert_cmpuint (g_list_model_get_n_items (aic_conversation_get_messages (conversation)), ==, 2);
  reply = message_at (conversation, 1);
  g_assert_cmpint (aic_chat_message_get_state (reply), ==, AIC_MESSAGE_COMPLETE);
  g_assert_true (g_str_has_prefix (aic_chat_message_get_text (reply), "**This is the demo engine**"));
  stats = aic_chat_message_dup_stats_text (reply);
  g_assert_nonnull (stats);
  g_assert_true (g_str_has_prefix (stats, "demo · "));
  g_assert_nonnull (strstr (stats, "tokens/s"));

  /* All of it is in the store, as a new window would load it. */
  reloaded = aic_conversation_new (f->store, aic_conversation_get_id (conversation), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (aic_conversation_get_messages (reloaded)), ==, 2);
  g_assert_cmpstr (aic_chat_message_get_text (message_at (reloaded, 0)), ==, "Tell me about foxes\nin detail");
  g_assert_cmpstr (aic_chat_message_get_text (message_at (reloaded, 1)), ==, aic_chat_message_get_text (reply));
  g_assert_cmpstr (aic_chat_message_get_model (message_at (reloaded, 1)), ==, "demo");

  /* Busy: a second send is refused, not queued. */
  g_assert_true (aic_conversation_send (conversation, "again", &error));
  g_assert_false (aic_conversation_send (conversation, "and again", &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_FAILED);
  wait_idle (conversation);
}

/* Checked at low priority, after the default-priority work of the same
 * main-loop turn and before the frame clock would draw: what is in the
 * message is in the store. */
typedef struct
{
  Fixture *f;
  AicConversation *conversation;
  guint checks;
  guint mismatches;
} ShownCheck;

static gboolean
check_shown (gpointer data)
{
  ShownCheck *c = data;
  AicChatMessage *reply = message_at (c->conversation, 1);

  c->checks++;
  if (g_strcmp0 (stored_text (c->f, aic_conversation_get_id (c->conversation), 1),
                 aic_chat_message_get_text (reply)) != 0)
    c->mismatches++;
  return G_SOURCE_REMOVE;
}

static void
on_appended (AicChatMessage *message,
             const char     *text,
             ShownCheck     *c)
{
  /* GDK_PRIORITY_REDRAW, where drawing happens */
  g_idle_add_full (G_PRIORITY_HIGH_IDLE + 20, check_shown, c, NULL);
}

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  ShownCheck *c)
{
  if (added > 0 && position == 1)
    g_signal_connect (message_at (c->conversation, 1), "appended", G_CALLBACK (on_appended), c);
}

static void
test_shown_is_stored (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(AicConversation) conversation = aic_conversation_new (f->store, NULL, NULL);
  g_autoptr(GError) error = NULL;
  ShownCheck c = { f, conversation, 0, 0 };

  aic_conversation_set_client (conversation, f->client);
  g_signal_connect (aic_conversation_get_messages (conversation), "items-changed", G_CALLBACK (on_items_changed), &c);
  g_assert_true (aic_conversation_send (conversation, "hello", &error));
  wait_idle (conversation);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_test_message ("%u checks", c.checks);
  g_assert_cmpuint (c.checks, >, 10);
  g_assert_cmpuint (c.mismatches, ==, 0);
}

static gboolean
has_some_text (gpointer data)
{
  guint n = g_list_model_get_n_items (aic_conversation_get_messages (data));

  return n == 2 && strlen (aic_chat_message_get_text (message_at (data, 1))) > 30;
}

static void
test_stop_keeps_partial (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(AicConversation) conversation = aic_conversation_new (f->store, NULL, NULL);
  g_autoptr(AicStore) reopened = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(GError) error = NULL;
  AicChatMessage *reply;
  AicStoredMessage *kept;

  aic_conversation_set_client (conversation, f->client);
  g_assert_true (aic_conversation_send (conversation, "a long story", &error));
  aic_test_wait_for (has_some_text, conversation, 10000);
  aic_conversation_stop (conversation);
  wait_idle (conversation);

  reply = message_at (conversation, 1);
  g_assert_cmpint (aic_chat_message_get_state (reply), ==, AIC_MESSAGE_INTERRUPTED);
  g_assert_cmpuint (strlen (aic_chat_message_get_text (reply)), >, 30);
  g_assert_false (g_str_has_suffix (aic_chat_message_get_text (reply), "```\n"));

  /* On disk, as shown, in a fresh connection to the file. */
  reopened = aic_store_open (f->db, &error);
  stored = aic_store_list_messages (reopened, aic_conversation_get_id (conversation), &error);
  kept = g_ptr_array_index (stored, 1);
  g_assert_cmpstr (kept->content, ==, aic_chat_message_get_text (reply));
  g_assert_cmpint (kept->state, ==, AIC_MESSAGE_INTERRUPTED);
}

static void
test_regenerate_and_edit (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(AicConversation) conversation = aic_conversation_new (f->store, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  gint64 first_reply_id;

  aic_conversation_set_client (conversation, f->client);
  g_assert_false (aic_conversation_can_regenerate (conversation));
  g_assert_true (aic_conversation_send (conversation, "first question", &error));
  wait_idle (conversation);
  first_reply_id = aic_chat_message_get_id (message_at (conversation, 1));

  g_assert_true (aic_conversation_can_regenerate (conversation));
  g_assert_true (aic_conversation_regenerate (conversation, &error));
  wait_idle (conversation);
  g_assert_cmpuint (g_list_model_get_n_items (aic_conversation_get_messages (conversation)), ==, 2);
  g_assert_cmpint (aic_chat_message_get_id (message_at (conversation, 1)), !=, first_reply_id);
  g_assert_cmpint (aic_chat_message_get_state (message_at (conversation, 1)), ==, AIC_MESSAGE_COMPLETE);

  g_assert_cmpstr (aic_chat_message_get_text (aic_conversation_get_last_user (conversation)), ==, "first question");
  g_assert_true (aic_conversation_edit_last (conversation, "second thoughts", &error));
  wait_idle (conversation);
  g_assert_cmpuint (g_list_model_get_n_items (aic_conversation_get_messages (conversation)), ==, 2);
  g_assert_cmpstr (aic_chat_message_get_text (message_at (conversation, 0)), ==, "second thoughts");
  g_assert_nonnull (strstr (aic_chat_message_get_text (message_at (conversation, 1)), "“second thoughts”"));

  stored = aic_store_list_messages (f->store, aic_conversation_get_id (conversation), &error);
  g_assert_cmpuint (stored->len, ==, 2);
}

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(AicConversation) conversation = aic_conversation_new (f->store, NULL, NULL);
  g_autofree char *dead_url = g_strdup_printf ("http://127.0.0.1:%u", aic_test_free_port ());
  g_autoptr(AicConnection) dead = aic_connection_new (NULL, "Dead", AIC_CONNECTION_KIND_CONSOLE, dead_url);
  g_autoptr(AicClient) dead_client = aic_client_new (dead, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  AicChatMessage *reply;

  /* No client yet: a clear refusal, nothing stored. */
  g_assert_false (aic_conversation_send (conversation, "hello?", &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNREACHABLE);
  g_clear_error (&error);
  list = aic_store_list_conversations (f->store, NULL, &error);
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_false (aic_conversation_send (conversation, "   ", &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A server that is not there: the reply fails, in words. */
  aic_conversation_set_client (conversation, dead_client);
  g_assert_true (aic_conversation_send (conversation, "hello?", &error));
  wait_idle (conversation);
  reply = message_at (conversation, 1);
  g_assert_cmpint (aic_chat_message_get_state (reply), ==, AIC_MESSAGE_FAILED);
  g_assert_nonnull (strstr (aic_chat_message_get_error (reply), "Nothing is listening"));

  /* Retry once the connection is good. */
  aic_conversation_set_client (conversation, f->client);
  g_assert_true (aic_conversation_regenerate (conversation, &error));
  wait_idle (conversation);
  g_assert_cmpuint (g_list_model_get_n_items (aic_conversation_get_messages (conversation)), ==, 2);
  g_assert_cmpint (aic_chat_message_get_state (message_at (conversation, 1)), ==, AIC_MESSAGE_COMPLETE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, delay) g_test_add (path, Fixture, GUINT_TO_POINTER (delay), fixture_setup, func, fixture_teardown)
  ADD ("/conversation/send", test_send, 1);
  ADD ("/conversation/shown-is-stored", test_shown_is_stored, 3);
  ADD ("/conversation/stop-keeps-partial", test_stop_keeps_partial, 20);
  ADD ("/conversation/regenerate-and-edit", test_regenerate_and_edit, 1);
  ADD ("/conversation/errors", test_errors, 1);
#undef ADD

  return g_test_run ();
}
