/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-connection-store.h"
#include "aic-secrets.h"
#include "aic-session.h"
#include "aic-test-util.h"

/* AicSession, the one place that decides who answers each view: the real
 * built-in backend on its own thread, a scripted provider and a stand-in
 * AI Console server as SoupServers, and the real keyring. */

typedef struct
{
  char       *data_dir;
  AicSession *session;
  SoupServer *provider;
  char       *provider_url;
  GPtrArray  *authorizations;   /* what the provider was shown */
} Fixture;

static void
record_auth (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  Fixture *fixture = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  const char *key = soup_message_headers_get_one (headers, "x-api-key");

  g_ptr_array_add (fixture->authorizations, g_strdup (auth ? auth : key ? key : ""));
  aic_test_reply (message, 200, "application/json",
                  "{\"object\": \"list\", \"data\": [{\"id\": \"llama3.1\"}, {\"id\": \"qwen2.5\"}]}");
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->data_dir = g_dir_make_tmp ("aic-session-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->session = aic_session_new (fixture->data_dir);
  fixture->authorizations = g_ptr_array_new_with_free_func (g_free);
  fixture->provider = aic_test_server_new (&fixture->provider_url);
  soup_server_add_handler (fixture->provider, "/v1/models", record_auth, fixture, NULL);
}

static gboolean
only_ours (gpointer data)
{
  return G_OBJECT (data)->ref_count == 1;
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  /* What the session had under way ends with the shutdown: its callbacks
   * come back cancelled and let go of it. */
  aic_session_shutdown (fixture->session);
  aic_test_wait_for (only_ours, fixture->session, 10000);
  g_assert_finalize_object (fixture->session);
  soup_server_disconnect (fixture->provider);
  g_clear_object (&fixture->provider);
  g_free (fixture->provider_url);
  g_ptr_array_unref (fixture->authorizations);
  aic_test_remove_tree (fixture->data_dir);
  g_free (fixture->data_dir);
}

static void
wait_ready (AicSession *session)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  aic_session_wait_async (session, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  g_assert_true (aic_session_wait_finish (session, result, &error));
  g_assert_no_error (error);
}

static AicServiceInfo *
backend_health (AicSession *session)
{
  AicClient *client = aic_session_get_backend_client (session);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  AicServiceInfo *info;

  g_assert_nonnull (client);
  aic_client_check_async (client, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  info = aic_client_check_finish (client, result, &error);
  g_assert_no_error (error);
  return info;
}

static gboolean
models_listed (gpointer data)
{
  return aic_session_get_models (data)[0] != NULL;
}

/* Nothing connected and no probing: the built-in backend on the demo
 * engine serves every view, and says so. */
static void
test_builtin_demo (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(AicServiceInfo) info = NULL;
  AicClient *backend;

  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_STARTING);
  aic_session_use (fixture->session, NULL, NULL, NULL, NULL);
  wait_ready (fixture->session);

  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_BUILTIN_DEMO);
  g_assert_cmpstr (aic_session_get_summary (fixture->session), ==, "Built-in · Demo engine");
  g_assert_nonnull (strstr (aic_session_get_detail (fixture->session), "demo engine"));
  backend = aic_session_get_backend_client (fixture->session);
  g_assert_cmpstr (aic_connection_get_id (aic_client_get_connection (backend)), ==, "builtin");
  g_assert_true (aic_session_get_chat_client (fixture->session) == backend);
  g_assert_true (aic_session_get_voice_client (fixture->session) == backend);
  g_assert_cmpstr (aic_session_get_voice_path (fixture->session), ==, "/api/voice");
  info = backend_health (fixture->session);
  g_assert_cmpstr (info->engine_kind, ==, "demo");
}

/* A provider is the built-in backend's engine, with its key; chat goes to
 * the provider itself, the rest to the backend. */
