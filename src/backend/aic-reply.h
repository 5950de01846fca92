/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

void        aic_reply_json        (SoupServerMessage  *message,
                                   guint               status,
                                   JsonNode           *root);
void        aic_reply_error       (SoupServerMessage  *message,
                                   guint               status,
                                   const char         *code,
                                   const char         *text);
JsonObject *aic_request_json      (SoupServerMessage  *message,
                                   JsonNode          **out_root);
void        aic_reply_set_event_stream_head (SoupServerMessage *message);
void        aic_reply_start_event_stream (SoupServerMessage *message);
void        aic_reply_write       (SoupServerMessage  *message,
                                   GBytes             *bytes);
void        aic_reply_end         (SoupServerMessage  *message);
GBytes     *aic_reply_format_event (guint64            id,
                                   const char         *name,
                                   JsonNode           *root,
                                   guint               retry_ms);
void        aic_reply_append_event (GString           *out,
                                   guint64             id,
                                   const char         *name,
                                   const char         *data,
                                   gsize               data_len);
void        aic_reply_append_json_string (GString     *out,
                                   const char         *text);

G_END_DECLS
