# mixphm: the only build entry.
#
#   make               build ./mixphm
#   make test          build and run every test (unit, MPI under -np 1/2/4, command line, fuzz corpus, lint)
#   make lint          the structural checks alone (tools/lint.py); make layers redraws docs/img/layers.svg
#   make demo          install missing Debian packages (as root), build, run the synthetic pipeline
#   make backbone      retrain the synthetic benchmark's released backbone (release/, docs/synthetic.md)
#   make bench         every benchmark (BENCH_TARGETS): SGEMM peak and VL-T5 step/decoding in C and
#                      PyTorch, the features stage, the redundancy statistics (results go to
#                      docs/benchmarks.md by hand, with the command)
#   make debug         ./mixphm with -g -O0 -fsanitize=address,undefined (objects in build/debug)
#   make DNNL=0        ./mixphm without oneDNN: fp32 only, model.precision bf16 refused (build/release-nodnnl)
#   make fuzz          fuzz the config loader with afl++ for FUZZ_SECONDS
#   make deps          install the Debian packages (as root), or print the list
#   make install PREFIX=/opt/mixphm
#
# On a cluster, point the build at the modules' libraries instead of pkg-config:
#   make MPICC=mpicc HDF5_DIR=$HDF5_ROOT SCALAPACK_LIBS="-lscalapack" OPENBLAS_DIR=$OPENBLAS_ROOT
# Every library has NAME_CFLAGS / NAME_LIBS (used as given) and NAME_DIR (include/ and lib/ under it).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := all
.SUFFIXES:

# ---- toolchain ------------------------------------------------------------------------------
ifneq ($(strip $(MPICC)),)
  CC := $(MPICC)
else ifeq ($(origin CC),default)
  CC := gcc
endif
# C++ only for the SentencePiece shim (data/*.cc); everything else is C11.
ifeq ($(origin CXX),default)
  CXX := g++
endif
CFLAGS ?= -O3 -g
LDFLAGS ?=
ARCH ?=
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local

# V=1 shows the full compiler command lines.
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

DEBUG ?= 0
DNNL ?= 1
ifeq ($(DEBUG),1)
  BUILD := build/debug
  OPT := -g -O0 -fsanitize=address,undefined -fno-omit-frame-pointer
else
  BUILD := build/release
  OPT := $(CFLAGS) $(ARCH)
endif
# OpenMP: the model's row-parallel loops in bf16 (model/vlt5_parallel.h); one thread in fp32.
OPT += -fopenmp
# A build without oneDNN keeps its objects apart (the sources test MIXPHM_DNNL).
ifeq ($(DNNL),0)
  BUILD := $(BUILD)-nodnnl
endif

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEFS := -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -I. -I$(BUILD)/gen

# ---- libraries: NAME_CFLAGS / NAME_LIBS given, else NAME_DIR, else pkg-config ----------------
# $(call find_lib,NAME,pkg-config module,library names for NAME_DIR)
define find_lib
ifeq ($$(origin $(1)_CFLAGS),undefined)
  ifneq ($$(strip $$($(1)_DIR)),)
    $(1)_CFLAGS := -I$$($(1)_DIR)/include
  else
    $(1)_CFLAGS := $$(shell $$(PKG_CONFIG) --cflags $(2) 2>/dev/null)
  endif
endif
ifeq ($$(origin $(1)_LIBS),undefined)
  ifneq ($$(strip $$($(1)_DIR)),)
    $(1)_LIBS := -L$$($(1)_DIR)/lib -Wl,-rpath,$$($(1)_DIR)/lib $(3)
  else
    $(1)_LIBS := $$(shell $$(PKG_CONFIG) --libs $(2) 2>/dev/null)
  endif
endif
endef

# With MPICC the wrapper supplies MPI itself.
ifneq ($(strip $(MPICC)),)
  MPI_CFLAGS ?=
  MPI_LIBS ?=
endif
$(eval $(call find_lib,MPI,ompi-c,-lmpi))
$(eval $(call find_lib,HDF5,hdf5-openmpi,-lhdf5))
$(eval $(call find_lib,SCALAPACK,scalapack-openmpi,-lscalapack-openmpi))
$(eval $(call find_lib,YAML,yaml-0.1,-lyaml))
$(eval $(call find_lib,OPENBLAS,openblas,-lopenblas))
$(eval $(call find_lib,JANSSON,jansson,-ljansson))
$(eval $(call find_lib,SENTENCEPIECE,sentencepiece,-lsentencepiece))

