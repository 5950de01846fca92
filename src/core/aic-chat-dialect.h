/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "aic-connection.h"

G_BEGIN_DECLS

/* One thing a chat stream said, whatever its dialect. */
typedef enum
{
  AIC_CHAT_EVENT_START,    /* stream_id and model, when known */
  AIC_CHAT_EVENT_TOKEN,    /* text */
  AIC_CHAT_EVENT_USAGE,    /* prompt_tokens / completion_tokens (-1 unknown) */
  AIC_CHAT_EVENT_DONE,     /* finish_reason, maybe NULL */
  AIC_CHAT_EVENT_ERROR,    /* code, text */
} AicChatEventKind;

typedef struct
{
  AicChatEventKind kind;
  char            *text;
  char            *code;
  char            *stream_id;
  char            *model;
  char            *finish_reason;
  gint64           prompt_tokens;
  gint64           completion_tokens;
} AicChatEvent;

/* What a dialect carries from one SSE event to the next. */
typedef struct
{
  AicConnectionKind kind;
  char             *finish_reason;
  gboolean          done;
  guint             held_high;   /* a high surrogate that ended the last event */
} AicChatDialectState;

void      aic_chat_event_free          (AicChatEvent          *event);
void      aic_chat_dialect_state_init  (AicChatDialectState   *state,
                                        AicConnectionKind      kind);
void      aic_chat_dialect_state_clear (AicChatDialectState   *state);
gboolean  aic_chat_dialect_parse       (AicChatDialectState   *state,
                                        const char            *sse_type,
                                        const char            *data,
                                        GPtrArray             *events,
                                        GError               **error);
gboolean  aic_chat_dialect_finish      (AicChatDialectState   *state,
                                        GPtrArray             *events,
                                        GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicChatEvent, aic_chat_event_free)

G_END_DECLS
