/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "aic-client.h"
#include "aic-session.h"

G_BEGIN_DECLS

/* ai-console-cli: the app's client code for terminals and scripts. Results
 * go to stdout, progress and errors to stderr; exit 0 on success, 1 on a
 * failed request, 2 on a usage error. Each command is one function over
 * the shared context declared here; main.c only picks the command. */

#define AIC_CLI_TOKEN_FILE_ENTRY(variable) \
  { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &(variable), N_("Read the bearer token from FILE (preferred: unlike --token, not visible to other users)"), N_("FILE") }

/* Where analyze, voice and agent go: an AI Console server at --url, or,
 * with --kind openai|anthropic, the built-in backend run in this process
 * with that provider as its engine: the same path as the app's. */
typedef struct
{
  char       *url;
  char       *token;
  char       *token_file;
  char       *kind;
  char       *model;
  char       *key_env;
  char       *speech_url;
  char       *speech_key_env;
  AicSession *session;
} AicCliTarget;

#define AIC_CLI_TARGET_ENTRIES(target) \
  { "url", 0, 0, G_OPTION_ARG_STRING, &(target).url, N_("Base URL of the backend, or of the provider with --kind"), N_("URL") }, \
  { "token", 0, 0, G_OPTION_ARG_STRING, &(target).token, N_("Bearer token or key (default: $AI_CONSOLE_TOKEN); other users can see it in the process list"), N_("TOKEN") }, \
  AIC_CLI_TOKEN_FILE_ENTRY ((target).token_file), \
  { "kind", 0, 0, G_OPTION_ARG_STRING, &(target).kind, N_("console (an AI Console server, the default), or openai or anthropic (a provider, driven by a built-in backend run here)"), N_("KIND") }, \
  { "api-key-env", 0, 0, G_OPTION_ARG_STRING, &(target).key_env, N_("Take the provider’s key from this environment variable"), N_("VAR") }

/* The shared context */
gboolean   aic_cli_parse_options        (int                 *argc,
                                         char              ***argv,
                                         const GOptionEntry  *entries,
                                         const char          *parameters,
                                         const char          *description);
gboolean   aic_cli_token_resolve        (char               **token,
                                         const char          *token_file);
gboolean   aic_cli_key_from_environment (const char          *variable,
                                         char               **key);
void       aic_cli_target_clear         (AicCliTarget        *target);
int        aic_cli_target_check         (AicCliTarget        *target);
AicClient *aic_cli_target_connect       (AicCliTarget        *target);
gboolean   aic_cli_stdout_is_terminal   (void);
char      *aic_cli_for_stdout           (const char          *text);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AicCliTarget, aic_cli_target_clear)

/* What the commands print, for tests */
char      *aic_cli_sse_event_to_json    (const char          *type,
                                         const char          *data,
                                         gsize                data_len,
                                         const char          *id);

/* The commands: each takes its own name as argv[0] and returns the exit status. */
int        aic_cli_health               (int                  argc,
                                         char               **argv);
int        aic_cli_sse                  (int                  argc,
                                         char               **argv);
int        aic_cli_chat                 (int                  argc,
                                         char               **argv);
int        aic_cli_analyze              (int                  argc,
                                         char               **argv);
int        aic_cli_voice                (int                  argc,
                                         char               **argv);
int        aic_cli_agent                (int                  argc,
                                         char               **argv);

G_END_DECLS