# oneDNN runs the frozen backbone in bf16 (model.precision: bf16).  Debian's libdnnl-dev ships no
# pkg-config file, so without DNNL_DIR / DNNL_CFLAGS / DNNL_LIBS it is the plain -ldnnl (with libgomp,
# whose thread count mixphm sets).  DNNL=0 builds without it: fp32 only, bf16 is refused by name.
ifeq ($(DNNL),1)
  ifeq ($(origin DNNL_CFLAGS),undefined)
    ifneq ($(strip $(DNNL_DIR)),)
      DNNL_CFLAGS := -I$(DNNL_DIR)/include
    else
      DNNL_CFLAGS := $(shell $(PKG_CONFIG) --cflags dnnl 2>/dev/null)
    endif
  endif
  ifeq ($(origin DNNL_LIBS),undefined)
    ifneq ($(strip $(DNNL_DIR)),)
      DNNL_LIBS := -L$(DNNL_DIR)/lib -Wl,-rpath,$(DNNL_DIR)/lib -ldnnl -lgomp
    else
      DNNL_LIBS := $(or $(shell $(PKG_CONFIG) --libs dnnl 2>/dev/null),-ldnnl -lgomp)
    endif
  endif
  DNNL_CFLAGS += -DMIXPHM_DNNL=1
else
  DNNL_CFLAGS := -DMIXPHM_DNNL=0
  DNNL_LIBS :=
endif

LIB_CFLAGS := $(MPI_CFLAGS) $(HDF5_CFLAGS) $(YAML_CFLAGS) $(OPENBLAS_CFLAGS) $(JANSSON_CFLAGS) $(DNNL_CFLAGS)
LIBS := $(SCALAPACK_LIBS) $(HDF5_LIBS) $(YAML_LIBS) $(JANSSON_LIBS) $(OPENBLAS_LIBS) $(MPI_LIBS) \
  $(SENTENCEPIECE_LIBS) $(DNNL_LIBS) -lstdc++ -lm

# The Debian packages everything above comes from (make deps installs them).
DEB_PACKAGES := gcc make pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools \
  libscalapack-openmpi-dev libopenblas-dev libyaml-dev libjansson-dev libsentencepiece-dev libdnnl-dev \
  python3-h5py gnuplot-nox afl++ slurmctld slurmd slurm-client munge texlive-latex-base texlive-latex-recommended

