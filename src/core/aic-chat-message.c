/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-chat-message.h"

/* One message of a conversation, as the Chat view shows it. While a reply
 * streams, "appended" carries each new piece so a view can add it without
 * re-reading the whole text. */
struct _AicChatMessage
{
  GObject          parent_instance;

  gint64           id;
  char            *role;
  GString         *text;
  AicMessageState  state;
  char            *error;
  char            *model;
  gint64           first_token_ms;
  gint64           duration_ms;
  gint64           tokens;
};

G_DEFINE_FINAL_TYPE (AicChatMessage, aic_chat_message, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (AicMessageState, aic_message_state,
  G_DEFINE_ENUM_VALUE (AIC_MESSAGE_COMPLETE, "complete"),
  G_DEFINE_ENUM_VALUE (AIC_MESSAGE_STREAMING, "streaming"),
  G_DEFINE_ENUM_VALUE (AIC_MESSAGE_INTERRUPTED, "interrupted"),
  G_DEFINE_ENUM_VALUE (AIC_MESSAGE_FAILED, "failed"))

enum {
  PROP_0,
  PROP_STATE,
  PROP_ERROR,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  APPENDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
aic_chat_message_finalize (GObject *object)
{
  AicChatMessage *self = AIC_CHAT_MESSAGE (object);

  g_free (self->role);
  g_string_free (self->text, TRUE);
  g_free (self->error);
  g_free (self->model);

  G_OBJECT_CLASS (aic_chat_message_parent_class)->finalize (object);
}

static void
aic_chat_message_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  AicChatMessage *self = AIC_CHAT_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_ERROR: g_value_set_string (value, self->error); break;
    case PROP_STATS: g_value_take_string (value, aic_chat_message_dup_stats_text (self)); break;
    default:         G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_chat_message_class_init (AicChatMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = aic_chat_message_finalize;
  object_class->get_property = aic_chat_message_get_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, AIC_TYPE_MESSAGE_STATE, AIC_MESSAGE_COMPLETE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* "demo · 0.21 s to first token · 38 tokens/s", or NULL */
  properties[PROP_STATS] =
    g_param_spec_string ("stats", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[APPENDED] =
    g_signal_new ("appended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
aic_chat_message_init (AicChatMessage *self)
{
  self->text = g_string_new (NULL);
  self->first_token_ms = -1;
  self->duration_ms = -1;
  self->tokens = -1;
}

AicChatMessage *
aic_chat_message_new (gint64           id,
                      const char      *role,
                      const char      *text,
                      AicMessageState  state)
{
  AicChatMessage *self = g_object_new (AIC_TYPE_CHAT_MESSAGE, NULL);

  self->id = id;
  self->role = g_strdup (role);
  g_string_assign (self->text, text ? text : "");
  self->state = state;
  return self;
}

AicChatMessage *
aic_chat_message_new_from_stored (const AicStoredMessage *stored)
{
  AicChatMessage *self = aic_chat_message_new (stored->id, stored->role, stored->content, stored->state);

  self->error = g_strdup (stored->error);
  self->model = g_strdup (stored->model);
  self->first_token_ms = stored->first_token_ms;
  self->duration_ms = stored->duration_ms;
  self->tokens = stored->tokens;
  return self;
}

gint64
aic_chat_message_get_id (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), -1);
  return self->id;
}

const char *
aic_chat_message_get_role (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), NULL);
  return self->role;
}

gboolean
aic_chat_message_is_user (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), FALSE);
  return g_strcmp0 (self->role, "user") == 0;
}

const char *
aic_chat_message_get_text (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), NULL);
  return self->text->str;
}

void
aic_chat_message_append (AicChatMessage *self,
                         const char     *text)
{
  g_return_if_fail (AIC_IS_CHAT_MESSAGE (self));

  g_string_append (self->text, text);
  g_signal_emit (self, signals[APPENDED], 0, text);
}

AicMessageState
aic_chat_message_get_state (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), AIC_MESSAGE_COMPLETE);
  return self->state;
}

void
aic_chat_message_set_state (AicChatMessage  *self,
                            AicMessageState  state,
                            const char      *error)
{
  g_return_if_fail (AIC_IS_CHAT_MESSAGE (self));

  if (g_strcmp0 (self->error, error) != 0)
    {
      g_free (self->error);
      self->error = g_strdup (error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
    }
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

const char *
aic_chat_message_get_error (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), NULL);
  return self->error;
}

void
aic_chat_message_set_stats (AicChatMessage *self,
                            const char     *model,
                            gint64          first_token_ms,
                            gint64          duration_ms,
                            gint64          tokens)
{
  g_return_if_fail (AIC_IS_CHAT_MESSAGE (self));

  g_free (self->model);
  self->model = g_strdup (model);
  self->first_token_ms = first_token_ms;
  self->duration_ms = duration_ms;
  self->tokens = tokens;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATS]);
}

const char *
aic_chat_message_get_model (AicChatMessage *self)
{
  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), NULL);
  return self->model;
}

/**
 * aic_chat_message_dup_stats_text:
 * Returns: (transfer full) (nullable): the discreet line under a reply
 */
char *
aic_chat_message_dup_stats_text (AicChatMessage *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_return_val_if_fail (AIC_IS_CHAT_MESSAGE (self), NULL);

  if (self->model != NULL && self->model[0] != '\0')
    g_string_append (text, self->model);
  if (self->first_token_ms >= 0)
    {
      /* Translators: time to first token, shown under a reply */
      g_autofree char *first = g_strdup_printf (_("%.2f s to first token"), self->first_token_ms / 1000.0);

      g_string_append_printf (text, "%s%s", text->len ? " · " : "", first);
    }
  if (self->tokens > 0 && self->duration_ms > self->first_token_ms && self->first_token_ms >= 0)
    {
      double rate = self->tokens / ((self->duration_ms - self->first_token_ms) / 1000.0);
      g_autofree char *speed = g_strdup_printf (_("%.0f tokens/s"), rate);

      g_string_append_printf (text, "%s%s", text->len ? " · " : "", speed);
    }
  return text->len ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}
