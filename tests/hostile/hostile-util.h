/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* ai-console-server as a separate process, attacked over plain sockets:
 * a hostile peer does not go through a well-behaved HTTP client. */
typedef struct
{
  GSubprocess *process;
  GSubprocessLauncher *launcher;
  char       **argv;
  char        *root;          /* a temporary folder, removed at the end */
  char        *data_dir;
  char        *token;
  guint        port;
} AicHostileServer;

AicHostileServer  *aic_hostile_server_start  (const char * const *extra_args,
                                              guint               nofile_limit);
AicHostileServer  *aic_hostile_server_start_with_env (const char * const *extra_args,
                                                      guint               nofile_limit,
                                                      const char * const *env);
void               aic_hostile_server_stop   (AicHostileServer   *server);
void               aic_hostile_server_restart (AicHostileServer  *server);
void               aic_hostile_server_free   (AicHostileServer   *server);
GSocketConnection *aic_hostile_connect       (AicHostileServer   *server,
                                              GError            **error);
void               aic_hostile_send          (GSocketConnection  *connection,
                                              const char         *text);
char              *aic_hostile_read          (GSocketConnection  *connection,
                                              guint               timeout_s);
guint              aic_hostile_status        (const char         *response);
char              *aic_hostile_request       (AicHostileServer   *server,
                                              const char         *method,
                                              const char         *path,
                                              const char         *extra_headers);
void               aic_hostile_assert_healthy (AicHostileServer  *server);
guint64            aic_hostile_rss_kib       (const char         *pid);
guint64            aic_hostile_peak_rss_kib  (const char         *pid);
void               aic_hostile_assert_rss_within (guint64         before_kib,
                                              guint64             after_kib,
                                              guint64             bound_kib);
char              *aic_hostile_fetch         (AicHostileServer   *server,
                                              const char         *method,
                                              const char         *path,
                                              const char         *content_type,
                                              GBytes             *body,
                                              guint              *out_status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicHostileServer, aic_hostile_server_free)

G_END_DECLS
