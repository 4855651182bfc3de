# SPDX-License-Identifier: GPL-2.0
#
# kcontigd: every entry point. `make help` lists them.
#
# The kernel is Debian's linux-source-6.12, unpacked into build/src, with
# patches/series applied and the new files of this repository symlinked in.
# Objects go to build/obj-check (debug config, for tests) and
# build/obj-bench (no debug options, for demo and benchmarks).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

TOP := $(abspath .)
BUILD := $(TOP)/build
SRC := $(BUILD)/src
KSRC_TARBALL := /usr/src/linux-source-6.12.tar.xz
JOBS ?= $(shell nproc)
export CCACHE_DIR ?= $(BUILD)/ccache
KMAKE = $(MAKE) -C $(SRC) O=$(1) CC="ccache gcc" HOSTCC="ccache gcc" -j$(JOBS)

# New kernel files of this repository, symlinked into the tree.
KERNEL_NEW_FILES = $(shell find mm include -type f 2>/dev/null | sort)
SELFTEST_DIR := tools/testing/selftests/mem_defrag
SELFTEST_OUT := $(BUILD)/selftests
VM := tools/testing/vm/run-vm.sh
VM_TIMEOUT ?= 600

PACKAGES := linux-source-6.12 qemu-system-x86 flex bison bc libelf-dev \
	libssl-dev ccache stress-ng bpftrace linux-perf numactl libpng-dev \
	dwarves cpio kmod rsync python3 gcc make perl sparse \
	e2fsprogs xfsprogs btrfs-progs libnuma-dev libcap-dev trinity \
	linux-config-6.12 debhelper dpkg-dev initramfs-tools busybox zstd
SETUP_STAMP := $(BUILD)/.setup-done

.PHONY: contigctl contigctl-test help setup kernel kernel-check kernel-bench kernel-upstream mm-selftests check-upstream config-check config-bench tree selftests vm check \
	demo bench measure-holds test-runner checkpatch sparse clean distclean \
	config-kcsan kernel-kcsan check-kcsan torture config-debug kernel-debug check-debug patches check-series lint \
	deb deb-smoke

help:
	@echo 'kcontigd: make populated user memory physically contiguous on demand'
	@echo
	@echo '  make demo          show MADV_CONTIG at work in the test VM'
	@echo '  make bench         benchmarks in the bench kernel -> bench/results/ (ONLY="busy_owner pagecache": some)'
	@echo '  make check         build, boot the debug kernel, run KUnit + kselftests'
	@echo '  make check-upstream  the 6.12 mm selftests: unpatched, kcontigd off, kcontigd on'
	@echo '                     (UPSTREAM_ROUNDS=N repeats them)'
	@echo '  make measure-holds the longest mmap_lock and contig_anchor_lock holds'
	@echo '  make check-kcsan   kcontigd selftests under KCSAN (build/obj-kcsan)'
	@echo '  make check-debug   make check in a KASAN + kmemleak + DEBUG_PAGEALLOC +'
	@echo '                     PAGE_OWNER + PAGE_TABLE_CHECK kernel (build/obj-debug)'
	@echo '  make torture       the torture test alone, DURATION=seconds (1800)'
	@echo '                     with TORTURE_PROCS=N processes (4)'
	@echo
	@echo '  make setup         install the Debian packages the project needs'
	@echo '  make kernel        build the check kernel (build/obj-check)'
	@echo '  make kernel-bench  build the bench kernel (build/obj-bench)'
	@echo '  make selftests     build the kselftests into build/selftests'
	@echo '  make contigctl     build contigctl into build/contigctl'
	@echo "  make contigctl-test  run contigctl's host-side unit tests"
	@echo "  make vm CMD='...'  boot the check kernel and run CMD in it"
	@echo '                     (KERNEL=bench for the bench kernel)'
	@echo '  make test-runner   check that the VM runner catches a WARNING'
	@echo '  make checkpatch    scripts/checkpatch.pl --strict on the new files'
	@echo '  make patches       the posted series (git format-patch) in build/patches'
	@echo '  make check-series  build every prefix of that series (slow)'
	@echo "  make deb           Debian packages: the kernel from Debian's FLAVOUR config"
	@echo '                     (cloud-amd64; amd64 for bare metal) + contigctl, in build/deb'
	@echo '  make deb-smoke     boot the packaged kernel from its own initramfs, smoke test'
	@echo '  make sparse        build the check kernel with C=1 (sparse)'
	@echo '  make lint          kernel-doc, sparse and W=1 on the new kernel files'
	@echo '  make clean         remove build/ objects (keeps ccache and sources)'

