/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "aic-chat-dialect.h"
#include "aic-error.h"
#include "aic-json.h"

/* Turns the SSE events of each chat dialect into one vocabulary: start,
 * token, usage, done, error. Pure functions over strings, so every quirk of
 * every server can be replayed in a unit test.
 *
 *  - console: the full shape (event name + "type" + id), the data-only
 *    shape ({"type": "token", …}) and the event-only shape (event: token,
 *    data {"content"}); PROTOCOL.md "Chat: SSE" and "Compatibility".
 *  - openai: chat.completion.chunk objects, "[DONE]", and the deviations
 *    PROTOCOL.md lists (null content, usage with no choices, errors inside
 *    a 200 stream, unknown fields).
 *  - anthropic: the Messages streaming events. */

void
aic_chat_event_free (AicChatEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->text);
  g_free (event->code);
  g_free (event->stream_id);
  g_free (event->model);
  g_free (event->finish_reason);
  g_free (event);
}

static AicChatEvent *
new_event (GPtrArray        *events,
           AicChatEventKind  kind)
{
  AicChatEvent *event = g_new0 (AicChatEvent, 1);

  event->kind = kind;
  event->prompt_tokens = -1;
  event->completion_tokens = -1;
  g_ptr_array_add (events, event);
  return event;
}

void
aic_chat_dialect_state_init (AicChatDialectState *state,
                             AicConnectionKind    kind)
{
  memset (state, 0, sizeof *state);
  state->kind = kind;
}

void
aic_chat_dialect_state_clear (AicChatDialectState *state)
{
  g_clear_pointer (&state->finish_reason, g_free);
}

static JsonObject *
parse_object (const char  *data,
              JsonNode   **out_root,
              GError     **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, strlen (data));
  JsonNode *root = aic_json_parse_bytes (bytes, error);

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      json_node_unref (root);
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("An event of the reply is not a JSON object."));
      return NULL;
    }
  *out_root = root;
  return json_node_get_object (root);
}

/* {"error": {"message", "code"|"type"}} or {"error": "text"} */
static gboolean
take_error (JsonObject *object,
            GPtrArray  *events)
{
  JsonNode *node = json_object_get_member (object, "error");
  AicChatEvent *event;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return FALSE;

  event = new_event (events, AIC_CHAT_EVENT_ERROR);
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *inner = json_node_get_object (node);
      const char *message = NULL, *code = NULL;

      if (!aic_json_get_string (inner, "message", FALSE, &message, NULL))
        message = NULL;
      if (!aic_json_get_string (inner, "code", FALSE, &code, NULL) || code == NULL)
        if (!aic_json_get_string (inner, "type", FALSE, &code, NULL))
          code = NULL;
      event->text = g_strdup (message);
      event->code = g_strdup (code);
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    event->text = g_strdup (json_node_get_string (node));

  if (event->text == NULL)
    event->text = g_strdup (_("The server reported an error without saying which."));
  return TRUE;
}

/* Only counts that are there: Anthropic's message_delta has output
 * tokens alone, and an absent count must stay "unknown" (-1), not 0. */
static gboolean
read_count (JsonObject  *object,
            const char  *member,
            gint64      *out_value,
            GError     **error)
{
  gint64 value;

  if (!aic_json_get_int (object, member, FALSE, &value, error))
    return FALSE;
  if (json_object_has_member (object, member) && !json_object_get_null_member (object, member))
    *out_value = value;
  return TRUE;
}

static gboolean
read_usage (JsonObject    *object,
            const char    *prompt_member,
            const char    *completion_member,
            AicChatEvent  *event,
            GError       **error)
{
  return read_count (object, prompt_member, &event->prompt_tokens, error) &&
         read_count (object, completion_member, &event->completion_tokens, error);
}

