/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-connection.h"
#include "aic-error.h"

/* A place to send requests: what kind of server, where, and which model by
 * default. The key, if any, is never held here; it lives in the Secret
 * Service under the connection's id. */
struct _AicConnection
{
  GObject            parent_instance;

  char              *id;
  char              *name;
  char              *base_url;
  char              *model;
  AicConnectionKind  kind;
  gboolean           realtime_voice;
};

G_DEFINE_FINAL_TYPE (AicConnection, aic_connection, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (AicConnectionKind, aic_connection_kind,
  G_DEFINE_ENUM_VALUE (AIC_CONNECTION_KIND_CONSOLE, "console"),
  G_DEFINE_ENUM_VALUE (AIC_CONNECTION_KIND_OPENAI, "openai"),
  G_DEFINE_ENUM_VALUE (AIC_CONNECTION_KIND_ANTHROPIC, "anthropic"))

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_KIND,
  PROP_BASE_URL,
  PROP_MODEL,
  PROP_REALTIME_VOICE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char *
aic_connection_kind_to_string (AicConnectionKind kind)
{
  switch (kind)
    {
    case AIC_CONNECTION_KIND_CONSOLE:   return "console";
    case AIC_CONNECTION_KIND_OPENAI:    return "openai";
    case AIC_CONNECTION_KIND_ANTHROPIC: return "anthropic";
    default:                            g_return_val_if_reached ("console");
    }
}

gboolean
aic_connection_kind_from_string (const char        *string,
                                 AicConnectionKind *out_kind)
{
  static const AicConnectionKind kinds[] = {
    AIC_CONNECTION_KIND_CONSOLE, AIC_CONNECTION_KIND_OPENAI, AIC_CONNECTION_KIND_ANTHROPIC,
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (string, aic_connection_kind_to_string (kinds[i])) == 0)
      {
        *out_kind = kinds[i];
        return TRUE;
      }
  return FALSE;
}

const char *
aic_connection_kind_get_label (AicConnectionKind kind)
{
  switch (kind)
    {
    case AIC_CONNECTION_KIND_CONSOLE:   return _("AI Console Backend");
    case AIC_CONNECTION_KIND_OPENAI:    return _("OpenAI-Compatible");
    case AIC_CONNECTION_KIND_ANTHROPIC: return _("Anthropic");
    default:                            g_return_val_if_reached ("");
    }
}

const char *
aic_connection_kind_get_default_url (AicConnectionKind kind)
{
  switch (kind)
    {
    case AIC_CONNECTION_KIND_CONSOLE:   return "http://127.0.0.1:8765";
    case AIC_CONNECTION_KIND_OPENAI:    return "https://api.openai.com/v1";
    case AIC_CONNECTION_KIND_ANTHROPIC: return "https://api.anthropic.com";
    default:                            g_return_val_if_reached ("");
    }
}

static void
aic_connection_finalize (GObject *object)
{
  AicConnection *self = (AicConnection *)object;

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->model, g_free);

  G_OBJECT_CLASS (aic_connection_parent_class)->finalize (object);
}

static void
aic_connection_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  AicConnection *self = AIC_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_ID:       g_value_set_string (value, self->id); break;
    case PROP_NAME:     g_value_set_string (value, self->name); break;
    case PROP_KIND:     g_value_set_enum (value, self->kind); break;
    case PROP_BASE_URL: g_value_set_string (value, self->base_url); break;
    case PROP_MODEL:    g_value_set_string (value, self->model); break;
    case PROP_REALTIME_VOICE: g_value_set_boolean (value, self->realtime_voice); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_connection_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  AicConnection *self = AIC_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_ID:       self->id = g_value_dup_string (value); break;
    case PROP_NAME:     aic_connection_set_name (self, g_value_get_string (value)); break;
    case PROP_KIND:     aic_connection_set_kind (self, g_value_get_enum (value)); break;
    case PROP_BASE_URL: aic_connection_set_base_url (self, g_value_get_string (value)); break;
    case PROP_MODEL:    aic_connection_set_model (self, g_value_get_string (value)); break;
    case PROP_REALTIME_VOICE: aic_connection_set_realtime_voice (self, g_value_get_boolean (value)); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
aic_connection_constructed (GObject *object)
{
  AicConnection *self = AIC_CONNECTION (object);

  G_OBJECT_CLASS (aic_connection_parent_class)->constructed (object);

  if (self->id == NULL || self->id[0] == '\0')
    {
      g_free (self->id);
      self->id = g_uuid_string_random ();
    }
}

