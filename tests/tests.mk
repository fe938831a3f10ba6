# Tests (included by the top-level Makefile).
#
#   tests/unit/test_NAME.c   cmocka unit tests, built with ASan and UBSan, linked with the
#                            analyzer's objects and the shim's non-interposing parts
#   tests/unit/tsan_NAME.c   cmocka tests of concurrent code, built with TSan and shim/ring.c
#   tests/integration/       programs run under the shim with exact expected leaks (Python)
#   ../shared/cases          the shared leak cases, when present beside the checkout

comma := ,
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
TEST_CFLAGS = $(ALL_CFLAGS) -Ishim -Ianalyzer -Itests/unit -pthread

# The shim's parts that interpose nothing the tests call, for unit tests of the writer and ring
# (unwind_pipe's pipe2 changes only the pipes libunwind makes).
SHIM_TESTABLE := capture compress escalation frame_cache guard high_fd initial_env log modules \
                 options record resident ring sampled_heap sampler seen_stacks staging tracefile \
                 uncounted_thread unwind_cache unwind_pipe writer leader_exit
SAN_SHIM_OBJ  := $(SHIM_TESTABLE:%=$(BUILD)/san/shim/%.o)
SAN_ANALYZER_OBJ := $(ANALYZER_LIB_OBJ:$(BUILD)/%=$(BUILD)/san/%)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
TSAN_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/tsan_*.c))

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(SAN_ANALYZER_OBJ) $(SAN_SHIM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(TEST_LDFLAGS) -lcmocka $(ANALYZER_LIBS) -lunwind

# The crash test copies the files between the writer's steps, reached through these wraps.
$(BUILD)/tests/test_crash_recovery: TEST_LDFLAGS := $(patsubst %,-Wl$(comma)--wrap=%,\
    staging_commit ring_release tracefile_append tracefile_append_record)

$(BUILD)/tests/tsan_%: tests/unit/tsan_%.c shim/ring.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TSAN_FLAGS) $^ -o $@ -lcmocka

unit: $(UNIT_TESTS) $(TSAN_TESTS)
	@set -e; for t in $(UNIT_TESTS) $(TSAN_TESTS); do echo "== $$t"; $$t; done

integration: all
	python3 tests/integration/run.py

# Shared cases that wait for a feature not built yet, with the feature's name (none now).
CASES_PENDING :=
CASES_DIR := ../shared/cases/programs

cases: all
	@if [ -x ../shared/cases/run.py ]; then \
	    ../shared/cases/run.py . $(filter-out $(CASES_PENDING),$(basename $(notdir $(wildcard $(CASES_DIR)/*.expect)))); \
	else echo "cases: ../shared/cases not present, skipped"; fi

# Static checks: cppcheck, and the shim and analyzer built by clang with -Werror too.
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
	    -D_GNU_SOURCE -Ishim -Ianalyzer shim analyzer
	@mkdir -p $(BUILD)/clang
	@for f in $(SHIM_SRC) $(ANALYZER_SRC); do \
	    clang -std=c11 -D_GNU_SOURCE $(WARN) -O2 -fPIC -Ishim -c $$f -o $(BUILD)/clang/$$(basename $$f).o || exit 1; \
	done; echo "lint: cppcheck and clang -Werror clean"

# `make test` installs what is missing (as root) and runs every suite.
test: deps
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration
	$(MAKE) cases

deps:
	@tests/install-deps.sh

demo: deps
	$(MAKE) all
	examples/demo.sh

.SECONDARY: $(SAN_SHIM_OBJ) $(SAN_ANALYZER_OBJ)

-include $(SAN_SHIM_OBJ:.o=.d) $(SAN_ANALYZER_OBJ:.o=.d)

# Fuzzing the trace reader and replay with libFuzzer (clang). `make fuzz` runs for
# FUZZ_SECONDS; `make test` runs a short smoke run from a corpus seeded with real traces.
FUZZ_SECONDS ?= 120
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -O1 -g -Ishim -Ianalyzer -fsanitize=fuzzer,address,undefined
FUZZ_SRC := $(filter-out analyzer/main.c analyzer/cmd_%.c analyzer/report_%.c analyzer/check_%.c,$(ANALYZER_SRC))

$(BUILD)/fuzz/fuzz_trace: tests/fuzz/fuzz_trace.c $(FUZZ_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $^ -o $@ $(ANALYZER_LIBS)

$(BUILD)/fuzz/corpus/.seeded: $(BUILD)/libleakshim.so
	@mkdir -p $(dir $@)
	LEAKSHIM_OUTPUT=$(BUILD)/fuzz/corpus/seed.%p LD_PRELOAD=$(abspath $(BUILD)/libleakshim.so) ls -l / >/dev/null
	LEAKSHIM_OUTPUT=$(BUILD)/fuzz/corpus/seed.%p LD_PRELOAD=$(abspath $(BUILD)/libleakshim.so) sort /dev/null
	@touch $@

fuzz: $(BUILD)/fuzz/fuzz_trace $(BUILD)/fuzz/corpus/.seeded
	$(BUILD)/fuzz/fuzz_trace -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=512 -timeout=10 \
	    -max_len=65536 $(BUILD)/fuzz/corpus

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=15