static gboolean
parse_console (AicChatDialectState  *state,
               const char           *sse_type,
               const char           *data,
               GPtrArray            *events,
               GError              **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  const char *type = NULL;

  /* Tutorial servers sometimes end with an OpenAI-style sentinel. */
  if (g_str_equal (data, "[DONE]"))
    {
      if (!state->done)
        new_event (events, AIC_CHAT_EVENT_DONE);
      state->done = TRUE;
      return TRUE;
    }

  object = parse_object (data, &root, error);
  if (object == NULL)
    return FALSE;

  /* The event name wins; the data-only shape carries it as "type". */
  if (sse_type != NULL && !g_str_equal (sse_type, "message"))
    type = sse_type;
  else if (!aic_json_get_string (object, "type", FALSE, &type, error))
    return FALSE;

  if (type == NULL)
    {
      /* No name anywhere: a bare {"content": …} is a token. */
      if (json_object_has_member (object, "content"))
        type = "token";
      else
        return TRUE;
    }

  if (g_str_equal (type, "start"))
    {
      AicChatEvent *event = new_event (events, AIC_CHAT_EVENT_START);
      const char *stream_id, *model;

      if (!aic_json_get_string (object, "stream_id", FALSE, &stream_id, error) ||
          !aic_json_get_string (object, "model", FALSE, &model, error))
        return FALSE;
      event->stream_id = g_strdup (stream_id);
      event->model = g_strdup (model);
    }
  else if (g_str_equal (type, "token"))
    {
      const char *content;

      if (!aic_json_get_string (object, "content", TRUE, &content, error))
        return FALSE;
      if (content[0] != '\0')
        new_event (events, AIC_CHAT_EVENT_TOKEN)->text = g_strdup (content);
    }
  else if (g_str_equal (type, "done"))
    {
      AicChatEvent *event;
      JsonObject *usage;
      const char *finish_reason;

      if (!aic_json_get_string (object, "finish_reason", FALSE, &finish_reason, error) ||
          !aic_json_get_object (object, "usage", FALSE, &usage, error))
        return FALSE;
      if (usage != NULL)
        {
          event = new_event (events, AIC_CHAT_EVENT_USAGE);
          if (!read_usage (usage, "prompt_tokens", "completion_tokens", event, error))
            return FALSE;
        }
      event = new_event (events, AIC_CHAT_EVENT_DONE);
      event->finish_reason = g_strdup (finish_reason);
      state->done = TRUE;
    }
  else if (g_str_equal (type, "error"))
    {
      /* {"type": "error", "code", "message"}, or an {"error": {…}} inside */
      if (!take_error (object, events))
        {
          AicChatEvent *event;
          const char *code = NULL, *message = NULL;

          if (!aic_json_get_string (object, "code", FALSE, &code, error) ||
              !aic_json_get_string (object, "message", FALSE, &message, error))
            return FALSE;
          event = new_event (events, AIC_CHAT_EVENT_ERROR);
          event->code = g_strdup (code);
          event->text = g_strdup (message ? message : _("The server reported an error without saying which."));
        }
    }
  /* Other types (status, progress, ping …) say nothing about the text. */

  return TRUE;
}

static gboolean
parse_openai (AicChatDialectState  *state,
              const char           *data,
              GPtrArray            *events,
              GError              **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object, *usage;
  JsonNode *choices;
  const char *model;

  if (data[0] == '\0')
    return TRUE;   /* empty data: frames some servers send */

  if (g_str_equal (data, "[DONE]"))
    {
      if (!state->done)
        new_event (events, AIC_CHAT_EVENT_DONE)->finish_reason = g_strdup (state->finish_reason);
      state->done = TRUE;
      return TRUE;
    }

  object = parse_object (data, &root, error);
  if (object == NULL)
    return FALSE;

  if (take_error (object, events))
    return TRUE;

  if (!aic_json_get_string (object, "model", FALSE, &model, error))
    return FALSE;

  choices = json_object_get_member (object, "choices");
  if (choices != NULL && JSON_NODE_HOLDS_ARRAY (choices))
    {
      JsonArray *array = json_node_get_array (choices);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *choice_node = json_array_get_element (array, i);
          JsonObject *choice, *delta;
          const char *content = NULL, *finish_reason = NULL;
          gint64 index = 0;

          if (!JSON_NODE_HOLDS_OBJECT (choice_node))
            continue;
          choice = json_node_get_object (choice_node);
          if (!aic_json_get_int (choice, "index", FALSE, &index, error))
            return FALSE;
          if (index != 0)
            continue;   /* only the first choice is shown */
          if (!aic_json_get_object (choice, "delta", FALSE, &delta, error) ||
              !aic_json_get_string (choice, "finish_reason", FALSE, &finish_reason, error))
            return FALSE;
          if (delta != NULL && !aic_json_get_string (delta, "content", FALSE, &content, error))
            return FALSE;
          if (content != NULL && content[0] != '\0')
            new_event (events, AIC_CHAT_EVENT_TOKEN)->text = g_strdup (content);
          if (finish_reason != NULL)
            {
              g_free (state->finish_reason);
              state->finish_reason = g_strdup (finish_reason);
            }
        }
    }
  else if (choices != NULL && !JSON_NODE_HOLDS_NULL (choices))
    {
      g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                           _("The answer’s “choices” is not a list."));
      return FALSE;
    }

  if (!aic_json_get_object (object, "usage", FALSE, &usage, error))
    return FALSE;
  if (usage != NULL)
    {
      AicChatEvent *event = new_event (events, AIC_CHAT_EVENT_USAGE);

      if (!read_usage (usage, "prompt_tokens", "completion_tokens", event, error))
        return FALSE;
    }

  return TRUE;
}

