/* version — the gateway's version, and how this binary was built (the Makefile passes the
 * compiler and flags; a build without them says "unknown"). */
#ifndef GEMGATE_VERSION_H
#define GEMGATE_VERSION_H

#define GEMGATE_VERSION "0.10.0"

#ifndef GEMGATE_BUILD_CC
#define GEMGATE_BUILD_CC "unknown"
#endif
#ifndef GEMGATE_BUILD_CFLAGS
#define GEMGATE_BUILD_CFLAGS "unknown"
#endif

#endif
