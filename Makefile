# gemgate — build, run, test.  `make run` and `make test` install what is missing first.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
SAN     ?=
ifeq ($(SAN),1)
BUILD   := build-san
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
WARN    := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEFS    := -D_GNU_SOURCE -pthread -Isrc -DGEMGATE_BUILD_CC='"$(CC)"' -DGEMGATE_BUILD_CFLAGS='"$(CFLAGS)"'
PKGS    := libevent libevent_pthreads libcurl jansson openssl sqlite3 libpq
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

.PHONY: all deps run test unit integration test-pg clean bench check-clang layers
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

# On PostgreSQL: a throwaway server (scripts/pg.sh: initdb in a temp dir, a unix socket only),
# the unit tests against it (test_store_pg, and every test on a tempdb.h database), then the
# whole integration suite again with each gateway on a fresh database of its own.  The server
# is stopped by its PID however the run ends.
test-pg: $(BUILD)/gemgate-test $(BUILD)/fakegemini $(UNIT_BIN)
	@set -e; eval "$$(scripts/pg.sh start)"; \
	  trap 'scripts/pg.sh stop "$$PG_DIR"' EXIT; trap 'exit 130' INT TERM; \
	  echo "== PostgreSQL $$PG_URL (pid $$PG_PID)"; \
	  GEMGATE_TEST_PG="$$PG_URL" $(MAKE) --no-print-directory unit; \
	  GEMGATE_DB="$$PG_URL" $(MAKE) --no-print-directory integration

# The README's test command: install what is missing, build with gcc and clang, run every test,
# the store and the integration suite again on PostgreSQL, then the whole suite again under
# ASan+UBSan.
test: deps layers
	$(MAKE) clean-build CC=clang BUILD=build-clang
	$(MAKE) all unit CC=clang BUILD=build-clang
	$(MAKE) all unit integration CC=gcc
	$(MAKE) test-pg CC=gcc
	$(MAKE) all unit integration SAN=1 CC=gcc

clean-build:
	rm -rf $(BUILD)

run: deps all
	$(BUILD)/gemgate

bench: deps all
	bench/run.sh

clean:
	rm -rf build build-san build-clang
