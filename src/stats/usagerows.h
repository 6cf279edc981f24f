/* usagerows — ledger rows themselves: the admin's filtered, paged listing and the CSV exports
 * (the admin's, and each user's own).  Filters are bound as parameters (store/query), never
 * spliced into SQL.  Exports are made in pages of USAGEROWS_PAGE rows, one store job per page,
 * so that the route can wait for the client to read: memory stays bounded whatever the export's
 * size.  Runs on a store connection (a pool thread); the routes are in admin/usage. */
#ifndef GEMGATE_USAGEROWS_H
#define GEMGATE_USAGEROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/rc.h"
#include "store/store.h"

#define USAGEROWS_PAGE 2000

/* Which rows.  Strings "" and has_* false: no filter on that column. */
typedef struct usagerows_filter {
  bool has_user, has_key;
  int64_t user_id, key_id;                  /* key: the access key's id */
  char upstream_key[32], model[64], type[32];
  char status[16];                          /* "success", "failed" or "" */
  bool has_from, has_to;
  int64_t from, to;                         /* ms; from inclusive, to exclusive */
} usagerows_filter;

/* A keyset position: the (created_at, id) of the last row already seen. */
typedef struct usagerows_cursor {
  bool set;
  int64_t t, id;
} usagerows_cursor;

/* Newest first: {"rows":[…], "limit", "offset", "next_cursor"} (next_cursor "<ms>.<id>" when the
 * page is full, else absent), rows after cur (when set) and after skipping offset.  GG_OK with
 * *out (a new reference), or GG_DB with e->msg. */
gg_rc usagerows_list(store_conn *c, const usagerows_filter *f, const usagerows_cursor *cur, int64_t limit,
                     int64_t offset, json_t **out, gg_err *e);

/* A CSV export in progress, oldest row first.  Zero it, set f; then call usagerows_export_page
 * until finished, sending buf[0..len) after each; usagerows_export_free at the end. */
typedef struct usagerows_export {
  usagerows_filter f;
  usagerows_cursor cur;    /* advanced page by page */
  bool header_sent;        /* the first page carries the CSV header */
  bool finished;           /* this page was the last */
  char *buf;               /* this page's CSV (owned) */
  size_t len, cap;
  int64_t rows;            /* rows exported so far */
} usagerows_export;

/* The next page (up to USAGEROWS_PAGE rows) into x->buf, replacing the previous one.  GG_OK, or
 * GG_DB with e->msg (x->buf then holds nothing to send). */
gg_rc usagerows_export_page(store_conn *c, usagerows_export *x, gg_err *e);

/* Frees what x owns (not x). */
void usagerows_export_free(usagerows_export *x);

#endif
