/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-conversation-list.h"

/* The stored conversations, newest first, or those a search finds (FTS5,
 * in the store), as a GListModel for the sidebar's list view. One query
 * per change; the same item object stays with a conversation across
 * queries, and only the span that differs is reported as changed, so a
 * list view keeps its rows and its selection. */
struct _AicConversationList
{
  GObject     parent_instance;

  AicStore   *store;
  char       *search;
  GPtrArray  *items;    /* AicConversationItem */
  GHashTable *by_id;    /* id → item, the items above */
  GHashTable *known;    /* id → item, every conversation seen since the
                         * last unfiltered read: one object per
                         * conversation, across searches too */
};

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
  return AIC_CONVERSATION_LIST (model)->items->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  AicConversationList *self = AIC_CONVERSATION_LIST (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
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
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GHashTable) by_id = NULL;
  guint old_n, new_n, head = 0, tail = 0;

  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), FALSE);

  infos = aic_store_list_conversations (self->store, self->search, error);
  if (infos == NULL)
    return FALSE;

  items = g_ptr_array_new_full (infos->len, g_object_unref);
  by_id = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < infos->len; i++)
    {
      AicConversationInfo *info = g_ptr_array_index (infos, i);
      AicConversationItem *item = g_hash_table_lookup (self->known, info->id);

      if (item == NULL)
        {
          item = aic_conversation_item_new (info->id);
          g_hash_table_insert (self->known, (gpointer) aic_conversation_item_get_id (item), g_object_ref (item));
        }
      else
        g_object_ref (item);
      aic_conversation_item_update (item, info->title, info->updated_at);
      g_ptr_array_add (items, item);
      g_hash_table_insert (by_id, (gpointer) aic_conversation_item_get_id (item), item);
    }

  old_n = self->items->len;
  new_n = items->len;
  while (head < old_n && head < new_n &&
         g_ptr_array_index (self->items, head) == g_ptr_array_index (items, head))
    head++;
  while (tail < old_n - head && tail < new_n - head &&
         g_ptr_array_index (self->items, old_n - 1 - tail) == g_ptr_array_index (items, new_n - 1 - tail))
    tail++;

  /* Deleted conversations leave the cache at the next unfiltered read. */
  if (self->search == NULL && g_hash_table_size (self->known) != g_hash_table_size (by_id))
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, self->known);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (!g_hash_table_contains (by_id, key))
          g_hash_table_iter_remove (&iter);
    }
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  self->by_id = g_steal_pointer (&by_id);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  self->items = g_steal_pointer (&items);

  if (old_n - head - tail > 0 || new_n - head - tail > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), head, old_n - head - tail, new_n - head - tail);
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
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->known, g_hash_table_unref);

  G_OBJECT_CLASS (aic_conversation_list_parent_class)->finalize (object);
}

static void
aic_conversation_list_class_init (AicConversationListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = aic_conversation_list_dispose;
  object_class->finalize = aic_conversation_list_finalize;
}

static void
aic_conversation_list_init (AicConversationList *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->known = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
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
  gpointer item;
  guint position;

  g_return_val_if_fail (AIC_IS_CONVERSATION_LIST (self), G_MAXUINT);

  if (conversation_id == NULL ||
      (item = g_hash_table_lookup (self->by_id, conversation_id)) == NULL ||
      !g_ptr_array_find (self->items, item, &position))
    return G_MAXUINT;
  return position;
}
