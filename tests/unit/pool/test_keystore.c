/* keystore: a stored key is listed masked and merged into the pool's list; a duplicate is a
 * conflict; disable, exclude and delete take it out; changes survive a restart; unknown ids
 * are not found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crypto.h"
#include "pool/keystore.h"
#include "store/store.h"
#include "tempdb.h"

static tempdb tdb;
static store *db;
static store_conn *c;

static int setup(void **state)
{
  tempdb_open(&tdb, "keystore", 1);
  db = tdb.s;
  c = tdb.c;
  return 0;
}

static int teardown(void **state) { return tempdb_close(&tdb); }

/* The secrets keystore_secrets hands to the pool, joined with ','. */
static const char *secrets(keystore *ks)
{
  static char buf[1024];
  strlist l = { 0 };
  keystore_secrets(ks, &l);
  buf[0] = '\0';
  for(size_t i = 0; i < l.n; i++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "", l.v[i]);
  strlist_free(&l);
  return buf;
}

static void test_keys(void **state)
{
  const char *k1 = "AIzaSyFirstKey0000000000000000000wxyz", *k2 = "AIzaSySecondKey000000000000000000abcd";
  keystore *ks = keystore_new("a passphrase");
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_key a, b, x;
  gg_err e = { "" };
  assert_int_equal(keystore_add(ks, c, k1, &a, &e), GG_OK);
  assert_true(a.id > 0);
  assert_true(a.enabled);
  assert_null(strstr(a.masked, "FirstKey"));                 /* masked, never the secret */
  assert_non_null(strstr(a.masked, "wxyz"));
  assert_int_equal(keystore_add(ks, c, k1, &x, &e), GG_CONFLICT);
  assert_string_equal(e.msg, "this upstream key is already stored");
  assert_int_equal(keystore_add(ks, c, "short", &x, &e), GG_BAD_INPUT);
  assert_int_equal(keystore_add(ks, c, k2, &b, &e), GG_OK);
  assert_false(keystore_secret_valid("AIza with space", 15));
  assert_false(keystore_secret_valid("AIzaSy,comma,key", 16));
  /* Google's newer auth keys (AQ.…, with dots, dashes and underscores) are keys like any other. */
  const char *aq = "AQ.Ab8RN6LfGx0Q_zs-9yV3kT2mWcPqL1nD8eHjUoYbAaZrXwVs";
  assert_true(keystore_secret_valid(aq, strlen(aq)));
  keystore_key q;
  assert_int_equal(keystore_add(ks, c, aq, &q, &e), GG_OK);
  assert_string_equal(q.masked, "AQ.A\u2026XwVs");
  assert_int_equal(keystore_remove(ks, c, q.id, &q, &e), GG_OK);

  char buf[600];
  snprintf(buf, sizeof buf, "%s,%s", k1, k2);
  assert_string_equal(secrets(ks), buf);
  size_t n;
  bool sealed = false;
  keystore_key *v = keystore_list(ks, &n, &sealed);
  assert_int_equal(n, 2);
  assert_true(sealed);
  assert_int_equal(v[1].id, b.id);
  free(v);
  /* At rest: sealed, not the secret. */
  store_stmt *st = store_prepare(c, "SELECT secret FROM upstream_keys WHERE id = ?");
  store_bind_int(st, 1, a.id);
  assert_int_equal(store_step(st), STORE_ROW);
  assert_null(strstr(store_col_text(st, 0), "FirstKey"));
  store_reset(st);

  /* Disabled: stays listed, leaves the pool.  Excluded for a re-check: out until put back. */
  assert_int_equal(keystore_set_enabled(ks, c, a.id, false, &x, &e), GG_OK);
  assert_false(x.enabled);
  assert_string_equal(secrets(ks), k2);
  keystore_exclude(ks, b.id, true);
  assert_string_equal(secrets(ks), "");
  keystore_exclude(ks, b.id, false);
  assert_string_equal(secrets(ks), k2);
  char secret[300];
  assert_int_equal(keystore_secret(ks, b.id, secret, sizeof secret, &x), GG_OK);
  assert_string_equal(secret, k2);
  assert_int_equal(keystore_secret(ks, 999, secret, sizeof secret, &x), GG_NOT_FOUND);

  /* Unknown ids. */
  assert_int_equal(keystore_set_enabled(ks, c, 999, true, &x, &e), GG_NOT_FOUND);
  assert_string_equal(e.msg, "no such upstream key");
  assert_int_equal(keystore_remove(ks, c, 999, &x, &e), GG_NOT_FOUND);

  /* Deleted: gone from memory and from the database. */
  assert_int_equal(keystore_remove(ks, c, b.id, &x, &e), GG_OK);
  assert_int_equal(x.id, b.id);
  assert_string_equal(x.masked, b.masked);
  assert_string_equal(secrets(ks), "");
  keystore_free(ks);

  /* A restart: key 1 still stored and still disabled, key 2 gone. */
  ks = keystore_new("a passphrase");
  assert_int_equal(keystore_load(ks, c), 0);
  v = keystore_list(ks, &n, NULL);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].id, a.id);
  assert_false(v[0].enabled);
  free(v);
  assert_int_equal(keystore_set_enabled(ks, c, a.id, true, &x, &e), GG_OK);
  assert_string_equal(secrets(ks), k1);
  keystore_free(ks);
}

