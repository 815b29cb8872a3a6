# SPDX-License-Identifier: GPL-2.0
#
# make                      build dmp.ko against KDIR (default: the running kernel)
# make KDIR=... LLVM=-19    build against another Rust-enabled kernel tree
# make KDIR=... LIBRUST=... a headers tree without the kernel's Rust metadata,
#                           and that metadata (default, for Debian's headers:
#                           /usr/lib/dmp/linux-librust/RELEASE, the package
#                           dmp-linux-librust-RELEASE)
# make deb                  the Debian packages (scripts/deb.sh; out/deb/)
# make CLIPPY=1             build with clippy lints
# make test                 build the test kernel and run every test in a VM
# make demo                 the demo (same as ./run.sh)
# make bench                dmp vs dm-linear vs raw device benchmark in a VM
# make microbench           cost of the bio-path accounting on the host CPU
# make rustfmt-check        check formatting

KDIR ?= /lib/modules/$(shell uname -r)/build
# A headers tree without the kernel's Rust metadata (Debian's) is completed
# with LIBRUST, a directory holding it (rust/*.rmeta, rust/*.so,
# rust/bindgen_parameters, scripts/target.json): by default the one the
# package dmp-linux-librust-RELEASE installs for KDIR's kernel release. Both
# are then assembled in .kdir/ (symbolic links only: nothing is written into
# either), the tree kbuild builds against.
LIBRUST_DIR ?= /usr/lib/dmp/linux-librust
KREL := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
ifeq ($(wildcard $(KDIR)/rust/libkernel.rmeta),)
LIBRUST ?= $(if $(KREL),$(wildcard $(LIBRUST_DIR)/$(KREL)))
endif
BUILD_KDIR := $(if $(LIBRUST),$(CURDIR)/.kdir,$(KDIR))
RUSTFMT ?= rustfmt
RUST_SOURCES := $(wildcard *.rs dm/*.rs tests/host/src/*.rs tests/host/examples/*.rs tests/tools/*.rs)

all: modules

# A module the kernel would refuse never passes a build (one .modinfo section
# with name, license, version and the tree's vermagic).
modules: check-kernel
	$(MAKE) -C $(BUILD_KDIR) M=$(CURDIR) $@
	@$(CURDIR)/scripts/check-module.sh $(CURDIR)/dmp.ko $(BUILD_KDIR)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@
	rm -rf $(CURDIR)/.kdir

# One clear line, not a compiler dump, when KDIR or the toolchain cannot work.
check-kernel: kdir
	@$(CURDIR)/scripts/check-kernel.sh $(BUILD_KDIR)

kdir:
	$(if $(LIBRUST),@$(CURDIR)/scripts/kdir-overlay.sh $(KDIR) $(LIBRUST) $(CURDIR)/.kdir >/dev/null)

# The Debian packages (dmp-dkms, dmp-tools, dmp-linux-librust-RELEASE), in
# out/deb/; DEB_ARGS are scripts/deb.sh's options.
deb:
	$(CURDIR)/scripts/deb.sh $(DEB_ARGS)

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

.PHONY: all modules clean check-kernel kdir deb microbench test demo bench rustfmt rustfmt-check
