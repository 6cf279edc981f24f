/* probe — is an upstream key alive?  One cheap authenticated call (list one model) on a
 * worker's upstream client; the answer's status says.  Used by the background re-check of
 * failed keys (recheck.c) and by the admin's re-check of one stored key (admin/keys.c). */
#ifndef GEMGATE_PROBE_H
#define GEMGATE_PROBE_H

#include <stdbool.h>

#include "base/config.h"
#include "upstream/upstream.h"

typedef struct probe probe;

/* The end of a probe, on the upstream client's loop.  ok: the key answered 200.  status: the
 * upstream's HTTP status (0 when none came); err/msg: why no whole answer came (UP_OK when it
 * did).  The probe is freed once this returns. */
typedef void (*probe_done)(void *ctx, bool ok, int status, up_error err, const char *msg);

/* Probe secret against cfg->upstream, with cfg's timeout and the key's outbound proxy (the
 * same one its calls use).  The secret is copied (and wiped when the probe ends).  NULL when
 * the call could not be started (done is not called then). */
probe *probe_start(upstream *up, const config *cfg, const char *secret, probe_done done, void *ctx);

/* Stop a probe before its end: done is not called, the probe is freed.  Not from inside done. */
void probe_cancel(probe *p);

#endif
