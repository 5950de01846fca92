/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char *name;      /* "Ollama" */
  const char *base_url;  /* "http://127.0.0.1:11434/v1" */
} AicLocalCandidate;

typedef struct
{
  char  *name;
  char  *base_url;
  char **models;
} AicLocalProvider;

void              aic_local_provider_free  (AicLocalProvider         *provider);
void              aic_local_probe_async    (const AicLocalCandidate  *candidates,
                                            guint                     n_candidates,
                                            guint                     timeout_seconds,
                                            GCancellable             *cancellable,
                                            GAsyncReadyCallback       callback,
                                            gpointer                  user_data);
AicLocalProvider *aic_local_probe_finish   (GAsyncResult             *result,
                                            GError                  **error);
const AicLocalCandidate *aic_local_probe_default_candidates (guint *n_candidates);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicLocalProvider, aic_local_provider_free)

G_END_DECLS
