# Tests (included by the top-level Makefile).
#
#   tests/unit/test_NAME.c   cmocka unit tests, built with ASan and UBSan, linked with the
#                            analyzer's objects and the shim's non-interposing parts
#   tests/unit/tsan_NAME.c   cmocka tests of concurrent code, built with TSan and shim/ring.c
#   tests/integration/       programs run under the shim with exact expected leaks (Python)
#   ../shared/cases          the shared leak cases, when present beside the checkout

SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
TEST_CFLAGS = $(ALL_CFLAGS) -Ishim -Ianalyzer -pthread

# The shim's parts that do not interpose anything, for unit tests of the writer and ring.
SHIM_TESTABLE := guard log modules options ring tracefile writer
SAN_SHIM_OBJ  := $(SHIM_TESTABLE:%=$(BUILD)/san/shim/%.o)
SAN_ANALYZER_OBJ := $(ANALYZER_LIB_OBJ:$(BUILD)/%=$(BUILD)/san/%)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
TSAN_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/tsan_*.c))

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(SAN_ANALYZER_OBJ) $(SAN_SHIM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) $^ -o $@ -lcmocka $(ANALYZER_LIBS) -lunwind

$(BUILD)/tests/tsan_%: tests/unit/tsan_%.c shim/ring.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TSAN_FLAGS) $^ -o $@ -lcmocka

unit: $(UNIT_TESTS) $(TSAN_TESTS)
	@set -e; for t in $(UNIT_TESTS) $(TSAN_TESTS); do echo "== $$t"; $$t; done

integration: all
	python3 tests/integration/run.py

cases: all
	@if [ -x ../shared/cases/run.py ]; then ../shared/cases/run.py .; \
	else echo "cases: ../shared/cases not present, skipped"; fi

# `make test` installs what is missing (as root) and runs every suite.
test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) cases

deps:
	@tests/install-deps.sh

demo: deps
	$(MAKE) all
	examples/demo.sh

-include $(SAN_SHIM_OBJ:.o=.d) $(SAN_ANALYZER_OBJ:.o=.d)
