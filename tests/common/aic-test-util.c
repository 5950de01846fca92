/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>

#include <string.h>
#include <unistd.h>

#include "aic-json.h"
#include "aic-test-util.h"

static SoupServer *
listen_loopback (SoupServer  *server,
                 gboolean     https,
                 char       **out_url)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new (address, 0);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  soup_server_listen (server, socket_address, https ? SOUP_SERVER_LISTEN_HTTPS : 0, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (server);
  g_assert_nonnull (uris);
  *out_url = g_strdup_printf ("%s://127.0.0.1:%d", https ? "https" : "http", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return server;
}

SoupServer *
aic_test_server_new (char **out_url)
{
  return listen_loopback (soup_server_new (NULL, NULL), FALSE, out_url);
}

/* Serves HTTPS with the self-signed certificate in tests/data, which no
 * client trusts: the way to meet a certificate problem for real. */
SoupServer *
aic_test_tls_server_new (char **out_url)
{
  g_autofree char *cert = g_test_build_filename (G_TEST_DIST, "data", "selfsigned.pem", NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;

  certificate = g_tls_certificate_new_from_file (cert, &error);
  g_assert_no_error (error);
  return listen_loopback (soup_server_new ("tls-certificate", certificate, NULL), TRUE, out_url);
}

void
aic_test_reply (SoupServerMessage *message,
                guint              status,
                const char        *content_type,
                const char        *body)
{
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, content_type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
models_handler (SoupServer        *server,
                SoupServerMessage *message,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  if (g_str_equal (path, "/v1/models"))
    aic_test_reply (message, 200, "application/json", user_data);
  else
    aic_test_reply (message, 404, "text/plain", "404 page not found");
}

/* Answers GET /v1/models with @body, as an OpenAI-compatible server
 * would (or, with another @body, as something that only looks like one). */
void
aic_test_serve_models (SoupServer *server,
                       const char *body)
{
  soup_server_add_handler (server, NULL, models_handler, g_strdup (body), g_free);
}

/* A port nothing listens on: bind, note, close. */
guint
aic_test_free_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (address, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
timed_out_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Waits until @done says so; it is asked at least every 10 ms, since some
 * conditions (how much audio has played) change with no event to wake
 * the main loop. */
void
aic_test_wait_for (gboolean (*done) (gpointer),
                   gpointer   data,
                   guint      timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, timed_out_cb, &timed_out);
  guint wake = g_timeout_add (10, wake_cb, NULL);

  while (!done (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  if (!timed_out)
    g_source_remove (id);
  g_assert_false (timed_out);
}

void
aic_test_store_result_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static gboolean
result_arrived (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

/**
 * aic_test_wait_result:
 * Runs the main context until aic_test_store_result_cb() fills @slot.
 * Returns: (transfer none): the result
 */
GAsyncResult *
aic_test_wait_result (GAsyncResult **slot,
                      guint          timeout_ms)
{
  aic_test_wait_for (result_arrived, slot, timeout_ms);
  return *slot;
}

/* True when a Secret Service answers on the session bus (asked over D-Bus
 * itself: a test program maps libsecret only through the product's own
 * aic-keyring module). */
gboolean
aic_test_have_keyring (void)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    return FALSE;
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (bus == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.freedesktop.Secret.Service", "Collections"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
  return reply != NULL;
}

/* Whether a file whose path contains @library is mapped in this process
 * (the libraries that modules load on first use). */
gboolean
aic_test_is_mapped (const char *library)
{
  g_autofree char *maps = NULL;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  return strstr (maps, library) != NULL;
}

/* Sends @message asynchronously (a server in this process answers from
 * the same main context) and reads the whole answer. */
void
aic_test_send (SoupSession   *session,
               SoupMessage   *message,
               AicTestAnswer *answer)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL,
                                    aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  body = soup_session_send_and_read_finish (session, result, &error);
  g_assert_no_error (error);

  answer->status = soup_message_get_status (message);
  answer->headers = soup_message_headers_ref (soup_message_get_response_headers (message));
  if (g_bytes_get_size (body) > 0)
    {
      answer->body = aic_json_parse_bytes (body, &error);
      g_assert_no_error (error);
    }
}

const char *
aic_test_answer_header (AicTestAnswer *answer,
                        const char    *name)
{
  return soup_message_headers_get_one (answer->headers, name);
}

const char *
aic_test_answer_type (AicTestAnswer *answer)
{
  return soup_message_headers_get_content_type (answer->headers, NULL);
}

void
aic_test_answer_clear (AicTestAnswer *answer)
{
  g_clear_pointer (&answer->body, json_node_unref);
  g_clear_pointer (&answer->headers, soup_message_headers_unref);
}

/* Removes a folder and what it holds; links are removed, not followed. */
void
aic_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        aic_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* The text of DIR/NAME, or NULL when there is no such file. */
char *
aic_test_file_contents (const char *dir,
                        const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

/* GETs @url, which must answer 200 with a JSON object, and returns it. */
JsonObject *
aic_test_get_object (const char *url)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_auto(AicTestAnswer) answer = { 0 };

  aic_test_send (session, message, &answer);
  g_assert_cmpuint (answer.status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (answer.body));
  return json_object_ref (json_node_get_object (answer.body));
}

/* Overwrites page @page (4 KiB pages) of the SQLite file @path with
 * garbage; G_MAXUINT for the page in the middle of the file. */
void
aic_test_damage_page (const char *path,
                      guint       page)
{
  guchar garbage[4096];
  GStatBuf st;
  int fd;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  if (page == G_MAXUINT)
    page = st.st_size / sizeof garbage / 2;
  g_assert_cmpint ((gint64) (page + 1) * sizeof garbage, <=, st.st_size);
  memset (garbage, 0xA5, sizeof garbage);
  fd = g_open (path, O_WRONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, garbage, sizeof garbage, (off_t) page * sizeof garbage), ==, sizeof garbage);
  close (fd);
}
