/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "aic-local-probe.h"
#include "aic-test-util.h"

/* The search for a model server on this machine, against real servers on
 * 127.0.0.1 standing in for Ollama, llama.cpp and LM Studio. */

static AicLocalProvider *
probe (const AicLocalCandidate *candidates,
       guint                    n)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  AicLocalProvider *provider;

  aic_local_probe_async (candidates, n, 2, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  provider = aic_local_probe_finish (result, &error);
  g_assert_no_error (error);
  return provider;
}

static void
test_finds_first_in_order (void)
{
  g_autofree char *refused = g_strdup_printf ("http://127.0.0.1:%u/v1", aic_test_free_port ());
  g_autofree char *web_url = NULL;
  g_autofree char *b_url = NULL;
  g_autofree char *c_url = NULL;
  g_autoptr(SoupServer) web = aic_test_server_new (&web_url);
  g_autoptr(SoupServer) b = aic_test_server_new (&b_url);
  g_autoptr(SoupServer) c = aic_test_server_new (&c_url);
  g_autofree char *web_base = NULL, *b_base = NULL, *c_base = NULL;
  g_autoptr(AicLocalProvider) provider = NULL;

  /* Something unrelated that answers HTTP, like a router page on 8080. */
  aic_test_serve_models (web, "<html></html>");
  aic_test_serve_models (b, "{\"data\": [{\"id\": \"qwen\"}]}");
  aic_test_serve_models (c, "{\"data\": [{\"id\": \"phi\"}]}");
  web_base = g_strconcat (web_url, "/v1", NULL);
  b_base = g_strconcat (b_url, "/v1", NULL);
  c_base = g_strconcat (c_url, "/v1", NULL);

  {
    const AicLocalCandidate candidates[] = {
      { "Nothing", refused },
      { "Web page", web_base },
      { "Second", b_base },
      { "Third", c_base },
    };

    provider = probe (candidates, G_N_ELEMENTS (candidates));
    g_assert_nonnull (provider);
    g_assert_cmpstr (provider->name, ==, "Second");
    g_assert_cmpstr (provider->base_url, ==, b_base);
    g_assert_cmpstrv (provider->models, ((const char *[]) { "qwen", NULL }));
  }

  soup_server_disconnect (web);
  soup_server_disconnect (b);
  soup_server_disconnect (c);
}

static void
test_finds_nothing (void)
{
  g_autofree char *a = g_strdup_printf ("http://127.0.0.1:%u/v1", aic_test_free_port ());
  const AicLocalCandidate candidates[] = { { "A", a } };
  g_autoptr(AicLocalProvider) provider = NULL;

  provider = probe (candidates, G_N_ELEMENTS (candidates));
  g_assert_null (provider);
  provider = probe (NULL, 0);
  g_assert_null (provider);
}

static void
test_defaults (void)
{
  guint n;
  const AicLocalCandidate *candidates = aic_local_probe_default_candidates (&n);

  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (candidates[0].base_url, ==, "http://127.0.0.1:11434/v1");
  g_assert_cmpstr (candidates[1].base_url, ==, "http://127.0.0.1:8080/v1");
  g_assert_cmpstr (candidates[2].base_url, ==, "http://127.0.0.1:1234/v1");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/probe/first-in-order", test_finds_first_in_order);
  g_test_add_func ("/probe/nothing", test_finds_nothing);
  g_test_add_func ("/probe/defaults", test_defaults);

  return g_test_run ();
}
