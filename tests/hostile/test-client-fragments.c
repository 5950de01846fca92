/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "aic-client.h"
#include "aic-connection.h"
#include "aic-voice-session.h"
#include "hostile-util.h"
#include "aic-test-util.h"

/* A hostile voice server, the other way round from the server's own
 * tests: after the upgrade it sends one text message as 64 KiB
 * fragments that never end, up to 200 MiB. libsoup 3.2 limits each
 * fragment, not their sum; the client (the app's and the CLI's code)
 * must close the connection past its message limit and stay small
 * (issue 12, item 5: "the CLI and app clients get the same bounds"). */

typedef struct
{
  GSocketListener *listener;
  guint16          port;
  guint64          sent;
  gboolean         upgraded;
  gboolean         silent;     /* upgrade, then neither send nor read */
  gint             stop;
} Flood;

static char *
accept_key (const char *key)
{
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", -1);
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

static gpointer
flood_thread (gpointer data)
{
  Flood *flood = data;
  g_autoptr(GSocketConnection) connection = g_socket_listener_accept (flood->listener, NULL, NULL, NULL);
  g_autoptr(GString) head = g_string_new (NULL);
  g_autofree char *answer = NULL;
  g_autofree char *accept = NULL;
  g_autofree guint8 *frame = NULL;
  GSocket *socket;
  const char *key;
  char byte;

  if (connection == NULL)
    return NULL;
  socket = g_socket_connection_get_socket (connection);
  g_socket_set_timeout (socket, 20);
  while (!g_str_has_suffix (head->str, "\r\n\r\n") && g_socket_receive (socket, &byte, 1, NULL, NULL) == 1)
    g_string_append_c (head, byte);
  key = strstr (head->str, "Sec-WebSocket-Key: ");
  g_assert_nonnull (key);
  key += strlen ("Sec-WebSocket-Key: ");
  {
    g_autofree char *value = g_strndup (key, strcspn (key, "\r"));

    accept = accept_key (value);
  }
  answer = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
  g_assert_cmpint (g_socket_send (socket, answer, strlen (answer), NULL, NULL), ==, (gssize) strlen (answer));
  flood->upgraded = TRUE;
  if (flood->silent)
    {
      while (!g_atomic_int_get (&flood->stop))
        g_usleep (10000);
      return NULL;
    }

  /* A server's frames: no mask. 64 KiB needs the 16-bit length. */
  frame = g_malloc (4 + 65535);
  frame[1] = 126;
  frame[2] = 0xff;
  frame[3] = 0xff;
  memset (frame + 4, 'a', 65535);
  frame[4] = '"';
  for (gboolean first = TRUE; flood->sent < 200 * 1024 * 1024; first = FALSE)
    {
      gsize done = 0;

      frame[0] = first ? 0x01 : 0x00;   /* text, then continuations; never FIN */
      while (done < 4 + 65535)
        {
          gssize n = g_socket_send (socket, (const char *) frame + done, 4 + 65535 - done, NULL, NULL);

          if (n <= 0)
            return NULL;   /* the client hung up */
          done += n;
        }
      flood->sent += 65535;
    }
  return NULL;
}

static void
state_cb (AicVoiceSession *session,
          GParamSpec      *pspec,
          gboolean        *ended)
{
  AicVoiceState state;

  g_object_get (session, "state", &state, NULL);
  if (state == AIC_VOICE_DISCONNECTED)
    *ended = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* Starts @flood's server thread and connects a voice session to it, as
 * the app and the CLI do; @ended turns TRUE when the session ends. */
static AicVoiceSession *
connect_voice (Flood     *flood,
               GThread  **out_thread,
               gboolean  *ended)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  AicVoiceSession *session;

  flood->listener = g_socket_listener_new ();
  flood->port = g_socket_listener_add_any_inet_port (flood->listener, NULL, &error);
  g_assert_no_error (error);
  *out_thread = g_thread_new ("hostile-voice", flood_thread, flood);

  url = g_strdup_printf ("http://127.0.0.1:%u", flood->port);
  connection = aic_connection_new (NULL, "hostile", AIC_CONNECTION_KIND_CONSOLE, url);
  client = aic_client_new (connection, NULL);
  session = aic_voice_session_new (client, "/api/voice");
  aic_voice_session_set_reconnect (session, 0, 100);
  aic_voice_session_connect_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_voice_session_connect_finish (session, result, NULL));
  g_signal_connect (session, "notify::state", G_CALLBACK (state_cb), ended);
  return session;
}

static void
end_voice (Flood           *flood,
           GThread         *thread,
           AicVoiceSession *session)
{
  aic_voice_session_close (session);
  g_atomic_int_set (&flood->stop, 1);
  g_socket_listener_close (flood->listener);
  g_thread_join (thread);
  g_clear_object (&flood->listener);
}

static void
test_fragment_flood (void)
{
  Flood flood = { 0 };
  GThread *thread = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  guint64 before, after;
  gboolean ended = FALSE;

  before = aic_hostile_peak_rss_kib ("self");
  session = connect_voice (&flood, &thread, &ended);

  /* The client gives up on the message, and the connection, long before
   * the server has sent it all. */
  aic_test_wait_for (is_true, &ended, 30000);
  after = aic_hostile_peak_rss_kib ("self");
  g_test_message ("%" G_GUINT64_FORMAT " MiB sent; client peak RSS %" G_GUINT64_FORMAT " KiB before, %"
                  G_GUINT64_FORMAT " KiB after", flood.sent >> 20, before, after);
  g_assert_true (flood.upgraded);
  aic_hostile_assert_rss_within (before, after, 64 * 1024);
  end_voice (&flood, thread, session);
}

/* A server that takes the upgrade and then reads nothing: the client's
 * audio waits in libsoup's queue. Past 4 MiB the client stops and closes
 * rather than keep it all (without: the queue held everything sent). */
static void
test_server_not_reading (void)
{
  Flood flood = { .silent = TRUE };
  GThread *thread = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  g_autoptr(GBytes) audio = g_bytes_new_take (g_malloc0 (480000), 480000);   /* 10 s */
  guint64 before, after;
  gboolean ended = FALSE;
  guint sent = 0;

  session = connect_voice (&flood, &thread, &ended);
  before = aic_hostile_peak_rss_kib ("self");

  /* Up to 200 × 10 s of audio (128 MB as base64), while the line lasts. */
  for (; sent < 200 && !ended; sent++)
    {
      aic_voice_session_send_audio (session, audio);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  aic_test_wait_for (is_true, &ended, 20000);
  after = aic_hostile_peak_rss_kib ("self");
  g_test_message ("%u × 10 s of audio sent; client peak RSS %" G_GUINT64_FORMAT " KiB before, %"
                  G_GUINT64_FORMAT " KiB after", sent, before, after);
  /* Once closing, what is sent is dropped: the queue stops growing. */
  aic_hostile_assert_rss_within (before, after, 64 * 1024);
  end_voice (&flood, thread, session);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/client/fragment-flood", test_fragment_flood);
  g_test_add_func ("/hostile/client/server-not-reading", test_server_not_reading);
  return g_test_run ();
}
