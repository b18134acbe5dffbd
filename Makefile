# genbench - the only entry point: all, test, reproduce, bench, check, clean, deps.
#
#   make            build/libgenbench.a and build/genbench
#   make test       install missing Debian packages, build, run every test suite
#   make reproduce  install missing packages, run every pipeline at small scale, gate
#   make bench      kernel and training-step benchmarks against their peers
#   make DEBUG=1 / SANITIZE=address,undefined   debug or sanitised builds
#   make fuzz       every libFuzzer target in fuzz/ for FUZZ_SECONDS each (ASan + UBSan, clang)
#   make fuzz-smoke the same, 5 s per target (for CI)
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
  # With UBSan's null checks inlined, GCC 12 sees "null" and "uninitialised" branches that
  # cannot happen (snprintf on never-null paths in datasets/cs446.c and zsl_mat.c, a filled
  # malloc'd array in test_kernels_cuda_ops.c) and -Werror stops the sanitizer build; these
  # three warnings stay on in the normal build.
  CFLAGS_SAN := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -Wno-format-truncation -Wno-format-overflow \
                -Wno-maybe-uninitialized
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

# ---- fuzz: libFuzzer targets fuzz/<parser>_fuzz.c (clang, ASan + UBSan) ------
# The parsers' sources (core/, datasets/) are built into build-fuzz/ with coverage
# instrumentation; each target runs for FUZZ_SECONDS from its committed seed corpus
# fuzz/corpus/<parser>/ plus the working corpus build-fuzz/corpus/<parser>/ (new inputs go
# there; `make fuzz-merge` minimises them into the committed corpus). Crashes, hangs
# (-timeout) and sanitizer reports land in build-fuzz/artifacts/<parser>/ and fail the run.
# FUZZ_TARGETS=csv,tar restricts the run to some targets.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -I. -g -O1 -Wall -Wextra $(OPENBLAS_CFLAGS) $(FUZZ_SAN)
# core/manifest.c needs the generated version.h and parses nothing; from metrics/, the
# PyTorch weights reader, the image decoder (fid_protocol.c) and zip archives of images.
FUZZ_METRICS := torch_weights fid_protocol image_folder image_archive
FUZZ_LIB_SRC := $(filter-out core/manifest.c,$(wildcard core/*.c datasets/*.c)) \
                $(wildcard $(FUZZ_METRICS:%=metrics/%.c))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_ALL     := $(patsubst fuzz/%_fuzz.c,%,$(wildcard fuzz/*_fuzz.c))
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_BUILD)/%_fuzz)
comma        := ,
FUZZ_RUN     := $(if $(FUZZ_TARGETS),$(subst $(comma), ,$(FUZZ_TARGETS)),$(FUZZ_ALL))
# Largest input per format in bytes (4096 when not listed): room for a few records,
# members or tensors. fuzz_maxlen sets the shell variable m for target $$t.
FUZZ_MAXLEN  := cifar10=24576 jpeg=16384 png=8192 image_zip=8192 tar=8192 gbu=8192 zsl_text=8192 npz=8192 \
                torch_weights=8192
fuzz_maxlen  = m=4096; for kv in $(FUZZ_MAXLEN); do [ "$${kv%%=*}" = "$$t" ] && m=$${kv\#*=}; done
# libmatio sizes its buffers from the file's headers (terabytes for a corrupt one); in a
# normal build such a malloc fails or stays untouched virtual memory, and our code must cope
# with libmatio's failure. For the targets through libmatio, allocations over 1 GiB return
# NULL (ASan) instead of ending the run, which emulates the first case.
FUZZ_MATIO   := gbu zsl_text
fuzz_asan    = a=detect_leaks=1; case " $(FUZZ_MATIO) " in *" $$t "*) a=$$a:allocator_may_return_null=1:max_allocation_size_mb=1024;; esac

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-merge
fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libgenbench-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_BUILD)/%_fuzz: fuzz/%_fuzz.c fuzz/fuzz_util.h $(FUZZ_BUILD)/libgenbench-fuzz.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libgenbench-fuzz.a $(LDLIBS)

fuzz: fuzz-build
	@fail=""; for t in $(FUZZ_RUN); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	  echo "== fuzz $$t: $(FUZZ_SECONDS) s"; \
	  $(fuzz_maxlen); $(fuzz_asan); dict=""; if [ -f fuzz/$$t.dict ]; then dict="-dict=fuzz/$$t.dict"; fi; \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=$$a \
	  $(FUZZ_BUILD)/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$$m \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $$dict \
	    $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t >$(FUZZ_BUILD)/$$t.log 2>&1 \
	  || { fail="$$fail $$t"; echo "   FAILED: see $(FUZZ_BUILD)/$$t.log and $(FUZZ_BUILD)/artifacts/$$t/"; }; \
	  tail -n 12 $(FUZZ_BUILD)/$$t.log | grep -E '^(stat::|#[0-9]+.*DONE|Done)' ; \
	done; if [ -n "$$fail" ]; then echo "fuzz: crashes or hangs in:$$fail"; exit 1; fi

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# Minimise the working corpus into the committed one (only inputs adding coverage are kept).
fuzz-merge: fuzz-build
	@for t in $(FUZZ_RUN); do mkdir -p $(FUZZ_BUILD)/corpus/$$t; $(fuzz_maxlen); $(fuzz_asan); \
	  ASAN_OPTIONS=$$a $(FUZZ_BUILD)/$${t}_fuzz -merge=1 -max_len=$$m fuzz/corpus/$$t $(FUZZ_BUILD)/corpus/$$t \
	    >$(FUZZ_BUILD)/$$t.merge.log 2>&1 || exit 1; \
	  echo "  $$t: $$(ls fuzz/corpus/$$t | wc -l) files"; done

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
