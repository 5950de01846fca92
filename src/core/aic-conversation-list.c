/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-conversation-list.h"

/* The stored conversations, newest first, or those a search finds (FTS5,
 * in the store), as a GListModel for the sidebar's list view. One query
 * per change. Items are places in the list: a new result relabels them
 * (property notifications) and only a change in length is reported as
 * items-changed, at the end. A list view in GTK 4.8 destroys the rows of
 * removed items rather than recycling them, so this keeps its rows made
 * once however much is typed. An item is made when it is first asked for
 * (a list view asks for a few hundred of 10,000); until then its place
 * is only the row read from the store. */
struct _AicConversationList
{
  GObject     parent_instance;

  AicStore   *store;
  char       *search;
  GPtrArray  *infos;    /* AicConversationInfo, the places' contents */
  GPtrArray  *items;    /* AicConversationItem or NULL, as long as infos */
  guint       n_made;
};

enum {
  REFRESHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (AicConversationList, aic_conversation_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
get_item_type (GListModel *model)
{
  return AIC_TYPE_CONVERSATION_ITEM;
}

static guint
get_n_items (GListModel *model)
{
  return AIC_CONVERSATION_LIST (model)->infos->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  AicConversationList *self = AIC_CONVERSATION_LIST (model);
  AicConversationItem *item;

  if (position >= self->infos->len)
    return NULL;
  item = g_ptr_array_index (self->items, position);
  if (item == NULL)
    {
      AicConversationInfo *info = g_ptr_array_index (self->infos, position);

      item = aic_conversation_item_new ();
      aic_conversation_item_update (item, info->id, info->title, info->updated_at);
      g_ptr_array_index (self->items, position) = item;
      self->n_made++;
    }
  return g_object_ref (item);
}

static void
item_free (gpointer item)
{
  if (item != NULL)
    g_object_unref (item);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

/**
 * aic_conversation_list_refresh:
 * Reads the list again (the store calls this itself when it changes).
 */
gboolean
aic_conversation_list_refresh (AicConversationList  *self,
                               GError              **error)
{
  g_autoptr(GPtrArray) infos = NULL;
  guint old_n, new_n;

  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), FALSE);

  infos = aic_store_list_conversations (self->store, self->search, error);
  if (infos == NULL)
    return FALSE;

  old_n = self->infos->len;
  new_n = infos->len;
  /* The places made so far are relabelled; the others only hold a row. */
  for (guint i = 0; i < MIN (old_n, new_n); i++)
    {
      AicConversationInfo *info = g_ptr_array_index (infos, i);
      AicConversationItem *item = g_ptr_array_index (self->items, i);

      if (item != NULL)
        aic_conversation_item_update (item, info->id, info->title, info->updated_at);
    }
  if (new_n < old_n)
    g_ptr_array_remove_range (self->items, new_n, old_n - new_n);
  else
    g_ptr_array_set_size (self->items, new_n);
  g_ptr_array_unref (self->infos);
  self->infos = g_steal_pointer (&infos);

  if (new_n > old_n)
    g_list_model_items_changed (G_LIST_MODEL (self), old_n, 0, new_n - old_n);
  else if (new_n < old_n)
    g_list_model_items_changed (G_LIST_MODEL (self), new_n, old_n - new_n, 0);
  g_signal_emit (self, signals[REFRESHED], 0);
  return TRUE;
}

static void
store_changed_cb (AicConversationList *self)
{
  g_autoptr(GError) error = NULL;

  if (!aic_conversation_list_refresh (self, &error))
    g_warning ("Could not read the conversations: %s", error->message);
}

static void
aic_conversation_list_dispose (GObject *object)
{
  AicConversationList *self = AIC_CONVERSATION_LIST (object);

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (aic_conversation_list_parent_class)->dispose (object);
}

static void
aic_conversation_list_finalize (GObject *object)
{
  AicConversationList *self = AIC_CONVERSATION_LIST (object);

  g_clear_pointer (&self->search, g_free);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->infos, g_ptr_array_unref);

  G_OBJECT_CLASS (aic_conversation_list_parent_class)->finalize (object);
}

static void
aic_conversation_list_class_init (AicConversationListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_conversation_list_dispose;
  object_class->finalize = aic_conversation_list_finalize;

  /**
   * AicConversationList::refreshed:
   *
   * Emitted after each read, whether or not the length changed.
   */
  signals[REFRESHED] =
    g_signal_new ("refreshed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
aic_conversation_list_init (AicConversationList *self)
{
  self->items = g_ptr_array_new_with_free_func (item_free);
  self->infos = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_conversation_info_free);
}

/**
 * aic_conversation_list_new:
 * Returns: (transfer full): every conversation in @store, newest first,
 *   and kept so as @store changes
 */
AicConversationList *
aic_conversation_list_new (AicStore *store)
{
  AicConversationList *self;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (AIC_IS_STORE (store), NULL);

  self = g_object_new (AIC_TYPE_CONVERSATION_LIST, NULL);
  self->store = g_object_ref (store);
  g_signal_connect_object (store, "changed", G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
  if (!aic_conversation_list_refresh (self, &error))
    g_warning ("Could not read the conversations: %s", error->message);
  return self;
}

const char *
aic_conversation_list_get_search (AicConversationList *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), NULL);
  return self->search;
}

/**
 * aic_conversation_list_set_search:
 * @search: (nullable): words to find in titles and messages; %NULL or
 *   blank for every conversation
 */
gboolean
aic_conversation_list_set_search (AicConversationList  *self,
                                  const char           *search,
                                  GError              **error)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), FALSE);

  if (search != NULL && search[0] == '\0')
    search = NULL;
  if (g_strcmp0 (self->search, search) == 0)
    return TRUE;
  g_free (self->search);
  self->search = g_strdup (search);
  return aic_conversation_list_refresh (self, error);
}

/**
 * aic_conversation_list_find:
 * Returns: the position of @conversation_id, or %G_MAXUINT
 */
guint
aic_conversation_list_find (AicConversationList *self,
                            const char          *conversation_id)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), G_MAXUINT);

  if (conversation_id == NULL)
    return G_MAXUINT;
  for (guint i = 0; i < self->infos->len; i++)
    if (g_str_equal (((AicConversationInfo *) g_ptr_array_index (self->infos, i))->id, conversation_id))
      return i;
  return G_MAXUINT;
}

/* For tests: how many items have been made (asked for) so far. */
guint
aic_conversation_list_get_n_made (AicConversationList *self)
{
  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), 0);
  return self->n_made;
}
