/* convo: stored responses and chat sessions — ownership (another user's is not found), expiry,
 * the per-user bound, and the version compare that keeps two answers from losing a turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "convo/convo.h"
#include "tempdb.h"

static tempdb db;

static int setup(void **state) { tempdb_open(&db, "convo", 1); return 0; }
static int teardown(void **state) { return tempdb_close(&db); }

static convo_response resp(const char *id, int64_t user, int64_t t, int64_t ttl)
{
  convo_response r = { .user_id = user, .response = "{\"id\":1}", .input_items = "[]", .state = "{\"contents\":[]}",
                       .created_at = t, .expires_at = t + ttl };
  snprintf(r.id, sizeof r.id, "%s", id);
  snprintf(r.model, sizeof r.model, "gemini-2.5-flash");
  return r;
}

static void test_responses(void **state)
{
  gg_err e;
  convo_response r = resp("resp_a", 7, 1000, 500), got;
  assert_int_equal(convo_response_put(db.c, &r, 1000, &e), GG_OK);
  assert_int_equal(convo_response_put(db.c, &r, 1000, &e), GG_CONFLICT);       /* written once */
  assert_int_equal(convo_response_get(db.c, 7, "resp_a", 1200, &got, &e), GG_OK);
  assert_string_equal(got.response, "{\"id\":1}");
  assert_string_equal(got.state, "{\"contents\":[]}");
  assert_string_equal(got.model, "gemini-2.5-flash");
  convo_response_free(&got);
  assert_int_equal(convo_response_get(db.c, 8, "resp_a", 1200, &got, &e), GG_NOT_FOUND);   /* another user's */
  assert_int_equal(convo_response_get(db.c, 7, "resp_a", 1500, &got, &e), GG_NOT_FOUND);   /* expired */
  assert_int_equal(convo_response_delete(db.c, 8, "resp_a", 1200, &e), GG_NOT_FOUND);
  assert_int_equal(convo_response_delete(db.c, 7, "resp_a", 1200, &e), GG_OK);
  assert_int_equal(convo_response_get(db.c, 7, "resp_a", 1200, &got, &e), GG_NOT_FOUND);
}

/* A user keeps at most CONVO_MAX_RESPONSES: the oldest go, another user's stay. */
static void test_response_bound(void **state)
{
  gg_err e;
  convo_response other = resp("resp_other", 2, 1, 1000000);
  assert_int_equal(convo_response_put(db.c, &other, 1, &e), GG_OK);
  for(int i = 0; i < CONVO_MAX_RESPONSES + 5; i++) {
    char id[32];
    snprintf(id, sizeof id, "resp_%05d", i);
    convo_response r = resp(id, 1, 10 + i, 1000000);
    assert_int_equal(convo_response_put(db.c, &r, 10 + i, &e), GG_OK);
  }
  convo_response got;
  assert_int_equal(convo_response_get(db.c, 1, "resp_00004", 5000, &got, &e), GG_NOT_FOUND);
  assert_int_equal(convo_response_get(db.c, 1, "resp_00005", 5000, &got, &e), GG_OK);
  convo_response_free(&got);
  assert_int_equal(convo_response_get(db.c, 2, "resp_other", 5000, &got, &e), GG_OK);
  convo_response_free(&got);
}

static void test_sessions(void **state)
{
  gg_err e;
  convo_session s = { .id = "chat_1", .user_id = 3, .model = "gemini-2.5-flash", .config = "{}", .created_at = 100,
                      .updated_at = 100, .expires_at = 1100 }, got;
  assert_int_equal(convo_session_create(db.c, &s, 100, &e), GG_OK);
  assert_int_equal(convo_session_get(db.c, 3, "chat_1", 200, &got, &e), GG_OK);
  assert_string_equal(got.history, "[]");
  assert_int_equal(got.version, 0);
  convo_session_free(&got);
  assert_int_equal(convo_session_get(db.c, 4, "chat_1", 200, &got, &e), GG_NOT_FOUND);
  /* Two answers computed from version 0: the first is saved, the second is told to retry. */
  assert_int_equal(convo_session_save(db.c, 3, "chat_1", 0, "[1,2]", 1, 0, 300, 1300, &e), GG_OK);
  assert_int_equal(convo_session_save(db.c, 3, "chat_1", 0, "[3,4]", 1, 0, 300, 1300, &e), GG_CONFLICT);
  assert_int_equal(convo_session_save(db.c, 4, "chat_1", 1, "[3,4]", 1, 0, 300, 1300, &e), GG_NOT_FOUND);
  assert_int_equal(convo_session_get(db.c, 3, "chat_1", 1200, &got, &e), GG_OK);   /* the save moved the expiry */
  assert_string_equal(got.history, "[1,2]");
  assert_int_equal(got.version, 1);
  assert_int_equal(got.turns, 1);
  convo_session_free(&got);
  convo_session s2 = { .id = "chat_2", .user_id = 3, .model = "m", .config = "{\"a\":1}", .created_at = 400,
                       .updated_at = 400, .expires_at = 1400 };
  assert_int_equal(convo_session_create(db.c, &s2, 400, &e), GG_OK);
  convo_session *v;
  size_t n;
  assert_int_equal(convo_session_list(db.c, 3, 1250, 50, &v, &n, &e), GG_OK);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].id, "chat_2");                 /* most recently used first */
  assert_null(v[0].history);
  convo_sessions_free(v, n);
  assert_int_equal(convo_session_list(db.c, 3, 1350, 50, &v, &n, &e), GG_OK);
  assert_int_equal(n, 1);                                 /* chat_1 expired at 1300 */
  convo_sessions_free(v, n);
  assert_int_equal(convo_session_delete(db.c, 4, "chat_2", 500, &e), GG_NOT_FOUND);
  assert_int_equal(convo_session_delete(db.c, 3, "chat_2", 500, &e), GG_OK);
  assert_int_equal(convo_session_list(db.c, 3, 500, 50, &v, &n, &e), GG_OK);
  assert_int_equal(n, 1);
  convo_sessions_free(v, n);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_responses),
    cmocka_unit_test(test_response_bound),
    cmocka_unit_test(test_sessions),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
