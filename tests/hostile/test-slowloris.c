/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "hostile-util.h"

/* Slow peers, against a server whose header timeout is 2 s: headers that
 * never end, and a body that trickles. Each connection must be closed by
 * the server soon after the timeout, while the attacker still waits. */

#define TIMEOUT_S 2

static const char * const args[] = { "--header-timeout=2", NULL };

/* Reads until the server closes (or 10 s pass); returns the seconds it
 * took. */
static double
seconds_until_closed (GSocketConnection *connection)
{
  gint64 start = g_get_monotonic_time ();
  g_autofree char *rest = aic_hostile_read (connection, 10);

  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static void
test_headers_stall (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = aic_hostile_connect (server, &error);
  g_autofree char *half = g_strdup_printf ("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n", server->port);
  double seconds;

  g_assert_no_error (error);
  aic_hostile_send (connection, half);
  seconds = seconds_until_closed (connection);
  g_test_message ("Half-sent headers closed after %.1f s", seconds);
  g_assert_cmpfloat (seconds, <, TIMEOUT_S + 2);

  aic_hostile_assert_healthy (server);
}

static void
test_body_trickles (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = aic_hostile_connect (server, &error);
  g_autofree char *head = NULL;
  double seconds;

  g_assert_no_error (error);
  head = g_strdup_printf ("POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"message\": \"",
                          server->port, server->token);
  aic_hostile_send (connection, head);
  seconds = seconds_until_closed (connection);
  g_test_message ("Trickling body closed after %.1f s", seconds);
  /* The body may take the timeout, then must average 1 KiB/s. */
  g_assert_cmpfloat (seconds, <, TIMEOUT_S + 3);

  aic_hostile_assert_healthy (server);
}

/* A request whose answer takes longer than the timeout (a chat stream
 * from the demo engine, slowed down) is not cut: the deadline covers the
 * request, not the answer. */
static void
test_long_answer_not_cut (void)
{
  const char * const slow[] = { "--header-timeout=2", "--demo-delay=70", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (slow, 0);
  const char *body = "{\"message\": \"Tell me a story\"}";
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = aic_hostile_connect (server, &error);
  g_autofree char *text = NULL;
  g_autofree char *response = NULL;
  double seconds;

  g_assert_no_error (error);
  text = g_strdup_printf ("POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                          server->port, server->token, strlen (body), body);
  aic_hostile_send (connection, text);
  response = aic_hostile_read (connection, 10);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("Chat stream took %.1f s", seconds);
  g_assert_cmpuint (aic_hostile_status (response), ==, 200);
  g_assert_cmpfloat (seconds, >, TIMEOUT_S + 1);
  g_assert_nonnull (strstr (response, "event: done"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/slowloris/headers", test_headers_stall);
  g_test_add_func ("/hostile/slowloris/body", test_body_trickles);
  g_test_add_func ("/hostile/slowloris/long-answer", test_long_answer_not_cut);
  return g_test_run ();
}
