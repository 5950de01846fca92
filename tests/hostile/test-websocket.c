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
  before = aic_hostile_rss_kib (g_subprocess_get_identifier (server->process));

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
  after = aic_hostile_rss_kib (g_subprocess_get_identifier (server->process));
  g_test_message ("Server RSS %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT " KiB after", before, after);
  /* The turn's buffer is 43 MB at most; allow the messages in flight. */
  aic_hostile_assert_rss_within (before, after, 120 * 1024);

  soup_websocket_connection_close (socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  aic_hostile_assert_healthy (server);
}

/* ---- raw frames ---- */

/* A WebSocket opened by hand on @path: what a hostile client would do,
 * with frames no library would send. */
static GSocket *
raw_upgrade (AicHostileServer  *server,
             const char        *path,
             GSocketConnection **out_connection)
{
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection = aic_hostile_connect (server, &error);
  g_autofree char *request = NULL;
  GSocket *socket;
  GString *head = g_string_new (NULL);
  char byte;

  g_assert_no_error (error);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                             path, server->port, server->token);
  aic_hostile_send (connection, request);
  socket = g_socket_connection_get_socket (connection);
  g_socket_set_timeout (socket, 5);
  /* The answer's head, byte by byte, so no frame is taken with it. */
  while (!g_str_has_suffix (head->str, "\r\n\r\n") &&
         g_socket_receive (socket, &byte, 1, NULL, NULL) == 1)
    g_string_append_c (head, byte);
  g_assert_cmpuint (aic_hostile_status (head->str), ==, 101);
  g_string_free (head, TRUE);
  *out_connection = connection;
  return socket;
}

/* A client frame: masked, with a mask of zeros, which leaves the payload
 * as it is. */
static GBytes *
client_frame (guint8      opcode,
              gboolean    fin,
              const void *payload,
              gsize       len)
{
  GByteArray *frame = g_byte_array_sized_new (len + 14);
  guint8 head[10];
  gsize head_len = 2;
  static const guint8 mask[4] = { 0, 0, 0, 0 };

  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126)
    head[1] = 0x80 | len;
  else if (len < 65536)
    {
      head[1] = 0x80 | 126;
      head[2] = len >> 8;
      head[3] = len & 0xff;
      head_len = 4;
    }
  else
    {
      head[1] = 0x80 | 127;
      for (guint i = 0; i < 8; i++)
        head[2 + i] = ((guint64) len >> (56 - 8 * i)) & 0xff;
      head_len = 10;
    }
  g_byte_array_append (frame, head, head_len);
  g_byte_array_append (frame, mask, 4);
  g_byte_array_append (frame, payload, len);
  return g_byte_array_free_to_bytes (frame);
}

