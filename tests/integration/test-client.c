/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-client.h"
#include "aic-error.h"
#include "aic-test-util.h"

/* AicClient's check against real SoupServers on 127.0.0.1 that answer the
 * way real servers do, well and badly. */

typedef struct
{
  SoupServer *server;
  char *url;
  char *last_auth;
  char *last_api_key;
  char *last_version;
  char *last_path;
  gboolean leaked;
} Fixture;

static void
handler (SoupServer        *server,
         SoupServerMessage *message,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  Fixture *f = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);

  g_free (f->last_auth);
  f->last_auth = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  g_free (f->last_api_key);
  f->last_api_key = g_strdup (soup_message_headers_get_one (headers, "x-api-key"));
  g_free (f->last_version);
  f->last_version = g_strdup (soup_message_headers_get_one (headers, "anthropic-version"));
  g_free (f->last_path);
  f->last_path = g_strdup (path);

  if (g_str_has_prefix (path, "/console/api/health"))
    aic_test_reply (message, 200, "application/json",
                    "{\"status\": \"ok\", \"version\": \"0.1\", \"features\": [],"
                    " \"engine\": {\"kind\": \"openai\", \"upstream\": \"http://u\"},"
                    " \"models\": [\"m1\", \"m2\", \"m3\"], \"limits\": {\"max_upload_bytes\": 10}}");
  else if (g_str_has_prefix (path, "/demo/api/health"))
    aic_test_reply (message, 200, "application/json",
                    "{\"status\": \"ok\", \"engine\": {\"kind\": \"demo\", \"upstream\": null}, \"models\": [\"demo\"]}");
  else if (g_str_has_prefix (path, "/degraded/api/health"))
    aic_test_reply (message, 200, "application/json", "{\"status\": \"starting\"}");
  else if (g_str_equal (path, "/openai/v1/models") || g_str_equal (path, "/anthropic/v1/models"))
    aic_test_reply (message, 200, "application/json",
                    "{\"object\": \"list\", \"data\": [{\"id\": \"gpt\"}, {\"id\": \"mini\"}]}");
  else if (g_str_has_prefix (path, "/locked/"))
    aic_test_reply (message, 401, "application/json",
                    "{\"error\": {\"message\": \"Incorrect API key provided\", \"type\": \"invalid_request_error\"}}");
  else if (g_str_has_prefix (path, "/html/"))
    aic_test_reply (message, 200, "text/html", "<!doctype html><title>Router</title>");
  else if (g_str_has_prefix (path, "/wrongtypes/"))
    aic_test_reply (message, 200, "application/json", "{\"status\": \"ok\", \"models\": \"all of them\"}");
  else if (g_str_has_prefix (path, "/badutf8/"))
    aic_test_reply (message, 200, "application/json", "{\"status\": \"\xc3\x28\"}");
  else if (g_str_has_prefix (path, "/broken/"))
    aic_test_reply (message, 502, "text/plain", "Bad Gateway");
  else if (g_str_has_prefix (path, "/huge/"))
    {
      gsize size = 5 * 1024 * 1024;
      char *body = g_malloc (size);

      memset (body, ' ', size);
      body[0] = '{';
      body[size - 1] = '}';
      soup_server_message_set_status (message, 200, NULL);
      soup_server_message_set_response (message, "application/json", SOUP_MEMORY_TAKE, body, size);
    }
  else if (g_str_has_prefix (path, "/moved/"))
    {
      soup_server_message_set_redirect (message, 302, "/leak/v1/models");
    }
  else if (g_str_has_prefix (path, "/leak/"))
    {
      f->leaked = TRUE;
      aic_test_reply (message, 200, "application/json", "{\"data\": []}");
    }
  else if (g_str_has_prefix (path, "/slow/"))
    soup_server_message_pause (message);   /* never answers */
  else
    aic_test_reply (message, 404, "application/json", "{\"detail\": \"Not Found\"}");
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->server = aic_test_server_new (&f->url);
  soup_server_add_handler (f->server, NULL, handler, f, NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_free (f->url);
  g_free (f->last_auth);
  g_free (f->last_api_key);
  g_free (f->last_version);
  g_free (f->last_path);
}

