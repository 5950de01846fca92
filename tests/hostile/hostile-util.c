/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <libsoup/soup.h>

#include "hostile-util.h"
#include "aic-test-util.h"

static void
child_setup (gpointer user_data)
{
  struct rlimit limit;

  /* A test that fails must not leave a server holding its output open. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (user_data == NULL)
    return;

  /* Soft and hard both: the server may raise its soft limit, never past
   * this. */
  limit.rlim_cur = limit.rlim_max = GPOINTER_TO_UINT (user_data);
  setrlimit (RLIMIT_NOFILE, &limit);
}

/* Starts the process and waits for its "Listening" line. */
static void
spawn (AicHostileServer *server)
{
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *colon;

  server->process = g_subprocess_launcher_spawnv (server->launcher, (const char * const *) server->argv, &error);
  g_assert_no_error (error);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "Listening on http://127.0.0.1:"));
  colon = strrchr (line, ':');
  server->port = (guint) g_ascii_strtoull (colon + 1, NULL, 10);
  g_assert_cmpuint (server->port, >, 0);
}

/* Stops the server (SIGTERM) and keeps its data folder. */
void
aic_hostile_server_stop (AicHostileServer *server)
{
  if (server->process == NULL)
    return;
  g_subprocess_send_signal (server->process, SIGTERM);
  g_subprocess_wait (server->process, NULL, NULL);
  g_clear_object (&server->process);
}

/* The same server again, on the same data folder (another port). */
void
aic_hostile_server_restart (AicHostileServer *server)
{
  aic_hostile_server_stop (server);
  spawn (server);
}

/**
 * aic_hostile_server_start:
 * @nofile_limit: 0, or the descriptor limit (soft and hard) to run under
 *
 * Starts the server built with the tests (AIC_TEST_SERVER) on a free port
 * with a token in a fresh data folder, and waits for its "Listening" line.
 */
AicHostileServer *
aic_hostile_server_start (const char * const *extra_args,
                          guint               nofile_limit)
{
  return aic_hostile_server_start_with_env (extra_args, nofile_limit, NULL);
}

/**
 * aic_hostile_server_start_with_env:
 * @env: (nullable): NAME=VALUE pairs added to the server's environment
 */
AicHostileServer *
aic_hostile_server_start_with_env (const char * const *extra_args,
                                   guint               nofile_limit,
                                   const char * const *env)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *token_path = NULL;
  const char *exe = g_getenv ("AIC_TEST_SERVER");
  AicHostileServer *server = g_new0 (AicHostileServer, 1);

  g_assert_nonnull (exe);
  server->root = g_dir_make_tmp ("aic-hostile-XXXXXX", &error);
  g_assert_no_error (error);
  /* Not there yet: the server makes it. */
  server->data_dir = g_build_filename (server->root, "server", NULL);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (env[i], "=", 2);

      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }

  g_ptr_array_add (argv, (char *) exe);
  g_ptr_array_add (argv, (char *) "--port=0");
  g_ptr_array_add (argv, (char *) "--data-dir");
  g_ptr_array_add (argv, server->data_dir);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) extra_args[i]);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_child_setup (launcher, child_setup, GUINT_TO_POINTER (nofile_limit), NULL);
  server->launcher = g_object_ref (launcher);
  server->argv = g_strdupv ((char **) argv->pdata);
  spawn (server);
  token_path = g_build_filename (server->data_dir, "token", NULL);
  g_assert_true (g_file_get_contents (token_path, &server->token, NULL, &error));
  g_strstrip (server->token);
  return server;
}

void
aic_hostile_server_free (AicHostileServer *server)
{
  aic_hostile_server_stop (server);
  g_clear_object (&server->launcher);
  g_strfreev (server->argv);
  aic_test_remove_tree (server->root);
  g_free (server->root);
  g_free (server->data_dir);
  g_free (server->token);
  g_free (server);
}

