/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>

#include "aic-connection-store.h"
#include "aic-error.h"
#include "aic-secrets.h"

/* The configured connections, as a GListModel of AicConnection.
 *
 * Persisted like GNOME Console and Ptyxis keep profiles: the main schema
 * lists ids in "connections", and each id has a relocatable
 * io.github.aiconsole.AiConsole.Connection at <main path>/connections/<id>/.
 * Keys go to the Secret Service; removing a connection removes its key. */
struct _AicConnectionStore
{
  GObject    parent_instance;

  GSettings *settings;
  GPtrArray *items;
  char      *path;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (AicConnectionStore, aic_connection_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_ACTIVE,
  PROP_SPEECH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
list_model_get_item_type (GListModel *model)
{
  return AIC_TYPE_CONNECTION;
}

static guint
list_model_get_n_items (GListModel *model)
{
  return AIC_CONNECTION_STORE (model)->items->len;
}

static gpointer
list_model_get_item (GListModel *model,
                     guint       position)
{
  AicConnectionStore *self = AIC_CONNECTION_STORE (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_model_get_item_type;
  iface->get_n_items = list_model_get_n_items;
  iface->get_item = list_model_get_item;
}

static GSettings *
connection_settings (AicConnectionStore *self,
                     const char         *id)
{
  g_autofree char *path = g_strdup_printf ("%sconnections/%s/", self->path, id);

  return g_settings_new_with_path (AIC_CONNECTION_SCHEMA_ID, path);
}

static AicConnection *
load_connection (AicConnectionStore *self,
                 const char         *id)
{
  g_autoptr(GSettings) settings = connection_settings (self, id);
  g_autofree char *kind_string = g_settings_get_string (settings, "kind");
  g_autofree char *name = g_settings_get_string (settings, "name");
  g_autofree char *base_url = g_settings_get_string (settings, "base-url");
  g_autofree char *model = g_settings_get_string (settings, "model");
  AicConnectionKind kind;
  AicConnection *connection;

  if (!aic_connection_kind_from_string (kind_string, &kind))
    {
      g_warning ("Connection %s has unknown kind “%s”; treating it as a console backend",
                 id, kind_string);
      kind = AIC_CONNECTION_KIND_CONSOLE;
    }

  connection = aic_connection_new (id, name, kind, base_url);
  aic_connection_set_model (connection, model);
  aic_connection_set_realtime_voice (connection, g_settings_get_boolean (settings, "realtime-voice"));
  return connection;
}

static gboolean
is_valid_id (const char *id)
{
  /* Ids become part of a GSettings path. */
  if (id == NULL || id[0] == '\0')
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

static void
reload (AicConnectionStore *self)
{
  g_auto(GStrv) ids = g_settings_get_strv (self->settings, AIC_SETTINGS_KEY_CONNECTIONS);
  guint old_len = self->items->len;

  g_ptr_array_set_size (self->items, 0);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (!is_valid_id (ids[i]))
        {
          g_warning ("Ignoring connection with invalid id “%s”", ids[i]);
          continue;
        }
      g_ptr_array_add (self->items, load_connection (self, ids[i]));
    }

  g_list_model_items_changed (G_LIST_MODEL (self), 0, old_len, self->items->len);
}

static void
write_ids (AicConnectionStore *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) ids = NULL;

  for (guint i = 0; i < self->items->len; i++)
    g_strv_builder_add (builder, aic_connection_get_id (g_ptr_array_index (self->items, i)));
  ids = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, AIC_SETTINGS_KEY_CONNECTIONS, (const char * const *) ids);
}

static gboolean
find (AicConnectionStore *self,
      const char         *id,
      guint              *position)
{
  for (guint i = 0; i < self->items->len; i++)
    if (g_strcmp0 (aic_connection_get_id (g_ptr_array_index (self->items, i)), id) == 0)
      {
        if (position)
          *position = i;
        return TRUE;
      }
  return FALSE;
}

static void
active_changed_cb (AicConnectionStore *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

static void
speech_changed_cb (AicConnectionStore *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEECH]);
}

