/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Type-checked readers for JSON members. A missing member is an error only
 * when @required; a present member of the wrong type is always an error
 * (AIC_ERROR_PROTOCOL), and unknown members are never looked at.
 */
gboolean    aic_json_get_string   (JsonObject   *object,
                                   const char   *member,
                                   gboolean      required,
                                   const char  **out_value,
                                   GError      **error);
gboolean    aic_json_get_int      (JsonObject   *object,
                                   const char   *member,
                                   gboolean      required,
                                   gint64       *out_value,
                                   GError      **error);
gboolean    aic_json_get_object   (JsonObject   *object,
                                   const char   *member,
                                   gboolean      required,
                                   JsonObject  **out_value,
                                   GError      **error);
gboolean    aic_json_get_strv     (JsonObject   *object,
                                   const char   *member,
                                   gboolean      required,
                                   char       ***out_value,
                                   GError      **error);
/*
 * json-glib parses recursively, so text nested deep enough (100,000 levels
 * is 200 KB) overflows the stack. Every piece of JSON that comes from a
 * socket, a file or another process goes through aic_json_parse_bytes()
 * or aic_json_parse_data(), which check the depth first.
 */
#define AIC_JSON_MAX_DEPTH 64

gboolean    aic_json_check_depth  (const char   *data,
                                   gsize         size,
                                   guint         max_depth,
                                   GError      **error);
JsonNode   *aic_json_parse_bytes  (GBytes       *bytes,
                                   GError      **error);
JsonNode   *aic_json_parse_data   (const char   *data,
                                   gssize        size,
                                   GError      **error);
JsonNode   *aic_json_parse_mutable (const char  *data,
                                   gssize        size,
                                   GError      **error);
char       *aic_json_to_string    (JsonNode     *node,
                                   gboolean      pretty);

G_END_DECLS
