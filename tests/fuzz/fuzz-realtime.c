/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the Realtime event parser: every message a voice
 * server sends over the WebSocket goes through aic_realtime_event_parse().
 * An event is either parsed, with a type, or refused with a protocol
 * error; nothing in between. */
#include "config.h"

#include "aic-error.h"
#include "aic-realtime.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  GError *error = NULL;
  AicRealtimeEvent *event = aic_realtime_event_parse ((const char *) data, size, &error);

  if (event != NULL)
    {
      g_assert (error == NULL);
      g_assert (event->type != NULL && g_utf8_validate (event->type, -1, NULL));
      aic_realtime_event_free (event);
    }
  else
    {
      g_assert (error != NULL && error->domain == AIC_ERROR);
      g_error_free (error);
    }
  return 0;
}
