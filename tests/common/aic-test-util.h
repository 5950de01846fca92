/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A real SoupServer on 127.0.0.1 with a free port; returns its base URL. */
SoupServer *aic_test_server_new       (char               **out_url);
SoupServer *aic_test_tls_server_new   (char               **out_url);
void        aic_test_reply            (SoupServerMessage   *message,
                                       guint                status,
                                       const char          *content_type,
                                       const char          *body);
void        aic_test_serve_models     (SoupServer          *server,
                                       const char          *body);
guint       aic_test_free_port        (void);
void        aic_test_wait_for         (gboolean           (*done) (gpointer),
                                       gpointer             data,
                                       guint                timeout_ms);
GAsyncResult *aic_test_wait_result    (GAsyncResult       **slot,
                                       guint                timeout_ms);
void        aic_test_store_result_cb  (GObject             *object,
                                       GAsyncResult        *result,
                                       gpointer             user_data);
gboolean    aic_test_have_keyring     (void);
gboolean    aic_test_is_mapped        (const char         *library);
void        aic_test_remove_tree      (const char          *path);
char       *aic_test_file_contents    (const char          *dir,
                                       const char          *name);
JsonObject *aic_test_get_object       (const char          *url);

/* A whole answer, whatever its status: the body parsed when it is JSON. */
typedef struct
{
  guint               status;
  JsonNode           *body;
  SoupMessageHeaders *headers;
} AicTestAnswer;

void        aic_test_send             (SoupSession         *session,
                                       SoupMessage         *message,
                                       AicTestAnswer       *answer);
const char *aic_test_answer_header    (AicTestAnswer       *answer,
                                       const char          *name);
const char *aic_test_answer_type      (AicTestAnswer       *answer);
void        aic_test_answer_clear     (AicTestAnswer       *answer);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AicTestAnswer, aic_test_answer_clear)

void        aic_test_damage_page      (const char          *path,
                                       guint                page);

G_END_DECLS
