/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-chat-stream.h"
#include "aic-conversation.h"
#include "aic-error.h"
#include "aic-source.h"

/* A conversation as the Chat view works with it: its messages as a list
 * model, and Send, Stop, Regenerate and Edit, each kept in the store as it
 * happens. A reply's text goes to the store in an idle at default
 * priority, which runs before the next frame is drawn: whatever is shown
 * on screen is already on disk, even if the app is killed right after. */
struct _AicConversation
{
  GObject          parent_instance;

  AicStore        *store;
  char            *id;
  char            *title;
  char            *model;
  GListStore      *messages;
  AicClient       *client;

  AicChatStream   *stream;
  AicChatMessage  *reply;
  GString         *unsaved;
  guint            save_source;
};

G_DEFINE_FINAL_TYPE (AicConversation, aic_conversation, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_BUSY,
  PROP_MODEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
report (AicConversation *self,
        const GError    *error)
{
  g_debug ("Conversation %s: %s", self->id, error->message);
  g_signal_emit (self, signals[FAILED], 0, error->message);
}

static void
save_unsaved (AicConversation *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&self->save_source, aic_source_remove);
  if (self->reply == NULL || self->unsaved->len == 0)
    return;
  if (!aic_store_append_message_text (self->store, aic_chat_message_get_id (self->reply),
                                      self->unsaved->str, &error))
    report (self, error);
  g_string_truncate (self->unsaved, 0);
}

static gboolean
save_cb (gpointer data)
{
  AicConversation *self = data;

  self->save_source = 0;
  save_unsaved (self);
  return G_SOURCE_REMOVE;
}

static void
on_token (AicChatStream   *stream,
          const char      *text,
          AicConversation *self)
{
  g_string_append (self->unsaved, text);
  if (self->save_source == 0)
    self->save_source = aic_idle_add (G_PRIORITY_DEFAULT, save_cb, self);
  aic_chat_message_append (self->reply, text);
}

static void
set_busy (AicConversation *self,
          AicChatStream   *stream)
{
  gboolean was = self->stream != NULL;

  g_set_object (&self->stream, stream);
  if (was != (stream != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
stream_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(AicConversation) self = user_data;
  AicChatStream *stream = AIC_CHAT_STREAM (object);
  g_autoptr(AicChatMessage) reply = g_steal_pointer (&self->reply);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) store_error = NULL;
  AicMessageState state = AIC_MESSAGE_COMPLETE;
  const char *error_text = NULL;
  gint64 first = aic_chat_stream_get_first_token_us (stream);
  gint64 completion = aic_chat_stream_get_completion_tokens (stream);

  g_signal_handlers_disconnect_by_data (stream, self);
  self->reply = reply;   /* for the last save */
  save_unsaved (self);
  self->reply = NULL;

  if (!aic_chat_stream_run_finish (stream, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        state = AIC_MESSAGE_INTERRUPTED;
      else
        {
          state = AIC_MESSAGE_FAILED;
          error_text = error->message;
        }
    }

  aic_chat_message_set_stats (reply, aic_chat_stream_get_model (stream),
                              first >= 0 ? first / 1000 : -1,
                              aic_chat_stream_get_duration_us (stream) / 1000,
                              completion >= 0 ? completion : aic_chat_stream_get_n_tokens (stream));
  aic_chat_message_set_state (reply, state, error_text);

  if (!aic_store_update_message (self->store, aic_chat_message_get_id (reply),
                                 aic_chat_message_get_text (reply), state, error_text, &store_error) ||
      !aic_store_set_message_stats (self->store, aic_chat_message_get_id (reply),
                                    aic_chat_message_get_model (reply),
                                    first >= 0 ? first / 1000 : -1,
                                    aic_chat_stream_get_duration_us (stream) / 1000,
                                    completion >= 0 ? completion : aic_chat_stream_get_n_tokens (stream),
                                    &store_error))
    report (self, store_error);

  set_busy (self, NULL);
}

static gboolean
ensure_conversation (AicConversation  *self,
                     const char       *first_text,
                     GError          **error)
{
  g_autofree char *title = NULL;
  const char *newline;

  if (self->id != NULL)
    return TRUE;

  /* The first line of the first message, shortened, names it. */
  newline = strchr (first_text, '\n');
  title = newline ? g_strndup (first_text, newline - first_text) : g_strdup (first_text);
  if (g_utf8_strlen (title, -1) > 60)
    {
      g_autofree char *head = g_utf8_substring (title, 0, 59);
      g_free (title);
      title = g_strconcat (head, "…", NULL);
    }

  self->id = aic_store_create_conversation (self->store, g_strstrip (title), self->model, error);
  if (self->id == NULL)
    return FALSE;
  self->title = g_steal_pointer (&title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  return TRUE;
}

/* Asks for a reply to the conversation as it stands. */
static gboolean
start_reply (AicConversation  *self,
             GError          **error)
{
  g_autoptr(AicChatStream) stream = NULL;
  g_autoptr(AicChatMessage) reply = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->messages));
  gint64 id;

  if (self->client == NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_UNREACHABLE,
                           _("No connection is ready yet. Wait for the built-in backend, or choose a connection in Preferences."));
      return FALSE;
    }

  stream = aic_chat_stream_new (self->client);
  aic_chat_stream_set_model (stream, self->model);
  aic_chat_stream_set_conversation_id (stream, self->id);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(AicChatMessage) message = g_list_model_get_item (G_LIST_MODEL (self->messages), i);
      const char *text = aic_chat_message_get_text (message);

      /* Failed or empty replies are not part of what the model is told. */
      if (text[0] == '\0' || aic_chat_message_get_state (message) == AIC_MESSAGE_FAILED)
        continue;
      aic_chat_stream_add_turn (stream, aic_chat_message_get_role (message), text);
    }

  id = aic_store_add_message (self->store, self->id, "assistant", "", AIC_MESSAGE_STREAMING, error);
  if (id < 0)
    return FALSE;
  reply = aic_chat_message_new (id, "assistant", "", AIC_MESSAGE_STREAMING);
  g_list_store_append (self->messages, reply);
  self->reply = g_object_ref (reply);

  g_signal_connect (stream, "token", G_CALLBACK (on_token), self);
  set_busy (self, stream);
  aic_chat_stream_run_async (stream, NULL, stream_done_cb, g_object_ref (self));
  return TRUE;
}

