# test/fuzz/fuzz.mk — libFuzzer targets over the parsers in kernels/, built with clang, ASan and UBSan.
# Included by the top-level Makefile; scripts/fuzz.sh builds `fuzz-targets` and runs each for a bounded time.
FUZZ_CC ?= clang
FUZZ_CXX ?= clang++
FUZZ_SANITIZERS = address,undefined
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZERS) \
	-fno-sanitize-recover=undefined

FUZZ_KERNEL_OBJS := $(patsubst %.c,build/fuzz/%.o,$(KERNEL_C_SRCS)) $(patsubst %.cpp,build/fuzz/%.o,$(KERNEL_CXX_SRCS))
FUZZ_SRCS := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst test/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))

fuzz-targets: $(FUZZ_BINS)

build/fuzz/kernels/%.o: kernels/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(KERNEL_CPPFLAGS) -std=gnu11 $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

build/fuzz/kernels/%.o: kernels/%.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(KERNEL_CPPFLAGS) -std=gnu++17 $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

build/fuzz/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_KERNEL_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -x c -std=gnu11 $(FUZZ_FLAGS) -c -o $@.o $<
	$(FUZZ_CXX) -fsanitize=fuzzer,$(FUZZ_SANITIZERS) -o $@ $@.o $(FUZZ_KERNEL_OBJS) $(KERNEL_LIBS) -ldl

# Headers are dependencies too: an object built against an older struct layout must not be linked.
-include $(FUZZ_KERNEL_OBJS:.o=.d)

.PHONY: fuzz-targets
