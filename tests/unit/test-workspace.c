/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aic-diff.h"
#include "aic-test-util.h"
#include "aic-workspace.h"

/* The agent's tools in a real folder: nothing leaves the workspace, by
 * "..", an absolute path or a symbolic link; limits are kept and said. */

typedef struct
{
  char         *base;      /* holds the workspace and what is outside it */
  char         *root;
  AicWorkspace *workspace;
} Fixture;

static void
write_file (const char *dir,
            const char *name,
            const char *content)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *outside = NULL;
  g_autofree char *link = NULL;
  g_autofree char *sub = NULL;

  fixture->base = g_dir_make_tmp ("aic-workspace-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->root = g_build_filename (fixture->base, "work", NULL);
  sub = g_build_filename (fixture->root, "src", NULL);
  outside = g_build_filename (fixture->base, "outside", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (outside, 0700), ==, 0);

  write_file (fixture->root, "README.md", "# Demo\n\nA small project.\n");
  write_file (sub, "main.c", "int\nmain (void)\n{\n  return 0; /* TODO: greet */\n}\n");
  write_file (outside, "secret.txt", "the TODO list outside\n");

  /* Links: out by absolute path, out by "..", a folder out, and one that
   * stays inside. */
  link = g_build_filename (fixture->root, "abs-link", NULL);
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  g_free (link);
  link = g_build_filename (fixture->root, "rel-link", NULL);
  g_assert_cmpint (symlink ("../outside/secret.txt", link), ==, 0);
  g_free (link);
  link = g_build_filename (fixture->root, "dir-link", NULL);
  g_assert_cmpint (symlink ("../outside", link), ==, 0);
  g_free (link);
  link = g_build_filename (fixture->root, "inside-link", NULL);
  g_assert_cmpint (symlink ("src/main.c", link), ==, 0);

  fixture->workspace = aic_workspace_new (fixture->root, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->workspace);
  aic_test_remove_tree (fixture->base);
  g_free (fixture->root);
  g_free (fixture->base);
}

static void
test_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicWorkspace) workspace = aic_workspace_new ("/nonexistent/folder", &error);

  g_assert_null (workspace);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_FOUND);
}

static void
test_list_dir (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) listing = aic_workspace_list_dir (fixture->workspace, ".", &error);
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  json = json_to_string (listing, FALSE);
  g_assert_cmpstr (json, ==,
                   "{\"path\":\".\",\"entries\":["
                   "{\"name\":\"README.md\",\"type\":\"file\",\"size\":25},"
                   "{\"name\":\"abs-link\",\"type\":\"link\"},"
                   "{\"name\":\"dir-link\",\"type\":\"link\"},"
                   "{\"name\":\"inside-link\",\"type\":\"link\"},"
                   "{\"name\":\"rel-link\",\"type\":\"link\"},"
                   "{\"name\":\"src\",\"type\":\"dir\"}],"
                   "\"truncated\":false}");

  g_clear_pointer (&listing, json_node_unref);
  listing = aic_workspace_list_dir (fixture->workspace, "dir-link", &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_assert_null (listing);
  g_clear_error (&error);

  listing = aic_workspace_list_dir (fixture->workspace, "missing", &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "“missing” does not exist"));
}