/**
 * aic_conversation_send:
 * Adds @text as the user's message and streams the reply.
 */
gboolean
aic_conversation_send (AicConversation  *self,
                       const char       *text,
                       GError          **error)
{
  g_autoptr(AicChatMessage) message = NULL;
  g_autofree char *trimmed = NULL;
  gint64 id;

  g_return_val_if_fail (AIC_IS_CONVERSATION (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (self->stream != NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_FAILED, _("A reply is still being written."));
      return FALSE;
    }
  trimmed = g_strstrip (g_strdup (text));
  if (trimmed[0] == '\0')
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT, _("The message is empty."));
      return FALSE;
    }
  if (self->client == NULL)
    return start_reply (self, error);   /* says why */

  if (!ensure_conversation (self, trimmed, error))
    return FALSE;
  id = aic_store_add_message (self->store, self->id, "user", trimmed, AIC_MESSAGE_COMPLETE, error);
  if (id < 0)
    return FALSE;
  message = aic_chat_message_new (id, "user", trimmed, AIC_MESSAGE_COMPLETE);
  g_list_store_append (self->messages, message);

  return start_reply (self, error);
}

/**
 * aic_conversation_stop:
 * Stops the reply being written; the request itself is cancelled and the
 * text so far stays, marked as interrupted.
 */
void
aic_conversation_stop (AicConversation *self)
{
  g_return_if_fail (AIC_IS_CONVERSATION (self));

  if (self->stream != NULL)
    aic_chat_stream_stop (self->stream);
}

static AicChatMessage *
last_message (AicConversation *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->messages));

  return n ? g_list_model_get_item (G_LIST_MODEL (self->messages), n - 1) : NULL;
}

gboolean
aic_conversation_can_regenerate (AicConversation *self)
{
  g_autoptr(AicChatMessage) last = NULL;

  g_return_val_if_fail (AIC_IS_CONVERSATION (self), FALSE);

  last = last_message (self);
  return self->stream == NULL && last != NULL && !aic_chat_message_is_user (last);
}

static gboolean
drop_from (AicConversation  *self,
           guint             position,
           GError          **error)
{
  g_autoptr(AicChatMessage) first = g_list_model_get_item (G_LIST_MODEL (self->messages), position);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->messages));

  if (!aic_store_delete_messages_from (self->store, self->id, aic_chat_message_get_id (first), error))
    return FALSE;
  g_list_store_splice (self->messages, position, n - position, NULL, 0);
  return TRUE;
}

/**
 * aic_conversation_regenerate:
 * Replaces the last reply (complete, interrupted or failed) with a new one.
 * Also what "Retry" does.
 */
gboolean
aic_conversation_regenerate (AicConversation  *self,
                             GError          **error)
{
  guint n;

  g_return_val_if_fail (AIC_IS_CONVERSATION (self), FALSE);

  if (!aic_conversation_can_regenerate (self))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_FAILED, _("There is no reply to write again."));
      return FALSE;
    }
  if (self->client == NULL)
    return start_reply (self, error);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->messages));
  if (!drop_from (self, n - 1, error))
    return FALSE;
  return start_reply (self, error);
}

AicChatMessage *
aic_conversation_get_last_user (AicConversation *self)
{
  guint n;

  g_return_val_if_fail (AIC_IS_CONVERSATION (self), NULL);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->messages));
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(AicChatMessage) message = g_list_model_get_item (G_LIST_MODEL (self->messages), i - 1);

      if (aic_chat_message_is_user (message))
        return message;   /* the store keeps it alive */
    }
  return NULL;
}

/**
 * aic_conversation_edit_last:
 * Replaces the last message the user sent, and what followed it, with
 * @text and a new reply.
 */
