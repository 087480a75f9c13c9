# pgscreen — PGXS build of the extension, its kernels library and the lazily loaded CUDA module,
# plus the README's commands (make check, make demo) and the separate fuzz, bench and gpucheck targets.

EXTENSION = pgscreen
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" pgscreen.control)

# These goals run scripts that install what they need first (a fresh machine may lack pg_config), so they
# must not include PGXS. The scripts call make again for the build itself.
SCRIPT_GOALS = check demo deps gpucheck fuzz bench

ifneq ($(filter $(SCRIPT_GOALS),$(MAKECMDGOALS)),)

check:
	@scripts/check.sh
demo:
	@scripts/demo.sh
deps:
	@scripts/deps.sh
gpucheck:
	@scripts/gpucheck.sh
fuzz:
	@scripts/fuzz.sh
bench:
	@scripts/bench.sh

.PHONY: $(SCRIPT_GOALS)

else

all:

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
  $(error pg_config not found: run "make deps" (or "make check"), or set PG_CONFIG)
endif

KERNEL_MODULES = common device cpu image dicom dicomnet metrics nn train
include kernels/kernels.mk
include kernels/cuda/cuda.mk
include test/unit/unit.mk
include test/fuzz/fuzz.mk

MODULE_big = pgscreen
EXTENSION_SRCS := $(wildcard extension/*.c extension/*/*.c)
OBJS = $(patsubst %.c,%.o,$(EXTENSION_SRCS)) $(KERNEL_LIB)
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Released install scripts and the upgrade path from each (never edited once released).
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
# -MMD: extension objects depend on the headers they include (Debian's PGXS has autodepend off), so a changed
# struct in a header rebuilds every file that uses it.
PG_CPPFLAGS = $(if $(BUILD_CUDA),-DPGSCREEN_BUILT_WITH_CUDA) -MMD -MP
SHLIB_LINK = $(KERNEL_LIBS) -ldl
EXTRA_CLEAN = build $(CUDA_MODULE) extension/*.d extension/*/*.d

# make installcheck: the pg_regress suite of test/sql (expected output in the top-level expected/) against an
# installed server, reached as psql would reach it (PGHOST, PGPORT, PGUSER: a superuser). That server must
# preload pgscreen, as test/regress.conf makes make check's servers do. PostgreSQL 15's pg_regress reads
# <inputdir>/sql and <outputdir>/expected, hence the two directories.
REGRESS = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=. --load-extension=$(EXTENSION)

# Debian's PGXS wants LLVM bitcode for every object when PostgreSQL was built with JIT; ours are plain.
override with_llvm = no

include $(PGXS)
-include $(patsubst %.c,%.d,$(EXTENSION_SRCS))

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

all: cuda-module
install: install-cuda-module
uninstall: uninstall-cuda-module

install-cuda-module: cuda-module
ifeq ($(BUILD_CUDA),yes)
	$(INSTALL_SHLIB) $(CUDA_MODULE) '$(DESTDIR)$(pkglibdir)/$(CUDA_MODULE)'
endif

uninstall-cuda-module:
	rm -f '$(DESTDIR)$(pkglibdir)/$(CUDA_MODULE)'

# What the build found, once per top-level make.
ifeq ($(MAKELEVEL),0)
  pc_version = $(shell pkg-config --modversion $(1) 2>/dev/null || echo no)
  DCMTK_VERSION := $(shell sed -n 's/^\#define PACKAGE_VERSION "\(.*\)"/\1/p' /usr/include/dcmtk/config/osconfig.h 2>/dev/null)
  $(info pgscreen $(EXTVERSION) for PostgreSQL $(VERSION): \
	nvcc $(or $(NVCC_VERSION),no), cuDNN $(or $(CUDNN_VERSION),no) => CUDA module $(or $(BUILD_CUDA),no)$(if $(filter 0,$(CUDA)), (CUDA=0)); \
	OpenBLAS $(call pc_version,openblas); dcmtk $(or $(DCMTK_VERSION),no); \
	libjpeg-turbo $(call pc_version,libturbojpeg); libpng $(call pc_version,libpng); \
	OpenJPEG $(call pc_version,libopenjp2); libzip $(call pc_version,libzip); $(KERNEL_FOUND))
endif

.PHONY: install-cuda-module uninstall-cuda-module

endif