static void
test_provider (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *base = g_strconcat (fixture->provider_url, "/v1", NULL);
  g_autoptr(AicConnection) connection = aic_connection_new ("ollama", "My Ollama", AIC_CONNECTION_KIND_OPENAI, base);
  g_autoptr(AicServiceInfo) info = NULL;
  g_autofree char *first_url = NULL;
  AicClient *chat;

  aic_connection_set_model (connection, "qwen2.5");
  aic_session_use (fixture->session, connection, "sk-provider", NULL, NULL);
  wait_ready (fixture->session);

  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_PROVIDER);
  g_assert_cmpstr (aic_session_get_summary (fixture->session), ==, "My Ollama");
  chat = aic_session_get_chat_client (fixture->session);
  g_assert_cmpstr (aic_connection_get_base_url (aic_client_get_connection (chat)), ==, base);
  g_assert_true (aic_session_get_voice_client (fixture->session) == aic_session_get_backend_client (fixture->session));
  /* The backend's own client carries the chosen model to agents and voice. */
  g_assert_cmpstr (aic_connection_get_model (aic_client_get_connection (aic_session_get_backend_client (fixture->session))),
                   ==, "qwen2.5");

  info = backend_health (fixture->session);
  g_assert_cmpstr (info->engine_kind, ==, "openai");
  g_assert_cmpstr (info->engine_upstream, ==, base);

  /* The picker's models come from the provider, asked with the key. */
  aic_test_wait_for (models_listed, fixture->session, 10000);
  g_assert_cmpstr (aic_session_get_models (fixture->session)[0], ==, "llama3.1");
  g_assert_true (g_ptr_array_find_with_equal_func (fixture->authorizations, "Bearer sk-provider", g_str_equal, NULL));

  /* The same choice again restarts nothing. */
  first_url = g_strdup (aic_connection_get_base_url (aic_client_get_connection (aic_session_get_backend_client (fixture->session))));
  aic_session_use (fixture->session, connection, "sk-provider", NULL, NULL);
  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_PROVIDER);
  g_assert_cmpstr (aic_connection_get_base_url (aic_client_get_connection (aic_session_get_backend_client (fixture->session))),
                   ==, first_url);

  /* A Realtime voice only when chosen, and then straight to the provider. */
  aic_connection_set_realtime_voice (connection, TRUE);
  aic_session_use (fixture->session, connection, "sk-provider", NULL, NULL);
  wait_ready (fixture->session);
  g_assert_true (aic_session_get_voice_client (fixture->session) == aic_session_get_chat_client (fixture->session));
  g_assert_cmpstr (aic_session_get_voice_path (fixture->session), ==, "/realtime?model=qwen2.5");
}

static void
test_anthropic (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(AicConnection) connection = aic_connection_new ("claude", "Claude", AIC_CONNECTION_KIND_ANTHROPIC,
                                                            fixture->provider_url);
  g_autoptr(AicServiceInfo) info = NULL;

  aic_session_use (fixture->session, connection, "sk-ant", NULL, NULL);
  wait_ready (fixture->session);
  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_PROVIDER);
  info = backend_health (fixture->session);
  g_assert_cmpstr (info->engine_kind, ==, "anthropic");
  g_assert_cmpstr (info->engine_upstream, ==, fixture->provider_url);
  aic_test_wait_for (models_listed, fixture->session, 10000);
  g_assert_true (g_ptr_array_find_with_equal_func (fixture->authorizations, "sk-ant", g_str_equal, NULL));
}

/* A remote AI Console server serves everything itself; the built-in
 * backend is not needed. Here the server is a second built-in backend. */