gboolean
aic_conversation_edit_last (AicConversation  *self,
                            const char       *text,
                            GError          **error)
{
  guint n;

  g_return_val_if_fail (AIC_IS_CONVERSATION (self), FALSE);

  if (self->stream != NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_FAILED, _("A reply is still being written."));
      return FALSE;
    }
  if (self->client == NULL)
    return start_reply (self, error);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->messages));
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(AicChatMessage) message = g_list_model_get_item (G_LIST_MODEL (self->messages), i - 1);

      if (aic_chat_message_is_user (message))
        {
          if (!drop_from (self, i - 1, error))
            return FALSE;
          return aic_conversation_send (self, text, error);
        }
    }

  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_FAILED, _("There is no message to edit."));
  return FALSE;
}

static void
aic_conversation_dispose (GObject *object)
{
  AicConversation *self = AIC_CONVERSATION (object);

  if (self->stream != NULL)
    aic_chat_stream_stop (self->stream);
  g_clear_handle_id (&self->save_source, aic_source_remove);

  G_OBJECT_CLASS (aic_conversation_parent_class)->dispose (object);
}

static void
aic_conversation_finalize (GObject *object)
{
  AicConversation *self = AIC_CONVERSATION (object);

  g_clear_object (&self->store);
  g_clear_object (&self->messages);
  g_clear_object (&self->client);
  g_clear_object (&self->stream);
  g_clear_object (&self->reply);
  g_string_free (self->unsaved, TRUE);
  g_free (self->id);
  g_free (self->title);
  g_free (self->model);

  G_OBJECT_CLASS (aic_conversation_parent_class)->finalize (object);
}

static void
aic_conversation_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  AicConversation *self = AIC_CONVERSATION (object);

  switch (prop_id)
    {
    case PROP_ID:    g_value_set_string (value, self->id); break;
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    case PROP_BUSY:  g_value_set_boolean (value, self->stream != NULL); break;
    case PROP_MODEL: g_value_set_string (value, self->model); break;
    default:         G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_conversation_class_init (AicConversationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_conversation_dispose;
  object_class->finalize = aic_conversation_finalize;
  object_class->get_property = aic_conversation_get_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * AicConversation::failed:
   * @message: a sentence for a person
   *
   * Something went wrong outside any reply (the store could not be written).
   */
  signals[FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
aic_conversation_init (AicConversation *self)
{
  self->messages = g_list_store_new (AIC_TYPE_CHAT_MESSAGE);
  self->unsaved = g_string_new (NULL);
}

/**
 * aic_conversation_new:
 * @conversation_id: (nullable): a stored conversation, or %NULL for a new
 *   one (created in the store with its first message)
 */
AicConversation *
aic_conversation_new (AicStore    *store,
                      const char  *conversation_id,
                      GError     **error)
{
  g_autoptr(AicConversation) self = NULL;

  g_return_val_if_fail (AIC_IS_STORE (store), NULL);

  self = g_object_new (AIC_TYPE_CONVERSATION, NULL);
  self->store = g_object_ref (store);

  if (conversation_id != NULL)
    {
      g_autoptr(AicConversationInfo) info = aic_store_get_conversation (store, conversation_id, error);
      g_autoptr(GPtrArray) stored = NULL;

      if (info == NULL)
        return NULL;
      stored = aic_store_list_messages (store, conversation_id, error);
      if (stored == NULL)
        return NULL;

      self->id = g_strdup (info->id);
      self->title = g_strdup (info->title);
      self->model = g_strdup (info->model);
      for (guint i = 0; i < stored->len; i++)
        {
          g_autoptr(AicChatMessage) message = aic_chat_message_new_from_stored (g_ptr_array_index (stored, i));
          g_list_store_append (self->messages, message);
        }
    }

  return g_steal_pointer (&self);
}

const char *
aic_conversation_get_id (AicConversation *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION (self), NULL);
  return self->id;
}

const char *
aic_conversation_get_title (AicConversation *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION (self), NULL);
  return self->title;
}

/**
 * aic_conversation_get_messages:
 * Returns: (transfer none): a GListModel of AicChatMessage
 */
GListModel *
aic_conversation_get_messages (AicConversation *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION (self), NULL);
  return G_LIST_MODEL (self->messages);
}

gboolean
aic_conversation_get_busy (AicConversation *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION (self), FALSE);
  return self->stream != NULL;
}

/**
 * aic_conversation_set_client:
 * @client: (nullable): where replies come from; a reply being written
 *   keeps its own
 */
void
aic_conversation_set_client (AicConversation *self,
                             AicClient       *client)
{
  g_return_if_fail (AIC_IS_CONVERSATION (self));
  g_set_object (&self->client, client);
}

const char *
aic_conversation_get_model (AicConversation *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION (self), NULL);
  return self->model;
}

void
aic_conversation_set_model (AicConversation *self,
                            const char      *model)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (AIC_IS_CONVERSATION (self));

  if (g_strcmp0 (self->model, model) == 0)
    return;
  g_free (self->model);
  self->model = g_strdup (model);
  if (self->id != NULL && !aic_store_set_conversation_model (self->store, self->id, model, &error))
    report (self, error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}
