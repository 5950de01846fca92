/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aic-client.h"
#include "aic-embedded-backend.h"
#include "aic-error.h"
#include "aic-http.h"
#include "aic-json.h"
#include "aic-server-private.h"
#include "aic-test-util.h"

/* The real AicServer on 127.0.0.1 port 0, spoken to by a real SoupSession:
 * the gate (token, Origin, Host), /api/health and the error shape. */

#define TOKEN "test-token-123"

typedef struct
{
  AicServer *server;
  SoupSession *session;
  char *url;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GError) error = NULL;
  const char *origins[] = { "https://allowed.example", NULL };

  f->server = aic_server_new (engine, data ? NULL : TOKEN);
  aic_server_set_allowed_origins (f->server, origins);
  g_assert_true (aic_server_listen (f->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (aic_server_get_port (f->server), >, 0);
  f->url = aic_server_dup_url (f->server);
  f->session = aic_http_session_new (10);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  g_assert_finalize_object (f->server);
  g_free (f->url);
}

typedef AicTestAnswer Answer;

/* Sends a request and reads the whole answer, whatever its status. */
static void request_with_body (Fixture *f, const char *method, const char *path, const char *token,
                               const char *host, const char *origin, GBytes *request_body, Answer *answer);

static void
request (Fixture    *f,
         const char *method,
         const char *path,
         const char *token,
         const char *host,
         const char *origin,
         Answer     *answer)
{
  request_with_body (f, method, path, token, host, origin, NULL, answer);
}

static void
request_with_body (Fixture    *f,
                   const char *method,
                   const char *path,
                   const char *token,
                   const char *host,
                   const char *origin,
                   GBytes     *request_body,
                   Answer     *answer)
{
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (method, url);
  SoupMessageHeaders *request_headers = soup_message_get_request_headers (message);

  aic_http_set_bearer (message, token);
  if (host)
    soup_message_headers_replace (request_headers, "Host", host);
  if (origin)
    soup_message_headers_replace (request_headers, "Origin", origin);
  if (request_body)
    soup_message_set_request_body_from_bytes (message, "application/octet-stream", request_body);

  aic_test_send (f->session, message, answer);
}

static void
assert_error_shape (Answer     *answer,
                    const char *code)
{
  JsonObject *error;

  g_assert_cmpstr (aic_test_answer_type (answer), ==, "application/json");
  g_assert_nonnull (answer->body);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (answer->body));
  error = json_object_get_object_member (json_node_get_object (answer->body), "error");
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  g_assert_cmpuint (strlen (json_object_get_string_member (error, "message")), >, 0);
}

static void
test_health (Fixture       *f,
             gconstpointer  data)
{
  g_auto(AicTestAnswer) answer = { 0 };
  g_autoptr(AicServiceInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *engine;

  request (f, "GET", "/api/health", TOKEN, NULL, NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 200);
  g_assert_cmpstr (aic_test_answer_type (&answer), ==, "application/json");

  info = aic_service_info_parse_health (answer.body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->status, ==, "ok");
  g_assert_cmpstr (info->version, ==, PACKAGE_VERSION);
  g_assert_cmpstr (info->engine_kind, ==, "demo");
  g_assert_cmpstrv (info->models, ((const char *[]) { "demo", NULL }));
  g_assert_cmpint (info->max_upload_bytes, ==, 25 * 1024 * 1024);

  /* "upstream" is present and null for the demo engine, as documented. */
  engine = json_object_get_object_member (json_node_get_object (answer.body), "engine");
  g_assert_true (json_object_has_member (engine, "upstream"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (engine, "upstream")));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (answer.body), "features")));
}

static void
test_no_token (Fixture       *f,
               gconstpointer  data)
{
  g_auto(AicTestAnswer) answer = { 0 };

  request (f, "GET", "/api/health", NULL, NULL, NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 401);
  g_assert_cmpstr (aic_test_answer_header (&answer, "WWW-Authenticate"), ==, "Bearer realm=\"ai-console\"");
  assert_error_shape (&answer, "unauthorized");
}

static void
test_wrong_token (Fixture       *f,
                  gconstpointer  data)
{
  const char *tokens[] = { "test-token-12", "test-token-1234", "TEST-TOKEN-123", "x" };

  for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
    {
      g_auto(AicTestAnswer) answer = { 0 };

      request (f, "GET", "/api/health", tokens[i], NULL, NULL, &answer);
      g_assert_cmpuint (answer.status, ==, 401);
      assert_error_shape (&answer, "unauthorized");
    }
}

