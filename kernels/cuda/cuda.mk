# kernels/cuda/cuda.mk — builds pgscreen_cuda.so, the CUDA module pgscreen.so loads with dlopen.
# CUDA=0 skips it; CUDA=auto (default) builds it when nvcc and cuDNN are found; CUDA=1 requires them.
# cuDNN is looked for in CUDA_HOME, then CUDNN_HOME, then in a pip wheel (nvidia-cudnn) of python3, which
# is where it lives on a GPU machine whose only cuDNN came with PyTorch.

CUDA ?= auto
CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(CUDA_HOME)/bin/nvcc
CUDA_MODULE = pgscreen_cuda.so

ifneq ($(CUDA),0)
  HAVE_NVCC := $(shell test -x $(NVCC) && echo yes)
  ifeq ($(CUDNN_HOME),)
    ifneq ($(wildcard $(CUDA_HOME)/include/cudnn.h),)
      CUDNN_HOME := $(CUDA_HOME)
    else
      CUDNN_HOME := $(shell python3 -c 'import nvidia.cudnn as m; print(m.__path__[0])' 2>/dev/null)
    endif
  endif
  CUDNN_LIBDIR := $(firstword $(wildcard $(CUDNN_HOME)/lib64/libcudnn.so* $(CUDNN_HOME)/lib/libcudnn.so*))
  CUDNN_LIBDIR := $(if $(CUDNN_LIBDIR),$(dir $(CUDNN_LIBDIR)))
  CUDNN_LIBFILE := $(firstword $(wildcard $(CUDNN_LIBDIR)libcudnn.so $(CUDNN_LIBDIR)libcudnn.so.9))
  CUDNN_VERSION := $(shell sed -n 's/^\#define CUDNN_\(MAJOR\|MINOR\|PATCHLEVEL\) *\([0-9]*\).*/\2/p' \
	$(CUDNN_HOME)/include/cudnn_version.h 2>/dev/null | paste -sd.)
  NVCC_VERSION := $(if $(HAVE_NVCC),$(shell $(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))
  ifeq ($(HAVE_NVCC)$(if $(CUDNN_LIBFILE),yes),yesyes)
    BUILD_CUDA := yes
  endif
endif
ifeq ($(CUDA),1)
  ifneq ($(BUILD_CUDA),yes)
    $(error CUDA=1 but nvcc ($(NVCC)) or cuDNN (CUDNN_HOME=$(CUDNN_HOME)) was not found)
  endif
endif

# SASS for A100 (sm_80) and H100/H200 (sm_90), plus PTX so newer GPUs can JIT-compile.
CUDA_ARCHS ?= 80 90
CUDA_GENCODE = $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) \
	-gencode arch=compute_$(lastword $(CUDA_ARCHS)),code=compute_$(lastword $(CUDA_ARCHS))
NVCCFLAGS ?= -std=c++17 -O3 -g -lineinfo
NVCC_HOST_FLAGS = -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Wno-unused-parameter
# NCCL is loaded at run time; besides the loader's path (CUDA_HOME/lib64 is the module's rpath), the module
# looks where a pip wheel (nvidia-nccl) of python3 keeps it.
ifneq ($(BUILD_CUDA),)
  NCCL_WHEEL_LIB := $(shell python3 -c 'import nvidia.nccl as m; print(m.__path__[0])' 2>/dev/null)
  NCCL_FALLBACK := $(firstword $(wildcard $(NCCL_WHEEL_LIB)/lib/libnccl.so.2))
endif
CUDA_CPPFLAGS = -I$(CUDNN_HOME)/include -DPGS_CUDA_ARCH_LIST='"$(foreach a,$(CUDA_ARCHS),sm_$(a))"' \
	$(if $(NCCL_FALLBACK),-DPGS_NCCL_LIBRARY_FALLBACK='"$(NCCL_FALLBACK)"')

CUDA_SRCS := $(wildcard kernels/cuda/*.cu)
# Host C files the module needs, compiled again with hidden visibility so they never clash with pgscreen.so.
CUDA_HOST_C_SRCS := kernels/common/status.c kernels/device/layer_shapes.c
CUDA_OBJS := $(patsubst %.cu,build/cuda/%.o,$(CUDA_SRCS)) $(patsubst %.c,build/cuda/%.o,$(CUDA_HOST_C_SRCS))
CUDA_LDLIBS = $(CUDNN_LIBFILE) -L$(CUDA_HOME)/lib64 -lcublas \
	-Xlinker -rpath=$(CUDA_HOME)/lib64 $(if $(CUDNN_LIBDIR),-Xlinker -rpath=$(CUDNN_LIBDIR)) \
	-Xlinker -Bsymbolic -Xlinker --no-undefined -ldl

$(CUDA_MODULE): $(CUDA_OBJS)
	$(NVCC) -shared -o $@ $^ $(CUDA_LDLIBS)

build/cuda/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) $(CUDA_GENCODE) $(CUDA_CPPFLAGS) -Xcompiler $(NVCC_HOST_FLAGS) -MMD -MP -c -o $@ $<

build/cuda/%.o: %.c
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -fvisibility=hidden -MMD -MP -c -o $@ $<

-include $(CUDA_OBJS:.o=.d)

cuda-module: $(if $(BUILD_CUDA),$(CUDA_MODULE))

.PHONY: cuda-module