static AicServiceInfo *
check (const char         *base_url,
       AicConnectionKind   kind,
       const char         *key,
       guint               timeout,
       GError            **error)
{
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "test", kind, base_url);
  g_autoptr(AicClient) client = aic_client_new (connection, key);
  g_autoptr(GAsyncResult) result = NULL;

  if (timeout)
    aic_client_set_timeout (client, timeout);
  aic_client_check_async (client, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 20000);
  return aic_client_check_finish (client, result, error);
}

static AicServiceInfo *
check_path (Fixture            *f,
            const char         *prefix,
            AicConnectionKind   kind,
            const char         *key,
            GError            **error)
{
  g_autofree char *url = g_strconcat (f->url, prefix, NULL);

  return check (url, kind, key, 0, error);
}

static void
test_console_ok (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/console", AIC_CONNECTION_KIND_CONSOLE, "tok", &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (f->last_path, ==, "/console/api/health");
  g_assert_cmpstr (f->last_auth, ==, "Bearer tok");
  g_assert_cmpuint (g_strv_length (info->models), ==, 3);
  text = aic_service_info_describe (info);
  g_assert_cmpstr (text, ==, "Connected to an AI Console backend with 3 models.");
}

static void
test_console_demo (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/demo", AIC_CONNECTION_KIND_CONSOLE, NULL, &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_null (f->last_auth);
  text = aic_service_info_describe (info);
  g_assert_nonnull (strstr (text, "demo"));
}

static void
test_console_not_ok (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/degraded", AIC_CONNECTION_KIND_CONSOLE, NULL, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "starting"));
}

static void
test_openai_ok (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/openai/v1", AIC_CONNECTION_KIND_OPENAI, "sk-1", &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (f->last_path, ==, "/openai/v1/models");
  g_assert_cmpstr (f->last_auth, ==, "Bearer sk-1");
  text = aic_service_info_describe (info);
  g_assert_cmpstr (text, ==, "Connected. 2 models are available.");
}

static void
test_anthropic_ok (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/anthropic", AIC_CONNECTION_KIND_ANTHROPIC, "ak", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (f->last_path, ==, "/anthropic/v1/models");
  g_assert_null (f->last_auth);
  g_assert_cmpstr (f->last_api_key, ==, "ak");
  g_assert_cmpstr (f->last_version, ==, "2023-06-01");
  g_assert_cmpuint (g_strv_length (info->models), ==, 2);
}

static void
test_refused_key (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/locked/v1", AIC_CONNECTION_KIND_OPENAI, "wrong", &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_AUTH);
  /* The server's own reason is kept. */
  g_assert_nonnull (strstr (error->message, "Incorrect API key"));
}

static void
test_key_needed (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/locked/v1", AIC_CONNECTION_KIND_OPENAI, NULL, &error);

  g_assert_error (error, AIC_ERROR, AIC_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "needs a key"));
}

/* A redirect is reported, not followed: libsoup would carry x-api-key to
 * wherever it points. */
static void
test_redirect_not_followed (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/moved", AIC_CONNECTION_KIND_ANTHROPIC, "ak-secret", &error);

  g_assert_null (info);
  g_assert_false (f->leaked);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER);
  g_assert_nonnull (strstr (error->message, "302"));
}

static void
test_wrong_kind (Fixture       *f,
                 gconstpointer  data)
{
  struct { const char *prefix; AicConnectionKind kind; } cases[] = {
    { "/openai/v1", AIC_CONNECTION_KIND_CONSOLE },      /* 404 on /api/health */
    { "/console", AIC_CONNECTION_KIND_OPENAI },         /* 404 on /models */
    { "/html", AIC_CONNECTION_KIND_CONSOLE },           /* a web page */
    { "/wrongtypes", AIC_CONNECTION_KIND_CONSOLE },     /* JSON of the wrong shape */
    { "/badutf8", AIC_CONNECTION_KIND_CONSOLE },        /* invalid UTF-8 */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AicServiceInfo) info = check_path (f, cases[i].prefix, cases[i].kind, NULL, &error);

      g_test_message ("case %u: %s", i, cases[i].prefix);
      g_assert_null (info);
      g_assert_error (error, AIC_ERROR, AIC_ERROR_WRONG_SERVER);
    }
}

static void
test_server_error (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/broken", AIC_CONNECTION_KIND_CONSOLE, NULL, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "502"));
}

static void
test_too_large (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check_path (f, "/huge", AIC_CONNECTION_KIND_CONSOLE, NULL, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TOO_LARGE);
}