static void
test_read_file (Fixture       *fixture,
                gconstpointer  data)
{
  const char *outside[] = {
    "../outside/secret.txt",
    "src/../../outside/secret.txt",
    "/etc/passwd",
    "abs-link",
    "rel-link",
    "dir-link/secret.txt",
    "~/.bashrc",
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *big = NULL;

  text = aic_workspace_read_file (fixture->workspace, "src/main.c", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (text, "int\nmain"));
  g_clear_pointer (&text, g_free);

  /* A link that stays inside is followed. */
  text = aic_workspace_read_file (fixture->workspace, "inside-link", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (text, "int\nmain"));
  g_clear_pointer (&text, g_free);

  for (guint i = 0; i < G_N_ELEMENTS (outside); i++)
    {
      text = aic_workspace_read_file (fixture->workspace, outside[i], &error);
      g_assert_null (text);
      g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
      g_assert_nonnull (strstr (error->message, outside[i]));
      g_assert_nonnull (strstr (error->message, "outside the workspace"));
      g_clear_error (&error);
    }

  write_file (fixture->root, "image.png", "\x89PNG\r\n\x1a\n\0\0\0");
  text = aic_workspace_read_file (fixture->workspace, "image.png", &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_TEXT);
  g_clear_error (&error);

  big = g_strnfill (AIC_WORKSPACE_MAX_READ + 1, 'x');
  write_file (fixture->root, "big.txt", big);
  text = aic_workspace_read_file (fixture->workspace, "big.txt", &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  text = aic_workspace_read_file (fixture->workspace, "src", &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID);
}

static void
test_search_text (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) found = aic_workspace_search_text (fixture->workspace, "todo", NULL, &error);
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  json = json_to_string (found, FALSE);
  /* Case ignored; the file behind dir-link, outside, is not searched. */
  g_assert_cmpstr (json, ==,
                   "{\"query\":\"todo\",\"matches\":["
                   "{\"path\":\"src/main.c\",\"line\":4,\"text\":\"  return 0; /* TODO: greet */\"}],"
                   "\"truncated\":false}");

  g_clear_pointer (&found, json_node_unref);
  found = aic_workspace_search_text (fixture->workspace, "todo", "dir-link", &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_clear_error (&error);

  found = aic_workspace_search_text (fixture->workspace, "", NULL, &error);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID);
}

static void
test_write_file (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *diff = NULL;
  g_autofree char *text = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *secret_path = g_build_filename (fixture->base, "outside", "secret.txt", NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  diff = aic_workspace_preview_write (fixture->workspace, "README.md",
                                      "# Demo\n\nA small project.\nIt greets.\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (diff, ==,
                   "--- a/README.md\n+++ b/README.md\n"
                   "@@ -1,3 +1,4 @@\n # Demo\n \n A small project.\n+It greets.\n");
  g_clear_pointer (&diff, g_free);

  diff = aic_workspace_preview_write (fixture->workspace, "src/greet.h", "void greet (void);\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (diff, ==, "--- /dev/null\n+++ b/src/greet.h\n@@ -0,0 +1 @@\n+void greet (void);\n");

  g_assert_true (aic_workspace_write_file (fixture->workspace, "src/greet.h", "void greet (void);\n", &error));
  g_assert_no_error (error);
  text = aic_workspace_read_file (fixture->workspace, "src/greet.h", &error);
  g_assert_cmpstr (text, ==, "void greet (void);\n");

  /* Out by every way; a link is not written through even to inside. */
  g_assert_false (aic_workspace_write_file (fixture->workspace, "../outside/secret.txt", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_clear_error (&error);
  g_assert_false (aic_workspace_write_file (fixture->workspace, "/tmp/x", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_clear_error (&error);
  g_assert_false (aic_workspace_write_file (fixture->workspace, "rel-link", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_clear_error (&error);
  g_assert_false (aic_workspace_write_file (fixture->workspace, "dir-link/new.txt", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_clear_error (&error);
  g_assert_false (aic_workspace_write_file (fixture->workspace, "inside-link", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE);
  g_clear_error (&error);
  g_file_get_contents (secret_path, &secret, NULL, NULL);
  g_assert_cmpstr (secret, ==, "the TODO list outside\n");

  g_assert_false (aic_workspace_write_file (fixture->workspace, "no/such/folder.txt", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (aic_workspace_write_file (fixture->workspace, "src/", "x", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (aic_workspace_write_file (fixture->workspace, "bad.txt", "\xff\xfe", &error));
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_TEXT);
  g_clear_error (&error);

  /* No temporary file is left behind. */
  dir = g_dir_open (fixture->root, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_suffix (name, ".aic-write"));
}

static void
test_diff (void)
{
  g_autofree char *same = aic_diff_unified ("a.txt", "one\ntwo\n", "one\ntwo\n");
  g_autofree char *middle = NULL;
  g_autofree char *no_newline = NULL;

  g_assert_cmpstr (same, ==, "");

  /* Two changes far apart make two hunks; context is three lines. */
  middle = aic_diff_unified ("n.txt",
                             "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
                             "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n");
  g_assert_cmpstr (middle, ==,
                   "--- a/n.txt\n+++ b/n.txt\n"
                   "@@ -1,5 +1,5 @@\n 1\n-2\n+TWO\n 3\n 4\n 5\n"
                   "@@ -9,4 +9,3 @@\n 9\n 10\n 11\n-12\n");

  no_newline = aic_diff_unified ("x", "a\nb", "a\nc");
  g_assert_cmpstr (no_newline, ==,
                   "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
                   "+c\n\\ No newline at end of file\n");
}

static AicCommandResult *
run (AicWorkspace  *workspace,
     const char    *command,
     guint          timeout_ms,
     gsize          max_output,
     GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  aic_workspace_run_command_async (workspace, command, timeout_ms, max_output, NULL, aic_test_store_result_cb, &result);
  aic_test_wait_result (&result, 10000);
  return aic_workspace_run_command_finish (workspace, result, error);
}

static void
test_run_command (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicCommandResult) result = NULL;
  g_autofree char *expected = NULL;
  gint64 start;

  result = run (fixture->workspace, "pwd", 5000, AIC_WORKSPACE_MAX_OUTPUT, &error);
  g_assert_no_error (error);
  expected = g_strconcat (aic_workspace_get_root (fixture->workspace), "\n", NULL);
  g_assert_cmpstr (result->output, ==, expected);
  g_assert_cmpint (result->exit_status, ==, 0);
  g_assert_false (result->timed_out);
  g_clear_pointer (&result, aic_command_result_free);

  /* Arguments are split as a shell would, but no shell runs. */
  result = run (fixture->workspace, "sh -c 'echo out; echo err >&2; exit 3'", 5000, AIC_WORKSPACE_MAX_OUTPUT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result->output, ==, "out\nerr\n");
  g_assert_cmpint (result->exit_status, ==, 3);
  g_clear_pointer (&result, aic_command_result_free);

  /* The output cap: the first bytes are kept, the rest read and dropped. */
  result = run (fixture->workspace, "seq 1 100000", 5000, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (result->output), ==, 1000);
  g_assert_true (g_str_has_prefix (result->output, "1\n2\n3\n"));
  g_assert_true (result->truncated);
  g_assert_cmpint (result->exit_status, ==, 0);
  g_clear_pointer (&result, aic_command_result_free);

  /* The timeout ends the whole process group, a grandchild that holds the
   * output open included. */
  start = g_get_monotonic_time ();
  result = run (fixture->workspace, "sh -c 'sleep 30 & sleep 30'", 300, AIC_WORKSPACE_MAX_OUTPUT, &error);
  g_assert_no_error (error);
  g_assert_true (result->timed_out);
  g_assert_cmpint (result->exit_status, ==, -1);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_pointer (&result, aic_command_result_free);

  /* Nothing to read from: a command waiting for input ends at once. */
  result = run (fixture->workspace, "cat", 5000, AIC_WORKSPACE_MAX_OUTPUT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
  g_clear_pointer (&result, aic_command_result_free);

  result = run (fixture->workspace, "'unterminated", 5000, AIC_WORKSPACE_MAX_OUTPUT, &error);
  g_assert_null (result);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID);
  g_clear_error (&error);

  result = run (fixture->workspace, "no-such-program-here", 5000, AIC_WORKSPACE_MAX_OUTPUT, &error);
  g_assert_null (result);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "could not be started"));
}

/* Opening a FIFO for reading waits for a writer: none comes here. The
 * alarm turns a hang into a failure. */
static void
test_fifo (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *fifo = g_build_filename (fixture->root, "pipe.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) found = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  alarm (5);

  text = aic_workspace_read_file (fixture->workspace, "pipe.txt", &error);
  g_assert_null (text);
  g_assert_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);

  /* Searching the folder, and the FIFO itself, passes it by. */
  found = aic_workspace_search_text (fixture->workspace, "main", ".", &error);
  g_assert_no_error (error);
  g_clear_pointer (&found, json_node_unref);
  found = aic_workspace_search_text (fixture->workspace, "main", "pipe.txt", &error);
  g_assert_no_error (error);

  alarm (0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/workspace/new", test_new);
  g_test_add ("/workspace/list-dir", Fixture, NULL, fixture_set_up, test_list_dir, fixture_tear_down);
  g_test_add ("/workspace/read-file", Fixture, NULL, fixture_set_up, test_read_file, fixture_tear_down);
  g_test_add ("/workspace/search-text", Fixture, NULL, fixture_set_up, test_search_text, fixture_tear_down);
  g_test_add ("/workspace/write-file", Fixture, NULL, fixture_set_up, test_write_file, fixture_tear_down);
  g_test_add ("/workspace/run-command", Fixture, NULL, fixture_set_up, test_run_command, fixture_tear_down);
  g_test_add ("/workspace/fifo", Fixture, NULL, fixture_set_up, test_fifo, fixture_tear_down);
  g_test_add_func ("/workspace/diff", test_diff);
  return g_test_run ();
}
