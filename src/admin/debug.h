/* debug — seed 004's GET /debug/info (admin): the version and how the binary was built, the
 * configuration with every secret masked (keys in kp_mask's form, tokens as "set"/"not set",
 * passwords in URLs as ****), workers, a summary of the key pool, the store's backend and
 * health (a round trip to the database and the schema version), and a memory breakdown. */
#ifndef GEMGATE_DEBUG_H
#define GEMGATE_DEBUG_H

#include "http/http.h"

void debug_info(http_req *r);

#endif
