# SPDX-License-Identifier: GPL-2.0
#
# make                      build dmp.ko against KDIR (default: the running kernel)
# make KDIR=... LLVM=-19    build against another Rust-enabled kernel tree
# make CLIPPY=1             build with clippy lints
# make test                 build the test kernel and run every test in a VM
# make demo                 the demo (same as ./run.sh)
# make bench                dmp vs dm-linear vs raw device benchmark in a VM
# make rustfmt-check        check formatting

KDIR ?= /lib/modules/$(shell uname -r)/build
RUSTFMT ?= rustfmt
RUST_SOURCES := $(wildcard *.rs) $(wildcard tests/host/src/*.rs)

all: modules

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

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

.PHONY: all modules clean test demo bench rustfmt rustfmt-check