static void
aic_connection_store_constructed (GObject *object)
{
  AicConnectionStore *self = AIC_CONNECTION_STORE (object);

  G_OBJECT_CLASS (aic_connection_store_parent_class)->constructed (object);

  g_object_get (self->settings, "path", &self->path, NULL);
  g_signal_connect_object (self->settings, "changed::" AIC_SETTINGS_KEY_ACTIVE_CONNECTION,
                           G_CALLBACK (active_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::" AIC_SETTINGS_KEY_SPEECH_CONNECTION,
                           G_CALLBACK (speech_changed_cb), self, G_CONNECT_SWAPPED);
  reload (self);
}

static void
aic_connection_store_finalize (GObject *object)
{
  AicConnectionStore *self = AIC_CONNECTION_STORE (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (aic_connection_store_parent_class)->finalize (object);
}

static void
aic_connection_store_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  AicConnectionStore *self = AIC_CONNECTION_STORE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_value_set_object (value, self->settings); break;
    case PROP_ACTIVE:   g_value_set_object (value, aic_connection_store_get_active (self)); break;
    case PROP_SPEECH:   g_value_set_object (value, aic_connection_store_get_speech (self)); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_connection_store_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  AicConnectionStore *self = AIC_CONNECTION_STORE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: self->settings = g_value_dup_object (value); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_connection_store_class_init (AicConnectionStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = aic_connection_store_constructed;
  object_class->finalize = aic_connection_store_finalize;
  object_class->get_property = aic_connection_store_get_property;
  object_class->set_property = aic_connection_store_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* The connection the views use, or NULL for the built-in backend. */
  properties[PROP_ACTIVE] =
    g_param_spec_object ("active", NULL, NULL, AIC_TYPE_CONNECTION,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The connection Voice turns speech into text and back with, or NULL
   * for the active connection's own. */
  properties[PROP_SPEECH] =
    g_param_spec_object ("speech", NULL, NULL, AIC_TYPE_CONNECTION,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_connection_store_init (AicConnectionStore *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
}

AicConnectionStore *
aic_connection_store_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  return g_object_new (AIC_TYPE_CONNECTION_STORE, "settings", settings, NULL);
}

/**
 * aic_connection_store_lookup:
 * Returns: (transfer none) (nullable): the connection with @id
 */
AicConnection *
aic_connection_store_lookup (AicConnectionStore *self,
                             const char         *id)
{
  guint position;

  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (self), NULL);

  if (!find (self, id, &position))
    return NULL;
  return g_ptr_array_index (self->items, position);
}

gboolean
aic_connection_store_save (AicConnectionStore  *self,
                           AicConnection       *connection,
                           GError             **error)
{
  g_autoptr(GSettings) settings = NULL;
  guint position;

  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (self), FALSE);
  g_return_val_if_fail (AIC_IS_CONNECTION (connection), FALSE);

  if (!aic_connection_validate (connection, error))
    return FALSE;
  if (!is_valid_id (aic_connection_get_id (connection)))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("The connection’s id is not valid."));
      return FALSE;
    }

  settings = connection_settings (self, aic_connection_get_id (connection));
  g_settings_delay (settings);
  g_settings_set_string (settings, "name", aic_connection_get_name (connection));
  g_settings_set_string (settings, "kind", aic_connection_kind_to_string (aic_connection_get_kind (connection)));
  g_settings_set_string (settings, "base-url", aic_connection_get_base_url (connection));
  g_settings_set_string (settings, "model", aic_connection_get_model (connection));
  g_settings_set_boolean (settings, "realtime-voice", aic_connection_get_realtime_voice (connection));
  g_settings_apply (settings);

  if (find (self, aic_connection_get_id (connection), &position))
    {
      /* An edited copy replaces the stored object. */
      if (g_ptr_array_index (self->items, position) != connection)
        {
          g_object_unref (g_ptr_array_index (self->items, position));
          g_ptr_array_index (self->items, position) = g_object_ref (connection);
        }
      g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 1);
    }
  else
    {
      g_ptr_array_add (self->items, g_object_ref (connection));
      write_ids (self);
      g_list_model_items_changed (G_LIST_MODEL (self), self->items->len - 1, 0, 1);
    }

  return TRUE;
}

