# leakshim: `make` builds the preload library and the analyzer; `make test` runs every test;
# `make demo` traces the example server under load. See README.md.

CC      ?= gcc
BUILD   := build
WARN    := -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -MMD -MP

# The shim: position-independent, hidden by default, every symbol bound at load time. libgcc_s
# is listed before libunwind so that the global scope resolves the program's _Unwind_* to
# libgcc_s, never to libunwind's copies (see README, "Dependencies"). zstd is linked in
# statically with its symbols hidden: a program's own zstd is never bound to the shim's calls.
SHIM_SRC    := $(wildcard shim/*.c)
SHIM_OBJ    := $(SHIM_SRC:%.c=$(BUILD)/%.o)
SHIM_CFLAGS  = $(ALL_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
               -fno-omit-frame-pointer -fno-math-errno
SHIM_LDFLAGS = -shared -Wl,-z,now -Wl,-z,nodelete -Wl,--version-script=shim/exports.map \
               -Wl,--no-as-needed -lgcc_s -lunwind -ldl -lpthread \
               -Wl,-Bstatic -lzstd -Wl,-Bdynamic -Wl,--exclude-libs,libzstd.a

ANALYZER_SRC := $(wildcard analyzer/*.c)
ANALYZER_OBJ := $(ANALYZER_SRC:%.c=$(BUILD)/%.o)
ANALYZER_LIB_OBJ := $(filter-out $(BUILD)/analyzer/main.o,$(ANALYZER_OBJ))
ANALYZER_LIBS := -pthread -ldw -lelf -lz -lzstd -ljansson -lstdc++ -lm

EXAMPLES := $(BUILD)/examples/server $(BUILD)/examples/loadgen

.PHONY: all test demo clean deps bench fuzz fuzz-smoke unit integration cases lint install
all: $(BUILD)/libleakshim.so $(BUILD)/leakshim $(EXAMPLES)

$(BUILD)/shim/%.o: shim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -c $< -o $@

$(BUILD)/libleakshim.so: $(SHIM_OBJ) shim/exports.map Makefile
	$(CC) $(SHIM_OBJ) -o $@ $(SHIM_LDFLAGS)

$(BUILD)/analyzer/%.o: analyzer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ishim -c $< -o $@

# The HTML report's page is included into report_html.o by the assembler (.incbin), which
# the compiler's dependency lists do not show.
$(BUILD)/analyzer/report_html.o $(BUILD)/san/analyzer/report_html.o: analyzer/report_html.html

$(BUILD)/leakshim: $(ANALYZER_OBJ)
	$(CC) $(ANALYZER_OBJ) -o $@ $(ANALYZER_LIBS)

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread $< -o $@

include tests/tests.mk

# Speed against no tracing and heaptrack (bench/README.md); BENCH_ARGS=--quick for a short run.
bench: all
	python3 bench/run.py $(BENCH_ARGS)

-include $(SHIM_OBJ:.o=.d) $(ANALYZER_OBJ:.o=.d)

# `make install PREFIX=...`: the command in bin/, the library in lib/leakshim/, where
# `leakshim run` looks for it.
PREFIX ?= /usr/local
install: $(BUILD)/libleakshim.so $(BUILD)/leakshim
	install -D -m 755 $(BUILD)/leakshim $(DESTDIR)$(PREFIX)/bin/leakshim
	install -D -m 644 $(BUILD)/libleakshim.so $(DESTDIR)$(PREFIX)/lib/leakshim/libleakshim.so

clean:
	rm -rf $(BUILD)
