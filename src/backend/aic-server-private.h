/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-server.h"

G_BEGIN_DECLS

gboolean    aic_server_host_allowed (const char *bound_host,
                                     const char *host_header);
SoupServer *aic_server_get_soup     (AicServer  *self);

G_END_DECLS
