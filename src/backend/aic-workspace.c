/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The folder an agent run works in, and the tools that work in it.
 *
 * No path ever leaves the workspace. Paths are relative; an absolute path
 * or a ".." component is refused in words before anything is opened, and
 * every open goes through openat2() with RESOLVE_BENEATH from a descriptor
 * of the workspace's root, so a symbolic link that points out (absolute,
 * or relative through "..") is refused by the kernel at the moment of
 * opening, with no window between a check and the use. Where openat2() is
 * missing (Linux before 5.6) each component is opened in turn with
 * O_NOFOLLOW, which refuses every symbolic link.
 *
 * Commands run with the workspace as their folder, in their own process
 * group, with a timeout that kills the whole group and a cap on the output
 * kept. They get a small environment of their own, never the server's
 * (which holds the upstream's key), and die with the server. A command is still a program of the user's: it is confined by the
 * approval the user gives, not by a sandbox; the agents help page must
 * say so when the Agent view lands.
 */
#define _GNU_SOURCE   /* O_PATH */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aic-diff.h"
#include "aic-source.h"
#include "aic-workspace.h"

#define MAX_SEARCH_FILE  (1024 * 1024)
#define MAX_SEARCH_FILES 5000

struct _AicWorkspace
{
  GObject  parent_instance;

  char    *root;
  int      root_fd;
  char   **command_env;     /* names passed on to commands, besides the base */
};

G_DEFINE_TYPE (AicWorkspace, aic_workspace, G_TYPE_OBJECT)
G_DEFINE_QUARK (aic-workspace-error-quark, aic_workspace_error)

static void
aic_workspace_finalize (GObject *object)
{
  AicWorkspace *self = AIC_WORKSPACE (object);

  if (self->root_fd >= 0)
    close (self->root_fd);
  g_free (self->root);
  g_strfreev (self->command_env);

  G_OBJECT_CLASS (aic_workspace_parent_class)->finalize (object);
}

static void
aic_workspace_class_init (AicWorkspaceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = aic_workspace_finalize;
}

static void
aic_workspace_init (AicWorkspace *self)
{
  self->root_fd = -1;
}

/**
 * aic_workspace_new:
 * @root: an existing folder
 */
AicWorkspace *
aic_workspace_new (const char  *root,
                   GError     **error)
{
  g_autoptr(AicWorkspace) self = g_object_new (AIC_TYPE_WORKSPACE, NULL);
  g_autofree char *canonical = NULL;

  g_return_val_if_fail (root != NULL, NULL);

  canonical = realpath (root, NULL);
  if (canonical != NULL)
    self->root_fd = open (canonical, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (self->root_fd < 0)
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_FOUND,
                   "The workspace “%s” is not a folder that can be opened.", root);
      return NULL;
    }
  self->root = g_steal_pointer (&canonical);
  return g_steal_pointer (&self);
}

const char *
aic_workspace_get_root (AicWorkspace *self)
{
  g_return_val_if_fail (AIC_IS_WORKSPACE (self), NULL);
  return self->root;
}

/* Refuses what can be seen to leave the workspace without opening
 * anything: the kernel refuses the rest. "" and "." are the root. */
static gboolean
check_path (const char  *path,
            GError     **error)
{
  g_auto(GStrv) parts = NULL;

  if (path == NULL || !g_utf8_validate (path, -1, NULL) || strlen (path) > 4096)
    {
      g_set_error_literal (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                           "The path is not valid.");
      return FALSE;
    }
  if (g_path_is_absolute (path) || path[0] == '~')
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE,
                   "“%s” is outside the workspace: paths are relative to it.", path);
      return FALSE;
    }
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".."))
      {
        g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE,
                     "“%s” is outside the workspace: “..” is not allowed.", path);
        return FALSE;
      }
  return TRUE;
}