static int64_t stored_plain(store_conn *sc)
{
  store_stmt *st = store_prepare(sc, "SELECT COUNT(*) FROM upstream_keys WHERE secret LIKE 'plain:%'");
  store_step(st);
  int64_t n = store_col_int(st, 0);
  store_reset(st);
  return n;
}

static void test_keystore_at_rest(void **state)
{
  store_do(c, "INSERT INTO upstream_keys (secret, hash, masked, enabled, created_at, updated_at)"
              " VALUES ('plain:AIzaFake-ok-1111', 'h1', 'AIza…1111', 1, 1, 1), ('plain:AIzaFake-ok-2222', 'h2', 'AIza…2222', 0, 1, 1)", NULL);
  keystore *ks = keystore_new(NULL);
  assert_int_equal(keystore_load(ks, c), 0);
  strlist l = { 0 };
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 1);                               /* the disabled one stays out */
  assert_string_equal(l.v[0], "AIzaFake-ok-1111");
  strlist_free(&l);
  keystore_free(ks);
  assert_int_equal(stored_plain(c), 2);
  ks = keystore_new("my passphrase");                     /* a key configured later seals them */
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_free(ks);
  assert_int_equal(stored_plain(c), 0);
  ks = keystore_new("my passphrase");                     /* and they open again */
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 1);
  strlist_free(&l);
  keystore_free(ks);
  ks = keystore_new("another");                           /* the wrong key: skipped, not crashed */
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 0);
  keystore_free(ks);
}

/* A key sealed the old way (the passphrase's unsalted SHA-256) opens once and is sealed again
 * through scrypt; after that it opens as it is, and is not written again. */
static void test_keystore_kdf_migration(void **state)
{
  uint8_t old[32];
  crypto_derive_key("my passphrase", old);
  char *legacy = crypto_seal(old, "AIzaFake-ok-3333");
  store_do(c, "INSERT INTO upstream_keys (secret, hash, masked, enabled, created_at, updated_at)"
              " VALUES (?, 'h3', 'AIza…3333', 1, 1, 1)", "t", legacy);
  free(legacy);
  keystore *ks = keystore_new("my passphrase");
  assert_int_equal(keystore_load(ks, c), 0);
  strlist l = { 0 };
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.v[0], "AIzaFake-ok-3333");
  strlist_free(&l);
  keystore_free(ks);
  store_stmt *st = store_prepare(c, "SELECT secret FROM upstream_keys");
  assert_int_equal(store_step(st), STORE_ROW);
  char *now = strdup(store_col_text(st, 0));
  store_reset(st);
  assert_int_equal(strncmp(now, "v2:scrypt:15:8:1:", 17), 0);
  ks = keystore_new("my passphrase");
  assert_int_equal(keystore_load(ks, c), 0);
  keystore_secrets(ks, &l);
  assert_int_equal(l.n, 1);
  strlist_free(&l);
  keystore_free(ks);
  st = store_prepare(c, "SELECT secret FROM upstream_keys");
  assert_int_equal(store_step(st), STORE_ROW);
  assert_string_equal(store_col_text(st, 0), now);             /* opened as it is: not rewritten */
  store_reset(st);
  free(now);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
    cmocka_unit_test_setup_teardown(test_keystore_at_rest, setup, teardown),
    cmocka_unit_test_setup_teardown(test_keystore_kdf_migration, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