gboolean
aic_connection_store_add (AicConnectionStore  *self,
                          AicConnection       *connection,
                          GError             **error)
{
  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (self), FALSE);
  g_return_val_if_fail (AIC_IS_CONNECTION (connection), FALSE);

  if (find (self, aic_connection_get_id (connection), NULL))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("That connection exists already."));
      return FALSE;
    }
  return aic_connection_store_save (self, connection, error);
}

static void
clear_secret_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autofree char *id = user_data;
  g_autoptr(GError) error = NULL;

  if (!aic_secrets_clear_finish (result, &error))
    g_message ("Could not remove the key of connection %s: %s", id, error->message);
}

gboolean
aic_connection_store_remove (AicConnectionStore *self,
                             const char         *id_in)
{
  /* The id may belong to the connection about to be dropped. */
  g_autofree char *id = g_strdup (id_in);
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;
  g_autofree char *active = NULL;
  guint position;

  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (self), FALSE);

  if (!find (self, id, &position))
    return FALSE;

  settings = connection_settings (self, id);
  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i]; i++)
    g_settings_reset (settings, keys[i]);

  g_ptr_array_remove_index (self->items, position);
  write_ids (self);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);

  active = g_settings_get_string (self->settings, AIC_SETTINGS_KEY_ACTIVE_CONNECTION);
  if (g_strcmp0 (active, id) == 0)
    aic_connection_store_set_active (self, NULL);
  g_clear_pointer (&active, g_free);
  active = g_settings_get_string (self->settings, AIC_SETTINGS_KEY_SPEECH_CONNECTION);
  if (g_strcmp0 (active, id) == 0)
    aic_connection_store_set_speech (self, NULL);

  aic_secrets_clear_async (id, NULL, clear_secret_cb, g_strdup (id));
  return TRUE;
}

/**
 * aic_connection_store_get_active:
 * Returns: (transfer none) (nullable): the connection chosen for the views,
 *   or %NULL when the built-in backend serves them
 */
AicConnection *
aic_connection_store_get_active (AicConnectionStore *self)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (self), NULL);

  id = g_settings_get_string (self->settings, AIC_SETTINGS_KEY_ACTIVE_CONNECTION);
  return aic_connection_store_lookup (self, id);
}

void
aic_connection_store_set_active (AicConnectionStore *self,
                                 const char         *id)
{
  g_return_if_fail (AIC_IS_CONNECTION_STORE (self));
  g_settings_set_string (self->settings, AIC_SETTINGS_KEY_ACTIVE_CONNECTION, id ? id : "");
}

/**
 * aic_connection_store_get_speech:
 * Returns: (transfer none) (nullable): the connection chosen for speech to
 *   text and text to speech, or %NULL for the active connection's own
 */
AicConnection *
aic_connection_store_get_speech (AicConnectionStore *self)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (AIC_IS_CONNECTION_STORE (self), NULL);

  id = g_settings_get_string (self->settings, AIC_SETTINGS_KEY_SPEECH_CONNECTION);
  return aic_connection_store_lookup (self, id);
}

void
aic_connection_store_set_speech (AicConnectionStore *self,
                                 const char         *id)
{
  g_return_if_fail (AIC_IS_CONNECTION_STORE (self));
  g_settings_set_string (self->settings, AIC_SETTINGS_KEY_SPEECH_CONNECTION, id ? id : "");
}
