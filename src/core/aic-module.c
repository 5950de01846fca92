/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-error.h"
#include "aic-module.h"

/* Loading modules (aic-module.h says why there are any). A module is
 * looked for in one folder:
 *
 * - $AI_CONSOLE_MODULE_DIR when set (tests use it to take one away);
 * - the build tree's, when the running program is itself in the build
 *   tree (scripts/run, the tests and benches run uninstalled);
 * - otherwise the installed one, LIBDIR/ai-console.
 *
 * A module once loaded stays loaded (its table is used from any thread
 * without a reference); one that failed is tried again on the next use. */

static GMutex modules_lock;
static GHashTable *tables;    /* name → its table, for each module loaded */

/**
 * aic_module_dup_dir:
 * Returns: (transfer full): the folder modules are loaded from
 */
char *
aic_module_dup_dir (void)
{
  const char *env = g_getenv ("AI_CONSOLE_MODULE_DIR");
  g_autofree char *exe = NULL;

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe != NULL && g_str_has_prefix (exe, AIC_BUILD_ROOT G_DIR_SEPARATOR_S))
    return g_strdup (AIC_BUILD_MODULE_DIR);
  return g_strdup (AIC_MODULE_DIR);
}

/**
 * aic_module_get:
 * @name: the module, such as %AIC_PDF_MODULE_NAME
 * @symbol: its table, such as %AIC_PDF_MODULE_SYMBOL
 *
 * Loads @name on first use. Every table starts with its abi (a guint),
 * which must be %AIC_MODULE_ABI.
 *
 * Returns: (transfer none) (nullable): the table, or %NULL with @error
 *   set (%AIC_ERROR_FAILED) in words that name the module and the folder
 */
gconstpointer
aic_module_get (const char  *name,
                const char  *symbol,
                GError     **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&modules_lock);
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  GModule *module;
  gpointer table = NULL;

  g_return_val_if_fail (name != NULL && symbol != NULL, NULL);

  if (tables == NULL)
    tables = g_hash_table_new (g_str_hash, g_str_equal);
  table = g_hash_table_lookup (tables, name);
  if (table != NULL)
    return table;

  dir = aic_module_dup_dir ();
  path = g_module_build_path (dir, name);
  /* Its symbols stay its own: the names of one module's libraries must
   * not resolve anything of another module's. */
  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   "The part of AI Console that does this (%s) could not be loaded from %s: %s",
                   name, dir, g_module_error ());
      return NULL;
    }
  if (!g_module_symbol (module, symbol, &table) || table == NULL ||
      *(const guint *) table != AIC_MODULE_ABI)
    {
      g_set_error (error, AIC_ERROR, AIC_ERROR_FAILED,
                   "%s is not the version of %s this program needs; reinstall AI Console",
                   path, name);
      g_module_close (module);
      return NULL;
    }

  g_module_make_resident (module);
  g_hash_table_insert (tables, (gpointer) g_intern_string (name), table);
  g_debug ("Loaded %s", path);
  return table;
}

/**
 * aic_module_is_loaded:
 * Whether @name has been loaded in this process (for tests).
 */
gboolean
aic_module_is_loaded (const char *name)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&modules_lock);

  return tables != NULL && g_hash_table_contains (tables, name);
}
