/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "aic-error.h"

G_DEFINE_QUARK (aic-error-quark, aic_error)