static void
test_server (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *other_dir = g_build_filename (fixture->data_dir, "other", NULL);
  g_autoptr(AicSession) other = aic_session_new (other_dir);
  g_autoptr(AicConnection) connection = NULL;
  AicClient *remote;
  AicClient *backend;

  aic_session_use (other, NULL, NULL, NULL, NULL);
  wait_ready (other);
  remote = aic_session_get_backend_client (other);

  connection = aic_connection_new ("remote", "Lab Server", AIC_CONNECTION_KIND_CONSOLE,
                                   aic_connection_get_base_url (aic_client_get_connection (remote)));
  aic_session_use (fixture->session, connection, aic_client_get_key (remote), NULL, NULL);
  wait_ready (fixture->session);
  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_SERVER);
  backend = aic_session_get_backend_client (fixture->session);
  g_assert_true (aic_session_get_chat_client (fixture->session) == backend);
  g_assert_cmpstr (aic_connection_get_id (aic_client_get_connection (backend)), ==, "remote");
  g_assert_cmpstr (aic_session_get_voice_path (fixture->session), ==, "/api/voice");
  {
    g_autoptr(AicServiceInfo) info = backend_health (fixture->session);
    g_assert_cmpstr (info->engine_kind, ==, "demo");
  }
  aic_session_shutdown (other);
}

/* Following the store: the active connection's key comes from the
 * keyring, and a list edit that leaves it alone restarts nothing. */
static void
test_follow_store (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GSettings) settings = g_settings_new (BASE_APP_ID);
  g_autoptr(AicConnectionStore) store = aic_connection_store_new (settings);
  g_autofree char *base = g_strconcat (fixture->provider_url, "/v1", NULL);
  g_autoptr(AicConnection) provider = aic_connection_new (NULL, "Provider", AIC_CONNECTION_KIND_OPENAI, base);
  g_autoptr(AicConnection) unused = aic_connection_new (NULL, "Unused", AIC_CONNECTION_KIND_CONSOLE, "http://127.0.0.1:9");
  g_autoptr(GAsyncResult) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  if (!aic_test_have_keyring ())
    {
      g_test_skip ("No Secret Service here");
      return;
    }

  g_assert_true (aic_connection_store_add (store, provider, &error));
  aic_secrets_store_async (aic_connection_get_id (provider), "Provider", "sk-from-keyring", NULL,
                           aic_test_store_result_cb, &stored);
  aic_test_wait_result (&stored, 10000);
  g_assert_true (aic_secrets_store_finish (stored, &error));
  aic_connection_store_set_active (store, aic_connection_get_id (provider));

  aic_session_follow (fixture->session, store);
  wait_ready (fixture->session);
  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_PROVIDER);
  aic_test_wait_for (models_listed, fixture->session, 10000);
  g_assert_true (g_ptr_array_find_with_equal_func (fixture->authorizations, "Bearer sk-from-keyring", g_str_equal, NULL));

  url = g_strdup (aic_connection_get_base_url (aic_client_get_connection (aic_session_get_backend_client (fixture->session))));
  g_assert_true (aic_connection_store_add (store, unused, &error));
  /* Give the key look-up that follows the edit time to come back. */
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (2000);
  aic_test_wait_for (models_listed, fixture->session, 10000);
  g_assert_cmpstr (aic_connection_get_base_url (aic_client_get_connection (aic_session_get_backend_client (fixture->session))),
                   ==, url);

  aic_connection_store_set_active (store, NULL);
  wait_ready (fixture->session);
  for (guint i = 0; i < 500 && aic_session_get_state (fixture->session) != AIC_SESSION_STATE_BUILTIN_DEMO; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (2000);
  g_assert_cmpint (aic_session_get_state (fixture->session), ==, AIC_SESSION_STATE_BUILTIN_DEMO);
  aic_connection_store_remove (store, aic_connection_get_id (provider));
  aic_connection_store_remove (store, aic_connection_get_id (unused));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/session/builtin-demo", test_builtin_demo);
  ADD ("/session/provider", test_provider);
  ADD ("/session/anthropic", test_anthropic);
  ADD ("/session/server", test_server);
  ADD ("/session/follow-store", test_follow_store);

  return g_test_run ();
}
