# kernels/image: libjpeg-turbo (TurboJPEG API) and libpng are required.
KERNEL_LIBS += -lturbojpeg -lpng -lm
