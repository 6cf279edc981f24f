/* fg_res — the resources of the stateful API (files, uploads in progress, cachedContents,
 * batches, interactions), each owned by the key (the Google project) that created it.  One
 * mutex: callers hold fg_res_lock() around every use of an fg_res. */
#ifndef FG_RES_H
#define FG_RES_H

#include "fg_api.h"
#include "fg_sink.h"

#include <jansson.h>

typedef enum { FG_RES_FILE, FG_RES_UPLOAD, FG_RES_CACHE, FG_RES_BATCH, FG_RES_INTERACTION } fg_res_kind;

/* How a name relates to the caller. */
enum { FG_OWN_NONE, FG_OWN_MINE, FG_OWN_OTHER };

typedef struct fg_res {
    fg_res_kind kind;
    char id[48];        /* the name's last segment: files/{id}, batches/{id}, … */
    char *owner;        /* the key that created it */
    size_t owner_n;
    json_t *obj;        /* the resource as GET answers it (uploads: their metadata) */
    json_t *aux;        /* what else it needs (batches: the requests' metadata), or NULL */
    double expire;      /* wall-clock seconds after which it is gone (0: never) */
    long polls;         /* batches: GETs so far (the state advances with them) */
    long tokens;        /* cachedContents: totalTokenCount */
    long long received; /* uploads: bytes so far */
    SHA256_CTX sha;     /* uploads: hash of those bytes */
    unsigned long long seq; /* creation order */
    struct fg_res *next;
} fg_res;

void fg_res_lock(void);
void fg_res_unlock(void);
/* Finds kind/id (expired resources are dropped first); *own says whose it is. */
fg_res *fg_res_find(fg_res_kind kind, fg_str id, fg_str key, int *own);
/* Adds a resource owned by key with a fresh id (obj is filled in by the caller). */
fg_res *fg_res_add(fg_res_kind kind, fg_str key);
/* Removes and frees r. */
void fg_res_remove(fg_res *r);
/* Answers a list of key's resources of kind, newest first, as {field:[…],"nextPageToken"}
 * with the request's pageSize (default 10, at most 100) and pageToken; {} when empty. */
void fg_res_reply_list(fg_res_kind kind, fg_str key, fg_str query, const char *field,
                       fg_reply *r);
/* Answers code with v (borrowed) as compact JSON. */
void fg_res_reply(fg_reply *r, int code, const json_t *v);
/* RFC 3339 UTC time of wall-clock seconds t, with 6 fractional digits when frac. */
void fg_res_time(double t, int frac, char out[40]);
/* Wall-clock seconds now. */
double fg_res_now(void);
/* /_fake/resources: {"resources":[{"kind","name","key",…}]}, malloc'ed. */
char *fg_res_dump_json(void);
/* Forgets every resource. */
void fg_res_reset(void);

#endif
