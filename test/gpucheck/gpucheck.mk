# test/gpucheck/gpucheck.mk — builds the GPU checks without PostgreSQL (run from the repository root):
#   make -f test/gpucheck/gpucheck.mk gpucheck-bins
# Only kernels that need no third-party host libraries are built, so this works on a GPU machine that has
# nothing but a C compiler, the CUDA toolkit and PyTorch's cuDNN wheels.

all: gpucheck-bins

KERNEL_MODULES ?= common device cpu nn metrics train
KERNEL_LIB = build/libpgscreen_kernels_gpucheck.a
include kernels/kernels.mk
include kernels/cuda/cuda.mk

GPUCHECK_SRCS := $(wildcard test/gpucheck/check_*.c)
GPUCHECK_BINS := $(patsubst test/gpucheck/%.c,build/gpucheck/%,$(GPUCHECK_SRCS))

gpucheck-bins: $(CUDA_MODULE) $(GPUCHECK_BINS)

# The engine's benchmark tool, for test/bench/gpu/run.sh on a machine without PostgreSQL.
bench-bins: $(CUDA_MODULE) build/gpucheck/pgs_nn_bench

build/gpucheck/pgs_nn_bench: test/tools/pgs_nn_bench.c $(KERNEL_LIB)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CPPFLAGS) $(KERNEL_CFLAGS) -o $@ $< $(KERNEL_LIB) $(KERNEL_LIBS) -ldl -lm

build/gpucheck/%: test/gpucheck/%.c test/gpucheck/gpucheck.h $(KERNEL_LIB)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CPPFLAGS) $(KERNEL_CFLAGS) -o $@ $< $(KERNEL_LIB) $(KERNEL_LIBS) -ldl -lm

.PHONY: all gpucheck-bins bench-bins
