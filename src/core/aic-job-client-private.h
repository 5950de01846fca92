/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How long a Retry-After header asks to wait, between 1 and 60 s; 0 when
 * there is none or it cannot be read (then the client backs off itself).
 * @now is for HTTP dates. Exposed for tests. */
guint aic_job_client_retry_after_ms (const char *value,
                                     GDateTime  *now);

G_END_DECLS
