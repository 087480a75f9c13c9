# kernels/metrics: ROC analysis; needs only libm (and gcc's unsigned __int128 for exact sums).
KERNEL_LIBS += -lm