static gboolean
parse_anthropic (AicChatDialectState  *state,
                 const char           *sse_type,
                 const char           *data,
                 GPtrArray            *events,
                 GError              **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  const char *type = NULL;

  object = parse_object (data, &root, error);
  if (object == NULL)
    return FALSE;
  if (!aic_json_get_string (object, "type", FALSE, &type, error))
    return FALSE;
  if (type == NULL)
    type = sse_type;
  if (type == NULL)
    return TRUE;

  if (g_str_equal (type, "message_start"))
    {
      AicChatEvent *event = new_event (events, AIC_CHAT_EVENT_START);
      JsonObject *message, *usage = NULL;
      const char *model = NULL, *id = NULL;

      if (!aic_json_get_object (object, "message", FALSE, &message, error))
        return FALSE;
      if (message != NULL &&
          (!aic_json_get_string (message, "model", FALSE, &model, error) ||
           !aic_json_get_string (message, "id", FALSE, &id, error) ||
           !aic_json_get_object (message, "usage", FALSE, &usage, error)))
        return FALSE;
      event->model = g_strdup (model);
      event->stream_id = g_strdup (id);
      if (usage != NULL)
        {
          AicChatEvent *counts = new_event (events, AIC_CHAT_EVENT_USAGE);

          if (!read_usage (usage, "input_tokens", "output_tokens", counts, error))
            return FALSE;
        }
    }
  else if (g_str_equal (type, "content_block_delta"))
    {
      JsonObject *delta;
      const char *delta_type = NULL, *text = NULL;

      if (!aic_json_get_object (object, "delta", TRUE, &delta, error) ||
          !aic_json_get_string (delta, "type", FALSE, &delta_type, error))
        return FALSE;
      /* thinking_delta, signature_delta, input_json_delta: not chat text. */
      if (g_strcmp0 (delta_type, "text_delta") != 0)
        return TRUE;
      if (!aic_json_get_string (delta, "text", TRUE, &text, error))
        return FALSE;
      if (text[0] != '\0')
        new_event (events, AIC_CHAT_EVENT_TOKEN)->text = g_strdup (text);
    }
  else if (g_str_equal (type, "message_delta"))
    {
      JsonObject *delta, *usage;
      const char *stop_reason = NULL;

      if (!aic_json_get_object (object, "delta", FALSE, &delta, error) ||
          !aic_json_get_object (object, "usage", FALSE, &usage, error))
        return FALSE;
      if (delta != NULL && !aic_json_get_string (delta, "stop_reason", FALSE, &stop_reason, error))
        return FALSE;
      if (stop_reason != NULL)
        {
          g_free (state->finish_reason);
          state->finish_reason = g_strdup (stop_reason);
        }
      if (usage != NULL)
        {
          /* output_tokens is cumulative: the last one counts. */
          AicChatEvent *event = new_event (events, AIC_CHAT_EVENT_USAGE);

          if (!read_usage (usage, "input_tokens", "output_tokens", event, error))
            return FALSE;
        }
    }
  else if (g_str_equal (type, "message_stop"))
    {
      if (!state->done)
        new_event (events, AIC_CHAT_EVENT_DONE)->finish_reason = g_strdup (state->finish_reason);
      state->done = TRUE;
    }
  else if (g_str_equal (type, "error"))
    {
      if (!take_error (object, events))
        new_event (events, AIC_CHAT_EVENT_ERROR)->text =
          g_strdup (_("The server reported an error without saying which."));
    }
  /* ping, content_block_start, content_block_stop: nothing to show. */

  return TRUE;
}

/* ---- surrogate pairs cut in two ----
 *
 * json-glib refuses a \u escape of half a surrogate pair. Mock servers and
 * some proxies cut a reply between the two halves of an emoji, so that one
 * event's string ends in "\ud83d" and the next event's begins with
 * "\ude00". The high half is held back for the next event and joined to a
 * low half that opens one of its strings; a half that finds no partner
 * becomes U+FFFD. Everything else goes to json-glib as it came. */

#define REPLACEMENT_CHARACTER "\xef\xbf\xbd"

static gboolean
read_u_escape (const char *p,
               const char *end,
               guint      *unit)
{
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
    return FALSE;
  *unit = 0;
  for (guint i = 2; i < 6; i++)
    {
      if (!g_ascii_isxdigit (p[i]))
        return FALSE;
      *unit = (*unit << 4) | g_ascii_xdigit_value (p[i]);
    }
  return TRUE;
}

#define IS_HIGH(unit) ((unit) >= 0xD800 && (unit) <= 0xDBFF)
#define IS_LOW(unit)  ((unit) >= 0xDC00 && (unit) <= 0xDFFF)

