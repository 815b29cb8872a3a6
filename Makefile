# SPDX-License-Identifier: GPL-2.0
#
# make                      build dmp.ko against KDIR (default: the running kernel)
# make KDIR=... LLVM=-19    build against another Rust-enabled kernel tree
# make CLIPPY=1             build with clippy lints
# make test                 build the test kernel and run every test in a VM
# make demo                 the demo (same as ./run.sh)
# make bench                dmp vs dm-linear vs raw device benchmark in a VM
# make microbench           cost of the bio-path accounting on the host CPU
# make rustfmt-check        check formatting

KDIR ?= /lib/modules/$(shell uname -r)/build
RUSTFMT ?= rustfmt
RUST_SOURCES := $(wildcard *.rs dm/*.rs tests/host/src/*.rs tests/host/examples/*.rs tests/tools/*.rs)

all: modules

# A module the kernel would refuse never passes a build (one .modinfo section
# with name, license, version and the tree's vermagic).
modules: check-kernel
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@
	@$(CURDIR)/scripts/check-module.sh $(CURDIR)/dmp.ko $(KDIR)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

# One clear line, not a compiler dump, when KDIR or the toolchain cannot work.
check-kernel:
	@$(CURDIR)/scripts/check-kernel.sh $(KDIR)

# Host microbenchmark of the bio-path accounting (real silicon).
microbench:
	cd tests/host && cargo run --quiet --release --example accounting_bench

test:
	./scripts/test.sh

demo:
	./run.sh

bench:
	./scripts/bench.sh

rustfmt:
	$(RUSTFMT) --edition 2021 --config-path $(CURDIR)/.rustfmt.toml $(RUST_SOURCES)

rustfmt-check:
	$(RUSTFMT) --check --edition 2021 --config-path $(CURDIR)/.rustfmt.toml $(RUST_SOURCES)

.PHONY: all modules clean check-kernel microbench test demo bench rustfmt rustfmt-check