static void
test_unknown_route_needs_token_first (Fixture       *f,
                                      gconstpointer  data)
{
  g_auto(AicTestAnswer) answer = { 0 };

  /* Without a token nothing is revealed, not even what exists. */
  request (f, "GET", "/api/secret-route", NULL, NULL, NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 401);
}

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  const char *paths[] = { "/", "/api", "/api/health/extra", "/api/nothing", "/api/voice/nothing" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_auto(AicTestAnswer) answer = { 0 };

      request (f, "GET", paths[i], TOKEN, NULL, NULL, &answer);
      g_assert_cmpuint (answer.status, ==, 404);
      assert_error_shape (&answer, "not_found");
    }
}

static void
test_method_not_allowed (Fixture       *f,
                         gconstpointer  data)
{
  g_auto(AicTestAnswer) answer = { 0 };

  request (f, "DELETE", "/api/health", TOKEN, NULL, NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 405);
  g_assert_cmpstr (aic_test_answer_header (&answer, "Allow"), ==, "GET");
  assert_error_shape (&answer, "method_not_allowed");
}

static void
test_foreign_origin (Fixture       *f,
                     gconstpointer  data)
{
  const char *origins[] = { "https://evil.example", "null", "http://127.0.0.1:1234" };

  for (guint i = 0; i < G_N_ELEMENTS (origins); i++)
    {
      g_auto(AicTestAnswer) answer = { 0 };

      /* Refused even with the right token: a page must not ride on it. */
      request (f, "GET", "/api/health", TOKEN, NULL, origins[i], &answer);
      g_assert_cmpuint (answer.status, ==, 403);
      assert_error_shape (&answer, "origin_not_allowed");
    }
}

static void
test_allowed_origin (Fixture       *f,
                     gconstpointer  data)
{
  const char *spellings[] = { "https://allowed.example", "https://allowed.example/", "HTTPS://Allowed.Example" };

  for (guint i = 0; i < G_N_ELEMENTS (spellings); i++)
    {
      g_auto(AicTestAnswer) answer = { 0 };

      request (f, "GET", "/api/health", TOKEN, NULL, spellings[i], &answer);
      g_assert_cmpuint (answer.status, ==, 200);
    }
}

/* A browser page from an origin named with --allow-origin: its preflight
 * is answered without a token, and every answer it gets (errors too)
 * carries CORS headers; a page from elsewhere gets none (issue 13). */
static void
test_cors (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *url = g_strconcat (f->url, "/api/chat/stream", NULL);

  {
    g_autoptr(SoupMessage) message = soup_message_new ("OPTIONS", url);
    SoupMessageHeaders *headers = soup_message_get_request_headers (message);
    g_auto(AicTestAnswer) answer = { 0 };

    soup_message_headers_replace (headers, "Origin", "https://allowed.example");
    soup_message_headers_replace (headers, "Access-Control-Request-Method", "POST");
    soup_message_headers_replace (headers, "Access-Control-Request-Headers", "authorization, content-type");
    aic_test_send (f->session, message, &answer);
    g_assert_cmpuint (answer.status, ==, 204);
    g_assert_cmpstr (aic_test_answer_header (&answer, "Access-Control-Allow-Origin"), ==, "https://allowed.example");
    g_assert_nonnull (strstr (aic_test_answer_header (&answer, "Access-Control-Allow-Methods"), "POST"));
    g_assert_nonnull (strstr (aic_test_answer_header (&answer, "Access-Control-Allow-Headers"), "Authorization"));
    g_assert_nonnull (strstr (aic_test_answer_header (&answer, "Access-Control-Allow-Headers"), "Last-Event-ID"));
  }
  {
    g_auto(AicTestAnswer) answer = { 0 };

    request (f, "GET", "/api/health", TOKEN, NULL, "https://allowed.example", &answer);
    g_assert_cmpuint (answer.status, ==, 200);
    g_assert_cmpstr (aic_test_answer_header (&answer, "Access-Control-Allow-Origin"), ==, "https://allowed.example");
    g_assert_cmpstr (aic_test_answer_header (&answer, "Access-Control-Expose-Headers"), ==, "Location, ETag, Retry-After");
    g_assert_cmpstr (aic_test_answer_header (&answer, "Vary"), ==, "Origin");
  }
  {
    g_auto(AicTestAnswer) answer = { 0 };

    /* Without the token: refused, in a way the page can read. */
    request (f, "GET", "/api/health", NULL, NULL, "https://allowed.example", &answer);
    g_assert_cmpuint (answer.status, ==, 401);
    g_assert_cmpstr (aic_test_answer_header (&answer, "Access-Control-Allow-Origin"), ==, "https://allowed.example");
  }
  {
    g_autoptr(SoupMessage) message = soup_message_new ("OPTIONS", url);
    SoupMessageHeaders *headers = soup_message_get_request_headers (message);
    g_auto(AicTestAnswer) answer = { 0 };

    soup_message_headers_replace (headers, "Origin", "https://evil.example");
    soup_message_headers_replace (headers, "Access-Control-Request-Method", "POST");
    aic_test_send (f->session, message, &answer);
    g_assert_cmpuint (answer.status, ==, 403);
    g_assert_null (aic_test_answer_header (&answer, "Access-Control-Allow-Origin"));
  }
  {
    g_auto(AicTestAnswer) answer = { 0 };

    /* No Origin (not a browser): no CORS headers either. */
    request (f, "GET", "/api/health", TOKEN, NULL, NULL, &answer);
    g_assert_null (aic_test_answer_header (&answer, "Access-Control-Allow-Origin"));
  }
}