GSocketConnection *
aic_hostile_connect (AicHostileServer  *server,
                     GError           **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, 5);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", server->port, NULL, error);
  return connection;
}

void
aic_hostile_send (GSocketConnection *connection,
                  const char        *text)
{
  g_autoptr(GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Everything until the peer closes or @timeout_s passes without a byte:
 * a hung server shows as a short answer, never as a hung test. */
char *
aic_hostile_read (GSocketConnection *connection,
                  guint              timeout_s)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  GString *text = g_string_new (NULL);
  char buffer[4096];

  g_socket_set_timeout (socket, timeout_s);
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);

      if (n <= 0)
        break;
      g_string_append_len (text, buffer, n);
      if (text->len > 1024 * 1024)
        break;
    }
  return g_string_free (text, FALSE);
}

guint
aic_hostile_status (const char *response)
{
  if (response == NULL || !g_str_has_prefix (response, "HTTP/1.1 "))
    return 0;
  return (guint) g_ascii_strtoull (response + 9, NULL, 10);
}

/* One request on a new connection, answered in full (Connection: close). */
char *
aic_hostile_request (AicHostileServer *server,
                     const char       *method,
                     const char       *path,
                     const char       *extra_headers)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = aic_hostile_connect (server, &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  text = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\n%s\r\n",
                          method, path, server->port, server->token, extra_headers ? extra_headers : "");
  aic_hostile_send (connection, text);
  return aic_hostile_read (connection, 5);
}

/**
 * aic_hostile_fetch:
 * @content_type: (nullable): with @body, its type; "multipart" sends
 *   @body as the file of an upload form, as a person would
 *
 * A well-behaved request with libsoup, answered in full.
 * Returns: the answer's body, as text
 */
char *
aic_hostile_fetch (AicHostileServer *server,
                   const char       *method,
                   const char       *path,
                   const char       *content_type,
                   GBytes           *body,
                   guint            *out_status)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", server->port, path);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", server->token);
  g_autoptr(SoupMessage) message = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  if (body != NULL && g_strcmp0 (content_type, "multipart") == 0)
    {
      g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
      g_autoptr(GBytes) form = NULL;

      soup_multipart_append_form_file (multipart, "file", "document.txt", "text/plain", body);
      soup_multipart_to_message (multipart, soup_message_get_request_headers (message), &form);
      soup_message_set_request_body_from_bytes (message, NULL, form);
    }
  else if (body != NULL)
    soup_message_set_request_body_from_bytes (message, content_type, body);
  answer = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  *out_status = soup_message_get_status (message);
  return g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
}

static guint64
status_kib (const char *pid,
            const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &status, NULL, NULL));
  line = strstr (status, field);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (field), NULL, 10);
}

/* A process's resident memory now, "self" included. */
guint64
aic_hostile_rss_kib (const char *pid)
{
  return status_kib (pid, "VmRSS:");
}

/* The most it has ever had resident: what a buffer that was freed again
 * (glibc returns big ones to the system at once) leaves behind. */
guint64
aic_hostile_peak_rss_kib (const char *pid)
{
  return status_kib (pid, "VmHWM:");
}

/* AddressSanitizer keeps freed memory in quarantine (256 MiB) and adds
 * its shadow: resident memory means nothing there, and the bounds are
 * checked by the normal build's run. */
void
aic_hostile_assert_rss_within (guint64 before_kib,
                               guint64 after_kib,
                               guint64 bound_kib)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_message ("RSS bound not checked under AddressSanitizer");
#else
  g_assert_cmpuint (after_kib, <, before_kib + bound_kib);
#endif
}

/* The second, well-behaved client every attack is followed by. */
void
aic_hostile_assert_healthy (AicHostileServer *server)
{
  g_autofree char *response = aic_hostile_request (server, "GET", "/api/health", NULL);

  g_assert_cmpuint (aic_hostile_status (response), ==, 200);
  g_assert_nonnull (strstr (response, "\"status\":\"ok\""));
}