/* Sends @frame; FALSE once the server has closed the connection. */
static gboolean
send_frame (GSocket *socket,
            GBytes  *frame)
{
  gsize len;
  const char *data = g_bytes_get_data (frame, &len);

  while (len > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, data, len, NULL, &error);

      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Takes what has come without waiting. */
static void
take_available (GSocket *socket,
                GString *into)
{
  char buffer[65536];

  while (g_socket_condition_check (socket, G_IO_IN) & G_IO_IN)
    {
      gssize n = g_socket_receive_with_blocking (socket, buffer, sizeof buffer, FALSE, NULL, NULL);

      if (n <= 0)
        break;
      g_string_append_len (into, buffer, n);
    }
}

/* A close frame with @code among what the server sent. */
static gboolean
has_close (GString *received,
           guint    code)
{
  const char needle[] = { (char) 0x88, 0, (char) (code >> 8), (char) (code & 0xff) };

  for (gsize i = 0; i + 4 <= received->len; i++)
    if (received->str[i] == needle[0] && (guint8) received->str[i + 1] >= 2 &&
        received->str[i + 2] == needle[2] && received->str[i + 3] == needle[3])
      return TRUE;
  return FALSE;
}

/* One text message sent as 64 KiB fragments that never end: libsoup 3.2
 * limits each fragment but not their sum. The server closes it with 1009
 * past 1 MiB, drops the rest, and its memory stays put (issue 12, 5). */
static void
test_fragment_flood (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (NULL, 0);
  const char *paths[] = { "/api/voice", "/ws/agent/r-fragments", NULL };

  for (guint p = 0; paths[p] != NULL; p++)
    {
      g_autoptr(GSocketConnection) connection = NULL;
      GSocket *socket = raw_upgrade (server, paths[p], &connection);
      g_autofree char *payload = g_malloc (64 * 1024);
      g_autoptr(GBytes) first = NULL;
      g_autoptr(GBytes) middle = NULL;
      g_autoptr(GString) received = g_string_new (NULL);
      guint64 before = aic_hostile_rss_kib (g_subprocess_get_identifier (server->process)), after;
      guint64 sent = 0;

      memset (payload, 'a', 64 * 1024);
      payload[0] = '"';
      first = client_frame (0x1, FALSE, payload, 64 * 1024);
      middle = client_frame (0x0, FALSE, payload + 1, 64 * 1024 - 1);
      g_assert_true (send_frame (socket, first));
      /* Up to 200 MiB, or until the server hangs up. */
      while (sent < 200 * 1024 * 1024 && send_frame (socket, middle))
        {
          sent += 64 * 1024;
          take_available (socket, received);
        }
      after = aic_hostile_rss_kib (g_subprocess_get_identifier (server->process));
      take_available (socket, received);
      g_test_message ("%s: %" G_GUINT64_FORMAT " MiB sent; server RSS %" G_GUINT64_FORMAT
                      " KiB before, %" G_GUINT64_FORMAT " KiB after", paths[p], sent >> 20, before, after);
      g_assert_true (has_close (received, 1009));
      aic_hostile_assert_rss_within (before, after, 32 * 1024);
    }
  aic_hostile_assert_healthy (server);
}

/* A voice client that sends and never reads: every message it sends is
 * answered (here with an error that names its long type), and what waits
 * for it stops at 16 MiB, when the server closes it with 1008 and lets
 * go. Without that, the queue grew with everything it sent. */
static void
test_non_reading_client (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (NULL, 0);
  g_autoptr(GSocketConnection) connection = NULL;
  GSocket *socket = raw_upgrade (server, "/api/voice", &connection);
  g_autofree char *kind = g_malloc (900 * 1024 + 1);
  g_autofree char *message = NULL;
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  guint64 before = aic_hostile_rss_kib (g_subprocess_get_identifier (server->process)), after;
  gint64 until;
  guint sent = 0;

  memset (kind, 'k', 900 * 1024);
  kind[900 * 1024] = '\0';
  message = g_strdup_printf ("{\"type\": \"%s\"}", kind);
  frame = client_frame (0x1, TRUE, message, strlen (message));
  /* 100 messages of 900 KiB: 88 MiB of answers, none read. */
  g_socket_set_timeout (socket, 10);
  for (; sent < 100 && send_frame (socket, frame); sent++)
    ;
  g_usleep (500 * G_USEC_PER_SEC / 1000);
  after = aic_hostile_rss_kib (g_subprocess_get_identifier (server->process));
  g_test_message ("%u messages sent unread; server RSS %" G_GUINT64_FORMAT " KiB before, %"
                  G_GUINT64_FORMAT " KiB after", sent, before, after);
  aic_hostile_assert_rss_within (before, after, 48 * 1024);

  /* The server has given up on it: reading now drains what was queued
   * and comes to the end, instead of waiting on a connection kept open. */
  until = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  g_socket_set_timeout (socket, 20);
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      char buffer[65536];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);

      g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
      if (n <= 0)
        break;
      g_string_append_len (received, buffer, n);
      g_assert_cmpint (g_get_monotonic_time (), <, until);
    }
  /* 16 MiB queued, and what the two sockets' buffers held. */
  g_test_message ("%" G_GSIZE_FORMAT " bytes were waiting", received->len);
  g_assert_cmpuint (received->len, <, 32 * 1024 * 1024);
  aic_hostile_assert_healthy (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/websocket/no-deflate", test_no_deflate);
  g_test_add_func ("/hostile/websocket/voice-buffer", test_voice_buffer_cap);
  g_test_add_func ("/hostile/websocket/fragment-flood", test_fragment_flood);
  g_test_add_func ("/hostile/websocket/non-reading-client", test_non_reading_client);
  return g_test_run ();
}
