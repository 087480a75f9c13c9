# kernels/kernels.mk — builds build/libpgscreen_kernels.a from kernels/<module>/ with no PostgreSQL.
# Included by the top-level Makefile; also usable alone from the repository root, e.g. on a GPU machine
# without PostgreSQL:  make -f kernels/kernels.mk KERNEL_MODULES="common device" kernels
#
# Each kernels/<module>/module.mk may add to KERNEL_LIBS (link flags), KERNEL_CPPFLAGS and KERNEL_FOUND
# (a line for the build summary). Objects go to build/ so PGXS's own %.o rule never sees them.

KERNEL_MODULES ?= common device image
KERNEL_CC ?= gcc
KERNEL_CXX ?= g++
KERNEL_OPT ?= -O2
KERNEL_CFLAGS ?= -std=gnu11 $(KERNEL_OPT) -g -fPIC -Wall -Wextra -Wno-unused-parameter -Wshadow \
	-Wmissing-prototypes -Werror=implicit-function-declaration
KERNEL_CXXFLAGS ?= -std=gnu++17 $(KERNEL_OPT) -g -fPIC -Wall -Wextra -Wno-unused-parameter
KERNEL_CPPFLAGS ?=
KERNEL_LIBS ?=
KERNEL_LIB ?= build/libpgscreen_kernels.a

KERNEL_C_SRCS := $(foreach m,$(KERNEL_MODULES),$(wildcard kernels/$(m)/*.c))
KERNEL_CXX_SRCS := $(foreach m,$(KERNEL_MODULES),$(wildcard kernels/$(m)/*.cpp))
KERNEL_OBJS := $(patsubst %.c,build/%.o,$(KERNEL_C_SRCS)) $(patsubst %.cpp,build/%.o,$(KERNEL_CXX_SRCS))

include $(wildcard $(foreach m,$(KERNEL_MODULES),kernels/$(m)/module.mk))

kernels: $(KERNEL_LIB)

$(KERNEL_LIB): $(KERNEL_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

build/kernels/%.o: kernels/%.c
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CPPFLAGS) $(KERNEL_CFLAGS) -MMD -MP -c -o $@ $<

build/kernels/%.o: kernels/%.cpp
	@mkdir -p $(dir $@)
	$(KERNEL_CXX) $(KERNEL_CPPFLAGS) $(KERNEL_CXXFLAGS) -MMD -MP -c -o $@ $<

-include $(KERNEL_OBJS:.o=.d)

.PHONY: kernels