/* Bodies are refused on their headers: over the limit gets 413, and a
 * refused request is answered without its body being kept. */
static void
test_body_limits (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GBytes) big = g_bytes_new_take (g_malloc0 (2 * 1024 * 1024), 2 * 1024 * 1024);
  g_autoptr(GBytes) small = g_bytes_new_static ("{}", 2);

  aic_server_set_max_upload_bytes (f->server, 1024 * 1024);
  {
    g_auto(AicTestAnswer) answer = { 0 };
    request_with_body (f, "POST", "/api/health", TOKEN, NULL, NULL, big, &answer);
    g_assert_cmpuint (answer.status, ==, 413);
    assert_error_shape (&answer, "too_large");
  }
  {
    g_auto(AicTestAnswer) answer = { 0 };
    request_with_body (f, "POST", "/api/health", NULL, "evil.example", NULL, big, &answer);
    g_assert_cmpuint (answer.status, ==, 403);
  }
  {
    g_auto(AicTestAnswer) answer = { 0 };
    request_with_body (f, "POST", "/api/health", TOKEN, NULL, NULL, small, &answer);
    g_assert_cmpuint (answer.status, ==, 405);
  }
}

static void
test_foreign_host (Fixture       *f,
                   gconstpointer  data)
{
  const char *hosts[] = { "evil.example", "evil.example:8765", "127.0.0.1.nip.io", "localhost.evil.example" };

  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_auto(AicTestAnswer) answer = { 0 };

      request (f, "GET", "/api/health", TOKEN, hosts[i], NULL, &answer);
      g_assert_cmpuint (answer.status, ==, 403);
      assert_error_shape (&answer, "host_not_allowed");
    }
}

static void
test_loopback_hosts (Fixture       *f,
                     gconstpointer  data)
{
  const char *hosts[] = { "localhost", "LOCALHOST:1", "127.0.0.1" };

  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_auto(AicTestAnswer) answer = { 0 };

      request (f, "GET", "/api/health", TOKEN, hosts[i], NULL, &answer);
      g_assert_cmpuint (answer.status, ==, 200);
    }
}

static void
test_no_auth (Fixture       *f,
              gconstpointer  data)
{
  g_auto(AicTestAnswer) answer = { 0 };
  g_auto(AicTestAnswer) foreign = { 0 };

  request (f, "GET", "/api/health", NULL, NULL, NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 200);

  /* --no-auth keeps the Host and Origin checks. */
  request (f, "GET", "/api/health", NULL, NULL, "https://evil.example", &foreign);
  g_assert_cmpuint (foreign.status, ==, 403);
}

