/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A scripted model provider on 127.0.0.1, for tests: see
 * aic-fake-provider.c for what each shape answers. */
typedef enum
{
  AIC_FAKE_PROVIDER_OPENAI,     /* models, chat, /audio/transcriptions, /audio/speech */
  AIC_FAKE_PROVIDER_OLLAMA,     /* models and chat; every audio route is a 404 */
  AIC_FAKE_PROVIDER_ANTHROPIC,  /* models and /v1/messages */
} AicFakeProviderShape;

/* One request as it arrived. */
typedef struct
{
  char               *method;
  char               *path;
  SoupMessageHeaders *headers;
  GBytes             *body;
} AicFakeRequest;

#define AIC_TYPE_FAKE_PROVIDER (aic_fake_provider_get_type ())

G_DECLARE_FINAL_TYPE (AicFakeProvider, aic_fake_provider, AIC, FAKE_PROVIDER, GObject)

AicFakeProvider      *aic_fake_provider_new             (AicFakeProviderShape  shape);
void                  aic_fake_provider_start           (AicFakeProvider      *self);
void                  aic_fake_provider_stop            (AicFakeProvider      *self);
gboolean              aic_fake_provider_is_running      (AicFakeProvider      *self);
const char           *aic_fake_provider_get_url         (AicFakeProvider      *self);
const char           *aic_fake_provider_get_base_url    (AicFakeProvider      *self);
void                  aic_fake_provider_set_models      (AicFakeProvider      *self,
                                                         const char * const   *models);
void                  aic_fake_provider_set_reply       (AicFakeProvider      *self,
                                                         const char           *text);
void                  aic_fake_provider_set_transcript  (AicFakeProvider      *self,
                                                         const char           *text);
void                  aic_fake_provider_set_wav_only    (AicFakeProvider      *self,
                                                         gboolean              wav_only);
void                  aic_fake_provider_set_overloaded  (AicFakeProvider      *self,
                                                         gboolean              overloaded);
GPtrArray            *aic_fake_provider_get_requests    (AicFakeProvider      *self);
guint                 aic_fake_provider_count           (AicFakeProvider      *self,
                                                         const char           *path);
const AicFakeRequest *aic_fake_provider_find            (AicFakeProvider      *self,
                                                         const char           *path);
void                  aic_fake_provider_clear_requests  (AicFakeProvider      *self);

const char           *aic_fake_request_get_header       (const AicFakeRequest *request,
                                                         const char           *name);

G_END_DECLS
