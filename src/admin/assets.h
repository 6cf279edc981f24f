/* assets — the web UI's files (ui/), embedded in the binary at build time by scripts/embed.sh
 * (the generated $(BUILD)/gen/assets.c defines the table).  Read-only, static. */
#ifndef GEMGATE_ASSETS_H
#define GEMGATE_ASSETS_H

#include <stddef.h>

typedef struct asset {
  const char *name;              /* "app.js", "openapi.json", ... */
  const unsigned char *data;     /* NUL-terminated as well */
  size_t len;
} asset;

extern const asset assets[];
extern const size_t nassets;

/* The asset called name (n bytes), or NULL. */
const asset *asset_find(const char *name, size_t n);

#endif
