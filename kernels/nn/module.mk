# kernels/nn: the device-independent network engine (architectures, planning, model files, optimisers).
# .npz weights need libzip and the NPY code of kernels/image, and are left out (an "unsupported" error) when
# either is missing, as on a GPU machine building `make gpucheck`.
NN_NPZ := $(if $(filter image,$(KERNEL_MODULES)),$(shell pkg-config --exists libzip 2>/dev/null && echo yes))
ifeq ($(NN_NPZ),yes)
  KERNEL_CPPFLAGS += -DPGS_HAVE_NPZ $(shell pkg-config --cflags libzip)
  KERNEL_LIBS += $(shell pkg-config --libs libzip)
endif
KERNEL_LIBS += -lm
KERNEL_FOUND += nn: npz $(or $(NN_NPZ),no);
# Planning and the model loop are hot too (per-layer dispatch, weight updates).
build/kernels/nn/%.o: KERNEL_OPT = -O3