static void
test_host_allowed (void)
{
  struct { const char *bound; const char *host; gboolean ok; } cases[] = {
    { "127.0.0.1", "127.0.0.1:8765", TRUE },
    { "127.0.0.1", "localhost:8765", TRUE },
    { "127.0.0.1", "[::1]:8765", TRUE },
    { "127.0.0.1", "[::1]", TRUE },
    { "127.0.0.1", "Localhost", TRUE },
    { "127.0.0.1", "", FALSE },
    { NULL, NULL, FALSE },
    { "127.0.0.1", "evil.example", FALSE },
    { "127.0.0.1", "127.0.0.2", FALSE },
    { "127.0.0.1", "localhost:80x", FALSE },
    { "127.0.0.1", "localhost:", FALSE },
    { "127.0.0.1", "[::1", FALSE },
    { "127.0.0.1", "[::1]x", FALSE },
    { "127.0.0.1", "::1", FALSE },
    { "192.168.1.5", "192.168.1.5:8765", TRUE },
    { "192.168.1.5", "10.0.0.1", FALSE },
    { "0.0.0.0", "192.168.1.5:8765", TRUE },
    { "0.0.0.0", "attacker.example", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %u: bound %s, Host %s", i, cases[i].bound, cases[i].host);
      g_assert_cmpint (aic_server_host_allowed (cases[i].bound, cases[i].host), ==, cases[i].ok);
    }
}

/* The descriptor this process listens on at @port, by asking each one. */
static int
find_listener (guint port)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int fd = atoi (name), listening = 0;
      socklen_t len = sizeof listening;
      struct sockaddr_in address;
      socklen_t address_len = sizeof address;

      if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
        continue;
      if (getsockname (fd, (struct sockaddr *) &address, &address_len) == 0 &&
          address.sin_family == AF_INET && ntohs (address.sin_port) == port)
        return fd;
    }
  return -1;
}

/* The listen backlog is what the server asked for (as far as the kernel's
 * net.core.somaxconn allows), read back from the kernel, and it holds a
 * burst of connections that nobody is accepting yet. */
static void
test_listen_backlog (Fixture       *f,
                     gconstpointer  data)
{
  enum { BURST = 200 };
  g_autofree char *somaxconn_text = NULL;
  guint64 somaxconn = 4096;
  struct tcp_info info = { 0 };
  socklen_t len = sizeof info;
  struct sockaddr_in address = { .sin_family = AF_INET };
  struct pollfd fds[BURST];
  guint connected = 0;
  gint64 deadline;
  int listener = find_listener (aic_server_get_port (f->server));

  if (g_file_get_contents ("/proc/sys/net/core/somaxconn", &somaxconn_text, NULL, NULL))
    somaxconn = g_ascii_strtoull (somaxconn_text, NULL, 10);
  g_assert_cmpint (listener, >=, 0);
  /* For a listening socket Linux reports its backlog as tcpi_sacked (what
   * `ss -ltn` shows as Send-Q). */
  g_assert_cmpint (getsockopt (listener, IPPROTO_TCP, TCP_INFO, &info, &len), ==, 0);
  g_assert_cmpuint (info.tcpi_state, ==, TCP_LISTEN);
  g_assert_cmpuint (info.tcpi_sacked, ==, MIN (AIC_SERVER_LISTEN_BACKLOG, somaxconn));
  g_assert_cmpuint (AIC_SERVER_LISTEN_BACKLOG, >=, 1000);

  /* The main context is not run meanwhile, so nothing is accepted: every
   * handshake completes only if the kernel may queue them all. */
  address.sin_port = htons (aic_server_get_port (f->server));
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  for (guint i = 0; i < BURST; i++)
    {
      fds[i].fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      fds[i].events = POLLOUT;
      g_assert_cmpint (fds[i].fd, >=, 0);
      g_assert_true (connect (fds[i].fd, (struct sockaddr *) &address, sizeof address) == 0 || errno == EINPROGRESS);
    }
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (connected < BURST && g_get_monotonic_time () < deadline)
    {
      connected = 0;
      g_assert_cmpint (poll (fds, BURST, 50), >=, 0);
      for (guint i = 0; i < BURST; i++)
        connected += (fds[i].revents & POLLOUT) != 0;
    }
  g_assert_cmpuint (connected, ==, BURST);
  for (guint i = 0; i < BURST; i++)
    close (fds[i].fd);
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC / 5;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
}

