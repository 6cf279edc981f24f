/* owners: the resource ownership map — put/get/remove, the cap (the oldest is forgotten), pages
 * with filters and cursors, kinds by name, and a round trip through the store's writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool/owners.h"
#include "store/store.h"

static const char *H1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *H2 = "2222222222222222222222222222222222222222222222222222222222222222";

static own_entry entry(const char *name, own_kind kind, const char *hash, int64_t user, int64_t t)
{
  own_entry e = { .kind = kind, .user_id = user, .created_ms = t };
  snprintf(e.name, sizeof e.name, "%s", name);
  snprintf(e.key_hash, sizeof e.key_hash, "%s", hash);
  snprintf(e.model, sizeof e.model, "gemini-2.5-flash");
  return e;
}

static void test_kinds(void **state)
{
  assert_int_equal(own_kind_of(STR("files/abc")), OWN_FILE);
  assert_int_equal(own_kind_of(STR("cachedContents/x")), OWN_CACHE);
  assert_int_equal(own_kind_of(STR("batches/x")), OWN_BATCH);
  assert_int_equal(own_kind_of(STR("interactions/v1_x")), OWN_INTERACTION);
  assert_int_equal(own_kind_of(STR("operations/x")), OWN_OPERATION);
  assert_int_equal(own_kind_of(STR("models/veo/operations/x")), OWN_OPERATION);
  assert_int_equal(own_kind_of(STR("tunedModels/t/operations/o")), OWN_TUNED_MODEL);
  assert_int_equal(own_kind_of(STR("fileSearchStores/s")), OWN_FILE_SEARCH_STORE);
  assert_int_equal(own_kind_of(STR("corpora/c")), OWN_CORPUS);
  assert_int_equal(own_kind_of(STR("files/")), -1);
  assert_int_equal(own_kind_of(STR("models/gemini-2.5-flash")), -1);
  assert_int_equal(own_kind_of(STR("filesx/a")), -1);
  for(int k = 0; k < OWN_NKINDS; k++) assert_int_equal(own_kind_parse(own_kind_name((own_kind)k)), k);
  assert_int_equal(own_kind_parse("nope"), -1);
}

static void test_put_get_remove(void **state)
{
  owners *o = owners_new(10);
  own_entry e = entry("files/a", OWN_FILE, H1, 7, 1000), got;
  assert_true(owners_put(o, &e));
  assert_true(owners_get(o, STR("files/a"), &got));
  assert_string_equal(got.key_hash, H1);
  assert_int_equal(got.user_id, 7);
  assert_int_equal(got.kind, OWN_FILE);
  assert_false(owners_get(o, STR("files/b"), &got));
  assert_false(owners_get(o, STR("files/"), &got));
  e = entry("files/a", OWN_FILE, H2, 8, 2000);          /* the same name again replaces it */
  assert_true(owners_put(o, &e));
  assert_int_equal(owners_count(o), 1);
  assert_true(owners_get(o, STR("files/a"), &got));
  assert_string_equal(got.key_hash, H2);
  own_entry bad = entry("models/x", OWN_FILE, H1, 1, 1);
  assert_false(owners_put(o, &bad));
  bad = entry("", OWN_FILE, H1, 1, 1);
  assert_false(owners_put(o, &bad));
  assert_true(owners_remove(o, STR("files/a")));
  assert_false(owners_remove(o, STR("files/a")));
  assert_int_equal(owners_count(o), 0);
  owners_free(o);
}

static void test_cap_forgets_the_oldest(void **state)
{
  owners *o = owners_new(3);
  char name[32];
  for(int i = 0; i < 5; i++) {
    snprintf(name, sizeof name, "files/f%d", i);
    own_entry e = entry(name, OWN_FILE, H1, 1, 1000 + i);
    assert_true(owners_put(o, &e));
  }
  assert_int_equal(owners_count(o), 3);
  assert_false(owners_get(o, STR("files/f0"), NULL));
  assert_false(owners_get(o, STR("files/f1"), NULL));
  assert_true(owners_get(o, STR("files/f4"), NULL));
  owners_free(o);
}

static void test_pages_and_filters(void **state)
{
  owners *o = owners_new(0);
  char name[32];
  for(int i = 0; i < 3000; i++) {        /* enough to grow the table a few times */
    snprintf(name, sizeof name, "%s/r%d", i % 2 ? "files" : "cachedContents", i);
    own_entry e = entry(name, i % 2 ? OWN_FILE : OWN_CACHE, i % 3 ? H1 : H2, i % 4, 1000 + i);
    assert_true(owners_put(o, &e));
  }
  own_entry out[10];
  bool more;
  own_filter f = { .user_id = 1, .kind = OWN_FILE };
  size_t n = owners_page(o, &f, NULL, 0, out, 10, &more);
  assert_int_equal(n, 10);
  assert_true(more);
  assert_string_equal(out[0].name, "files/r2997");      /* newest first: user 1 is i % 4 == 1 */
  assert_string_equal(out[1].name, "files/r2993");
  char after[OWN_NAME_MAX + 1];
  snprintf(after, sizeof after, "%s", out[9].name);
  n = owners_page(o, &f, after, out[9].created_ms, out, 10, &more);
  assert_int_equal(n, 10);
  assert_string_equal(out[0].name, "files/r2957");
  /* a cursor whose entry is gone continues by time */
  assert_true(owners_remove(o, STR("files/r2957")));
  n = owners_page(o, &f, "files/r2957", 1000 + 2957, out, 2, &more);
  assert_string_equal(out[0].name, "files/r2953");
  own_filter g = { .user_id = -1, .kind = -1, .key_hash = H2, .model = "gemini-2.5-flash" };
  n = owners_page(o, &g, NULL, 0, out, 10, &more);
  for(size_t i = 0; i < n; i++) assert_string_equal(out[i].key_hash, H2);
  own_filter none = { .user_id = 99, .kind = -1 };
  assert_int_equal(owners_page(o, &none, NULL, 0, out, 10, &more), 0);
  assert_false(more);
  owners_free(o);
}

