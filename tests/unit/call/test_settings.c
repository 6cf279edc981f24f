/* settings: loading the stored JSON (a bad value changes nothing), the dump round-trips, a
 * snapshot held by a request stays whole across a change, and a change is stored before it is
 * seen (a failed store changes nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call/settings.h"
#include "store/store.h"
#include "tempdb.h"

static tempdb tdb;
static store *db;
static store_conn *c;

static int setup(void **state)
{
  tempdb_open(&tdb, "settings", 1);
  db = tdb.s;
  c = tdb.c;
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

/* The current settings' dump (static buffer). */
static const char *now_dump(settings *s)
{
  static char buf[1024];
  char *d = settings_dump(s);
  assert_non_null(d);
  snprintf(buf, sizeof buf, "%s", d);
  free(d);
  return buf;
}

static void test_load_json(void **state)
{
  settings *s = settings_new();
  settings_snap *snap = settings_acquire(s);
  assert_false(snap->oai.thinking_enabled);
  assert_int_equal(snap->oai.thinking_budget, -1);
  assert_string_equal(snap->oai.inject_content, "");
  settings_release(s, snap);

  gg_err e = { "" };
  assert_int_equal(settings_load_json(s, "{\"thinking\":{\"enabled\":true,\"budget\":1024},"
                                         "\"inject\":{\"content\":\"Be brief.\",\"position\":\"user_prefix\"}}", &e), GG_OK);
  snap = settings_acquire(s);
  assert_true(snap->oai.thinking_enabled);
  assert_int_equal(snap->oai.thinking_budget, 1024);
  assert_false(snap->oai.include_thoughts);
  assert_string_equal(snap->oai.inject_content, "Be brief.");
  assert_int_equal(snap->oai.inject_position, OAI_INJECT_USER_PREFIX);
  settings_release(s, snap);
  const char *good = strdup(now_dump(s));

  /* Bad values, bad JSON, a valid part next to a bad one: nothing changes. */
  assert_int_equal(settings_load_json(s, "{\"thinking\":{\"budget\":99999}}", &e), GG_BAD_INPUT);
  assert_non_null(strstr(e.msg, "budget"));
  assert_int_equal(settings_load_json(s, "{\"thinking\":{\"enabled\":false},\"inject\":{\"position\":\"middle\"}}", &e), GG_BAD_INPUT);
  assert_int_equal(settings_load_json(s, "not json", &e), GG_BAD_INPUT);
  assert_int_equal(settings_load_json(s, "[1,2]", &e), GG_BAD_INPUT);
  assert_string_equal(now_dump(s), good);

  /* A part left out keeps its value. */
  assert_int_equal(settings_load_json(s, "{\"inject\":{\"enabled\":true}}", &e), GG_OK);
  snap = settings_acquire(s);
  assert_true(snap->oai.inject_enabled);
  assert_string_equal(snap->oai.inject_content, "Be brief.");
  assert_int_equal(snap->oai.thinking_budget, 1024);
  settings_release(s, snap);
  free((char *)good);
  settings_free(s);
}

static void test_dump_round_trips(void **state)
{
  settings *s = settings_new(), *t = settings_new();
  assert_int_equal(settings_load_json(s, "{\"thinking\":{\"enabled\":true,\"budget\":0,\"include_thoughts\":true},"
                                         "\"inject\":{\"enabled\":true,\"content\":\"quote \\\" and \\u00e9\","
                                         "\"position\":\"user_suffix\"}}", NULL), GG_OK);
  char *d = settings_dump(s);
  assert_non_null(d);
  assert_string_not_equal(now_dump(t), d);
  assert_int_equal(settings_load_json(t, d, NULL), GG_OK);
  assert_string_equal(now_dump(t), d);
  settings_snap *snap = settings_acquire(t);
  assert_string_equal(snap->oai.inject_content, "quote \" and \xc3\xa9");
  assert_int_equal(snap->oai.inject_position, OAI_INJECT_USER_SUFFIX);
  assert_int_equal(snap->oai.thinking_budget, 0);
  assert_true(snap->oai.include_thoughts);
  settings_release(t, snap);
  free(d);
  settings_free(s);
  settings_free(t);
}

static void test_snapshot_survives_swap(void **state)
{
  settings *s = settings_new();
  assert_int_equal(settings_load_json(s, "{\"inject\":{\"content\":\"the old prompt\"}}", NULL), GG_OK);
  settings_snap *held = settings_acquire(s);                   /* a request in flight */
  json_t *f = json_pack("{s:s,s:b}", "content", "the new prompt", "enabled", 1), *out = NULL;
  assert_int_equal(settings_change(s, NULL, SETTINGS_INJECT, f, &out, NULL), GG_OK);
  json_decref(f);                                              /* the new snapshot owns its copy */
  assert_string_equal(json_string_value(json_object_get(out, "content")), "the new prompt");
  json_decref(out);
  assert_string_equal(held->oai.inject_content, "the old prompt");   /* whole, unchanged */
  assert_false(held->oai.inject_enabled);
  settings_snap *fresh = settings_acquire(s);
  assert_ptr_not_equal(fresh, held);
  assert_string_equal(fresh->oai.inject_content, "the new prompt");
  assert_true(fresh->oai.inject_enabled);
  settings_release(s, held);                                   /* the last reference: freed (ASan) */
  settings_release(s, fresh);
  settings_free(s);
}

static void test_change_stored_first(void **state)
{
  settings *s = settings_new();
  gg_err e = { "" };
  json_t *bad = json_pack("{s:s}", "position", "sideways");
  assert_int_equal(settings_check(SETTINGS_INJECT, bad, &e), GG_BAD_INPUT);
  assert_string_equal(e.msg, "\"position\" must be \"system\", \"user_prefix\" or \"user_suffix\"");
  json_t *out = NULL;
  assert_int_equal(settings_change(s, c, SETTINGS_INJECT, bad, &out, &e), GG_BAD_INPUT);
  json_decref(bad);
  json_t *ok = json_pack("{s:b,s:i}", "enabled", 1, "budget", 2048);
  assert_int_equal(settings_check(SETTINGS_THINKING, ok, NULL), GG_OK);
  assert_int_equal(settings_change(s, c, SETTINGS_THINKING, ok, &out, &e), GG_OK);
  assert_int_equal(json_integer_value(json_object_get(out, "budget")), 2048);
  json_decref(out);
  json_decref(ok);

  /* Stored: a restart loads it. */
  settings *t = settings_new();
  assert_int_equal(settings_load(t, c, &e), GG_OK);
  char *want = settings_dump(s);
  assert_string_equal(now_dump(t), want);
  free(want);
  settings_free(t);

  /* The store fails: the change is refused and memory keeps the stored state. */
  const char *before = strdup(now_dump(s));
  assert_true(store_do(c, "DROP TABLE settings", "") >= 0);
  json_t *more = json_pack("{s:i}", "budget", 7);
  assert_int_equal(settings_change(s, c, SETTINGS_THINKING, more, &out, &e), GG_DB);
  assert_string_equal(e.msg, "the settings could not be stored");
  assert_string_equal(now_dump(s), before);
  json_decref(more);
  free((char *)before);
  settings_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_load_json),
    cmocka_unit_test(test_dump_round_trips),
    cmocka_unit_test(test_snapshot_survives_swap),
    cmocka_unit_test_setup_teardown(test_change_stored_first, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
