/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "hostile-util.h"

/* The server runs under a descriptor limit of 256 (soft and hard), and
 * local clients open more connections than it can hold, each with a
 * request left half-sent. */

#define NOFILE 256
#define N_ATTACKERS 300

static GPtrArray *
open_half_sent (AicHostileServer *server,
                guint             n)
{
  GPtrArray *connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *half = g_strdup_printf ("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n", server->port);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      GSocketConnection *connection = aic_hostile_connect (server, &error);

      /* Past the backlog a connect may time out; that is the server
       * being full, not a failure of the test. */
      if (connection == NULL)
        break;
      g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                 half, strlen (half), NULL, NULL, NULL);
      g_ptr_array_add (connections, connection);
    }
  return connections;
}

/* With the cap set above what the limit allows, accept() fails with
 * EMFILE: libsoup 3.2 stopped accepting for good there. Once the
 * attackers hang up, a well-behaved client is served again. */
static void
test_exhaustion_recovers (void)
{
  const char * const args[] = { "--max-connections=1000", NULL };
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, NOFILE);
  g_autoptr(GPtrArray) attackers = open_half_sent (server, N_ATTACKERS);

  g_test_message ("%u connections opened", attackers->len);
  g_assert_cmpuint (attackers->len, >, NOFILE);
  g_clear_pointer (&attackers, g_ptr_array_unref);

  aic_hostile_assert_healthy (server);
}

/* With the default cap (half the limit), connections past it are told
 * 503 and closed at once, and descriptors never run out. */
static void
test_cap_answers_busy (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (NULL, NOFILE);
  g_autoptr(GPtrArray) attackers = open_half_sent (server, NOFILE);
  g_autofree char *response = NULL;

  g_assert_cmpuint (attackers->len, ==, NOFILE);
  /* The last one is past the cap of 128. */
  response = aic_hostile_read (g_ptr_array_index (attackers, attackers->len - 1), 5);
  g_assert_cmpuint (aic_hostile_status (response), ==, 503);
  g_assert_nonnull (strstr (response, "\"busy\""));
  g_clear_pointer (&attackers, g_ptr_array_unref);

  aic_hostile_assert_healthy (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/descriptors/exhaustion-recovers", test_exhaustion_recovers);
  g_test_add_func ("/hostile/descriptors/cap", test_cap_answers_busy);
  return g_test_run ();
}
