# kernels/nn: the network engine's CPU reference, with its own thread pool (cpu_parallel.c, pthreads).
# OpenBLAS is not linked but loaded at run time (gemm.c); .npz weights need libzip and the NPY code of
# kernels/image, and are left out (an "unsupported" error) when either is missing, as on a GPU machine
# building `make gpucheck`.
NN_NPZ := $(if $(filter image,$(KERNEL_MODULES)),$(shell pkg-config --exists libzip 2>/dev/null && echo yes))
ifeq ($(NN_NPZ),yes)
  KERNEL_CPPFLAGS += -DPGS_HAVE_NPZ $(shell pkg-config --cflags libzip)
  KERNEL_LIBS += $(shell pkg-config --libs libzip)
endif
KERNEL_LIBS += -ldl -lpthread -lm
KERNEL_FOUND += nn: npz $(or $(NN_NPZ),no);
# The element-wise loops of the CPU ops (ReLU, batch norm, pooling, im2col) must vectorise; GCC does so at -O3.
build/kernels/nn/%.o: KERNEL_OPT = -O3
