#pragma once

#include "aic-sqlite.h"
#include "aic-store.h"

G_BEGIN_DECLS

/* The numbers of the conversations whose messages, or titles, match ?1,
 * an FTS5 query (see aic_store_list_conversations()). */
#define AIC_STORE_SEARCH_MESSAGES_SQL \
  "SELECT rowid >> 32 FROM messages_fts WHERE messages_fts MATCH ?1"
#define AIC_STORE_SEARCH_TITLES_SQL \
  "SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?1"

sqlite3 *aic_store_get_db    (AicStore   *self);
char    *aic_store_fts_query (const char *search);

G_END_DECLS