# ---------------------------------------------------------------- setup
$(SETUP_STAMP):
	@if [ "$$(id -u)" != 0 ]; then echo 'make setup: needs root (apt-get)' >&2; exit 1; fi
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "setup: installing $$missing"; \
		apt-get update -q >/dev/null; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi
	@mkdir -p $(BUILD) && touch $@

setup:
	@rm -f $(SETUP_STAMP)
	@$(MAKE) --no-print-directory $(SETUP_STAMP)

# ---------------------------------------------------------------- kernel tree
# Re-unpack only when patches/ changes; the symlinks are refreshed each time.
PATCH_HASH = $(shell cat patches/series $(addprefix patches/,$(shell cat patches/series)) | sha1sum | cut -c1-16)
TREE_STAMP = $(SRC)/.kcontigd-patches-$(PATCH_HASH)

$(TREE_STAMP): | $(SETUP_STAMP)
	@echo "tree: unpacking $(KSRC_TARBALL)"
	@rm -rf $(SRC) $(BUILD)/linux-source-6.12
	@tar -xf $(KSRC_TARBALL) -C $(BUILD)
	@mv $(BUILD)/linux-source-6.12 $(SRC)
	@for p in $$(cat patches/series); do \
		patch -d $(SRC) -p1 --forward --quiet < patches/$$p || \
			{ echo "tree: patch $$p does not apply" >&2; exit 1; }; \
	done
	@touch $@