/* The fallback without openat2(): one component at a time, no links. */
static int
open_walking (int         root_fd,
              const char *path,
              int         flags)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  int dir_fd = dup (root_fd);
  guint last = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0' && !g_str_equal (parts[i], "."))
      last = i + 1;
  for (guint i = 0; dir_fd >= 0 && i < last; i++)
    {
      int next;

      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        continue;
      next = openat (dir_fd, parts[i],
                     (i + 1 == last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (next < 0 && errno == ELOOP)
        errno = EXDEV;
      close (dir_fd);
      dir_fd = next;
    }
  if (last == 0 && dir_fd >= 0)
    {
      int reopened = openat (dir_fd, ".", flags | O_CLOEXEC, 0644);

      close (dir_fd);
      dir_fd = reopened;
    }
  return dir_fd;
}

static int
open_beneath (int         root_fd,
              const char *path,
              int         flags)
{
  struct open_how how = {
    .flags = (guint64) (flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? 0644 : 0,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
  };
  int fd = syscall (SYS_openat2, root_fd, path[0] != '\0' ? path : ".", &how, sizeof how);

  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    fd = open_walking (root_fd, path, flags);
  return fd;
}

static void
set_open_error (GError     **error,
                const char  *path,
                int          saved_errno)
{
  switch (saved_errno)
    {
    case EXDEV:
    case ELOOP:
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE,
                   "“%s” leads outside the workspace (through a symbolic link).", path);
      break;
    case ENOENT:
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_FOUND,
                   "“%s” does not exist in the workspace.", path);
      break;
    case ENOTDIR:
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                   "“%s” is not a folder.", path);
      break;
    case EISDIR:
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                   "“%s” is a folder, not a file.", path);
      break;
    default:
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_FAILED,
                   "“%s” could not be opened: %s.", path, g_strerror (saved_errno));
      break;
    }
}

/**
 * aic_workspace_open:
 * @path: relative to the workspace
 * @flags: as for open(2)
 * Returns: a descriptor of something inside the workspace, or -1
 */
int
aic_workspace_open (AicWorkspace  *self,
                    const char    *path,
                    int            flags,
                    GError       **error)
{
  int fd;

  g_return_val_if_fail (AIC_IS_WORKSPACE (self), -1);

  if (!check_path (path, error))
    return -1;
  fd = open_beneath (self->root_fd, path, flags);
  if (fd < 0)
    set_open_error (error, path, errno);
  return fd;
}

static const char *
type_name (mode_t mode)
{
  if (S_ISREG (mode))
    return "file";
  if (S_ISDIR (mode))
    return "dir";
  if (S_ISLNK (mode))
    return "link";
  return "other";
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * aic_workspace_list_dir:
 * Returns: `{"path", "entries": [{"name", "type", "size"}], "truncated"}`,
 *   sorted by name
 */
JsonNode *
aic_workspace_list_dir (AicWorkspace  *self,
                        const char    *path,
                        GError       **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  struct dirent *entry;
  DIR *dir;
  int fd;

  fd = aic_workspace_open (self, path ? path : ".", O_RDONLY | O_DIRECTORY, error);
  if (fd < 0)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      set_open_error (error, path, errno);
      close (fd);
      return NULL;
    }
  while ((entry = readdir (dir)) != NULL)
    if (!g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, ".."))
      g_ptr_array_add (names, g_strdup (entry->d_name));
  g_ptr_array_sort (names, compare_names);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path ? path : ".");
  json_builder_set_member_name (builder, "entries");
  json_builder_begin_array (builder);
  for (guint i = 0; i < MIN (names->len, AIC_WORKSPACE_MAX_ENTRIES); i++)
    {
      const char *name = g_ptr_array_index (names, i);
      struct stat st;

      if (!g_utf8_validate (name, -1, NULL) || fstatat (dirfd (dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, type_name (st.st_mode));
      if (S_ISREG (st.st_mode))
        {
          json_builder_set_member_name (builder, "size");
          json_builder_add_int_value (builder, st.st_size);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "truncated");
  json_builder_add_boolean_value (builder, names->len > AIC_WORKSPACE_MAX_ENTRIES);
  json_builder_end_object (builder);
  closedir (dir);
  return json_builder_get_root (builder);
}

/* The whole of a regular file's text, from an open descriptor. */
static char *
read_text (int          fd,
           const char  *path,
           gsize        max,
           GError     **error)
{
  struct stat st;
  g_autofree char *text = NULL;
  gsize done = 0;

  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                   "“%s” is not a regular file.", path);
      return NULL;
    }
  if ((guint64) st.st_size > max)
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_TOO_LARGE,
                   "“%s” is too large to read (%" G_GUINT64_FORMAT " KiB; the limit is %" G_GSIZE_FORMAT " KiB).",
                   path, (guint64) st.st_size / 1024, max / 1024);
      return NULL;
    }
  text = g_malloc (st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      gssize n = read (fd, text + done, st.st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += n;
    }
  text[done] = '\0';
  if (memchr (text, '\0', done) != NULL || !g_utf8_validate (text, done, NULL))
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_TEXT,
                   "“%s” is not a text file.", path);
      return NULL;
    }
  return g_steal_pointer (&text);
}

