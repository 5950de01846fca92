/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "hostile-util.h"
#include "aic-test-util.h"

/* WebSockets that try to make the server hold more than it should: a
 * compressed message (permessage-deflate is not offered at all) and a
 * voice client that streams audio for ever without a commit. */

static void
test_no_deflate (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (NULL, 0);
  const char *paths[] = { "/api/voice", "/ws/agent/r-deflate", NULL };

  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketConnection) connection = aic_hostile_connect (server, &error);
      g_autofree char *request = NULL;
      g_autofree char *response = NULL;

      g_assert_no_error (error);
      request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                                 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
                                 paths[i], server->port, server->token);
      aic_hostile_send (connection, request);
      /* The connection stays open: what came in a second is the answer. */
      response = aic_hostile_read (connection, 1);
      g_test_message ("%s: %.40s", paths[i], response);
      g_assert_cmpuint (aic_hostile_status (response), ==, 101);
      g_assert_null (strstr (response, "permessage-deflate"));
    }

  aic_hostile_assert_healthy (server);
}

typedef struct
{
  GString  *events;
  gboolean  full;
} Voice;

static void
voice_message_cb (SoupWebsocketConnection *socket,
                  int                      type,
                  GBytes                  *data,
                  Voice                   *voice)
{
  gsize size;
  const char *text = g_bytes_get_data (data, &size);

  if (g_strstr_len (text, size, "\"input_audio_buffer_full\"") != NULL)
    voice->full = TRUE;
}

static gboolean
is_full (gpointer data)
{
  return ((Voice *) data)->full;
}

static guint64
rss_kib (GSubprocess *process)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (process));
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + 6, NULL, 10);
}

/* Push-to-talk audio with no commit, past the 15 minutes (43.2 MB) a turn
 * may hold: an error event, the buffer cleared, and the server's memory
 * bounded. Then the same client goes on being served. */
static void
test_voice_buffer_cap (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (NULL, 0);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/api/voice", server->port);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", server->token);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(SoupWebsocketConnection) socket = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  /* 700,000 bytes of PCM: just under the 1 MiB message limit as base64. */
  g_autofree guchar *pcm = g_malloc0 (700000);
  g_autofree char *encoded = NULL;
  g_autofree char *append = NULL;
  guint64 before, after;
  Voice voice = { 0 };

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  soup_session_websocket_connect_async (session, message, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 5000);
  socket = soup_session_websocket_connect_finish (session, result, &error);
  g_assert_no_error (error);
  g_signal_connect (socket, "message", G_CALLBACK (voice_message_cb), &voice);
  soup_websocket_connection_send_text (socket, "{\"type\": \"session.update\", \"session\": "
                                               "{\"audio\": {\"input\": {\"turn_detection\": null}}}}");
  before = rss_kib (server->process);

  encoded = g_base64_encode (pcm, 700000);
  append = g_strdup_printf ("{\"type\": \"input_audio_buffer.append\", \"audio\": \"%s\"}", encoded);
  /* 43.2 MB is 62 such messages; 70 go. */
  for (guint i = 0; i < 70 && !voice.full; i++)
    {
      soup_websocket_connection_send_text (socket, append);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  aic_test_wait_for (is_full, &voice, 20000);
  after = rss_kib (server->process);
  g_test_message ("Server RSS %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT " KiB after", before, after);
  /* The turn's buffer is 43 MB at most; allow the messages in flight. */
  g_assert_cmpuint (after, <, before + 120 * 1024);

  soup_websocket_connection_close (socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  aic_hostile_assert_healthy (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/websocket/no-deflate", test_no_deflate);
  g_test_add_func ("/hostile/websocket/voice-buffer", test_voice_buffer_cap);
  return g_test_run ();
}
