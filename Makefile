# genbench - the only entry point: all, test, reproduce, bench, check, clean, deps.
#
#   make            build/libgenbench.a and build/genbench
#   make test       install missing Debian packages, build, run every test suite
#   make reproduce  install missing packages, run every pipeline at small scale, gate
#   make bench      kernel and training-step benchmarks against their peers
#   make DEBUG=1 / SANITIZE=address,undefined   debug or sanitised builds
#
# Optional parts are detected with $(shell ...) and reported in a banner; CUDA
# objects are built only when nvcc exists. The full flag set is written to
# build/flags, and every object depends on it, so changing a flag rebuilds all.

BUILD    ?= build
CC       ?= cc
PYTHON   ?= /usr/bin/python3
THREADS  ?= 2
SCALE    ?= small

# ---- detection -------------------------------------------------------------
have_hdr = $(shell printf '\#include <$(1)>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo yes || echo no)
NVCC        := $(shell command -v nvcc 2>/dev/null)
HAVE_NVCC   := $(if $(NVCC),yes,no)
HAVE_CUDNN  := $(shell test -n "$(NVCC)" && ls /usr/include/cudnn.h /usr/local/cuda/include/cudnn.h /usr/include/x86_64-linux-gnu/cudnn.h 2>/dev/null | head -n1 | grep -q . && echo yes || echo no)
HAVE_OPENBLAS := $(call have_hdr,cblas.h)
HAVE_CRITERION := $(call have_hdr,criterion/criterion.h)
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)

# ---- flags -----------------------------------------------------------------
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -I. $(OPENBLAS_CFLAGS)
ifeq ($(DEBUG),1)
  CFLAGS_OPT := -O0 -g3 -DGB_DEBUG=1
else
  CFLAGS_OPT := -O3 -g -fno-fast-math -ffp-contract=off -march=x86-64-v2
endif
ifneq ($(SANITIZE),)
  CFLAGS_SAN := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
  LDFLAGS_SAN := -fsanitize=$(SANITIZE)
endif
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_OPT) $(CFLAGS_SAN)
GB_VERSION := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
LDLIBS  := -llapacke -lopenblas -lfftw3f -lfftw3 -lmatio -ljpeg -lzip -lcsv -lcjson -lpng -lz -lm -lpthread
LDFLAGS := $(LDFLAGS_SAN)

CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
ifeq ($(HAVE_NVCC),yes)
  NVCCFLAGS := -std=c++17 -O2 -arch=sm_90 -I. -Xcompiler -Wall,-Werror --expt-relaxed-constexpr
  CFLAGS  += -DGB_HAVE_CUDA=1 -I$(CUDA_HOME)/include
  LDLIBS  += -L$(CUDA_HOME)/lib64 -lcudnn -lcusolver -lcufft -lcublas -lcudart -lstdc++
endif

# ---- sources ---------------------------------------------------------------
LIB_DIRS := core kernels kernels/cpu models pipelines datasets metrics gate
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CU_SRC   := $(if $(filter yes,$(HAVE_NVCC)),$(wildcard kernels/cuda/*.cu))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libgenbench.a
BIN      := $(BUILD)/genbench

.PHONY: all test reproduce bench check clean deps banner test-deps
all: banner $(BIN)

banner:
	@echo "genbench build: nvcc=$(HAVE_NVCC) cudnn=$(HAVE_CUDNN) openblas=$(HAVE_OPENBLAS) criterion=$(HAVE_CRITERION) debug=$(if $(DEBUG),$(DEBUG),0) sanitize=$(if $(SANITIZE),$(SANITIZE),none)"

# Rebuild everything when the flags change.
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS) $(NVCCFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(NVCCFLAGS) $(LDLIBS)' > $@
FORCE:

# Version and commit for manifests, regenerated only when they change (one object depends on it).
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define GB_VERSION_STRING "%s"\n#define GB_GIT_COMMIT "%s"\n#define GB_BUILD_FLAGS "%s"\n#define GB_SOURCE_DIR "%s"\n' \
	  '$(GB_VERSION)' '$(GIT_COMMIT)' '$(CFLAGS_OPT) $(CFLAGS_SAN)' '$(CURDIR)' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv $@.new $@
$(BUILD)/core/manifest.o: $(BUILD)/gen/version.h
$(BUILD)/core/manifest.o: CFLAGS += -I$(BUILD)/gen

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -c $< -o $@

# Elementwise CPU kernels vectorise floorf/selects only without trapping-math (no code reads FP flags).
$(BUILD)/kernels/cpu/%.o: CFLAGS += -fno-trapping-math

$(BUILD)/%.cu.o: %.cu $(BUILD)/flags
	@mkdir -p $(dir $@)
	@echo "  NVCC  $<"
	@$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	@echo "  AR    $@"
	@ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(BENCH_OBJ) $(LIB)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BENCH_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(BUILD)/flags
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcriterion

# ---- dependencies: install missing Debian packages (sudo when not root) ------
deps:
	@bash ci/install-deps.sh

# ---- test: fixtures from the peers, every Criterion suite, smoke runs, gate ---
FIXTURES := $(BUILD)/fixtures
test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@bash tests/run_all.sh $(BUILD)

reproduce: deps
	@$(MAKE) --no-print-directory all
	$(BIN) reproduce --scale $(SCALE) --threads $(THREADS)

bench: deps
	@$(MAKE) --no-print-directory all
	$(BIN) bench --threads $(THREADS)

check: all
	$(BIN) check results

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
