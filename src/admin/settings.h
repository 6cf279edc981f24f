/* settings — the admin routes for the OpenAI settings (call/settings.h). */
#ifndef GEMGATE_ADMIN_SETTINGS_H
#define GEMGATE_ADMIN_SETTINGS_H

#include "http/http.h"

/* GET /admin/config/thinking → {"enabled","budget","include_thoughts"}; POST changes the fields
 * given and answers with the settings once stored. */
void admin_settings_thinking(http_req *r);

/* GET /admin/config/inject-prompt → {"enabled","content","position"}; POST as above. */
void admin_settings_inject(http_req *r);

#endif
