# kernels/dicomnet: DICOM networking over dcmtk's dcmnet, with TLS through dcmtls (Debian's dcmtk is built with
# OpenSSL). pkg-config dcmtk is broken on Debian 12, so the libraries are named directly. PGXS links with gcc,
# hence libstdc++ by name.
KERNEL_LIBS += -ldcmtls -ldcmnet -ldcmdata -loflog -lofstd -lssl -lcrypto -lstdc++
