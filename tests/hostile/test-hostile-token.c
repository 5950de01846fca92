/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "aic-client.h"
#include "aic-embedded-backend.h"
#include "aic-test-util.h"

/* The built-in backend's token lives in memory only: it is on no process's
 * command line (readable by every user in /proc/PID/cmdline), not in this
 * process's environment, and not in any file of its data folder. Checked
 * while the backend runs and has answered a request with the token. */

static gboolean
contains (const char *data,
          gsize       size,
          const char *needle)
{
  gsize n = strlen (needle);

  if (n == 0 || size < n)
    return FALSE;
  for (gsize i = 0; i + n <= size; i++)
    if (memcmp (data + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
file_contains (const char *path,
               const char *needle)
{
  g_autofree char *data = NULL;
  gsize size = 0;

  /* Processes come and go, and some are not ours to read. */
  if (!g_file_get_contents (path, &data, &size, NULL))
    return FALSE;
  return contains (data, size, needle);
}

/* How many command lines in /proc hold @needle; *out_read, how many
 * could be read at all. */
static guint
command_lines_with (const char *needle,
                    guint      *out_read)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint found = 0;

  *out_read = 0;
  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *data = NULL;
      gsize size;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "cmdline", NULL);
      if (!g_file_get_contents (path, &data, &size, NULL))
        continue;
      (*out_read)++;
      if (contains (data, size, needle))
        {
          g_test_message ("found in %s", path);
          found++;
        }
    }
  return found;
}

static void
tree_without (const char *dir,
              const char *needle)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  if (folder == NULL)
    return;
  while ((name = g_dir_read_name (folder)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        tree_without (path, needle);
      else if (file_contains (path, needle))
        g_error ("The token is in %s", path);
    }
}

static void
test_embedded_token (void)
{
  g_autofree char *data_dir = g_dir_make_tmp ("aic-token-XXXXXX", NULL);
  g_autoptr(AicEmbeddedBackend) backend = aic_embedded_backend_new (data_dir);
  g_autoptr(AicEngine) engine = aic_engine_new_demo ();
  g_autoptr(GAsyncResult) started = NULL;
  g_autoptr(GAsyncResult) checked = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(AicConnection) connection = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicServiceInfo) info = NULL;
  g_autofree char *own_name = NULL;
  const char *token;
  guint n_read = 0;

  aic_embedded_backend_start_async (backend, engine, NULL, aic_test_store_result_cb, &started);
  aic_test_wait_result (&started, 10000);
  g_assert_true (aic_embedded_backend_start_finish (backend, started, &error));
  g_assert_no_error (error);
  token = aic_embedded_backend_get_token (backend);
  g_assert_cmpuint (strlen (token), ==, 43);

  /* In use: the backend answers with it. */
  connection = aic_connection_new (NULL, "Built-in", AIC_CONNECTION_KIND_CONSOLE,
                                   aic_embedded_backend_get_url (backend));
  client = aic_client_new (connection, token);
  aic_client_check_async (client, NULL, aic_test_store_result_cb, &checked);
  aic_test_wait_result (&checked, 10000);
  info = aic_client_check_finish (client, checked, &error);
  g_assert_no_error (error);

  /* The scan itself works: this test's own name is found on its own
   * command line, among the others. */
  own_name = g_strdup (g_get_prgname ());
  g_assert_nonnull (own_name);
  g_assert_cmpuint (command_lines_with (own_name, &n_read), >=, 1);
  g_assert_cmpuint (n_read, >, 1);

  g_assert_cmpuint (command_lines_with (token, &n_read), ==, 0);
  g_assert_false (file_contains ("/proc/self/environ", token));
  g_assert_null (g_getenv ("AI_CONSOLE_TOKEN"));
  tree_without (data_dir, token);

  aic_embedded_backend_stop (backend);
  aic_test_remove_tree (data_dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hostile-token/embedded", test_embedded_token);

  return g_test_run ();
}
