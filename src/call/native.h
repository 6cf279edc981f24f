/* native — the native Gemini API under /v1beta/ and /v1/: every canonical path (call/path.h)
 * forwarded with a pooled key in place of the client's credential, bodies byte for byte,
 * streams chunk by chunk; any other path, and alt=proto, answered 400 here. */
#ifndef GEMGATE_NATIVE_H
#define GEMGATE_NATIVE_H

#include "http/auth.h"
#include "http/http.h"

void native_forward(http_req *r, const principal *who);

/* The upstream URL of r: base + r's path + its query without the client's key= (malloc'ed). */
char *native_upstream_url(const char *base, const http_req *r);

#endif
