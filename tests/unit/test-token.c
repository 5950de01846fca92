/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "aic-error.h"
#include "aic-token.h"

static void
test_generate (void)
{
  g_autofree char *a = aic_token_generate ();
  g_autofree char *b = aic_token_generate ();

  g_assert_cmpuint (strlen (a), ==, 43);
  g_assert_cmpstr (a, !=, b);
  g_assert_cmpuint (strspn (a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), ==, 43);
}

/* Ids for streams, jobs and runs: the prefix, then 22 unguessable
 * base64url characters. */
static void
test_new_id (void)
{
  g_autofree char *a = aic_token_new_id ("r");
  g_autofree char *b = aic_token_new_id ("r");

  g_assert_cmpuint (strlen (a), ==, 24);
  g_assert_true (g_str_has_prefix (a, "r-"));
  g_assert_cmpuint (strspn (a + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), ==, 22);
  g_assert_cmpstr (a, !=, b);
}

static void
test_equal (void)
{
  g_assert_true (aic_token_equal ("secret", "secret"));
  g_assert_false (aic_token_equal ("secret", "secreT"));
  g_assert_false (aic_token_equal ("secret", "secre"));
  g_assert_false (aic_token_equal ("secret", "secrets"));
  g_assert_false (aic_token_equal ("secret", ""));
  g_assert_false (aic_token_equal ("", ""));
  g_assert_false (aic_token_equal (NULL, "x"));
  g_assert_false (aic_token_equal ("x", NULL));
}

static void
test_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("aic-token-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sub", "token", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(GError) error = NULL;
  gboolean created = FALSE;
  GStatBuf st;

  first = aic_token_load_or_create (path, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  second = aic_token_load_or_create (path, &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpstr (first, ==, second);

  /* Readable by others: refused, like ssh refuses such keys. */
  g_chmod (path, 0644);
  g_clear_pointer (&second, g_free);
  second = aic_token_load_or_create (path, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_clear_error (&error);

  /* Empty or with spaces: refused. */
  g_file_set_contents_full (path, "two words\n", -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  g_chmod (path, 0600);
  second = aic_token_load_or_create (path, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Not a regular file: refused, not read (a FIFO would block). */
  g_unlink (path);
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  second = aic_token_load_or_create (path, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_unlink (path);
  g_clear_pointer (&second, g_free);
  second = g_path_get_dirname (path);
  g_rmdir (second);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/token/generate", test_generate);
  g_test_add_func ("/token/new-id", test_new_id);
  g_test_add_func ("/token/equal", test_equal);
  g_test_add_func ("/token/file", test_file);

  return g_test_run ();
}