/* Returns the JSON text to parse; *@lost says the high half held from the
 * previous event found no partner here. */
static char *
mend_surrogates (AicChatDialectState *state,
                 const char          *data,
                 gboolean            *lost)
{
  const char *end = data + strlen (data);
  const char *copied = data;
  const char *p = data;
  guint held = state->held_high;
  gboolean in_string = FALSE, string_start = FALSE;
  GString *out = NULL;

  state->held_high = 0;
  while (p < end)
    {
      const char *replacement;
      char joined[8];
      guint unit, next;

      if (!in_string || *p == '"')
        {
          in_string = !in_string ? *p == '"' : FALSE;
          string_start = in_string;
          p++;
          continue;
        }
      if (*p != '\\' || !read_u_escape (p, end, &unit) || !(IS_HIGH (unit) || IS_LOW (unit)))
        {
          /* Any other escape is two characters or a \u that json-glib reads. */
          p += *p == '\\' && p + 1 < end ? 2 : 1;
          string_start = FALSE;
          continue;
        }

      if (IS_HIGH (unit) && read_u_escape (p + 6, end, &next) && IS_LOW (next))
        {
          p += 12;   /* a whole pair: json-glib reads it */
          string_start = FALSE;
          continue;
        }
      if (IS_HIGH (unit) && p + 6 < end && p[6] == '"')
        {
          /* Last in its string: its partner may open the next event. */
          if (state->held_high != 0)
            replacement = "\\ufffd";
          else
            {
              state->held_high = unit;
              replacement = "";
            }
        }
      else if (IS_LOW (unit) && held != 0 && string_start)
        {
          gunichar c = 0x10000 + ((held - 0xD800) << 10) + (unit - 0xDC00);

          joined[g_unichar_to_utf8 (c, joined)] = '\0';
          replacement = joined;
          held = 0;
        }
      else
        replacement = "\\ufffd";

      if (out == NULL)
        out = g_string_sized_new (end - data + 8);
      g_string_append_len (out, copied, p - copied);
      g_string_append (out, replacement);
      p += 6;
      copied = p;
      string_start = FALSE;
    }

  *lost = held != 0;
  if (out == NULL)
    return g_strdup (data);
  g_string_append_len (out, copied, end - copied);
  return g_string_free (out, FALSE);
}

/**
 * aic_chat_dialect_parse:
 * @sse_type: the SSE event name ("message" when unnamed)
 * @data: the event's data
 * @events: (element-type AicChatEvent): where the results are appended
 *
 * Returns: %FALSE with AIC_ERROR_PROTOCOL when the event cannot be read;
 *   what came before stays valid.
 */
gboolean
aic_chat_dialect_parse (AicChatDialectState  *state,
                        const char           *sse_type,
                        const char           *data,
                        GPtrArray            *events,
                        GError              **error)
{
  g_autofree char *mended = NULL;
  gboolean lost = FALSE;

  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  mended = mend_surrogates (state, data, &lost);
  if (lost)
    new_event (events, AIC_CHAT_EVENT_TOKEN)->text = g_strdup (REPLACEMENT_CHARACTER);

  switch (state->kind)
    {
    case AIC_CONNECTION_KIND_OPENAI:
      return parse_openai (state, mended, events, error);
    case AIC_CONNECTION_KIND_ANTHROPIC:
      return parse_anthropic (state, sse_type, mended, events, error);
    case AIC_CONNECTION_KIND_CONSOLE:
    default:
      return parse_console (state, sse_type, mended, events, error);
    }
}

/**
 * aic_chat_dialect_finish:
 * Call at the end of the stream. OpenAI-compatible servers may end
 * without "[DONE]" once they gave a finish reason; otherwise a stream that
 * ends before its last word is an error.
 */
gboolean
aic_chat_dialect_finish (AicChatDialectState  *state,
                         GPtrArray            *events,
                         GError              **error)
{
  g_return_val_if_fail (state != NULL, FALSE);

  if (state->held_high != 0)
    {
      /* Half a pair was the last thing said. */
      state->held_high = 0;
      if (!state->done)
        new_event (events, AIC_CHAT_EVENT_TOKEN)->text = g_strdup (REPLACEMENT_CHARACTER);
    }
  if (state->done)
    return TRUE;

  if (state->kind != AIC_CONNECTION_KIND_CONSOLE && state->finish_reason != NULL)
    {
      new_event (events, AIC_CHAT_EVENT_DONE)->finish_reason = g_strdup (state->finish_reason);
      state->done = TRUE;
      return TRUE;
    }

  g_set_error_literal (error, AIC_ERROR, AIC_ERROR_PROTOCOL,
                       _("The reply broke off before it was complete."));
  return FALSE;
}
