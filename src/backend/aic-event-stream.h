/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define AIC_TYPE_EVENT_STREAM (aic_event_stream_get_type ())

G_DECLARE_FINAL_TYPE (AicEventStream, aic_event_stream, AIC, EVENT_STREAM, GObject)

/* Called when the last subscriber has gone. */
typedef void (*AicEventStreamIdleFunc) (AicEventStream *stream,
                                        gpointer        user_data);

AicEventStream *aic_event_stream_new               (gboolean                retain,
                                                    guint                   retry_ms);
void            aic_event_stream_set_keep_alive    (AicEventStream         *self,
                                                    guint                   milliseconds);
void            aic_event_stream_set_idle_func     (AicEventStream         *self,
                                                    AicEventStreamIdleFunc  func,
                                                    gpointer                user_data);
void            aic_event_stream_append            (AicEventStream         *self,
                                                    guint64                 id,
                                                    const char             *name,
                                                    JsonNode               *data);
void            aic_event_stream_append_data       (AicEventStream         *self,
                                                    guint64                 id,
                                                    const char             *name,
                                                    const char             *data,
                                                    gsize                   data_len);
void            aic_event_stream_end               (AicEventStream         *self);
gboolean        aic_event_stream_is_ended          (AicEventStream         *self);
guint64         aic_event_stream_get_last_id       (AicEventStream         *self);
guint           aic_event_stream_get_n_subscribers (AicEventStream         *self);
gboolean        aic_event_stream_has_after         (AicEventStream         *self,
                                                    guint64                 after);
void            aic_event_stream_subscribe         (AicEventStream         *self,
                                                    SoupServerMessage      *message,
                                                    guint64                 after);
void            aic_event_stream_send_to           (AicEventStream         *self,
                                                    SoupServerMessage      *message,
                                                    guint64                 id,
                                                    const char             *name,
                                                    JsonNode               *data);

gboolean        aic_event_stream_parse_last_id     (SoupServerMessage      *message,
                                                    guint64                *after);
void            aic_event_stream_reply_over        (SoupServerMessage      *message);

G_END_DECLS
