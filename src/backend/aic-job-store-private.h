/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-job-store.h"

G_BEGIN_DECLS

gint64 aic_job_store_debug_get_pages (AicJobStore *self);

G_END_DECLS
