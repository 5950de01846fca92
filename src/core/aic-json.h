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
JsonNode   *aic_json_parse_bytes  (GBytes       *bytes,
                                   GError      **error);
char       *aic_json_to_string    (JsonNode     *node,
                                   gboolean      pretty);

G_END_DECLS
