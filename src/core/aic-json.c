/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <math.h>

#include <glib/gi18n.h>
#include <string.h>

#include "aic-error.h"
#include "aic-json.h"

static gboolean
wrong_type (const char  *member,
            const char  *expected,
            GError     **error)
{
  g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
               /* Translators: the second %s is a JSON type name such as “string” */
               _("The answer’s “%s” is not a %s."), member, expected);
  return FALSE;
}

static JsonNode *
lookup (JsonObject *object,
        const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static gboolean
absent (JsonObject  *object,
        const char  *member,
        gboolean     required,
        GError     **error)
{
  if (!required)
    return TRUE;
  g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
               _("The answer is missing “%s”."), member);
  return FALSE;
}

gboolean
aic_json_get_string (JsonObject   *object,
                     const char   *member,
                     gboolean      required,
                     const char  **out_value,
                     GError      **error)
{
  JsonNode *node = lookup (object, member);

  *out_value = NULL;
  if (node == NULL)
    return absent (object, member, required, error);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (member, "string", error);
  *out_value = json_node_get_string (node);
  return TRUE;
}

gboolean
aic_json_get_int (JsonObject   *object,
                  const char   *member,
                  gboolean      required,
                  gint64       *out_value,
                  GError      **error)
{
  JsonNode *node = lookup (object, member);

  *out_value = 0;
  if (node == NULL)
    return absent (object, member, required, error);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return wrong_type (member, "integer", error);
  *out_value = json_node_get_int (node);
  return TRUE;
}

gboolean
aic_json_get_object (JsonObject   *object,
                     const char   *member,
                     gboolean      required,
                     JsonObject  **out_value,
                     GError      **error)
{
  JsonNode *node = lookup (object, member);

  *out_value = NULL;
  if (node == NULL)
    return absent (object, member, required, error);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (member, "object", error);
  *out_value = json_node_get_object (node);
  return TRUE;
}

gboolean
aic_json_get_strv (JsonObject   *object,
                   const char   *member,
                   gboolean      required,
                   char       ***out_value,
                   GError      **error)
{
  JsonNode *node = lookup (object, member);
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;
  guint n;

  *out_value = NULL;
  if (node == NULL)
    return absent (object, member, required, error);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (member, "list", error);

  array = json_node_get_array (node);
  n = json_array_get_length (array);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        return wrong_type (member, "list of strings", error);
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  *out_value = g_strv_builder_end (builder);
  return TRUE;
}

gboolean
aic_json_check_depth (const char  *data,
                      gsize        size,
                      guint        max_depth,
                      GError     **error)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  /* Only the nesting matters here; json-glib judges everything else.
   * Unbalanced closers are left for it to report, so depth never wraps. */
  for (gsize i = 0; i < size; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > max_depth)
            {
              g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The JSON text is nested more than %u levels deep."),
                           max_depth);
              return FALSE;
            }
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return TRUE;
}

/* json-glib turns a broken \u escape ("\ud9 {") into bytes that are not
 * UTF-8, inside a string it otherwise accepts. The tree is at most
 * AIC_JSON_MAX_DEPTH deep here, so the recursion is bounded. */
static gboolean
strings_valid (JsonNode *node)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      guint n = json_array_get_length (array);

      for (guint i = 0; i < n; i++)
        if (!strings_valid (json_array_get_element (array, i)))
          return FALSE;
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &member))
        if (!g_utf8_validate (name, -1, NULL) || !strings_valid (member))
          return FALSE;
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_utf8_validate (json_node_get_string (node), -1, NULL);
  /* A number too large for a double (5e830) is read as infinity, which
   * JSON cannot say again: refused like bad text (the fuzzer found it). */
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return isfinite (json_node_get_double (node));
  return TRUE;
}

static JsonNode *
parse_checked (const char  *data,
               gssize       size,
               gboolean     immutable,
               GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;

  if (data == NULL)
    size = 0;
  else if (size < 0)
    size = strlen (data);
  if (size == 0)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The answer was empty."));
      return NULL;
    }
  if (!g_utf8_validate_len (data, size, NULL))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The answer is not valid UTF-8 text."));
      return NULL;
    }
  if (!aic_json_check_depth (data, size, AIC_JSON_MAX_DEPTH, error))
    return NULL;

  parser = immutable ? json_parser_new_immutable () : json_parser_new ();
  if (!json_parser_load_from_data (parser, data, size, &local_error))
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                   _("The answer is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  /* json-glib takes text of only spaces or comments as a document without
   * a root, without an error; callers rely on one or the other. */
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The answer was empty."));
      return NULL;
    }
  if (!strings_valid (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The answer is not valid UTF-8 text."));
      return NULL;
    }
  return json_parser_steal_root (parser);
}

JsonNode *
aic_json_parse_data (const char  *data,
                     gssize       size,
                     GError     **error)
{
  return parse_checked (data, size, TRUE, error);
}

/* For trees the caller goes on changing (json_from_string() with the
 * depth check). */
JsonNode *
aic_json_parse_mutable (const char  *data,
                        gssize       size,
                        GError     **error)
{
  return parse_checked (data, size, FALSE, error);
}

JsonNode *
aic_json_parse_bytes (GBytes  *bytes,
                      GError **error)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  return aic_json_parse_data (data, size, error);
}

/* json-glib 1.6 writes a double whose shortest form has an exponent and
 * no point, such as 5e+19, as "5e+19.0", which no JSON parser reads (the
 * fuzzer found it). Outside strings, such a ".0" is dropped in place. */
static void
repair_exponents (char *text)
{
  gboolean in_string = FALSE;
  char *out = text;

  for (const char *in = text; *in != '\0'; in++)
    {
      *out++ = *in;
      if (in_string)
        {
          if (*in == '\\' && in[1] != '\0')
            *out++ = *++in;
          else if (*in == '"')
            in_string = FALSE;
          continue;
        }
      if (*in == '"')
        in_string = TRUE;
      else if ((*in == 'e' || *in == 'E') && in > text && g_ascii_isdigit (in[-1]))
        {
          const char *digits = in + 1;
          const char *end;

          if (*digits == '+' || *digits == '-')
            digits++;
          end = digits;
          while (g_ascii_isdigit (*end))
            end++;
          if (end > digits && end[0] == '.' && end[1] == '0' && !g_ascii_isdigit (end[2]))
            {
              for (const char *c = in + 1; c < end; c++)
                *out++ = *c;
              in = end + 1;   /* past ".0" */
            }
        }
    }
  *out = '\0';
}

char *
aic_json_to_string (JsonNode *node,
                    gboolean  pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  char *text;

  json_generator_set_pretty (generator, pretty);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  repair_exponents (text);
  return text;
}