static void
test_listen_errors (void)
{
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(AicServer) server = aic_server_new (engine, TOKEN);
  g_autoptr(AicServer) second = aic_server_new (engine, TOKEN);
  g_autoptr(GError) error = NULL;

  g_assert_false (aic_server_listen (server, "not-an-address", 0, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (aic_server_listen (server, "localhost", 0, &error));
  g_assert_no_error (error);

  /* The same port twice: a clear error, not a crash. */
  g_assert_false (aic_server_listen (second, "127.0.0.1", aic_server_get_port (server), &error));
  g_assert_nonnull (error);
}

static char *
new_data_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("aic-embedded-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
test_embedded (void)
{
  g_autofree char *data_dir = new_data_dir ();
  g_autoptr(AicEmbeddedBackend) backend = aic_embedded_backend_new (data_dir);
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GAsyncResult) started = NULL;
  g_autoptr(GAsyncResult) checked = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicConnection) no_token = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicClient) anonymous = NULL;
  g_autoptr(AicServiceInfo) info = NULL;

  aic_embedded_backend_start_async (backend, engine, NULL, aic_test_store_result_cb, &started);
  aic_test_wait_result (&started, 10000);
  g_assert_true (aic_embedded_backend_start_finish (backend, started, &error));
  g_assert_no_error (error);
  g_assert_true (aic_embedded_backend_is_running (backend));
  g_assert_true (aic_embedded_backend_is_demo (backend));
  g_assert_cmpstr (aic_embedded_backend_get_engine_label (backend), ==, "Demo engine (offline)");
  g_assert_true (g_str_has_prefix (aic_embedded_backend_get_url (backend), "http://127.0.0.1:"));
  g_assert_cmpuint (strlen (aic_embedded_backend_get_token (backend)), ==, 43);

  /* Served from its own thread while this one waits in its main loop. */
  connection = aic_connection_new (NULL, "Built-in", AIC_CONNECTION_KIND_CONSOLE,
                                   aic_embedded_backend_get_url (backend));
  client = aic_client_new (connection, aic_embedded_backend_get_token (backend));
  aic_client_check_async (client, NULL, aic_test_store_result_cb, &checked);
  aic_test_wait_result (&checked, 10000);
  info = aic_client_check_finish (client, checked, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->engine_kind, ==, "demo");

  /* The random token is required there too. */
  g_clear_object (&checked);
  no_token = aic_connection_new (NULL, "Built-in", AIC_CONNECTION_KIND_CONSOLE,
                                 aic_embedded_backend_get_url (backend));
  anonymous = aic_client_new (no_token, NULL);
  aic_client_check_async (anonymous, NULL, aic_test_store_result_cb, &checked);
  aic_test_wait_result (&checked, 10000);
  g_clear_pointer (&info, aic_service_info_free);
  info = aic_client_check_finish (anonymous, checked, &error);
  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_AUTH);

  aic_embedded_backend_stop (backend);
  g_assert_false (aic_embedded_backend_is_running (backend));
  aic_embedded_backend_stop (backend);
  aic_test_remove_tree (data_dir);
}

static AicServiceInfo *
check_embedded (AicEmbeddedBackend *backend)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "Built-in", AIC_CONNECTION_KIND_CONSOLE,
                                                           aic_embedded_backend_get_url (backend));
  g_autoptr(AicClient) client = aic_client_new (connection, aic_embedded_backend_get_token (backend));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  AicServiceInfo *info;

  aic_client_check_async (client, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  info = aic_client_check_finish (client, result, &error);
  g_assert_no_error (error);
  return info;
}

/* With an upstream, health reports the upstream's models once the engine
 * has asked for them. */
static void
test_embedded_with_upstream (void)
{
  g_autofree char *data_dir = new_data_dir ();
  g_autoptr(AicEmbeddedBackend) backend = aic_embedded_backend_new (data_dir);
  g_autoptr(AicEngine) engine = NULL;
  g_autoptr(GAsyncResult) started = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *upstream_url = NULL;
  g_autofree char *base = NULL;
  g_autofree char *label = NULL;
  g_autoptr(SoupServer) upstream = aic_test_server_new (&upstream_url);

  aic_test_serve_models (upstream, "{\"object\": \"list\", \"data\": [{\"id\": \"llama3\"}, {\"id\": \"qwen\"}]}");
  base = g_strconcat (upstream_url, "/v1", NULL);

  engine = aic_engine_new_openai (base, "Ollama", NULL);
  aic_embedded_backend_start_async (backend, engine, NULL, aic_test_store_result_cb, &started);
  aic_test_wait_result (&started, 10000);
  g_assert_true (aic_embedded_backend_start_finish (backend, started, &error));
  g_assert_false (aic_embedded_backend_is_demo (backend));
  label = g_strdup_printf ("Ollama at %s", upstream_url + strlen ("http://"));
  g_assert_cmpstr (aic_embedded_backend_get_engine_label (backend), ==, label);

  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(AicServiceInfo) info = check_embedded (backend);

      g_assert_cmpstr (info->engine_kind, ==, "openai");
      g_assert_cmpstr (info->engine_upstream, ==, base);
      if (g_strv_length (info->models) == 2)
        {
          g_assert_cmpstr (info->models[0], ==, "llama3");
          break;
        }
      g_assert_cmpuint (attempt, <, 100);
      g_usleep (20000);
    }

  aic_embedded_backend_stop (backend);
  soup_server_disconnect (upstream);
  aic_test_remove_tree (data_dir);
}