char *
aic_workspace_read_file (AicWorkspace  *self,
                         const char    *path,
                         GError       **error)
{
  char *text;
  int fd;

  /* Non-blocking: opening a FIFO for reading would wait for a writer,
   * for ever; read_text() then refuses anything but a regular file. */
  fd = aic_workspace_open (self, path, O_RDONLY | O_NONBLOCK, error);
  if (fd < 0)
    return NULL;
  text = read_text (fd, path, AIC_WORKSPACE_MAX_READ, error);
  close (fd);
  return text;
}

typedef struct
{
  char        *folded_query;
  JsonBuilder *builder;
  guint        matches;
  guint        files;
  gboolean     truncated;
} Search;

static void
search_file (Search     *search,
             int         fd,
             const char *path)
{
  g_autofree char *text = read_text (fd, path, MAX_SEARCH_FILE, NULL);
  const char *line;
  guint number = 1;

  if (text == NULL)
    return;
  for (line = text; *line != '\0' && !search->truncated; number++)
    {
      const char *end = strchr (line, '\n');
      gsize length = end ? (gsize) (end - line) : strlen (line);
      g_autofree char *folded = g_utf8_casefold (line, length);

      if (strstr (folded, search->folded_query) != NULL)
        {
          if (search->matches == AIC_WORKSPACE_MAX_MATCHES)
            {
              search->truncated = TRUE;
              break;
            }
          search->matches++;
          json_builder_begin_object (search->builder);
          json_builder_set_member_name (search->builder, "path");
          json_builder_add_string_value (search->builder, path);
          json_builder_set_member_name (search->builder, "line");
          json_builder_add_int_value (search->builder, number);
          json_builder_set_member_name (search->builder, "text");
          {
            g_autofree char *shown = g_utf8_substring (line, 0, MIN (g_utf8_strlen (line, length), 300));

            json_builder_add_string_value (search->builder, shown);
          }
          json_builder_end_object (search->builder);
        }
      line = end ? end + 1 : line + length;
    }
}

