/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The Realtime event vocabulary of voice sessions (PROTOCOL.md "Voice"),
 * with the GA and the older beta names read alike. */
typedef enum
{
  AIC_REALTIME_UNKNOWN,
  AIC_REALTIME_SESSION_CREATED,
  AIC_REALTIME_SESSION_UPDATED,
  AIC_REALTIME_SPEECH_STARTED,
  AIC_REALTIME_SPEECH_STOPPED,
  AIC_REALTIME_INPUT_COMMITTED,
  AIC_REALTIME_INPUT_TRANSCRIPT,
  AIC_REALTIME_RESPONSE_CREATED,
  AIC_REALTIME_TRANSCRIPT_DELTA,
  AIC_REALTIME_TEXT_DELTA,
  AIC_REALTIME_AUDIO_DELTA,
  AIC_REALTIME_AUDIO_DONE,
  AIC_REALTIME_RESPONSE_DONE,
  AIC_REALTIME_ERROR,
} AicRealtimeKind;

typedef struct
{
  AicRealtimeKind  kind;
  char            *type;          /* as the server wrote it */
  char            *item_id;
  char            *response_id;
  char            *text;          /* transcript, delta, or error message */
  GBytes          *audio;         /* decoded PCM16 of an audio delta */
  gint64           audio_ms;      /* audio_start_ms / audio_end_ms, or -1 */
  char            *status;        /* response.done: completed, cancelled, failed */
  char            *error_code;
  int              speech_to_text; /* session.created/updated: 1, 0, or -1 when not said */
} AicRealtimeEvent;

void              aic_realtime_event_free     (AicRealtimeEvent *event);
AicRealtimeEvent *aic_realtime_event_parse    (const char       *json,
                                               gsize             length,
                                               GError          **error);
char             *aic_realtime_session_update (const char       *instructions,
                                               gboolean          server_vad,
                                               double            threshold,
                                               guint             prefix_padding_ms,
                                               guint             silence_duration_ms,
                                               const char       *voice);
char             *aic_realtime_append         (GBytes           *pcm);
char             *aic_realtime_truncate       (const char       *item_id,
                                               guint64           audio_end_ms);
char             *aic_realtime_simple         (const char       *type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicRealtimeEvent, aic_realtime_event_free)

G_END_DECLS
