# kernels/cpu: the CPU backend of the ops table, with its own thread pool (cpu_parallel.c, pthreads).
# OpenBLAS is not linked but loaded at run time (gemm.c).
KERNEL_LIBS += -ldl -lpthread -lm
# The element-wise loops of the CPU ops (ReLU, batch norm, pooling, im2col) must vectorise; GCC does so at -O3.
build/kernels/cpu/%.o: KERNEL_OPT = -O3
