/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AIC_SSE_DEFAULT_MAX_LINE   (1024 * 1024)
#define AIC_SSE_DEFAULT_MAX_EVENT  (8 * 1024 * 1024)

typedef struct _AicSseParser AicSseParser;

typedef struct
{
  const char *type;      /* "message" when the event has no name */
  const char *data;      /* NUL-terminated, without the final LF */
  gsize       data_len;
  const char *id;        /* the last event id at dispatch, "" if none */
} AicSseEvent;

typedef struct
{
  void (*event)   (gpointer           user_data,
                   const AicSseEvent *event);
  void (*retry)   (gpointer           user_data,
                   guint64            milliseconds);   /* optional */
  void (*comment) (gpointer           user_data,
                   const char        *text,
                   gsize              len);            /* optional */
} AicSseCallbacks;

AicSseParser *aic_sse_parser_new               (const AicSseCallbacks *callbacks,
                                                gpointer               user_data);
void          aic_sse_parser_free              (AicSseParser          *self);
void          aic_sse_parser_set_limits        (AicSseParser          *self,
                                                gsize                  max_line,
                                                gsize                  max_event);
gboolean      aic_sse_parser_feed              (AicSseParser          *self,
                                                const char            *data,
                                                gsize                  len,
                                                GError               **error);
gboolean      aic_sse_parser_finish            (AicSseParser          *self,
                                                gboolean               keep_complete,
                                                GError               **error);
void          aic_sse_parser_reset             (AicSseParser          *self);
gboolean      aic_sse_parser_is_between_events (AicSseParser          *self);
const char   *aic_sse_parser_get_last_event_id (AicSseParser          *self);
void          aic_sse_parser_set_last_event_id (AicSseParser          *self,
                                                const char            *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicSseParser, aic_sse_parser_free)

G_END_DECLS
