/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A connection's stream that counts the bytes going each way, so the
 * server can see what libsoup keeps to itself: how much of a message a
 * client has sent so far, and how much of what we sent it has taken. */
#define AIC_TYPE_COUNTING_STREAM (aic_counting_stream_get_type ())
G_DECLARE_FINAL_TYPE (AicCountingStream, aic_counting_stream, AIC, COUNTING_STREAM, GIOStream)

#define AIC_COUNTING_TAIL 256

AicCountingStream *aic_counting_stream_new         (GIOStream         *base);
AicCountingStream *aic_counting_stream_find        (GIOStream         *stream);
const guint8      *aic_counting_stream_get_tail    (AicCountingStream *self,
                                                    gsize             *len);
void               aic_counting_stream_set_coalesce_chunks (AicCountingStream *self,
                                                            gboolean           coalesce);

/* Limits for a WebSocket, server's or client's, made on a counting
 * stream (found under libsoup's own streams):
 *
 * - @max_message bounds a message as it is assembled: libsoup 3.2 checks
 *   each fragment against max-incoming-payload-size but not their sum,
 *   so a message sent as many small fragments could grow without end.
 *   Past it (with room for framing) the peer gets 1009 and what it sends
 *   after that is dropped unread.
 * - @max_backlog bounds what waits in libsoup's queue for a peer that
 *   does not read: aic_ws_guard_send_text() stops sending past it and
 *   closes the connection with 1008.
 *
 * Without a counting stream only libsoup's per-fragment limit applies;
 * the return value says which. */
gboolean           aic_ws_guard_attach             (SoupWebsocketConnection *connection,
                                                    guint64                  max_message,
                                                    guint64                  max_backlog);
gboolean           aic_ws_guard_send_text          (SoupWebsocketConnection *connection,
                                                    const char              *text);
guint64            aic_ws_guard_get_backlog        (SoupWebsocketConnection *connection);

/* The client side. libsoup makes a client's connection itself; a proxy
 * resolver set on its session routes every direct connection through a
 * counting stream (a GProxy of ours, "aic-count", that connects straight
 * to the destination). Connections through a real proxy are left as they
 * are. */
GProxyResolver    *aic_counting_proxy_resolver_new (void);

G_END_DECLS