/* Walks a folder without following links; skips version control. */
static void
search_dir (Search     *search,
            int         dir_fd,
            const char *prefix)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *entry;
  DIR *dir = fdopendir (dir_fd);

  if (dir == NULL)
    {
      close (dir_fd);
      return;
    }
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '\0' && !g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, "..") &&
        !g_str_equal (entry->d_name, ".git") && g_utf8_validate (entry->d_name, -1, NULL))
      g_ptr_array_add (names, g_strdup (entry->d_name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len && !search->truncated; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = prefix[0] ? g_build_path ("/", prefix, name, NULL) : g_strdup (name);
      struct stat st;
      int fd;

      if (fstatat (dirfd (dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          fd = openat (dirfd (dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (fd >= 0)
            search_dir (search, fd, path);
        }
      else if (S_ISREG (st.st_mode) && st.st_size <= MAX_SEARCH_FILE)
        {
          if (++search->files > MAX_SEARCH_FILES)
            {
              search->truncated = TRUE;
              break;
            }
          fd = openat (dirfd (dir), name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
          if (fd >= 0)
            {
              search_file (search, fd, path);
              close (fd);
            }
        }
    }
  closedir (dir);
}

/**
 * aic_workspace_search_text:
 * @query: text to find, ignoring case
 * @path: (nullable): a folder or file to search in, the whole workspace
 *   when %NULL
 * Returns: `{"query", "matches": [{"path", "line", "text"}], "truncated"}`
 */
JsonNode *
aic_workspace_search_text (AicWorkspace  *self,
                           const char    *query,
                           const char    *path,
                           GError       **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  Search search = { 0 };
  struct stat st;
  int fd;

  if (query == NULL || query[0] == '\0' || !g_utf8_validate (query, -1, NULL))
    {
      g_set_error_literal (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                           "There is nothing to search for.");
      return NULL;
    }
  if (path == NULL || path[0] == '\0')
    path = ".";
  fd = aic_workspace_open (self, path, O_RDONLY | O_NONBLOCK, error);
  if (fd < 0)
    return NULL;

  search.folded_query = g_utf8_casefold (query, -1);
  search.builder = builder;
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "query");
  json_builder_add_string_value (builder, query);
  json_builder_set_member_name (builder, "matches");
  json_builder_begin_array (builder);
  if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
    search_dir (&search, fd, g_str_equal (path, ".") ? "" : path);
  else
    {
      search_file (&search, fd, path);
      close (fd);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "truncated");
  json_builder_add_boolean_value (builder, search.truncated);
  json_builder_end_object (builder);
  g_free (search.folded_query);
  return json_builder_get_root (builder);
}

/* The folder a file to write goes in, and the file's own name. */
static int
open_parent (AicWorkspace  *self,
             const char    *path,
             char         **out_name,
             GError       **error)
{
  g_autofree char *parent = NULL;
  g_autofree char *name = NULL;
  int fd;

  if (!check_path (path, error))
    return -1;
  name = g_path_get_basename (path);
  parent = g_path_get_dirname (path);
  if (path[0] == '\0' || g_str_has_suffix (path, "/") || g_str_equal (name, "."))
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                   "“%s” names a folder, not a file.", path);
      return -1;
    }
  fd = aic_workspace_open (self, parent, O_RDONLY | O_DIRECTORY, error);
  if (fd < 0)
    return -1;
  *out_name = g_steal_pointer (&name);
  return fd;
}

/* Its text now, or NULL with no error when it does not exist yet. A link,
 * even one pointing inside, is not written through. */
static char *
read_existing (int          dir_fd,
               const char  *name,
               const char  *path,
               GError     **error)
{
  struct stat st;
  char *text;
  int fd;

  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return NULL;
  if (S_ISLNK (st.st_mode))
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_OUTSIDE,
                   "“%s” is a symbolic link; links are not written through.", path);
      return NULL;
    }
  fd = openat (dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      set_open_error (error, path, errno);
      return NULL;
    }
  text = read_text (fd, path, AIC_WORKSPACE_MAX_READ, error);
  close (fd);
  return text;
}

static gboolean
check_content (const char  *content,
               GError     **error)
{
  if (content == NULL || !g_utf8_validate (content, -1, NULL))
    {
      g_set_error_literal (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_NOT_TEXT,
                           "Only text can be written.");
      return FALSE;
    }
  if (strlen (content) > AIC_WORKSPACE_MAX_READ)
    {
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_TOO_LARGE,
                   "The text to write is too large (the limit is %d KiB).", AIC_WORKSPACE_MAX_READ / 1024);
      return FALSE;
    }
  return TRUE;
}

/**
 * aic_workspace_preview_write:
 * Returns: the change writing @content to @path would make, as a unified
 *   diff ("" when none), or %NULL if it could not be written
 */
char *
aic_workspace_preview_write (AicWorkspace  *self,
                             const char    *path,
                             const char    *content,
                             GError       **error)
{
  g_autofree char *name = NULL;
  g_autofree char *old = NULL;
  GError *local_error = NULL;
  int dir_fd;

  if (!check_content (content, error))
    return NULL;
  dir_fd = open_parent (self, path, &name, error);
  if (dir_fd < 0)
    return NULL;
  old = read_existing (dir_fd, name, path, &local_error);
  close (dir_fd);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  return aic_diff_unified (path, old, content);
}

/**
 * aic_workspace_write_file:
 * Writes through a new file renamed over the old one, so a reader never
 * sees half of it and a link in its place is replaced, not followed.
 */
