/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "hostile-util.h"

/* Content-Length values libsoup would read as negative (and then read the
 * body until the peer stops), or not as a number at all: each is answered
 * 400 at once, without waiting for a body, on a JSON route, a document
 * route and the voice WebSocket. Then a well-behaved client is served. */

/* libsoup itself answers 400 (with no body) to a length with anything
 * but digits after its first digit; the others reach the server's gate. */
static const struct {
  const char *value;
  gboolean    by_gate;
} bad_lengths[] = {
  { "-1", TRUE },
  { "18446744073709551615", TRUE },     /* 2^64 - 1 */
  { "100000000000000000000", TRUE },    /* 10^20 */
  { "12abc", FALSE },
  { "5, 5", FALSE },
  { "twelve", FALSE },
};

static const char * const paths[] = { "/api/chat/stream", "/api/analyze/start", "/api/voice", NULL };

static void
test_bad_lengths (void)
{
  const char * const args[] = { "--max-upload-bytes=4096", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);

  for (guint p = 0; paths[p] != NULL; p++)
    for (guint i = 0; i < G_N_ELEMENTS (bad_lengths); i++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocketConnection) connection = aic_hostile_connect (server, &error);
        g_autofree char *head = NULL;
        g_autofree char *response = NULL;

        g_assert_no_error (error);
        head = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                                "Content-Type: application/json\r\nContent-Length: %s\r\n\r\n",
                                paths[p], server->port, server->token, bad_lengths[i].value);
        aic_hostile_send (connection, head);
        /* No body follows: a server that took the length for "until the
         * peer stops" would wait here, and the read would time out. (A
         * body the server never reads would make its close a reset,
         * which can discard the answer before it is read.) */
        response = aic_hostile_read (connection, 5);
        g_test_message ("%s with Content-Length %s: %.12s", paths[p], bad_lengths[i].value, response);
        g_assert_cmpuint (aic_hostile_status (response), ==, 400);
        if (bad_lengths[i].by_gate)
          g_assert_nonnull (strstr (response, "\"bad_request\""));
      }

  aic_hostile_assert_healthy (server);
}

/* A body larger than the limit is refused whether its size is declared
 * or only counted as it arrives. */
static void
test_limit_counts_every_body (void)
{
  const char * const args[] = { "--max-upload-bytes=4096", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);
  g_autofree char *response = NULL;
  g_autofree char *chunk = g_strnfill (3000, 'x');
  g_autoptr(GString) chunked = g_string_new (NULL);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  /* Declared: answered once the body has gone by, unkept. */
  connection = aic_hostile_connect (server, &error);
  g_assert_no_error (error);
  g_string_printf (chunked, "POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: 6000\r\nConnection: close\r\n\r\n%s%s",
                   server->port, server->token, chunk, chunk);
  aic_hostile_send (connection, chunked->str);
  response = aic_hostile_read (connection, 5);
  g_assert_cmpuint (aic_hostile_status (response), ==, 413);
  g_clear_object (&connection);

  /* Counted as it comes. */
  connection = aic_hostile_connect (server, &error);
  g_assert_no_error (error);
  g_string_printf (chunked, "POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                   server->port, server->token);
  for (guint i = 0; i < 3; i++)
    g_string_append_printf (chunked, "%zx\r\n%s\r\n", strlen (chunk), chunk);
  g_string_append (chunked, "0\r\n\r\n");
  aic_hostile_send (connection, chunked->str);
  g_clear_pointer (&response, g_free);
  response = aic_hostile_read (connection, 5);
  g_assert_cmpuint (aic_hostile_status (response), ==, 413);

  aic_hostile_assert_healthy (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/content-length/bad", test_bad_lengths);
  g_test_add_func ("/hostile/content-length/limit", test_limit_counts_every_body);
  return g_test_run ();
}
