# test/unit/unit.mk — C unit tests of kernels/ (no server) and the small tools used by oracles and benches.
UNIT_SRCS := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(patsubst test/unit/%.c,build/test/unit/%,$(UNIT_SRCS))
TOOL_SRCS := $(wildcard test/tools/*.c)
TOOL_BINS := $(patsubst test/tools/%.c,build/test/tools/%,$(TOOL_SRCS))
# Libraries the tests use directly to build their inputs (zlib for PNG CRCs, TurboJPEG to encode).
UNIT_LIBS = -lz -lturbojpeg -lm

unit-tests: $(UNIT_BINS) $(TOOL_BINS)

build/test/unit/%: test/unit/%.c test/unit/unit.h $(KERNEL_LIB)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CPPFLAGS) $(KERNEL_CFLAGS) -o $@ $< $(KERNEL_LIB) $(KERNEL_LIBS) $(UNIT_LIBS) -ldl

build/test/tools/%: test/tools/%.c test/tools/tool_io.h $(KERNEL_LIB)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CPPFLAGS) $(KERNEL_CFLAGS) -o $@ $< $(KERNEL_LIB) $(KERNEL_LIBS) $(UNIT_LIBS) -ldl

.PHONY: unit-tests
