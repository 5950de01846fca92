/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AIC_ERROR (aic_error_quark ())

/**
 * AicError:
 * Every code maps to a sentence a person can act on; the GError message
 * already carries that sentence, translated.
 */
typedef enum
{
  AIC_ERROR_FAILED,
  AIC_ERROR_INVALID_ARGUMENT,  /* bad URL, empty name … */
  AIC_ERROR_UNREACHABLE,       /* DNS, refused, no route */
  AIC_ERROR_TIMEOUT,
  AIC_ERROR_TLS,               /* certificate or handshake trouble */
  AIC_ERROR_AUTH,              /* 401: missing or refused key */
  AIC_ERROR_FORBIDDEN,         /* 403 */
  AIC_ERROR_NOT_FOUND,         /* 404 on an id or route */
  AIC_ERROR_WRONG_SERVER,      /* answered, but not the kind we expected */
  AIC_ERROR_SERVER,            /* 5xx */
  AIC_ERROR_PROTOCOL,          /* malformed JSON, wrong member types */
  AIC_ERROR_TOO_LARGE,
  AIC_ERROR_KEYRING,           /* Secret Service missing or locked */
  AIC_ERROR_BUSY,              /* 429, 503: try again later */
  AIC_ERROR_UNSUPPORTED,       /* 415: a kind of data the server cannot take */
  AIC_ERROR_DISK_FULL,         /* no space left to save to (507 from a server) */
} AicError;

GQuark aic_error_quark (void);

G_END_DECLS
