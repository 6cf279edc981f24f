# gemgate — build, run, test.  `make run` and `make test` install what is missing first.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
SAN     ?=
# ASan+UBSan, with the float→integer and pointer-arithmetic checks -fsanitize=undefined leaves
# out (gcc: both; clang: float-cast-overflow), every finding fatal.  gcc and clang each have
# their own build directory.
SANITIZE := address,undefined,float-cast-overflow,pointer-overflow
ifeq ($(SAN),1)
BUILD   := build-san$(if $(findstring clang,$(CC)),-clang)
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
# ThreadSanitizer (make test-tsan): the unit and integration suites with every race fatal.
TSAN    ?=
ifeq ($(TSAN),1)
BUILD   := build-tsan
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDFLAGS += -fsanitize=thread
endif
WARN    := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEFS    := -D_GNU_SOURCE -pthread -Isrc -DGEMGATE_BUILD_CC='"$(CC)"' -DGEMGATE_BUILD_CFLAGS='"$(CFLAGS)"'
PKGS    := libevent libevent_pthreads libcurl jansson openssl sqlite3 libpq hiredis
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# src/<layer>/<module>.c; the layers and what each may include: src/README.md, scripts/layers.sh.
# Two gateways: the release $(BUILD)/gemgate, and $(BUILD)/gemgate-test for the integration
# suite, which also has the test-only routes (-DGEMGATE_TEST_ROUTES: POST /admin/test/ledger).
# Only the files the macro changes are compiled twice (into obj-test/); the rest is shared.
TEST_ONLY_SRC := $(wildcard src/admin/testroute.c)
SRC      := $(filter-out $(TEST_ONLY_SRC),$(wildcard src/*/*.c))
HDR      := $(wildcard src/*/*.h)
# The web UI (ui/) is embedded: scripts/embed.sh turns its files into $(BUILD)/gen/assets.c.
UI_SRC   := $(sort $(wildcard ui/*))
ASSET_OBJ := $(BUILD)/obj/gen/assets.o
OBJ      := $(SRC:src/%.c=$(BUILD)/obj/%.o) $(ASSET_OBJ)
TEST_SRC := src/app/route.c $(TEST_ONLY_SRC)
TEST_OBJ := $(filter-out $(TEST_SRC:src/%.c=$(BUILD)/obj/%.o),$(OBJ)) $(TEST_SRC:src/%.c=$(BUILD)/obj-test/%.o)
LIBOBJ   := $(filter-out $(BUILD)/obj/app/main.o,$(OBJ))
FAKE_SRC := $(wildcard tests/fake/*.c)
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(foreach t,$(UNIT_SRC),$(BUILD)/$(notdir $(t:.c=)))

.PHONY: all deps run test unit integration test-pg clean bench check-clang layers test-tsan fuzz fuzz-smoke fuzz-build
all: $(BUILD)/gemgate $(BUILD)/gemgate-test $(BUILD)/fakegemini

$(BUILD)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/assets.c: scripts/embed.sh $(UI_SRC)
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ $(UI_SRC)

$(ASSET_OBJ): $(BUILD)/gen/assets.c src/admin/assets.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj-test/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -DGEMGATE_TEST_ROUTES $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/gemgate: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

$(BUILD)/gemgate-test: $(TEST_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

$(BUILD)/fakegemini: $(FAKE_SRC) $(wildcard tests/fake/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(DEFS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) $(FAKE_SRC) -o $@ $(PKG_LIBS)

# Unit tests mirror the tree: tests/unit/<layer>/test_<module>.c → $(BUILD)/test_<module>.
define unit_rule
$(BUILD)/$(notdir $(1:.c=)): $(1) $(LIBOBJ)
	$$(CC) $$(WARN) $$(DEFS) -Itests/unit $$(PKG_CFLAGS) $$(CFLAGS) $$(LDFLAGS) $$^ -o $$@ $$(PKG_LIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_rule,$(t))))

deps:
	@scripts/deps.sh

# No layer includes a higher one (src/README.md).
layers:
	@scripts/layers.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# ASan's quarantine would hold freed memory and blur the memory assertions: keep it small.
integration: $(BUILD)/gemgate-test $(BUILD)/fakegemini
	ASAN_OPTIONS=quarantine_size_mb=8 GEMGATE_BIN=$(abspath $(BUILD)/gemgate-test) FAKE_BIN=$(abspath $(BUILD)/fakegemini) \
	  node --test --test-concurrency=1 tests/integration/

# On PostgreSQL + Redis: a throwaway PostgreSQL (scripts/pg.sh: initdb in a temp dir, a unix
# socket only) and redis-server (scripts/redis.sh: 127.0.0.1, a random port, a temp dir), the
# unit tests against them (test_store_pg, every test on a tempdb.h database, test_rshare), then
# the whole integration suite again with each gateway on a fresh database of its own and its
# state shared through a Redis database of its own.  Both servers are stopped by their PID
# however the run ends.
test-pg: $(BUILD)/gemgate-test $(BUILD)/fakegemini $(UNIT_BIN)
	@set -e; eval "$$(scripts/pg.sh start)"; \
	  trap 'scripts/pg.sh stop "$$PG_DIR"' EXIT; trap 'exit 130' INT TERM; \
	  eval "$$(scripts/redis.sh start)"; \
	  trap 'scripts/pg.sh stop "$$PG_DIR"; scripts/redis.sh stop "$$REDIS_DIR"' EXIT; \
	  echo "== PostgreSQL $$PG_URL (pid $$PG_PID), Redis $$REDIS_URL (pid $$REDIS_PID)"; \
	  GEMGATE_TEST_PG="$$PG_URL" GEMGATE_TEST_REDIS="$$REDIS_URL" $(MAKE) --no-print-directory unit; \
	  GEMGATE_DB="$$PG_URL" GEMGATE_TEST_REDIS="$$REDIS_URL" $(MAKE) --no-print-directory integration

# The README's test command: install what is missing, build with gcc and clang, run every test,
# the store and the integration suite again on PostgreSQL + Redis, then the whole suite again under
# ASan+UBSan, then under ThreadSanitizer, then each libFuzzer harness for 20 s.  Each step's
# time on a 2-core machine: docs/hardening.md.
test: deps layers
	$(MAKE) clean-build CC=clang BUILD=build-clang
	$(MAKE) all unit CC=clang BUILD=build-clang
	$(MAKE) all unit integration CC=gcc
	$(MAKE) test-pg CC=gcc
	$(MAKE) all unit integration SAN=1 CC=gcc
	$(MAKE) all unit integration SAN=1 CC=clang
	$(MAKE) test-tsan CC=gcc
	$(MAKE) fuzz-smoke

# The unit and integration suites under ThreadSanitizer (its own build, build-tsan/): the first
# race reported fails the run (halt_on_error; the gateway exits 66).  tests/tsan.supp names what
# is deliberately left to the libraries.
# The fake upstream runs uninstrumented (build/): it is the test's fixture, and TSan's shadow
# memory and pace would break its own memory and timing assertions.
TSAN_RUN := halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$(abspath tests/tsan.supp)
test-tsan:
	TSAN_OPTIONS="$(TSAN_RUN)" $(MAKE) all unit TSAN=1
	$(MAKE) build/fakegemini TSAN= SAN= BUILD=build
	TSAN_OPTIONS="$(TSAN_RUN)" GEMGATE_BIN=$(abspath build-tsan/gemgate-test) FAKE_BIN=$(abspath build/fakegemini) \
	  node --test --test-concurrency=1 tests/integration/

# libFuzzer harnesses (tests/fuzz/fuzz_<name>.c, README.md there), with clang: the library
# objects built again with -fsanitize=fuzzer-no-link,address,undefined (build-fuzz/).  make fuzz
# runs each for FUZZ_SECONDS (or FUZZ_RUNS inputs, whichever ends first) on a working corpus
# seeded from tests/fuzz/corpus/<name>/; a crash stops it with the input in build-fuzz/crashes/;
# make fuzz-smoke is the 20 s run CI does.  The long run: tests/fuzz/README.md.
FUZZ_SECONDS ?= 30
FUZZ_RUNS    ?=
# An input slower than this many seconds is a finding; a niced long run on a busy machine needs more.
FUZZ_TIMEOUT ?= 10
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined,float-cast-overflow,pointer-overflow -fno-sanitize-recover=all
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIBOBJ  := $(patsubst $(BUILD)/obj/%,$(FUZZ_BUILD)/obj/%,$(LIBOBJ))

$(FUZZ_BUILD)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(DEFS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The embedded UI is generated, not in src/: its object comes from the same assets.c.
$(FUZZ_BUILD)/obj/gen/assets.o: $(BUILD)/gen/assets.c src/admin/assets.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(DEFS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIBOBJ)
	$(FUZZ_CC) $(WARN) $(DEFS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIBOBJ) -o $@ $(PKG_LIBS)

.SECONDARY: $(FUZZ_LIBOBJ)
fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do h=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$h $(FUZZ_BUILD)/crashes; \
	  echo "== $$h ($(FUZZ_SECONDS) s)"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS)) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 -print_final_stats=1 \
	       -artifact_prefix=$(FUZZ_BUILD)/crashes/$$h- $(FUZZ_BUILD)/corpus/$$h tests/fuzz/corpus/$$h \
	       > $(FUZZ_BUILD)/$$h.log 2>&1; then tail -60 $(FUZZ_BUILD)/$$h.log; exit 1; fi; \
	  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' $(FUZZ_BUILD)/$$h.log; done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

clean-build:
	rm -rf $(BUILD)

run: deps all
	$(BUILD)/gemgate

bench: deps all
	bench/run.sh

clean:
	rm -rf build build-san build-san-clang build-clang build-tsan build-fuzz