tree: $(TREE_STAMP)
	@for f in $(KERNEL_NEW_FILES); do \
		mkdir -p $(SRC)/$$(dirname $$f); \
		ln -sfn $(TOP)/$$f $(SRC)/$$f; \
	done
	@mkdir -p $(SRC)/$(SELFTEST_DIR)
	@for f in $(SELFTEST_DIR)/*; do ln -sfn $(TOP)/$$f $(SRC)/$$f; done
	@echo "tree: Linux $$($(MAKE) -s -C $(SRC) kernelversion) + $$(wc -l < patches/series) patches"

define kernel_config
	@mkdir -p $(1)/merge
	@cd $(SRC) && scripts/kconfig/merge_config.sh -m -O $(1)/merge \
		arch/x86/configs/x86_64_defconfig $(addprefix $(TOP)/configs/,$(2)) >/dev/null
	@if ! cmp -s $(1)/merge/.config $(1)/.config.frag || [ ! -f $(1)/.config ]; then \
		cp $(1)/merge/.config $(1)/.config.frag; \
		cp $(1)/merge/.config $(1)/.config; \
		$(call KMAKE,$(1)) olddefconfig >/dev/null; \
	fi
endef

config-check: tree
	$(call kernel_config,$(BUILD)/obj-check,vm.config debug.config)

config-bench: tree
	$(call kernel_config,$(BUILD)/obj-bench,vm.config)

config-kcsan: tree
	$(call kernel_config,$(BUILD)/obj-kcsan,vm.config kcsan.config)

config-debug: tree
	$(call kernel_config,$(BUILD)/obj-debug,vm.config debug.config kasan.config memdebug.config)

# The unpatched 6.12 tree and kernel, same config (the MEM_DEFRAG lines
# of vm.config name no symbol there): the first column of check-upstream.
USRC := $(BUILD)/src-upstream
USRC_STAMP := $(USRC)/.kcontigd-pristine
$(USRC_STAMP): | $(SETUP_STAMP)
	@echo "tree: unpacking the unpatched $(KSRC_TARBALL) into build/src-upstream"
	@rm -rf $(USRC) $(BUILD)/upstream-unpack && mkdir -p $(BUILD)/upstream-unpack
	@tar -xf $(KSRC_TARBALL) -C $(BUILD)/upstream-unpack
	@mv $(BUILD)/upstream-unpack/linux-source-6.12 $(USRC) && rmdir $(BUILD)/upstream-unpack
	@touch $@

kernel-upstream: $(USRC_STAMP)
	@mkdir -p $(BUILD)/obj-upstream/merge
	@cd $(USRC) && scripts/kconfig/merge_config.sh -m -O $(BUILD)/obj-upstream/merge \
		arch/x86/configs/x86_64_defconfig $(TOP)/configs/vm.config $(TOP)/configs/debug.config >/dev/null
	@if ! cmp -s $(BUILD)/obj-upstream/merge/.config $(BUILD)/obj-upstream/.config.frag || \
	    [ ! -f $(BUILD)/obj-upstream/.config ]; then \
		cp $(BUILD)/obj-upstream/merge/.config $(BUILD)/obj-upstream/.config.frag; \
		cp $(BUILD)/obj-upstream/merge/.config $(BUILD)/obj-upstream/.config; \
		$(MAKE) -C $(USRC) O=$(BUILD)/obj-upstream olddefconfig >/dev/null; \
	fi
	@echo "kernel: building the unpatched kernel in build/obj-upstream"
	@$(MAKE) -C $(USRC) O=$(BUILD)/obj-upstream CC="ccache gcc" HOSTCC="ccache gcc" -j$(JOBS) \
		bzImage > $(BUILD)/kernel-upstream.log 2>&1 || { tail -40 $(BUILD)/kernel-upstream.log; exit 1; }
	@echo "kernel: unpatched $$(cat $(BUILD)/obj-upstream/include/config/kernel.release) ready"

kernel kernel-check: config-check
	@echo "kernel: building check kernel in build/obj-check"
	@$(call KMAKE,$(BUILD)/obj-check) bzImage > $(BUILD)/kernel-check.log 2>&1 || \
		{ tail -40 $(BUILD)/kernel-check.log; exit 1; }
	@echo "kernel: $$(cat $(BUILD)/obj-check/include/config/kernel.release) ready"

kernel-bench: config-bench
	@echo "kernel: building bench kernel in build/obj-bench"
	@$(call KMAKE,$(BUILD)/obj-bench) bzImage > $(BUILD)/kernel-bench.log 2>&1 || \
		{ tail -40 $(BUILD)/kernel-bench.log; exit 1; }
	@echo "kernel: $$(cat $(BUILD)/obj-bench/include/config/kernel.release) ready"

kernel-kcsan: config-kcsan
	@echo "kernel: building KCSAN kernel in build/obj-kcsan"
	@$(call KMAKE,$(BUILD)/obj-kcsan) bzImage > $(BUILD)/kernel-kcsan.log 2>&1 || \
		{ tail -40 $(BUILD)/kernel-kcsan.log; exit 1; }
	@echo "kernel: $$(cat $(BUILD)/obj-kcsan/include/config/kernel.release) (KCSAN) ready"

kernel-debug: config-debug
	@echo "kernel: building the memory-debugger kernel in build/obj-debug"
	@$(call KMAKE,$(BUILD)/obj-debug) bzImage > $(BUILD)/kernel-debug.log 2>&1 || \
		{ tail -40 $(BUILD)/kernel-debug.log; exit 1; }
	@echo "kernel: $$(cat $(BUILD)/obj-debug/include/config/kernel.release) (KASAN, kmemleak) ready"

# make check's kselftests (torture included) in the memory-debugger
# kernel, then a kmemleak scan; slow (KASAN and DEBUG_PAGEALLOC under TCG).
# no5lvl: 6.12's identify_cpu() clears the boot CPU's capabilities, LA57
# with them, while interrupts are on, and KASAN then takes an interrupt's
# access to the 5-level direct map for a wild one (seen at boot under TCG,
# whose -cpu max has LA57); with 4-level paging that window is harmless.
check-debug: kernel-debug selftests contigctl
	@CHECK_NAME=debug CHECK_APPEND="page_owner=on no5lvl" CHECK_TEST_TIMEOUT=3600 CHECK_TORTURE_SECS=900 \
		CHECK_VM_TIMEOUT=10800 tools/testing/vm/check.sh \
		$(BUILD)/obj-debug/arch/x86/boot/bzImage $(SELFTEST_OUT) $(CONTIGCTL_OUT)

# Data races: the kcontigd selftests in a KCSAN kernel; fails on a race
# with a frame in kcontigd's code, lists the kernel's others.
check-kcsan: kernel-kcsan selftests
	@tools/testing/vm/check-kcsan.sh $(BUILD)/obj-kcsan/arch/x86/boot/bzImage $(SELFTEST_OUT)

sparse: config-check
	@touch mm/mem_defrag.c
	@$(call KMAKE,$(BUILD)/obj-check) C=1 mm/mem_defrag.o 2>&1 | grep -v '^  ' || true

# The new kernel files stay clean: kernel-doc -Wall, and sparse (C=2, so
# checked even when up to date) with W=1; any finding in them fails, but
# for sparse's "context imbalance" in functions that take a page table
# lock through pmd_trans_huge_lock(), pte_offset_map_lock() or
# folio_walk_start(), which it cannot follow: mm/madvise.c, mprotect.c and
# khugepaged.c give the same warning for the same idioms.
LINT_OBJS := mm/exchange.o mm/mem_defrag.o
LINT_SPARSE_EXEMPT := context imbalance in '(contig_stats_pmd_entry|contig_move_one|contig_page_again|contig_evacuate)'
lint: config-check
	@out=$$(cd $(SRC) && scripts/kernel-doc -none -Wall \
		$(addprefix $(TOP)/,$(filter %.c %.h,$(KERNEL_NEW_FILES))) 2>&1); \
	[ -z "$$out" ] || { echo "$$out"; echo "lint: kernel-doc warnings" >&2; exit 1; }
	@echo "lint: kernel-doc -Wall clean on $(words $(filter %.c %.h,$(KERNEL_NEW_FILES))) files"
	@out=$$($(call KMAKE,$(BUILD)/obj-check) C=2 W=1 $(LINT_OBJS) 2>&1 | \
		grep -E '(mem_defrag|exchange|kcontigd)[^ :]*:[0-9]+:' | \
		grep -Ev "$(LINT_SPARSE_EXEMPT)" || true); \
	[ -z "$$out" ] || { echo "$$out"; echo "lint: sparse or W=1 findings" >&2; exit 1; }
	@echo "lint: sparse (C=2) and W=1 clean on $(LINT_OBJS)"

# The posted series: patches/ and the new files as git format-patch
# output against the pristine tree, in tools/series/series' order, each
# patch checkpatch --strict clean.
patches: $(SETUP_STAMP)
	@tools/series/make-patches.sh $(KSRC_TARBALL) $(BUILD)/patches

# Every prefix of that series builds (x86_64_defconfig + MEM_DEFRAG), and
# the whole with MEM_DEFRAG off; slow: a kernel build per patch.
check-series: patches
	@tools/series/check-series.sh $(KSRC_TARBALL) $(BUILD)/patches $(BUILD)/series-check

checkpatch: tree
	@cd $(SRC) && scripts/checkpatch.pl --strict --no-tree --terse -f \
		$(addprefix $(TOP)/,$(filter %.c %.h,$(KERNEL_NEW_FILES))) $(wildcard $(TOP)/$(SELFTEST_DIR)/*.c)

# ---------------------------------------------------------------- user space
selftests: config-check
	@$(call KMAKE,$(BUILD)/obj-check) -s headers
	@mkdir -p $(SELFTEST_OUT)
	@$(MAKE) -s -C $(SRC)/$(SELFTEST_DIR) OUTPUT=$(SELFTEST_OUT) \
		KHDR_INCLUDES="-isystem $(BUILD)/obj-check/usr/include"

CONTIGCTL_OUT := $(BUILD)/contigctl
contigctl: $(SETUP_STAMP)
	@mkdir -p $(CONTIGCTL_OUT)
	@$(MAKE) -s -C tools/contigctl OUTPUT=$(CONTIGCTL_OUT)/
	@gcc -Wall -O2 -o $(CONTIGCTL_OUT)/contig_target $(SELFTEST_DIR)/contig_target.c
	@gcc -Wall -O2 -o $(CONTIGCTL_OUT)/contig_demo tools/demo/contig_demo.c -lpthread

contigctl-test: contigctl
	@$(MAKE) -s -C tools/contigctl OUTPUT=$(CONTIGCTL_OUT)/ test

# ---------------------------------------------------------------- VM
KERNEL ?= check
vm: $(SETUP_STAMP)
	@[ -f $(BUILD)/obj-$(KERNEL)/arch/x86/boot/bzImage ] || $(MAKE) --no-print-directory kernel-$(KERNEL)
	@$(VM) --kernel $(BUILD)/obj-$(KERNEL)/arch/x86/boot/bzImage --timeout $(VM_TIMEOUT) \
		--name vm -- $(CMD)

test-runner: kernel
	@tools/testing/vm/test-runner.sh $(BUILD)/obj-check/arch/x86/boot/bzImage

check: kernel selftests contigctl mm-selftests $(BUILD)/contig_everyone
	@tools/testing/vm/check.sh $(BUILD)/obj-check/arch/x86/boot/bzImage $(SELFTEST_OUT) $(CONTIGCTL_OUT) \
		$(MM_SELFTESTS) $(BUILD)/contig_everyone

# Torture (tools/testing/selftests/mem_defrag/torture.c) for DURATION
# seconds; make check runs it for 90.
DURATION ?= 1800
TORTURE_PROCS ?= 4
torture: kernel selftests
	@tools/testing/vm/torture.sh $(BUILD)/obj-check/arch/x86/boot/bzImage $(SELFTEST_OUT) \
		$(DURATION) $(TORTURE_PROCS)

# The 6.12 mm selftests, built unmodified (no patch touches them) with the
# check kernel's headers; khugepaged.c of 6.12.117 uses ksft_print_msg()
# without including kselftest.h, hence the -include.
MM_SELFTESTS := $(BUILD)/mm-selftests
mm-selftests: selftests
	@mkdir -p $(MM_SELFTESTS)
	@$(MAKE) -s -C $(SRC)/tools/testing/selftests/mm OUTPUT=$(MM_SELFTESTS) \
		KHDR_INCLUDES="-isystem $(BUILD)/obj-check/usr/include" \
		EXTRA_CFLAGS="-include $(SRC)/tools/testing/selftests/kselftest.h" \
		> $(BUILD)/mm-selftests.log 2>&1 || { tail -30 $(BUILD)/mm-selftests.log; exit 1; }

$(BUILD)/contig_everyone: tools/testing/vm/contig_everyone.c | $(SETUP_STAMP)
	@gcc -Wall -Wextra -O2 -o $@ $<

UPSTREAM_ROUNDS ?= 1
check-upstream: kernel kernel-upstream mm-selftests $(BUILD)/contig_everyone
	@tools/testing/vm/check-upstream.sh $(BUILD)/obj-upstream/arch/x86/boot/bzImage \
		$(BUILD)/obj-check/arch/x86/boot/bzImage $(MM_SELFTESTS) $(BUILD)/contig_everyone \
		$(UPSTREAM_ROUNDS)

DEMO_DIR := $(BUILD)/demo
$(DEMO_DIR)/%: tools/demo/%.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	@gcc -Wall -Wextra -O2 -o $@ $< -lpthread

$(DEMO_DIR)/exchange_bench: bench/exchange_bench.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	@gcc -Wall -Wextra -O2 -o $@ $<

$(DEMO_DIR)/copy_bench: bench/copy_bench.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	@gcc -Wall -Wextra -O2 -o $@ $<

# ---------------------------------------------------------------- packages
# The kernel as Debian packages, from Debian's own configuration of
# FLAVOUR (see tools/package/make-deb.sh), and contigctl's package.
FLAVOUR ?= cloud-amd64
DEB_OUT := $(BUILD)/deb
deb: tree
	@tools/package/make-deb.sh $(SRC) $(BUILD)/obj-deb-$(FLAVOUR) $(DEB_OUT) $(FLAVOUR)

# Boots what `make deb` made, as a Debian machine would, and checks it.
deb-smoke: $(DEMO_DIR)/contig_demo $(DEMO_DIR)/fragment
	@tools/package/deb-smoke.sh $(DEB_OUT) $(DEMO_DIR) $(BUILD)/vm/deb-smoke

bench: kernel-bench $(DEMO_DIR)/contig_demo $(DEMO_DIR)/fragment $(DEMO_DIR)/exchange_bench \
	$(DEMO_DIR)/copy_bench
	@$(VM) --kernel $(BUILD)/obj-bench/arch/x86/boot/bzImage --timeout 2700 --node-mem 4G \
		--name bench --show -- bench/run.sh $(DEMO_DIR) $(ONLY)
	@mkdir -p bench/results
	@stamp=$$(date -u +%Y%m%d-%H%M); \
	cp $(BUILD)/vm/bench/results/bench.txt bench/results/bench-$$stamp.txt; \
	cp $(BUILD)/vm/bench/results/bench.json bench/results/bench-$$stamp.json
	@echo "bench: results in bench/results/"

demo: kernel-bench $(DEMO_DIR)/contig_demo $(DEMO_DIR)/fragment
	@$(VM) --kernel $(BUILD)/obj-bench/arch/x86/boot/bzImage --timeout 600 \
		--name demo --show -- tools/demo/demo.sh $(DEMO_DIR)

# The longest lock holds of kcontigd, from its tracepoints (debug kernel).
measure-holds: kernel selftests $(DEMO_DIR)/contig_demo $(DEMO_DIR)/fragment
	@$(VM) --kernel $(BUILD)/obj-check/arch/x86/boot/bzImage --timeout 900 \
		--name holds -- tools/testing/vm/measure-holds.sh $(DEMO_DIR) $(SELFTEST_OUT)
	@grep -E 'held max' $(BUILD)/vm/holds/output

clean:
	rm -rf $(BUILD)/obj-check $(BUILD)/obj-bench $(SELFTEST_OUT) $(BUILD)/vm

distclean:
	rm -rf $(BUILD)
