/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Why a tool was refused or failed; the message says it in words. */
typedef enum
{
  AIC_WORKSPACE_ERROR_OUTSIDE,     /* "..", an absolute path, a link out */
  AIC_WORKSPACE_ERROR_NOT_FOUND,
  AIC_WORKSPACE_ERROR_NOT_TEXT,
  AIC_WORKSPACE_ERROR_TOO_LARGE,
  AIC_WORKSPACE_ERROR_INVALID,     /* an empty command, a folder to write … */
  AIC_WORKSPACE_ERROR_FAILED,
} AicWorkspaceError;

#define AIC_WORKSPACE_ERROR (aic_workspace_error_quark ())

/* Limits; each tool's answer says when it was cut short. */
#define AIC_WORKSPACE_MAX_READ      (256 * 1024)
#define AIC_WORKSPACE_MAX_ENTRIES   500
#define AIC_WORKSPACE_MAX_MATCHES   200
#define AIC_WORKSPACE_MAX_OUTPUT    (64 * 1024)

#define AIC_TYPE_WORKSPACE (aic_workspace_get_type ())
G_DECLARE_FINAL_TYPE (AicWorkspace, aic_workspace, AIC, WORKSPACE, GObject)

GQuark        aic_workspace_error_quark        (void);
AicWorkspace *aic_workspace_new                (const char     *root,
                                                GError        **error);
const char   *aic_workspace_get_root           (AicWorkspace   *self);
int           aic_workspace_open               (AicWorkspace   *self,
                                                const char     *path,
                                                int             flags,
                                                GError        **error);
JsonNode     *aic_workspace_list_dir           (AicWorkspace   *self,
                                                const char     *path,
                                                GError        **error);
char         *aic_workspace_read_file          (AicWorkspace   *self,
                                                const char     *path,
                                                GError        **error);
JsonNode     *aic_workspace_search_text        (AicWorkspace   *self,
                                                const char     *query,
                                                const char     *path,
                                                GError        **error);
char         *aic_workspace_preview_write      (AicWorkspace   *self,
                                                const char     *path,
                                                const char     *content,
                                                GError        **error);
gboolean      aic_workspace_write_file         (AicWorkspace   *self,
                                                const char     *path,
                                                const char     *content,
                                                GError        **error);

typedef struct
{
  int       exit_status;    /* -1 when killed */
  gboolean  timed_out;
  gboolean  truncated;      /* output beyond AIC_WORKSPACE_MAX_OUTPUT dropped */
  char     *output;         /* stdout and stderr, valid UTF-8 */
} AicCommandResult;

void              aic_command_result_free          (AicCommandResult    *result);
void              aic_workspace_set_command_env    (AicWorkspace        *self,
                                                    const char * const  *names);
void              aic_workspace_run_command_async  (AicWorkspace        *self,
                                                    const char          *command_line,
                                                    guint                timeout_ms,
                                                    gsize                max_output,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
AicCommandResult *aic_workspace_run_command_finish (AicWorkspace        *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicCommandResult, aic_command_result_free)

G_END_DECLS
