/* principal — who is calling: a static GEMGATE_ACCESS_KEYS key or a user's access key.  Filled
 * by authentication (http/auth), read by quotas (users) and the call engine; never holds the
 * key itself. */
#ifndef GEMGATE_PRINCIPAL_H
#define GEMGATE_PRINCIPAL_H

#include <stdint.h>

typedef struct principal {
  int static_key;          /* 1-based index into GEMGATE_ACCESS_KEYS, or 0 */
  int64_t user_id;         /* a per-user access key's user; 0 for static keys */
  int64_t access_key_id;   /* that key's id; 0 for static keys */
  char name[64];           /* the user's name; "static" for static keys */
  char label[32];          /* for logs: "static#2", "user#3/key#7" — never the key itself */
} principal;

#endif