# ---- sources --------------------------------------------------------------------------------
SRC_DIRS := base nn mpi model model/peft data run train stages pipeline
LIB_SRCS := $(filter-out pipeline/main.c,$(wildcard $(addsuffix /*.c,$(SRC_DIRS))))
GEN_SRCS := $(BUILD)/gen/defaults_yaml.c
# The one C++ file: the extern "C" shim over libsentencepiece's C++ API.
LIB_CXX_SRCS := $(wildcard data/*.cc)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_CXX_SRCS:%.cc=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/defaults_yaml.o \
  $(BUILD)/obj/gen/job_slurm.o $(BUILD)/obj/gen/job_pbs.o
MAIN_OBJ := $(BUILD)/obj/pipeline/main.o
LIBMIXPHM := $(BUILD)/libmixphm.a

TEST_HARNESS := $(BUILD)/obj/tests/harness.o
UNIT_SRCS := $(wildcard tests/unit/*.c)
MPI_TEST_SRCS := $(wildcard tests/mpi/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
MPI_TEST_BINS := $(MPI_TEST_SRCS:tests/mpi/%.c=$(BUILD)/tests/mpi/%)
PROBE_BINS := $(patsubst tests/probes/%.c,$(BUILD)/tests/probes/%,$(wildcard tests/probes/*.c))
FUZZ_REPLAY := $(BUILD)/tests/fuzz_replay

# ---- launch environment -----------------------------------------------------------------------
# OpenBLAS picks its kernels when it loads, from OPENBLAS_CORETYPE; Debian's 0.3.21 misdetects some
# CPUs.  Set it from the CPU flags unless the environment already has it (even empty).
ifeq ($(origin OPENBLAS_CORETYPE),undefined)
  OPENBLAS_CORETYPE := $(shell tools/openblas_coretype.sh)
endif
ifneq ($(strip $(OPENBLAS_CORETYPE)),)
  export OPENBLAS_CORETYPE
endif
# mpirun as root (containers, CI) and more ranks than cores (tests) need these.
MPIRUN_ENV := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN ?= mpirun

# ---- build ----------------------------------------------------------------------------------
.PHONY: all debug test lint layers demo backbone bench bench-features bench-analysis fuzz deps check-deps install clean show-env
all: check-deps mixphm

debug:
	$(MAKE) DEBUG=1 all

mixphm: $(MAIN_OBJ) $(LIBMIXPHM) build/flavour
	@echo "LD $@"
	$(Q)$(CC) $(OPT) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIBMIXPHM) $(LIBS)

# Which build ./mixphm came from: switching between `make` and `make debug` relinks it.
build/flavour: FORCE
	@mkdir -p $(dir $@); echo "$(BUILD) $(OPT)" | cmp -s - $@ || echo "$(BUILD) $(OPT)" > $@

$(LIBMIXPHM): $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

CXXWARN := -std=c++17 -Wall -Wextra -Werror -Wshadow
$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	@echo "CXX $<"
	$(Q)$(CXX) $(CXXWARN) $(OPT) $(DEFS) $(SENTENCEPIECE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) -c $< -o $@

# configs/defaults.yaml and the job templates are compiled in, so the binary needs no files to run.
$(BUILD)/gen/defaults_yaml.c: configs/defaults.yaml tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)tools/embed.sh mixphm_defaults_yaml $< > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/job_slurm.c: jobs/slurm/job.sbatch.in tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)tools/embed.sh mixphm_job_slurm $< > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/job_pbs.c: jobs/pbs/job.pbs.in tools/embed.sh
	@mkdir -p $(dir $@)
	$(Q)tools/embed.sh mixphm_job_pbs $< > $@.tmp && mv $@.tmp $@

# The version string, rewritten only when it changes.
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@v='#define MIXPHM_VERSION "'"$$(git describe --always --dirty 2>/dev/null || echo unknown)"'"'; \
	 echo "$$v" | cmp -s - $@ || echo "$$v" > $@
$(MAIN_OBJ): $(BUILD)/gen/version.h
$(MAIN_OBJ): DEFS += -include $(BUILD)/gen/version.h

FORCE:

check-deps:
	@missing=""; \
	for m in ompi-c:MPI hdf5-openmpi:HDF5 scalapack-openmpi:SCALAPACK yaml-0.1:YAML openblas:OPENBLAS jansson:JANSSON sentencepiece:SENTENCEPIECE; do \
	  pc=$${m%%:*}; var=$${m##*:}; \
	  case "$$var" in \
	    MPI) given="$(MPICC)$(MPI_DIR)$(filter-out undefined,$(origin MPI_LIBS))";; \
	    HDF5) given="$(HDF5_DIR)$(filter-out undefined,$(origin HDF5_LIBS))";; \
	    SCALAPACK) given="$(SCALAPACK_DIR)$(filter-out undefined,$(origin SCALAPACK_LIBS))";; \
	    YAML) given="$(YAML_DIR)$(filter-out undefined,$(origin YAML_LIBS))";; \
	    OPENBLAS) given="$(OPENBLAS_DIR)$(filter-out undefined,$(origin OPENBLAS_LIBS))";; \
	    JANSSON) given="$(JANSSON_DIR)$(filter-out undefined,$(origin JANSSON_LIBS))";; \
	    SENTENCEPIECE) given="$(SENTENCEPIECE_DIR)$(filter-out undefined,$(origin SENTENCEPIECE_LIBS))";; \
	  esac; \
	  [ -n "$$given" ] || $(PKG_CONFIG) --exists $$pc || missing="$$missing $$pc"; \
	done; \
	if [ "$(DNNL)" = 1 ] && [ -z "$(DNNL_DIR)$(filter-out undefined,$(origin DNNL_LIBS))" ] && \
	   ! echo '#include <oneapi/dnnl/dnnl.h>' | $(CC) $(DNNL_CFLAGS) -E -x c - >/dev/null 2>&1; then \
	  echo "mixphm: oneDNN (oneapi/dnnl/dnnl.h) not found: it runs model.precision bf16"; \
	  echo "  on Debian/Ubuntu run: sudo make deps (libdnnl-dev); or build fp32-only with: make DNNL=0"; \
	  exit 1; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "mixphm: pkg-config cannot find:$$missing"; \
	  echo "  on Debian/Ubuntu run: sudo make deps"; \
	  echo "  on a cluster: module load the libraries and pass MPICC=..., HDF5_DIR=... (see README.md)"; \
	  exit 1; \
	fi

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "mixphm: all Debian packages are installed"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "mixphm: missing Debian packages (run this as root to install them):"; \
	  echo "  apt-get install -y --no-install-recommends" $$missing; exit 1; \
	fi; \
	echo "mixphm: installing:" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

# ---- tests ----------------------------------------------------------------------------------
$(TEST_HARNESS): tests/harness.c tests/harness.h
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(TEST_HARNESS) $(LIBMIXPHM)
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) $(LIB_CFLAGS) -MMD -MP -o $@ $< $(TEST_HARNESS) $(LIBMIXPHM) $(LIBS)

$(BUILD)/tests/mpi/%: tests/mpi/%.c $(TEST_HARNESS) $(LIBMIXPHM)
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) $(LIB_CFLAGS) -MMD -MP -o $@ $< $(TEST_HARNESS) $(LIBMIXPHM) $(LIBS)

$(BUILD)/tests/probes/%: tests/probes/%.c $(LIBMIXPHM)
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) $(LIB_CFLAGS) -o $@ $< $(LIBMIXPHM) $(LIBS)

# The config loader built alone with AddressSanitizer and UBSan, to replay the fuzz corpus.
FUZZ_LIB_SRCS := $(filter-out base/h5io.c base/json_file.c,$(wildcard base/*.c)) run/config_load.c run/config_emit.c run/config_schema.c model/peft/methods.c
FUZZ_SAN := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(FUZZ_REPLAY): tests/fuzz/fuzz_config.c $(FUZZ_LIB_SRCS) $(GEN_SRCS)
	@mkdir -p $(dir $@)
	@echo "CC $@ (AddressSanitizer, UBSan)"
	$(Q)$(CC) $(WARN) $(FUZZ_SAN) $(DEFS) $(YAML_CFLAGS) -o $@ $^ $(YAML_LIBS)

TEST_BINS := mixphm $(UNIT_BINS) $(MPI_TEST_BINS) $(PROBE_BINS) $(FUZZ_REPLAY) $(BUILD)/bench/bench_vlt5 \
             $(BUILD)/bench/bench_parallel
test: check-deps $(TEST_BINS)
	env $(MPIRUN_ENV) MPIRUN=$(MPIRUN) BUILD=$(BUILD) tests/run.sh

# The structural checks (layer order of includes, no circles between folders, no references outside the
# repository, file length, the layer diagram up to date); tests/run.sh runs them too.
lint:
	tools/lint.py

# Redraws the layer diagram of docs/architecture.md from the include graph (graphviz's dot).
layers:
	@command -v dot >/dev/null || { echo "mixphm: make layers draws with graphviz's dot, not installed: apt-get install graphviz"; exit 1; }
	tools/lint.py --dot > docs/img/layers.dot
	dot -Tsvg docs/img/layers.dot -o docs/img/layers.svg

FUZZ_SECONDS ?= 60
AFL_CC ?= afl-cc
fuzz: $(GEN_SRCS)
	@mkdir -p build/fuzz
	AFL_QUIET=1 $(AFL_CC) $(WARN) -O2 -g $(DEFS) $(YAML_CFLAGS) -o build/fuzz/fuzz_config \
	  tests/fuzz/fuzz_config.c $(FUZZ_LIB_SRCS) $(GEN_SRCS) $(YAML_LIBS)
	AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
	  afl-fuzz -i tests/fuzz/corpus -o build/fuzz/findings -V $(FUZZ_SECONDS) -- build/fuzz/fuzz_config @@
	@tests/fuzz/report.sh build/fuzz/findings

# ---- running --------------------------------------------------------------------------------
DEMO_NP ?= 2
demo: deps
	$(MAKE) -j$$(nproc) all
	env $(MPIRUN_ENV) $(MPIRUN) -np $(DEMO_NP) ./mixphm run configs/demo.yaml
	@echo; cat runs/demo/report/results.md

# The synthetic benchmark's released backbone (docs/synthetic.md): retrains it from its config (one
# rank, about 27 minutes) and installs the weights, the loss curve and the hash in release/.
backbone: all
	env $(MPIRUN_ENV) $(MPIRUN) -np 1 ./mixphm pretrain release/synthetic-backbone.yaml
	cp runs/synthetic-backbone/runs/pretrain/backbone.h5 release/synthetic-backbone.h5.tmp
	mv release/synthetic-backbone.h5.tmp release/synthetic-backbone.h5
	cp runs/synthetic-backbone/runs/pretrain/pretrain.json release/synthetic-backbone.json
	cd release && sha256sum synthetic-backbone.h5 > synthetic-backbone.sha256
	python3 tools/plot_pretrain_curve.py release/synthetic-backbone.json docs/img/synthetic-backbone-loss.svg

# What the run targets put in the environment (tests check that a set value is kept).
show-env:
	@echo "OPENBLAS_CORETYPE=$(OPENBLAS_CORETYPE)"
	@echo "MPIRUN=$(MPIRUN_ENV) $(MPIRUN)"

# Each benchmark is a target of its own, listed in BENCH_TARGETS; figures go to docs/benchmarks.md.
BENCH_TARGETS := bench-vlt5 bench-features bench-analysis bench-parallel
bench: all $(BENCH_TARGETS)

BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: bench/%.c $(LIBMIXPHM)
	@mkdir -p $(dir $@)
	@echo "CC $<"
	$(Q)$(CC) $(WARN) $(OPT) $(DEFS) $(LIB_CFLAGS) -MMD -MP -o $@ $< $(LIBMIXPHM) $(LIBS)

# SGEMM peak, VL-T5 training step and greedy decoding in C and PyTorch (docs/benchmarks.md, "VL-T5").
# BENCH_SIZE, BENCH_ARGS ("batch text answer repeats"), BENCH_THREADS, BENCH_ROUNDS: see bench/run.sh.
bench-vlt5: all $(BUILD)/bench/sgemm_peak $(BUILD)/bench/bench_vlt5
	BUILD=$(BUILD) bench/run.sh

# Redundancy statistics on ScaLAPACK (docs/benchmarks.md, "Redundancy statistics (ScaLAPACK)").
#   make bench-analysis BENCH_N="4000 8000 16000" BENCH_NP="1 2 4" BENCH_D=768 BENCH_BLOCK=64
bench-analysis: check-deps $(BUILD)/bench/redundancy_bench
	env $(MPIRUN_ENV) OPENBLAS_NUM_THREADS=1 MPIRUN=$(MPIRUN) bench/redundancy_bench.sh $(BUILD)/bench/redundancy_bench

# Data-parallel training step (with the allreduce's share) and decoding on 1 and 2 ranks
# (docs/benchmarks.md, "## Data-parallel training and evaluation").
#   make bench-parallel BENCH_SIZE=t5-base BENCH_METHODS="mixphm lora" BENCH_NPS="1 2" BENCH_ARGS="16 20 10 3"
bench-parallel: check-deps $(BUILD)/bench/bench_parallel
	env $(MPIRUN_ENV) MPIRUN=$(MPIRUN) bench/parallel.sh $(BUILD)/bench/bench_parallel

# The features stage: images/s and write bandwidth next to dd (docs/benchmarks.md, "## Features stage").
bench-features: all
	env $(MPIRUN_ENV) MPIRUN=$(MPIRUN) bench/features.sh

# ---- install --------------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mixphm/configs $(DESTDIR)$(PREFIX)/share/mixphm/jobs
	install -m 755 mixphm $(DESTDIR)$(PREFIX)/bin/mixphm
	install -m 644 configs/*.yaml $(DESTDIR)$(PREFIX)/share/mixphm/configs/
	install -d $(DESTDIR)$(PREFIX)/share/mixphm/release
	install -m 644 release/synthetic-backbone.* release/synthetic-backbone-captions.* $(DESTDIR)$(PREFIX)/share/mixphm/release/
	cp -R jobs/. $(DESTDIR)$(PREFIX)/share/mixphm/jobs/
	install -m 755 tools/openblas_coretype.sh $(DESTDIR)$(PREFIX)/share/mixphm/

clean:
	rm -rf build mixphm

-include $(shell find build -name '*.d' 2>/dev/null)