static void
test_timeout (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *url = g_strconcat (f->url, "/slow", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check (url, AIC_CONNECTION_KIND_CONSOLE, NULL, 1, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TIMEOUT);
}

static void
test_unreachable (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", aic_test_free_port ());
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check (url, AIC_CONNECTION_KIND_CONSOLE, NULL, 0, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "Nothing is listening"));
}

static void
test_unknown_host (void)
{
  g_autoptr(GError) error = NULL;
  /* .invalid never resolves (RFC 2606), with or without a network. */
  g_autoptr(AicServiceInfo) info = check ("http://no-such-host.invalid", AIC_CONNECTION_KIND_OPENAI, NULL, 0, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_UNREACHABLE);
}

static void
test_untrusted_certificate (void)
{
  g_autofree char *url = NULL;
  g_autoptr(SoupServer) server = aic_test_tls_server_new (&url);
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check (url, AIC_CONNECTION_KIND_CONSOLE, NULL, 0, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_TLS);
  g_assert_nonnull (strstr (error->message, "not trusted"));
  soup_server_disconnect (server);
}

/* The two scheme mix-ups people make, each answered with what to do. */
static void
test_scheme_mixups (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *tls_url = NULL;
  g_autoptr(SoupServer) tls = aic_test_tls_server_new (&tls_url);
  g_autofree char *http_to_https = g_strdup_printf ("http://%s", tls_url + strlen ("https://"));
  g_autofree char *https_to_http = g_strdup_printf ("https://%s/console", f->url + strlen ("http://"));
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = NULL;

  info = check (http_to_https, AIC_CONNECTION_KIND_CONSOLE, NULL, 5, &error);
  g_assert_null (info);
  g_assert_true (error->domain == AIC_ERROR);
  g_assert_nonnull (strstr (error->message, "https://"));
  g_clear_error (&error);

  info = check (https_to_http, AIC_CONNECTION_KIND_CONSOLE, NULL, 2, &error);
  g_assert_null (info);
  g_assert_true (g_error_matches (error, AIC_ERROR, AIC_ERROR_TLS) ||
                 g_error_matches (error, AIC_ERROR, AIC_ERROR_TIMEOUT));
  g_test_message ("https:// to plain HTTP: %s", error->message);
  soup_server_disconnect (tls);
}

static void
test_invalid_url (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = check ("localhost:8765", AIC_CONNECTION_KIND_CONSOLE, NULL, 0, &error);

  g_assert_null (info);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  info = check ("http://user:secret@127.0.0.1:1", AIC_CONNECTION_KIND_CONSOLE, NULL, 0, &error);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
}

static void
cancelled_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GError **error = user_data;
  AicServiceInfo *info = aic_client_check_finish (AIC_CLIENT (object), result, error);

  g_assert_null (info);
}

static gboolean
error_set (gpointer data)
{
  return *(GError **) data != NULL;
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *url = g_strconcat (f->url, "/slow", NULL);
  g_autoptr(AicConnection) connection = aic_connection_new (NULL, "t", AIC_CONNECTION_KIND_CONSOLE, url);
  g_autoptr(AicClient) client = aic_client_new (connection, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  aic_client_check_async (client, cancellable, cancelled_cb, &error);
  g_cancellable_cancel (cancellable);
  aic_test_wait_for (error_set, &error, 5000);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/client/console/ok", test_console_ok);
  ADD ("/client/console/demo", test_console_demo);
  ADD ("/client/console/not-ok", test_console_not_ok);
  ADD ("/client/openai/ok", test_openai_ok);
  ADD ("/client/anthropic/ok", test_anthropic_ok);
  ADD ("/client/refused-key", test_refused_key);
  ADD ("/client/wrong-kind", test_wrong_kind);
  ADD ("/client/key-needed", test_key_needed);
  ADD ("/client/redirect", test_redirect_not_followed);
  ADD ("/client/server-error", test_server_error);
  ADD ("/client/too-large", test_too_large);
  ADD ("/client/timeout", test_timeout);
  ADD ("/client/cancel", test_cancel);
  ADD ("/client/scheme-mixups", test_scheme_mixups);
#undef ADD
  g_test_add_func ("/client/unreachable", test_unreachable);
  g_test_add_func ("/client/unknown-host", test_unknown_host);
  g_test_add_func ("/client/untrusted-certificate", test_untrusted_certificate);
  g_test_add_func ("/client/invalid-url", test_invalid_url);

  return g_test_run ();
}
