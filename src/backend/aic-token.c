/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aic-error.h"
#include "aic-token.h"

#define TOKEN_BYTES 32

/**
 * aic_token_generate:
 * Returns: (transfer full): 256 bits from the kernel's CSPRNG, base64url
 *   without padding (43 characters), safe in a header and a file
 */
char *
aic_token_generate (void)
{
  guint8 bytes[TOKEN_BYTES];
  gsize filled = 0;
  char *token;

  while (filled < sizeof bytes)
    {
      gssize n = getrandom (bytes + filled, sizeof bytes - filled, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        g_error ("getrandom() failed: %s", g_strerror (errno));
      filled += n;
    }

  token = g_base64_encode (bytes, sizeof bytes);
  memset (bytes, 0, sizeof bytes);

  g_strdelimit (token, "+", '-');
  g_strdelimit (token, "/", '_');
  g_strdelimit (token, "=", '\0');
  return token;
}

/**
 * aic_token_new_id:
 * @prefix: such as "j" for a job
 *
 * Returns: (transfer full): "PREFIX-" and 22 random base64url characters
 *   (132 bits): unguessable, so one client cannot reach another's stream,
 *   job or run by counting
 */
char *
aic_token_new_id (const char *prefix)
{
  g_autofree char *random = aic_token_generate ();

  random[22] = '\0';
  return g_strdup_printf ("%s-%s", prefix, random);
}

/**
 * aic_token_load_or_create:
 * Reads the token in @path, or writes a new one there with mode 0600.
 * A token file that others can read is refused, as ssh refuses such keys.
 */
char *
aic_token_load_or_create (const char  *path,
                          gboolean    *out_created,
                          GError     **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *token = NULL;
  GStatBuf st;

  if (out_created)
    *out_created = FALSE;

  if (g_lstat (path, &st) == 0)
    {
      if (!S_ISREG (st.st_mode))
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                       _("The token file %s is not a regular file."), path);
          return NULL;
        }
      if (st.st_uid != getuid ())
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                       _("The token file %s belongs to another user."), path);
          return NULL;
        }
      if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                       _("The token file %s can be read by other users. Run “chmod 600 %s” and start again."),
                       path, path);
          return NULL;
        }
      if (!g_file_get_contents (path, &contents, NULL, error))
        return NULL;
      g_strstrip (contents);
      if (contents[0] == '\0' || !g_utf8_validate (contents, -1, NULL) ||
          strpbrk (contents, " \t\r\n") != NULL)
        {
          g_set_error (error, AIC_ERROR, AIC_ERROR_INVALID_ARGUMENT,
                       _("The token file %s does not hold a token (one line, no spaces)."), path);
          return NULL;
        }
      return g_steal_pointer (&contents);
    }

  if (errno != ENOENT)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not read the token file %s: %s"), path, g_strerror (saved_errno));
      return NULL;
    }

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not create the folder %s: %s"), dir, g_strerror (saved_errno));
      return NULL;
    }

  token = aic_token_generate ();
  contents = g_strconcat (token, "\n", NULL);
  if (!g_file_set_contents_full (path, contents, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0600, error))
    return NULL;

  if (out_created)
    *out_created = TRUE;
  return g_steal_pointer (&token);
}

/* Compares in time that depends only on the length of @given. */
gboolean
aic_token_equal (const char *expected,
                 const char *given)
{
  gsize expected_len, given_len;
  guint8 diff;

  if (expected == NULL || given == NULL)
    return FALSE;

  expected_len = strlen (expected);
  given_len = strlen (given);
  diff = expected_len != given_len;
  for (gsize i = 0; i < given_len; i++)
    diff |= (guint8) given[i] ^ (guint8) expected[i % (expected_len ? expected_len : 1)];
  return diff == 0 && expected_len > 0;
}
