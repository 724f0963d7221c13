# Thin wrapper over CMake: `make` builds build/nanobragg (with build/nanobragg-refine,
# the tools and the library), `make demo` simulates a default crystal, `make test`
# runs every test (unit, parity, CLI), `make asan` runs them again under
# AddressSanitizer/UBSan, `make bench` times the workloads,
# `make install [PREFIX=/usr/local] [DESTDIR=]` installs the programs, the tools,
# the library and its header, pkg-config and CMake package files.
# `make python` builds the Python package into $(BUILD)/python (use it with
# PYTHONPATH=$(BUILD)/python; it needs python3-dev and python3-numpy).
BUILD ?= build
ASAN_BUILD ?= build-asan
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local

.PHONY: all deps demo test asan bench install clean python

all: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$(abspath $(PREFIX))" $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Install what the build and tests need on a Debian machine, if missing.
deps:
	@sh scripts/install-deps.sh

demo: all
	@sh scripts/demo.sh $(BUILD)/nanobragg

python: all
	@ls $(BUILD)/python/nanobragg/_nanobragg*.so >/dev/null 2>&1 || { echo "the Python package was not built: it needs python3-dev and python3-numpy (see cmake's output)"; exit 1; }
	@echo "Python package in $(BUILD)/python: PYTHONPATH=$(BUILD)/python python3 -c 'import nanobragg'"

test: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# make bench [BENCH_ARGS="--ref /path/to/nanoBragg --runs 5"]; NB_REF_BIN works too.
# Then the derivatives' cost against the forward simulation (W1, W2; docs/derivatives.md).
bench: all
	@$(BUILD)/nanobragg-bench $(BENCH_ARGS) $(BUILD)/nanobragg
	@$(BUILD)/nanobragg-bench-deriv $(BENCH_DERIV_ARGS)
	@$(BUILD)/nanobragg-srcgen

# Into $(DESTDIR)$(PREFIX): bin/, include/, lib/ (lib/<multiarch>/ for
# PREFIX=/usr on Debian), lib/pkgconfig/nanobragg.pc, lib/cmake/nanobragg/.
install: all
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) bench-work bench-results.csv