gboolean
aic_workspace_write_file (AicWorkspace  *self,
                          const char    *path,
                          const char    *content,
                          GError       **error)
{
  g_autofree char *name = NULL;
  g_autofree char *old = NULL;
  g_autofree char *temporary = NULL;
  GError *local_error = NULL;
  gsize length, done = 0;
  int dir_fd, fd;

  if (!check_content (content, error))
    return FALSE;
  dir_fd = open_parent (self, path, &name, error);
  if (dir_fd < 0)
    return FALSE;
  old = read_existing (dir_fd, name, path, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      close (dir_fd);
      return FALSE;
    }

  temporary = g_strdup_printf (".%s.%08x.aic-write", name, g_random_int ());
  fd = openat (dir_fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      set_open_error (error, path, errno);
      close (dir_fd);
      return FALSE;
    }
  length = strlen (content);
  while (done < length)
    {
      gssize n = write (fd, content + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      done += n;
    }
  if (done < length || fsync (fd) != 0 || close (fd) != 0 || renameat (dir_fd, temporary, dir_fd, name) != 0)
    {
      int saved_errno = errno;

      unlinkat (dir_fd, temporary, 0);
      g_set_error (error, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_FAILED,
                   "“%s” could not be written: %s.", path, g_strerror (saved_errno));
      close (dir_fd);
      return FALSE;
    }
  close (dir_fd);
  return TRUE;
}

/* run_command */

void
aic_command_result_free (AicCommandResult *result)
{
  if (result == NULL)
    return;
  g_free (result->output);
  g_free (result);
}

typedef struct
{
  GSubprocess      *process;
  GInputStream     *output;
  GByteArray       *kept;
  gsize             max_output;
  gboolean          truncated;
  gboolean          timed_out;
  gboolean          output_done;
  gboolean          exited;
  guint             timeout_id;
  pid_t             group;
  GCancellable     *reading;      /* cancelled at the timeout */
  GCancellable     *cancellable;
  gulong            cancelled_id;
  char              buffer[8192];
} Command;

static void
command_free (gpointer data)
{
  Command *command = data;

  g_clear_handle_id (&command->timeout_id, aic_source_remove);
  if (command->cancellable != NULL)
    g_cancellable_disconnect (command->cancellable, command->cancelled_id);
  g_clear_object (&command->cancellable);
  g_clear_object (&command->process);
  g_clear_object (&command->output);
  g_clear_object (&command->reading);
  g_byte_array_unref (command->kept);
  g_free (command);
}

static void
kill_group (Command *command)
{
  /* The command leads its own process group: end all of it, so that no
   * grandchild keeps the output open. */
  if (command->group > 0)
    kill (-command->group, SIGKILL);
}

static void
maybe_finish (GTask *task)
{
  Command *command = g_task_get_task_data (task);
  AicCommandResult *result;

  if (!command->exited || !command->output_done)
    return;
  result = g_new0 (AicCommandResult, 1);
  result->timed_out = command->timed_out;
  result->truncated = command->truncated;
  if (g_subprocess_get_if_exited (command->process) && !command->timed_out)
    result->exit_status = g_subprocess_get_exit_status (command->process);
  else
    result->exit_status = -1;
  g_byte_array_append (command->kept, (const guint8 *) "", 1);
  result->output = g_utf8_make_valid ((const char *) command->kept->data, command->kept->len - 1);
  g_task_return_pointer (task, result, (GDestroyNotify) aic_command_result_free);
}

static void read_more (GTask *task);

static void
read_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Command *command = g_task_get_task_data (task);
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, NULL);

  if (n <= 0)
    {
      command->output_done = TRUE;
      maybe_finish (task);
      return;
    }
  {
    gsize room = command->max_output - MIN (command->max_output, command->kept->len);

    if ((gsize) n > room)
      command->truncated = TRUE;
    g_byte_array_append (command->kept, (const guint8 *) command->buffer, MIN ((gsize) n, room));
  }
  read_more (task);
}

static void
read_more (GTask *task)
{
  Command *command = g_task_get_task_data (task);

  g_input_stream_read_async (command->output, command->buffer, sizeof command->buffer, G_PRIORITY_DEFAULT,
                             command->reading, read_cb, g_object_ref (task));
}

static void
wait_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Command *command = g_task_get_task_data (task);

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  command->exited = TRUE;
  g_clear_handle_id (&command->timeout_id, aic_source_remove);
  /* Whatever the group left running goes with it. */
  kill_group (command);
  maybe_finish (task);
}

