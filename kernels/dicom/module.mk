# kernels/dicom: C++ over dcmtk 3.6.7 (pkg-config dcmtk is broken on Debian 12, so the libraries are named
# here), dcmtk's JPEG, JPEG-LS and RLE codecs, OpenJPEG for JPEG 2000 (dcmtk 3.6.7 has no J2K codec), zlib
# for deflated data sets. The de-identification table is generated from the shipped TSV at build time.
KERNEL_LIBS += -ldcmjpls -ldcmjpeg -lijg8 -lijg12 -lijg16 -ldcmimgle -ldcmdata -loflog -lofstd \
	$(shell pkg-config --libs libopenjp2 2>/dev/null || echo -lopenjp2) -lz -lstdc++
KERNEL_CPPFLAGS += $(shell pkg-config --cflags libopenjp2 2>/dev/null) -Ibuild/kernels/dicom

DICOM_TABLES = build/kernels/dicom/deid_tables.inc

build/kernels/dicom/deid_tables.inc: kernels/dicom/gen_deid_tables.awk kernels/dicom/data/table_e1_1_2023b.tsv \
		kernels/dicom/data/table_e3_10_1_2023b.tsv
	@mkdir -p $(dir $@)
	awk -f kernels/dicom/gen_deid_tables.awk kernels/dicom/data/table_e1_1_2023b.tsv \
		kernels/dicom/data/table_e3_10_1_2023b.tsv > $@.tmp && mv $@.tmp $@

build/kernels/dicom/deid_table.o: $(DICOM_TABLES)
build/fuzz/kernels/dicom/deid_table.o: $(DICOM_TABLES)