/* Three requests on one connection, each answered without closing it:
 * keep-alive works although the listening socket is accepted by our own
 * loop rather than by libsoup's. The client runs in a thread with plain
 * blocking sockets, so nothing in libsoup's client could hide a close. */
typedef struct
{
  guint port;
  guint answered;
  gboolean closed;
  gboolean done;
} KeepAlive;

static gsize
read_answer (GInputStream *input,
             GString      *answer)
{
  char buffer[4096];
  const char *end;
  const char *length;
  gsize body_length;
  gsize header_length;

  /* Headers first, then exactly Content-Length bytes of body. */
  while ((end = strstr (answer->str, "\r\n\r\n")) == NULL)
    {
      gssize n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL);
      if (n <= 0)
        return 0;
      g_string_append_len (answer, buffer, n);
    }
  header_length = end + 4 - answer->str;
  length = strstr (answer->str, "Content-Length: ");
  g_assert_nonnull (length);
  body_length = g_ascii_strtoull (length + strlen ("Content-Length: "), NULL, 10);
  while (answer->len < header_length + body_length)
    {
      gssize n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL);
      if (n <= 0)
        return 0;
      g_string_append_len (answer, buffer, n);
    }
  return header_length + body_length;
}

static gpointer
keep_alive_client (gpointer data)
{
  KeepAlive *state = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree char *request = g_strdup_printf ("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                              "Authorization: Bearer " TOKEN "\r\n\r\n", state->port);
  GOutputStream *output;
  GInputStream *input;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", state->port, NULL, NULL);
  g_assert_nonnull (connection);
  output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  input = g_io_stream_get_input_stream (G_IO_STREAM (connection));

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GString) answer = g_string_new (NULL);

      if (!g_output_stream_write_all (output, request, strlen (request), NULL, NULL, NULL) ||
          read_answer (input, answer) == 0)
        break;
      g_assert_true (g_str_has_prefix (answer->str, "HTTP/1.1 200"));
      if (strstr (answer->str, "Connection: close") != NULL)
        state->closed = TRUE;
      state->answered++;
    }

  g_atomic_int_set (&state->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static void
test_keep_alive (Fixture       *f,
                 gconstpointer  data)
{
  KeepAlive state = { .port = aic_server_get_port (f->server) };
  GThread *thread = g_thread_new ("keep-alive", keep_alive_client, &state);

  while (!g_atomic_int_get (&state.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);

  g_assert_cmpuint (state.answered, ==, 3);
  g_assert_false (state.closed);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/server/health", test_health);
  ADD ("/server/keep-alive", test_keep_alive);
  ADD ("/server/auth/no-token", test_no_token);
  ADD ("/server/auth/wrong-token", test_wrong_token);
  ADD ("/server/auth/before-routing", test_unknown_route_needs_token_first);
  ADD ("/server/not-found", test_not_found);
  ADD ("/server/method-not-allowed", test_method_not_allowed);
  ADD ("/server/origin/foreign", test_foreign_origin);
  ADD ("/server/origin/allowed", test_allowed_origin);
  ADD ("/server/origin/cors", test_cors);
  ADD ("/server/body-limits", test_body_limits);
  ADD ("/server/host/foreign", test_foreign_host);
  ADD ("/server/host/loopback", test_loopback_hosts);
  ADD ("/server/listen-backlog", test_listen_backlog);
#undef ADD
  g_test_add ("/server/auth/disabled", Fixture, GINT_TO_POINTER (1), fixture_setup, test_no_auth, fixture_teardown);
  g_test_add_func ("/server/host-allowed", test_host_allowed);
  g_test_add_func ("/server/listen-errors", test_listen_errors);
  g_test_add_func ("/embedded/demo", test_embedded);
  g_test_add_func ("/embedded/upstream", test_embedded_with_upstream);

  return g_test_run ();
}