static gboolean
timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  Command *command = g_task_get_task_data (task);

  command->timeout_id = 0;
  command->timed_out = TRUE;
  kill_group (command);
  /* Whatever still holds the output open, the answer comes now. */
  g_cancellable_cancel (command->reading);
  return G_SOURCE_REMOVE;
}

static void
cancelled_cb (GCancellable *cancellable,
              Command      *command)
{
  kill_group (command);
}

/* ---- the guard between the server and a command ----
 *
 * PR_SET_PDEATHSIG on the command alone ends the program the server
 * started when the server dies, even by SIGKILL, but not what that
 * program started in turn. So the process the server forks stays as a
 * guard: it leads the command's process group, forks the command into
 * it and waits. When the server dies it is sent SIGTERM and kills the
 * whole group; it does the same at its own alarm, a backstop a little
 * after --command-timeout. When the command ends, the guard leaves the
 * group, kills what is left in it, and exits as the command did, so the
 * server sees the command's own status.
 *
 * Everything here runs between fork() and exec() of a threaded process:
 * only async-signal-safe calls. */

typedef struct
{
  pid_t server;
  guint alarm_s;
} GuardSetup;

static volatile sig_atomic_t guard_group;

static void
guard_end_group (int signum)
{
  kill (-guard_group, SIGKILL);
  _exit (128 + signum);
}

static void
guard_run (const GuardSetup *setup,
           pid_t             command)
{
  static const int ends[] = { SIGTERM, SIGALRM, SIGHUP, SIGINT };
  struct sigaction action = { 0 };
  sigset_t set;
  int status = 0;
  pid_t server_group;

  guard_group = getpid ();
  action.sa_handler = guard_end_group;
  sigemptyset (&action.sa_mask);
  sigemptyset (&set);
  for (guint i = 0; i < G_N_ELEMENTS (ends); i++)
    {
      sigaction (ends[i], &action, NULL);
      sigaddset (&set, ends[i]);
    }
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  /* The server may have gone between the fork and the handler. */
  if (getppid () != setup->server)
    guard_end_group (SIGTERM);
  if (setup->alarm_s > 0)
    alarm (setup->alarm_s);
  /* The output is the command's: the guard holds none of it open. Nor
   * anything else: GLib's spawn waits for its error pipe to close (at an
   * exec, which the guard never makes), and the server's own sockets are
   * only marked close-on-exec. */
  close (STDIN_FILENO);
  close (STDOUT_FILENO);
  close (STDERR_FILENO);
  if (syscall (SYS_close_range, 3, ~0U, 0) != 0)
    for (int fd = 3; fd < 4096; fd++)
      close (fd);

  while (waitpid (command, &status, 0) < 0)
    if (errno != EINTR)
      _exit (127);

  alarm (0);
  /* Out of the group (into the server's), then nothing of it is left. */
  server_group = getpgid (setup->server);
  if (server_group > 0 && setpgid (0, server_group) == 0)
    kill (-guard_group, SIGKILL);

  if (WIFEXITED (status))
    _exit (WEXITSTATUS (status));
  if (WIFSIGNALED (status))
    {
      struct sigaction plain = { 0 };

      /* Ended by a signal: so is the guard, without a core of its own. */
      prctl (PR_SET_DUMPABLE, 0);
      plain.sa_handler = SIG_DFL;
      sigemptyset (&plain.sa_mask);
      sigaction (WTERMSIG (status), &plain, NULL);
      sigemptyset (&set);
      sigaddset (&set, WTERMSIG (status));
      sigprocmask (SIG_UNBLOCK, &set, NULL);
      kill (getpid (), WTERMSIG (status));
    }
  _exit (127);
}

