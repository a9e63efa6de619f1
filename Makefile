# One Makefile for everything: build, test, demo, bench, install.
# Binaries land in build/bin/.
SHELL := /bin/bash
BIN   := build/bin
RID   := linux-x64
PREFIX ?= /usr/local
DOTNET_FLAGS := -c Release -r $(RID) --nologo -v quiet
# The commit `dune --version` reports ("unknown" outside a git checkout, "-dirty" with local changes).
DUNE_COMMIT := $(shell git rev-parse HEAD 2>/dev/null | tr -d '\n')$(shell git rev-parse HEAD >/dev/null 2>&1 && ! git diff --quiet HEAD -- 2>/dev/null && echo -dirty)
INTEROP_SOURCES := $(shell find interop/Dune.Interop \( -name bin -o -name obj \) -prune -o \( -name '*.cs' -o -name '*.csproj' \) -print)
CS_SOURCES := $(INTEROP_SOURCES) $(shell find oci/Dune.Oci oci/Dune.Cli -name '*.cs' -o -name '*.csproj') Directory.Build.props libdune/monitor-calls.txt
CRI_CLIENT_SOURCES := $(shell find e2e/CriClient \( -name bin -o -name obj \) -prune -o \( -name '*.cs' -o -name '*.csproj' -o -name '*.proto' \) -print) Directory.Build.props
SHIM_SOURCES := $(shell find shim/Dune.Shim shim/Dune.Shim.Ttrpc \( -name bin -o -name obj \) -prune -o \( -name '*.cs' -o -name '*.csproj' -o -name '*.proto' \) -print) $(INTEROP_SOURCES) Directory.Build.props

.PHONY: all build cri-client deps test test-unit test-native test-libdune test-vm test-vm-kvm test-kmod demo bench bench-vm bench-image install clean

all: build

build: $(BIN)/dune $(BIN)/dune-init $(BIN)/dune-run $(BIN)/containerd-shim-dune-v2

# NativeAOT CLI (net9.0): about 4 ms to start, it is invoked several times per container.
$(BIN)/dune: $(CS_SOURCES)
	@mkdir -p $(BIN)
	dotnet publish oci/Dune.Cli/Dune.Cli.csproj $(DOTNET_FLAGS) -p:DuneCommit=$(or $(DUNE_COMMIT),unknown) -o build/publish/dune
	cp build/publish/dune/dune $@.tmp && mv -f $@.tmp $@

# The containerd shim (runtime io.containerd.dune.v2), NativeAOT like dune: one start per task.
$(BIN)/containerd-shim-dune-v2: $(SHIM_SOURCES)
	@mkdir -p $(BIN)
	dotnet publish shim/Dune.Shim/Dune.Shim.csproj $(DOTNET_FLAGS) -o build/publish/shim
	cp build/publish/shim/containerd-shim-dune-v2 $@.tmp && mv -f $@.tmp $@

$(BIN)/dune-init: $(wildcard oci/native/*.c oci/native/*.h) libdune/src/self_image.c libdune/src/self_image.h oci/native/Makefile
	@mkdir -p $(BIN)
	$(MAKE) -C oci/native OUT=$(CURDIR)/$(BIN)

# Static: it runs inside container root filesystems that have no host libc.
$(BIN)/dune-run: $(wildcard libdune/src/*.c libdune/src/*.h libdune/include/*.h kmod/include/dune/*.h) libdune/Makefile
	@mkdir -p $(BIN)
	$(MAKE) -C libdune OUT=$(CURDIR)/$(BIN)

# The CRI test client (e2e/cri.bats): a plain .NET build run with the SDK's runtime.
CRI_CLIENT := build/e2e/cri-client/cri-client
cri-client: $(CRI_CLIENT)
$(CRI_CLIENT): $(CRI_CLIENT_SOURCES)
	dotnet build e2e/CriClient/Dune.E2e.CriClient.csproj -c Release --nologo -v quiet -o build/e2e/cri-client
	touch $@

# Installs the Debian packages the build, the demo and the tests need (idempotent).
deps:
	bash e2e/install-deps.sh

test: deps build $(CRI_CLIENT)
	bash e2e/run-tests.sh

test-unit:
	dotnet test oci/Dune.Oci.Tests/Dune.Oci.Tests.csproj --nologo
	dotnet test shim/Dune.Shim.Tests/Dune.Shim.Tests.csproj --nologo

test-native:
	$(MAKE) -C oci/native test

test-libdune:
	$(MAKE) --no-print-directory -C libdune test

# The QEMU test bed (e2e/README.md, "The VM test bed"): a pure cgroup v2 host with systemd,
# booted under software emulation; prints "N passed, N failed". VM_RUNTIME=runc validates it.
test-vm: deps build
	bash e2e/vm/run.sh

# libdune's suite under KVM (kvm_amd) in the same test bed: the subset make test runs
# (e2e/vm/kvm.sh; `bash e2e/vm/kvm.sh --all` for the whole suite).
test-vm-kvm: deps build
	bash e2e/vm/kvm.sh

# The Dune kernel module's VM boot alone (e2e/vm/kmod.sh; make test runs it as the suite vm-kmod).
test-kmod: deps build
	bash e2e/vm/kmod.sh

demo: deps build
	bash e2e/demo.sh

# Then the VM part (e2e/bench/vm.sh: the Dune module vs KVM vs native in QEMU's emulated SVM, two
# boots); BENCH_VM=0 leaves it out, `make bench-vm` runs only it.
bench: deps build
	bash e2e/bench/run.sh
	[[ "$${BENCH_VM:-1}" == 0 ]] || bash e2e/bench/vm.sh

bench-vm: build
	bash e2e/bench/vm.sh

# The Debian image of the in-container benchmarks (PostgreSQL, Redis, nginx, gcc, wrk), built
# once into build/e2e/bench-debian/; `make bench` builds it when missing.
bench-image: deps
	bash e2e/bench/image.sh

install: build
	install -m 0755 $(BIN)/* $(PREFIX)/bin/

clean:
	rm -rf build oci/*/bin oci/*/obj shim/*/bin shim/*/obj e2e/CriClient/bin e2e/CriClient/obj
	$(MAKE) -C oci/native clean
	$(MAKE) -C libdune clean