static void test_store_round_trip(void **state)
{
  char dir[64] = "/tmp/gg-owners-XXXXXX", path[128], err[256] = "";
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  store *s = store_open(path, 1, err, sizeof err);
  assert_non_null(s);
  owners *o = owners_new(0);
  assert_int_equal(owners_open(o, s, err, sizeof err), 0);
  own_entry a = entry("files/a", OWN_FILE, H1, 3, 1000), b = entry("batches/b", OWN_BATCH, H2, 0, 2000),
            c = entry("cachedContents/c", OWN_CACHE, H1, 3, 3000);
  assert_true(owners_put(o, &a));
  assert_true(owners_put(o, &b));
  assert_true(owners_put(o, &c));
  assert_true(owners_remove(o, STR("batches/b")));
  owners_free(o);                          /* drains the writer */
  /* a smaller map keeps the newest */
  owners *o2 = owners_new(1);
  store_conn *sc = store_connect(s, err, sizeof err);
  assert_int_equal(owners_load(o2, sc), 0);
  assert_int_equal(owners_count(o2), 1);
  own_entry got;
  assert_true(owners_get(o2, STR("cachedContents/c"), &got));
  assert_string_equal(got.key_hash, H1);
  assert_int_equal(got.user_id, 3);
  assert_int_equal(got.created_ms, 3000);
  assert_string_equal(got.model, "gemini-2.5-flash");
  owners_free(o2);
  owners *o3 = owners_new(0);
  assert_int_equal(owners_load(o3, sc), 0);
  assert_int_equal(owners_count(o3), 2);
  assert_false(owners_get(o3, STR("batches/b"), NULL));
  owners_free(o3);
  store_disconnect(sc);
  store_close(s);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* A batch is billed once (its reservation handed over with the first mark), a cache's expiry only
 * moves later; both survive a restart — a reservation does not (memory only). */
static void test_billed_once_and_extend(void **state)
{
  char dir[64] = "/tmp/gg-owners-XXXXXX", path[128], err[256] = "";
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  store *s = store_open(path, 1, err, sizeof err);
  assert_non_null(s);
  owners *o = owners_new(0);
  assert_int_equal(owners_open(o, s, err, sizeof err), 0);
  own_entry b = entry("batches/b", OWN_BATCH, H1, 3, 1000), c = entry("cachedContents/c", OWN_CACHE, H1, 3, 2000), got;
  b.reserved_nanos = 500;
  c.tokens = 10;
  c.expire_ms = 5000;
  assert_true(owners_put(o, &b));
  assert_true(owners_put(o, &c));
  assert_false(owners_mark_billed(o, STR("batches/nope"), 7000, &got));
  assert_true(owners_mark_billed(o, STR("batches/b"), 7000, &got));
  assert_int_equal(got.reserved_nanos, 500);
  assert_int_equal(got.user_id, 3);
  assert_false(owners_mark_billed(o, STR("batches/b"), 7001, &got));
  assert_true(owners_get(o, STR("batches/b"), &got));
  assert_int_equal(got.billed_ms, 7000);
  assert_int_equal(got.reserved_nanos, 0);
  assert_true(owners_extend(o, STR("cachedContents/c"), 4000, &got));   /* shortened: stays */
  assert_int_equal(got.expire_ms, 5000);
  assert_true(owners_extend(o, STR("cachedContents/c"), 9000, &got));
  assert_int_equal(got.expire_ms, 5000);                                /* as it was */
  assert_true(owners_extend(o, STR("cachedContents/c"), 8000, &got));
  assert_int_equal(got.expire_ms, 9000);
  assert_false(owners_extend(o, STR("cachedContents/nope"), 9000, &got));
  owners_free(o);
  owners *o2 = owners_new(0);
  store_conn *sc = store_connect(s, err, sizeof err);
  assert_int_equal(owners_load(o2, sc), 0);
  assert_false(owners_mark_billed(o2, STR("batches/b"), 8000, &got));   /* not again after a restart */
  assert_true(owners_get(o2, STR("cachedContents/c"), &got));
  assert_int_equal(got.expire_ms, 9000);
  assert_int_equal(got.tokens, 10);
  owners_free(o2);
  store_disconnect(sc);
  store_close(s);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kinds),
    cmocka_unit_test(test_put_get_remove),
    cmocka_unit_test(test_cap_forgets_the_oldest),
    cmocka_unit_test(test_pages_and_filters),
    cmocka_unit_test(test_store_round_trip),
    cmocka_unit_test(test_billed_once_and_extend),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
