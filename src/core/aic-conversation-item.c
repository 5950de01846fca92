/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-conversation-item.h"

/* One place in the sidebar's list and the conversation it holds now:
 * what a row shows. Kept small (a year of conversations is 10,000 of
 * these). A search or a reordering changes what the places hold, not the
 * places, so a list view keeps its rows and only relabels them. */
struct _AicConversationItem
{
  GObject  parent_instance;

  char    *id;
  char    *title;
  gint64   updated_at;
};

G_DEFINE_FINAL_TYPE (AicConversationItem, aic_conversation_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_UPDATED_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
aic_conversation_item_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  AicConversationItem *self = AIC_CONVERSATION_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_UPDATED_AT:
      g_value_set_int64 (value, self->updated_at);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_conversation_item_finalize (GObject *object)
{
  AicConversationItem *self = AIC_CONVERSATION_ITEM (object);

  g_free (self->id);
  g_free (self->title);

  G_OBJECT_CLASS (aic_conversation_item_parent_class)->finalize (object);
}

static void
aic_conversation_item_class_init (AicConversationItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = aic_conversation_item_get_property;
  object_class->finalize = aic_conversation_item_finalize;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_UPDATED_AT] =
    g_param_spec_int64 ("updated-at", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_conversation_item_init (AicConversationItem *self)
{
}

AicConversationItem *
aic_conversation_item_new (void)
{
  AicConversationItem *self = g_object_new (AIC_TYPE_CONVERSATION_ITEM, NULL);

  self->id = g_strdup ("");
  self->title = g_strdup ("");
  return self;
}

const char *
aic_conversation_item_get_id (AicConversationItem *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_ITEM (self), NULL);
  return self->id;
}

const char *
aic_conversation_item_get_title (AicConversationItem *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_ITEM (self), NULL);
  return self->title;
}

gint64
aic_conversation_item_get_updated_at (AicConversationItem *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_ITEM (self), 0);
  return self->updated_at;
}

/* Notifies only what changed. */
void
aic_conversation_item_update (AicConversationItem *self,
                              const char          *id,
                              const char          *title,
                              gint64               updated_at)
{
  g_return_if_fail (AIC_IS_CONVERSATION_ITEM (self));
  g_return_if_fail (id != NULL);

  g_object_freeze_notify (G_OBJECT (self));
  if (!g_str_equal (self->id, id))
    {
      g_free (self->id);
      self->id = g_strdup (id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
    }

  if (g_strcmp0 (self->title, title ? title : "") != 0)
    {
      g_free (self->title);
      self->title = g_strdup (title ? title : "");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
  if (self->updated_at != updated_at)
    {
      self->updated_at = updated_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPDATED_AT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}