static void
aic_connection_class_init (AicConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = aic_connection_constructed;
  object_class->finalize = aic_connection_finalize;
  object_class->get_property = aic_connection_get_property;
  object_class->set_property = aic_connection_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL,
                       AIC_TYPE_CONNECTION_KIND, AIC_CONNECTION_KIND_CONSOLE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REALTIME_VOICE] =
    g_param_spec_boolean ("realtime-voice", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
aic_connection_init (AicConnection *self)
{
  self->name = g_strdup ("");
  self->base_url = g_strdup ("");
  self->model = g_strdup ("");
}

AicConnection *
aic_connection_new (const char        *id,
                    const char        *name,
                    AicConnectionKind  kind,
                    const char        *base_url)
{
  return g_object_new (AIC_TYPE_CONNECTION,
                       "id", id,
                       "name", name,
                       "kind", kind,
                       "base-url", base_url,
                       NULL);
}

const char *
aic_connection_get_id (AicConnection *self)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), NULL);
  return self->id;
}

const char *
aic_connection_get_name (AicConnection *self)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), NULL);
  return self->name;
}

static void
set_string (AicConnection  *self,
            char          **field,
            const char     *value,
            GParamSpec     *pspec)
{
  g_autofree char *stripped = g_strstrip (g_strdup (value ? value : ""));

  if (g_strcmp0 (*field, stripped) == 0)
    return;
  g_free (*field);
  *field = g_steal_pointer (&stripped);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

void
aic_connection_set_name (AicConnection *self,
                         const char    *name)
{
  g_return_if_fail (AIC_IS_CONNECTION (self));
  set_string (self, &self->name, name, properties[PROP_NAME]);
}

AicConnectionKind
aic_connection_get_kind (AicConnection *self)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), AIC_CONNECTION_KIND_CONSOLE);
  return self->kind;
}

void
aic_connection_set_kind (AicConnection     *self,
                         AicConnectionKind  kind)
{
  g_return_if_fail (AIC_IS_CONNECTION (self));
  if (self->kind == kind)
    return;
  self->kind = kind;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KIND]);
}

const char *
aic_connection_get_base_url (AicConnection *self)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), NULL);
  return self->base_url;
}

void
aic_connection_set_base_url (AicConnection *self,
                             const char    *base_url)
{
  g_autofree char *trimmed = NULL;
  gsize len;

  g_return_if_fail (AIC_IS_CONNECTION (self));

  /* Paths are appended with a leading slash, so keep none at the end. */
  trimmed = g_strstrip (g_strdup (base_url ? base_url : ""));
  len = strlen (trimmed);
  while (len > 0 && trimmed[len - 1] == '/')
    trimmed[--len] = '\0';
  set_string (self, &self->base_url, trimmed, properties[PROP_BASE_URL]);
}

const char *
aic_connection_get_model (AicConnection *self)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), NULL);
  return self->model;
}

void
aic_connection_set_model (AicConnection *self,
                          const char    *model)
{
  g_return_if_fail (AIC_IS_CONNECTION (self));
  set_string (self, &self->model, model, properties[PROP_MODEL]);
}

/**
 * aic_connection_get_realtime_voice:
 * Returns: whether Voice talks to the provider's own Realtime service
 *   (OpenAI's /realtime) instead of the backend's speech cascade; only
 *   ever chosen by the user, never guessed from the kind
 */
gboolean
aic_connection_get_realtime_voice (AicConnection *self)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), FALSE);
  return self->realtime_voice;
}

void
aic_connection_set_realtime_voice (AicConnection *self,
                                   gboolean       realtime_voice)
{
  g_return_if_fail (AIC_IS_CONNECTION (self));

  realtime_voice = !!realtime_voice;
  if (self->realtime_voice == realtime_voice)
    return;
  self->realtime_voice = realtime_voice;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REALTIME_VOICE]);
}

/**
 * aic_connection_build_url:
 * @path: an absolute path such as "/api/health"
 * Returns: (transfer full): the base URL with @path appended
 */
char *
aic_connection_build_url (AicConnection *self,
                          const char    *path)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);
  return g_strconcat (self->base_url, path, NULL);
}

gboolean
aic_connection_check_url (const char  *url,
                          GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  if (url == NULL || url[0] == '\0')
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("Enter the server’s address, such as http://127.0.0.1:8765."));
      return FALSE;
    }

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL ||
      (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a web address. It should start with http:// or https://."), url);
      return FALSE;
    }
  if (g_uri_get_userinfo (uri) != NULL)
    {
      /* It would end up in GSettings; keys belong in the keyring. */
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("Put the user name and password in the Key field, not in the address."));
      return FALSE;
    }
  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                   _("The address “%s” should not contain “?” or “#”."), url);
      return FALSE;
    }
  return TRUE;
}

gboolean
aic_connection_validate (AicConnection  *self,
                         GError        **error)
{
  g_return_val_if_fail (AIC_IS_CONNECTION (self), FALSE);

  if (self->name[0] == '\0')
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                           _("Give the connection a name."));
      return FALSE;
    }
  return aic_connection_check_url (self->base_url, error);
}
