/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the SSE parser (scripts/test runs it for a minute).
 *
 * Besides crashes and sanitizer reports, it checks the parser's central
 * promise: the events do not depend on how the bytes are chunked. The
 * input is parsed whole and in chunks whose sizes come from the input's
 * first bytes, with small limits so the size checks are exercised too;
 * both runs must produce the same events, retries, comments and errors. */
#include "config.h"

#include <string.h>

#include "aic-sse-parser.h"

static gboolean
valid_with_nul (const char *text,
                gsize       len)
{
  for (const char *end = text + len; text <= end; )
    {
      const char *nul = memchr (text, '\0', end - text);
      const char *stop = nul ? nul : end;

      if (!g_utf8_validate_len (text, stop - text, NULL))
        return FALSE;
      if (nul == NULL)
        break;
      text = nul + 1;
    }
  return TRUE;
}

static void
on_event (gpointer           user_data,
          const AicSseEvent *event)
{
  GString *log = user_data;

  g_assert (g_utf8_validate (event->type, -1, NULL));
  g_assert (valid_with_nul (event->data, event->data_len));
  g_string_append_printf (log, "E%zu:%s:%zu:", strlen (event->type), event->type, event->data_len);
  g_string_append_len (log, event->data, event->data_len);
  g_string_append_printf (log, ":%s;", event->id);
}

static void
on_retry (gpointer user_data,
          guint64  milliseconds)
{
  g_string_append_printf (user_data, "R%" G_GUINT64_FORMAT ";", milliseconds);
}

static void
on_comment (gpointer    user_data,
            const char *text,
            gsize       len)
{
  g_string_append_printf (user_data, "C%zu;", len);
}

static const AicSseCallbacks callbacks = { on_event, on_retry, on_comment };

static char *
parse (const guint8 *data,
       size_t        size,
       const guint8 *chunks,
       size_t        n_chunks,
       gboolean      keep_complete)
{
  GString *log = g_string_new (NULL);
  AicSseParser *parser = aic_sse_parser_new (&callbacks, log);
  GError *error = NULL;
  size_t pos = 0, i = 0;
  gboolean ok = TRUE;

  aic_sse_parser_set_limits (parser, 64, 256);
  while (pos < size && ok)
    {
      size_t n = n_chunks ? (size_t) (chunks[i++ % n_chunks] % 16) + 1 : size;

      n = MIN (n, size - pos);
      ok = aic_sse_parser_feed (parser, (const char *) data + pos, n, &error);
      pos += n;
    }
  if (ok)
    ok = aic_sse_parser_finish (parser, keep_complete, &error);
  if (!ok)
    {
      g_string_append_printf (log, "X%d;", error->code);
      g_error_free (error);
    }
  aic_sse_parser_free (parser);
  return g_string_free (log, FALSE);
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  size_t n_chunks;
  gboolean keep_complete;
  char *whole, *chunked;

  if (size < 1)
    return 0;
  keep_complete = data[0] & 1;
  n_chunks = MIN ((size_t) (data[0] >> 1), size - 1);
  whole = parse (data + 1 + n_chunks, size - 1 - n_chunks, NULL, 0, keep_complete);
  chunked = parse (data + 1 + n_chunks, size - 1 - n_chunks, data + 1, n_chunks, keep_complete);

  /* Errors may strike at different moments, but never on one side only,
   * and everything before them agrees. */
  if (strcmp (whole, chunked) != 0)
    {
      g_printerr ("whole:   %s\nchunked: %s\n", whole, chunked);
      g_assert_not_reached ();
    }
  g_free (whole);
  g_free (chunked);
  return 0;
}
