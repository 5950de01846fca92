/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the chat dialect parsers: the data of each event of
 * a chat stream, in the console, OpenAI and Anthropic dialects.
 *
 * The first byte picks the dialect; the rest is split at newlines into
 * events, each "TYPE\tDATA" (a missing tab means no event type), fed in
 * order as a stream would, then finished. Parsed events must be whole
 * (tokens carry text, errors a message) and an error must be the
 * project's. */
#include "config.h"

#include <string.h>

#include "aic-chat-dialect.h"
#include "aic-error.h"

static void
check_events (GPtrArray *events)
{
  for (guint i = 0; i < events->len; i++)
    {
      AicChatEvent *event = g_ptr_array_index (events, i);

      g_assert (event->kind <= AIC_CHAT_EVENT_ERROR);
      if (event->kind == AIC_CHAT_EVENT_TOKEN)
        g_assert (event->text != NULL && g_utf8_validate (event->text, -1, NULL));
      if (event->kind == AIC_CHAT_EVENT_ERROR)
        g_assert (event->text != NULL);
    }
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static const AicConnectionKind kinds[] = {
    AIC_CONNECTION_KIND_CONSOLE, AIC_CONNECTION_KIND_OPENAI, AIC_CONNECTION_KIND_ANTHROPIC,
  };
  AicChatDialectState state;
  GPtrArray *events;
  GError *error = NULL;
  char *text, **lines;
  gboolean ok = TRUE;

  if (size < 1)
    return 0;
  /* The SSE parser hands over valid UTF-8 without NULs; so does this. */
  text = g_strndup ((const char *) data + 1, size - 1);
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_free (text);
      return 0;
    }

  aic_chat_dialect_state_init (&state, kinds[data[0] % G_N_ELEMENTS (kinds)]);
  events = g_ptr_array_new_with_free_func ((GDestroyNotify) aic_chat_event_free);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && ok; i++)
    {
      char *tab = strchr (lines[i], '\t');
      const char *type = NULL;
      const char *payload = lines[i];

      if (tab != NULL)
        {
          *tab = '\0';
          type = lines[i];
          payload = tab + 1;
        }
      ok = aic_chat_dialect_parse (&state, type, payload, events, &error);
      check_events (events);
    }
  if (ok)
    ok = aic_chat_dialect_finish (&state, events, &error);
  check_events (events);
  if (!ok)
    {
      g_assert (error != NULL && error->domain == AIC_ERROR);
      g_error_free (error);
    }
  else
    g_assert (error == NULL);

  g_strfreev (lines);
  g_ptr_array_unref (events);
  aic_chat_dialect_state_clear (&state);
  g_free (text);
  return 0;
}
