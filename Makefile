# Thin wrapper around CMake. Every target installs missing Debian packages first (as root), so each works
# on a fresh Debian 12 machine.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all deps build check unit asan system demo bench bench-vm sim clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: unit tests, the same under ASan+UBSan, then the system tests on real processes.
check: build asan
	cd $(BUILD) && ctest --output-on-failure -L unit
	cd $(ASAN_BUILD) && ctest --output-on-failure -L unit
	cd $(BUILD) && ctest --output-on-failure -L system
	cd $(BUILD) && ctest --output-on-failure -L vm

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target tandem_unit_tests tandemadm_unit_tests tandem_sim

system: build
	cd $(BUILD) && ctest --output-on-failure -L system

# Deterministic simulator: `make sim SEED=N` replays one seed verbosely, `make sim SEEDS=N` runs N seeds.
# SIM_FLAGS picks the scenario subset (see tests/sim/README.md); empty = every fault on.
SEEDS ?= 2000
SIM_FLAGS ?=
sim: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target tandem_sim
ifdef SEED
	$(BUILD)/tests/sim/tandem_sim --seed $(SEED) -v $(SIM_FLAGS)
else
	$(BUILD)/tests/sim/tandem_sim --seeds $(SEEDS) $(SIM_FLAGS)
endif

demo: build
	./tools/examples/demo.sh $(BUILD)
	./tools/examples/demo-ha.sh $(BUILD)

bench: build
	./tests/bench/bench.sh $(BUILD)

# tandem beside DRBD 8.4, md RAID1 and the bare device, across two QEMU guests (the test kernel: TANDEM_TEST_KERNEL
# or ../shared/vm/bzImage; SKIP without it). Not part of `check`. RUNTIME=S per fio job (default 15).
bench-vm: build
	./tests/bench/vm/bench-vm.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
