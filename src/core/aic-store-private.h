#pragma once

#include "aic-sqlite.h"
#include "aic-store.h"

G_BEGIN_DECLS

/* Conversations whose title or any message matches ?1, an FTS5 query. */
#define AIC_STORE_SEARCH_SQL \
  "SELECT id, title, model, created_at, updated_at FROM conversations " \
  "WHERE id IN (SELECT id FROM conversations_fts WHERE conversations_fts MATCH ?1) " \
  "   OR id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid " \
  "             WHERE messages_fts MATCH ?1) " \
  "ORDER BY updated_at DESC"

sqlite3 *aic_store_get_db    (AicStore   *self);
char    *aic_store_fts_query (const char *search);

G_END_DECLS