static void
child_setup (gpointer data)
{
  const GuardSetup *setup = data;
  pid_t guard = getpid ();
  pid_t command;

  setpgid (0, 0);
  /* Told when the server goes, even by SIGKILL, which no handler of the
   * server's sees. The signal comes when the thread that spawned the
   * guard ends: commands are spawned from the server's main context,
   * whose thread lives as long as the server. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != setup->server)
    _exit (127);

  command = fork ();
  if (command < 0)
    _exit (127);
  if (command > 0)
    guard_run (setup, command);   /* does not return */

  /* The command: in the guard's group, and gone with the guard. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != guard)
    _exit (127);
}

/**
 * aic_workspace_set_command_env:
 * @names: (nullable): variables of the server's environment that commands
 *   also get, when set
 */
void
aic_workspace_set_command_env (AicWorkspace       *self,
                               const char * const *names)
{
  g_return_if_fail (AIC_IS_WORKSPACE (self));
  g_strfreev (self->command_env);
  self->command_env = g_strdupv ((char **) names);
}

/* PATH, HOME (the workspace), LANG and TERM=dumb, then what the operator
 * listed: nothing else of the server's reaches a command. */
static char **
command_environ (AicWorkspace *self)
{
  const char *path = g_getenv ("PATH");
  const char *lang = g_getenv ("LANG");
  char **env = NULL;

  env = g_environ_setenv (env, "PATH", path && *path ? path : "/usr/local/bin:/usr/bin:/bin", TRUE);
  env = g_environ_setenv (env, "HOME", self->root, TRUE);
  env = g_environ_setenv (env, "LANG", lang && *lang ? lang : "C.UTF-8", TRUE);
  env = g_environ_setenv (env, "TERM", "dumb", TRUE);
  for (guint i = 0; self->command_env != NULL && self->command_env[i] != NULL; i++)
    {
      const char *value = g_getenv (self->command_env[i]);

      if (value != NULL)
        env = g_environ_setenv (env, self->command_env[i], value, TRUE);
    }
  return env;
}

/**
 * aic_workspace_run_command_async:
 * @command_line: a program and its arguments, split as a shell would (no
 *   shell runs it: pipes and redirections are not available)
 * @timeout_ms: the whole process group is killed after this
 * @max_output: bytes of output kept; the rest is read and dropped
 */
void
aic_workspace_run_command_async (AicWorkspace        *self,
                                 const char          *command_line,
                                 guint                timeout_ms,
                                 gsize                max_output,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) env = NULL;
  g_autoptr(GError) error = NULL;
  GuardSetup *setup;
  Command *command;

  g_return_if_fail (AIC_IS_WORKSPACE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_workspace_run_command_async);

  if (command_line == NULL || !g_utf8_validate (command_line, -1, NULL) ||
      !g_shell_parse_argv (command_line, NULL, &argv, NULL) || argv[0] == NULL)
    {
      g_task_return_new_error (task, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_INVALID,
                               "“%s” is not a command that can be run.", command_line ? command_line : "");
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE |
                                        G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_set_cwd (launcher, self->root);
  env = command_environ (self);
  g_subprocess_launcher_set_environ (launcher, env);
  setup = g_new0 (GuardSetup, 1);
  setup->server = getpid ();
  /* A backstop only: the server kills the group at the timeout itself. */
  setup->alarm_s = timeout_ms > 0 ? timeout_ms / 1000 + 5 : 0;
  g_subprocess_launcher_set_child_setup (launcher, child_setup, setup, g_free);

  command = g_new0 (Command, 1);
  command->kept = g_byte_array_new ();
  command->reading = g_cancellable_new ();
  command->max_output = max_output;
  g_task_set_task_data (task, command, command_free);

  command->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
  if (command->process == NULL)
    {
      g_task_return_new_error (task, AIC_WORKSPACE_ERROR, AIC_WORKSPACE_ERROR_FAILED,
                               "“%s” could not be started: %s", argv[0], error->message);
      return;
    }
  /* NULL when the command has already ended and been reaped. */
  if (g_subprocess_get_identifier (command->process) != NULL)
    command->group = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (command->process), NULL, 10);
  /* Nothing to read from: a command that waits for input gets end of file. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (command->process), NULL, NULL);
  command->output = g_object_ref (g_subprocess_get_stdout_pipe (command->process));
  if (timeout_ms > 0)
    command->timeout_id = aic_timeout_add (timeout_ms, timeout_cb, task);
  if (cancellable != NULL)
    {
      command->cancellable = g_object_ref (cancellable);
      command->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), command, NULL);
    }
  read_more (task);
  g_subprocess_wait_async (command->process, NULL, wait_cb, g_object_ref (task));
}

AicCommandResult *
aic_workspace_run_command_finish (AicWorkspace  *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
