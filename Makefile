# SPDX-License-Identifier: GPL-2.0-only
#
# bioreader - top-level build.
#
#   make               kernel modules (kernel/bioreader.ko, kernel/bioreader_sim.ko)
#                      and all userspace programs under build/; the programs
#                      are release builds (build/bioflowd has no test hooks)
#   make modules       the kernel modules only (in kernel/, for KDIR)
#   make modules-kver  the kernel modules for KVER (or KDIR) in their own
#                      tree, build/kmod/$(KVER)/kernel/*.ko, leaving
#                      kernel/ alone (the VM bench uses it for --kver)
#   make user          userspace only: build/libbioalgo.a, build/NAME for every
#                      tools/NAME/, build/tests/{unit,vm,interop}/*, and
#                      build/tests/bioflowd-hooks (the daemon with its test
#                      fault hooks, for the tests only; never installed)
#   make check-kernel  clean W=1 C=1 (sparse) rebuild of the modules that fails
#                      on any warning, then checkpatch.pl --strict on kernel/
#                      and uapi/ (when a checkpatch.pl is found)
#   make check-kernel-build   the W=1 C=1 part alone, against KDIR (or
#                      KVER): a fresh build in build/kcheck/$(KVER)/, so any
#                      number of kernels can be checked without touching
#                      kernel/; `make checkpatch` is the other part
#   make print-kvers   the supported kernels whose headers are installed,
#                      default first (docs/install.md)
#   make clean
#
# KDIR defaults to the headers of Debian's linux-headers-amd64 (Debian
# 12's 6.1, also when Debian's 6.12 kernels are installed beside it, and
# whichever of them the host runs), else to the running kernel's build
# directory, else to the newest installed headers.  KVER is the matching
# kernel release; the VM tests boot /boot/vmlinuz-$(KVER).  KVER=...
# alone chooses a kernel by release.

SHELL := /bin/bash

# --- kernel selection -------------------------------------------------------

# Release of the headers that the Debian meta-package linux-headers-amd64
# depends on ("linux-headers-6.1.0-56-amd64 (= ...)" -> "6.1.0-56-amd64").
debian_kver = $(shell dpkg-query -W -f='$${Depends}' linux-headers-amd64 2>/dev/null | \
	sed -n 's/^.*linux-headers-\([^ ,]*-amd64\).*$$/\1/p')
# Fallback when dpkg knows nothing: the newest /usr/src/linux-headers-*-amd64
# that is not a PREEMPT_RT flavour.
newest_kver = $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
	grep -v -- '-rt-amd64$$' | \
	sed 's|^/usr/src/linux-headers-||' | sort -V | tail -n 1)
# The kernels the modules support, by Debian meta-package: Debian 12's
# default, Debian's 6.12 and its PREEMPT_RT flavour (docs/install.md).
BR_KERNEL_METAS := linux-headers-amd64 linux-headers-6.12-amd64 \
	linux-headers-6.12-rt-amd64
meta_kver = $(shell dpkg-query -W -f='$${Status} $${Depends}' $(1) 2>/dev/null | \
	sed -n 's/^install ok installed .*linux-headers-\([^ ,]*-amd64\).*$$/\1/p')

ifeq ($(origin KDIR),undefined)
  ifeq ($(origin KVER),undefined)
    # Debian's default kernel first: installing linux-image-6.12-amd64
    # may make the host boot 6.12, and the default must stay put.
    ifneq ($(and $(debian_kver),$(wildcard /usr/src/linux-headers-$(debian_kver)/Makefile)),)
      KVER := $(debian_kver)
    else ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
      KVER := $(shell uname -r)
    else
      KVER := $(newest_kver)
    endif
  endif
  KDIR := $(firstword $(wildcard /lib/modules/$(KVER)/build/Makefile \
	/usr/src/linux-headers-$(KVER)/Makefile))
  KDIR := $(patsubst %/Makefile,%,$(KDIR))
else ifeq ($(origin KVER),undefined)
  # KDIR given: the release is in its path, else in the tree itself.
  KVER := $(or $(shell echo '$(KDIR)' | sed -n \
	-e 's|^/lib/modules/\([^/]*\)/build/*$$|\1|p' \
	-e 's|^/usr/src/linux-headers-\([^/]*\)/*$$|\1|p'),$(shell \
	cat $(KDIR)/include/config/kernel.release 2>/dev/null))
endif
export KDIR KVER

# checkpatch.pl: Debian ships it only in linux-source-6.1 (a tarball);
# tools/install-deps.sh unpacks the three files it needs into a cache.
BR_CACHE ?= $(if $(filter 0,$(shell id -u)),/var/cache/bioreader,$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/bioreader)
CHECKPATCH ?= $(firstword $(wildcard \
	$(BR_CACHE)/linux-source-6.1/scripts/checkpatch.pl \
	$(KDIR)/scripts/checkpatch.pl \
	/usr/src/linux-source-6.1/scripts/checkpatch.pl))

# --- userspace --------------------------------------------------------------

CC ?= cc
AR ?= ar
CFLAGS ?= -O2 -g
BR_CFLAGS := -Wall -Wextra -Werror -Iuapi -Ikernel -Itests/lib -MMD -MP
LDLIBS_ALGO := -lcrypto
B := build

# The algorithms shared with the modules, minus the kernel-only glue.
LIB_SRCS := $(filter-out %_kernel.c,$(wildcard kernel/algo/*.c)) \
	    $(wildcard kernel/sim/sim_identity.c kernel/sim/sim_scene.c tools/bioeval/evsession.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB := $(B)/libbioalgo.a

# The log library of the audit daemon (daemon/log/), when it exists:
# build/libbflog.a, linked into every program before libbioalgo (a static
# archive only contributes what a program uses).
LOG_SRCS := $(wildcard daemon/log/*.c)
LOGLIB := $(if $(LOG_SRCS),$(B)/libbflog.a)
ifneq ($(LOG_SRCS),)
BR_CFLAGS += -Idaemon/log
endif
# The ID-card library (lib/idcard/, docs/idcard.md: CCID reader, ATR, T=0,
# and the document layer: BAC, Secure Messaging, LDS, Passive
# Authentication), build/libidcard.a, linked into every program before the
# others; its header is "idcard/idcard.h".  What uses the reader (ccid.c)
# also needs libusb, $(LDLIBS_USB).
IDCARD_SRCS := $(wildcard lib/idcard/*.c)
IDCARDLIB := $(if $(IDCARD_SRCS),$(B)/libidcard.a)
BR_CFLAGS += -Ilib
LDLIBS_USB := -lusb-1.0
# The kiosk transaction (card -> template -> session -> verdict),
# build/libkiosk.a, "kiosk/kiosk.h"; needs libidcard and libusb.
KIOSK_SRCS := $(wildcard lib/kiosk/*.c)
KIOSKLIB := $(if $(KIOSK_SRCS),$(B)/libkiosk.a)
# The daemons' confinement (lib/sandbox/: dropping to a user, building
# and loading a seccomp allowlist), build/libsandbox.a, "sandbox/sandbox.h";
# what uses it also needs -lseccomp.
SANDBOX_SRCS := $(wildcard lib/sandbox/*.c)
SANDBOXLIB := $(if $(SANDBOX_SRCS),$(B)/libsandbox.a)
LIBS := $(KIOSKLIB) $(IDCARDLIB) $(SANDBOXLIB) $(LOGLIB) $(LIB)

# Every tools/NAME/ and daemon/NAME/ directory (but daemon/log/, the
# library) with C files is one program, build/NAME, linked with the
# libraries above and -lcrypto.  Per program, optionally:
#   SRCS_NAME    more source files linked in (e.g. a library under daemon/)
#   CFLAGS_NAME  more compiler flags for its own files (e.g. -Idaemon/log)
#   LDLIBS_NAME  more libraries
PROG_DIRS := $(sort $(dir $(wildcard tools/*/*.c)) \
	$(filter-out daemon/log/,$(dir $(wildcard daemon/*/*.c))))
TOOL_NAMES := $(notdir $(patsubst %/,%,$(PROG_DIRS)))
prog_dir = $(filter %/$(1)/,$(PROG_DIRS))
TOOLS := $(TOOL_NAMES:%=$(B)/%)
LDLIBS_bioflowd = -lseccomp -luring -ludev $(LDLIBS_TSS2)
# build/bioflowd is the release daemon.  Its test-only fault hooks
# (docs/bioflowd.md) are built only into $(HOOKS_DAEMON), from objects of
# their own (build/obj-hooks/), which the tests that inject faults run
# and which no install target knows.  The hooks read the environment
# variable named below; its name in a binary is the mark of a hook build
# (make install refuses such a bioflowd, tests/static/t_install.sh checks).
HOOKS_CFLAGS := -DBIOFLOWD_TEST_HOOKS
HOOKS_MARK := BIOFLOWD_TEST_FAULT
HOOKS_DAEMON := $(B)/tests/bioflowd-hooks
LDLIBS_bioeval := -lpthread -lm
# The forwarder: librelp (RELP over TLS, its OpenSSL driver), OpenSSL's
# TLS for the witness, libseccomp (docs/forwarding.md).
LDLIBS_bioflow-forward := -lrelp -lssl -lseccomp
LDLIBS_bioctl := $(LDLIBS_USB)
# The collector: OpenSSL's TLS for the witness, libseccomp, threads.
LDLIBS_bioflow-collector := -lssl -lcrypto -lseccomp -lpthread
# tpm2-tss, for what calls daemon/log/tpmroot.c (only those programs pull
# tpmroot.o out of libbflog.a)
LDLIBS_TSS2 := -ltss2-esys -ltss2-tctildr -ltss2-rc
LDLIBS_bioflow-provision := $(LDLIBS_TSS2)
$(B)/tests/unit/test_tpm_root: LDLIBS += $(LDLIBS_TSS2)
$(B)/tests/unit/test_bioflowd_daemon: LDLIBS += $(LDLIBS_TSS2)

UNIT_LIB_SRCS := $(wildcard tests/unit/lib/*.c)
UNIT_TESTS := $(patsubst %.c,$(B)/%,$(wildcard tests/unit/test_*.c))
VM_LIB_SRCS := $(wildcard tests/vm/lib/*.c)
VM_TESTS := $(patsubst %.c,$(B)/%,$(wildcard tests/vm/t_*.c))
# The VM tests that drive a USB reader (libusb).
$(B)/tests/vm/t_card_usb $(B)/tests/vm/t_card_chip $(B)/bench/vm_card: LDLIBS += $(LDLIBS_USB)

# Emulators of outside devices: tests/emu/NAME.c -> $(B)/tests/emu/NAME
# (the VSCard ID-card emulator that QEMU's ccid-card-passthru talks to, and
# card-issue, which makes its documents), linked with the in-process chip
# and the card's side of T=0 of the unit tests' library.
EMUS := $(patsubst %.c,$(B)/%,$(wildcard tests/emu/*.c))
EMU_LIB_SRCS := $(wildcard tests/unit/lib/card_model.c tests/unit/lib/t0_card.c)

# Fuzz targets: tests/fuzz/fuzz_NAME.c linked with replay_main.c gives
# $(B)/tests/fuzz/replay_NAME, which replays the fixed corpus
# tests/fuzz/corpus/NAME/ with any compiler; `make fuzz` links the same
# targets with libFuzzer (clang) into $(B)/fuzz/fuzz_NAME.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(B)/tests/fuzz/replay_%)

# Interoperability tests' helpers: tests/interop/NAME.c -> $(B)/tests/interop/NAME
# (tests/interop/t_*.sh run them against independent implementations).
INTEROPS := $(patsubst %.c,$(B)/%,$(wildcard tests/interop/*.c))

# Benchmarks: bench/NAME.c -> $(B)/bench/NAME (bench/run.sh runs them).
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

USER_BINS := $(TOOLS) $(HOOKS_DAEMON) $(UNIT_TESTS) $(VM_TESTS) $(FUZZ_REPLAYS) $(BENCHES) \
	$(EMUS) $(INTEROPS)

# `make sanitize`: the unit tests and corpus replays again, under
# AddressSanitizer and UBSan, in $(B)/san/.
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CC ?= clang
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined

.PHONY: all modules modules-kver user check-kernel check-kernel-build \
	checkpatch clean print-kver print-kdir print-kvers \
	sanitize san-programs fuzz fuzzers check-release-daemon
.DELETE_ON_ERROR:
# Keep the objects of the pattern-built programs (no relinks on every make).
.SECONDARY:

all: modules user

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

.PHONY: kdir-check
kdir-check:
	@test -n "$(KDIR)" -a -f "$(KDIR)/Makefile" || { \
	  echo "No kernel build directory (KDIR='$(KDIR)'): run tools/install-deps.sh" >&2; exit 1; }

# The module sources (what Kbuild reads), copied into another tree to
# build there: one tree per kernel, so that builds for several kernels
# coexist.  cp -p keeps the times: an unchanged file is not rebuilt.
BR_KSRC = Kbuild kernel/Kbuild \
	$(filter-out %.mod.c,$(shell find kernel uapi -name '*.[ch]' | sort))
KMOD_DIR = $(CURDIR)/$(B)/kmod/$(KVER)

modules-kver: kdir-check
	@mkdir -p $(KMOD_DIR) && cp -p --parents $(BR_KSRC) $(KMOD_DIR)/
	$(MAKE) -C $(KDIR) M=$(KMOD_DIR) modules

user: $(LIBS) $(USER_BINS)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libidcard.a: $(IDCARD_SRCS:%.c=$(B)/obj/%.o)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libkiosk.a: $(KIOSK_SRCS:%.c=$(B)/obj/%.o)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libsandbox.a: $(SANDBOX_SRCS:%.c=$(B)/obj/%.o)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libbflog.a: $(LOG_SRCS:%.c=$(B)/obj/%.o)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BR_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

define tool_rule
$(B)/$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard $(call prog_dir,$(1))*.c) $(SRCS_$(1))) $(LIBS)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS_ALGO) $$(LDLIBS_$(1)) $$(LDLIBS)
$(patsubst %.c,$(B)/obj/%.o,$(wildcard $(call prog_dir,$(1))*.c)): BR_CFLAGS += $(CFLAGS_$(1))
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

# The daemon again, with its test hooks: same sources, other objects.
BIOFLOWD_SRCS := $(wildcard $(call prog_dir,bioflowd)*.c) $(SRCS_bioflowd)
$(HOOKS_DAEMON): $(BIOFLOWD_SRCS:%.c=$(B)/obj-hooks/%.o) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS_bioflowd) $(LDLIBS)

$(B)/obj-hooks/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BR_CFLAGS) $(CFLAGS_bioflowd) $(HOOKS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Objects built by an older Makefile, which put the hooks into
# build/bioflowd by default, are rebuilt.
$(BIOFLOWD_SRCS:%.c=$(B)/obj/%.o): Makefile

sanitize:
	@$(MAKE) --no-print-directory B=$(B)/san CFLAGS="$(SAN_CFLAGS)" san-programs

san-programs: $(UNIT_TESTS) $(FUZZ_REPLAYS)

fuzz:
	@$(MAKE) --no-print-directory B=$(B)/fuzz CC=$(FUZZ_CC) \
		CFLAGS="$(FUZZ_CFLAGS)" fuzzers

fuzzers: $(FUZZ_NAMES:%=$(B)/fuzz_%)

$(B)/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(LIBS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS)

$(B)/bench/%: $(B)/obj/bench/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS)

# Benchmarks that run inside the VM use the VM tests' library.
$(B)/bench/vm_%: $(B)/obj/bench/vm_%.o $(VM_LIB_SRCS:%.c=$(B)/obj/%.o) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS) -lpthread

$(B)/tests/fuzz/replay_%: $(B)/obj/tests/fuzz/replay_main.o $(B)/obj/tests/fuzz/fuzz_%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS)

# test_card_chip runs the card emulator and card-issue built beside it.
$(B)/tests/unit/test_card_chip: | $(B)/tests/emu/vscard-card $(B)/tests/emu/card-issue
# test_collector runs the collector and the verifier, and is a TLS client.
$(B)/tests/unit/test_collector: | $(B)/bioflow-collector $(B)/bioflow-verify
$(B)/tests/unit/test_collector: LDLIBS += -lssl -lpthread

$(B)/tests/unit/test_%: $(B)/obj/tests/unit/test_%.o $(UNIT_LIB_SRCS:%.c=$(B)/obj/%.o) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS)

# The daemons' shared confinement (lib/sandbox/) needs libseccomp.
$(B)/tests/unit/test_sandbox: LDLIBS += -lseccomp -lpthread

# The RELP sender of tests/interop/t_rsyslog.sh (librelp, from librelp-dev).
$(B)/tests/interop/relp_send: LDLIBS += -lrelp
# The forwarder's witness client, unit-tested apart from the program.
$(B)/tests/unit/test_fwd_client: $(B)/obj/daemon/bioflow-forward/https.o \
	$(B)/obj/daemon/bioflow-forward/witness.o
$(B)/tests/unit/test_fwd_client: LDLIBS += -lssl
# The forwarder's lag in seconds.
$(B)/tests/unit/test_fwd_lag: $(B)/obj/daemon/bioflow-forward/lag.o
$(B)/tests/unit/test_fwd_lag: LDLIBS += -lm
# The forwarding tests' witness stub serves HTTPS.
$(B)/tests/interop/fwd_witness: LDLIBS += -lssl
# librdkafka's verdict on the scale-out collector configurations' Kafka
# properties (tests/static/t_kafka_conf.sh; librdkafka-dev).
$(B)/tests/interop/kafka_props: LDLIBS += -lrdkafka

$(B)/tests/interop/%: $(B)/obj/tests/interop/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS)

$(B)/tests/emu/%: $(B)/obj/tests/emu/%.o $(EMU_LIB_SRCS:%.c=$(B)/obj/%.o) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS)

$(B)/tests/vm/t_%: $(B)/obj/tests/vm/t_%.o $(VM_LIB_SRCS:%.c=$(B)/obj/%.o) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALGO) $(LDLIBS) -lpthread

-include $(shell find $(B)/obj $(B)/obj-hooks -name '*.d' 2>/dev/null)

# --- kernel checks ----------------------------------------------------------

check-kernel: check-kernel-build
	@$(MAKE) --no-print-directory checkpatch

# A full rebuild (warnings only show for files that get compiled), with
# W=1 and sparse, in a fresh copy of the sources; any "warning:" or
# "error:" line fails.
KCHECK_DIR = $(CURDIR)/$(B)/kcheck/$(KVER)
KCHECK_LOG = $(B)/check-kernel-$(KVER).log

check-kernel-build: kdir-check
	@set -o pipefail; \
	echo "== W=1 C=1 build against $(KDIR) ($(KVER))"; \
	rm -rf $(KCHECK_DIR) && mkdir -p $(KCHECK_DIR) && \
	cp -p --parents $(BR_KSRC) $(KCHECK_DIR)/ && \
	$(MAKE) -C $(KDIR) M=$(KCHECK_DIR) W=1 C=1 modules 2>&1 | tee $(KCHECK_LOG); \
	rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "check-kernel: build failed against $(KVER)" >&2; exit 1; fi; \
	if grep -iE '(warning|error):' $(KCHECK_LOG) >&2; then \
	  echo "check-kernel: the W=1 C=1 build against $(KVER) is not clean (above)" >&2; exit 1; fi; \
	echo "check-kernel: W=1 C=1 clean against $(KVER)"

# The compatibility header alone may test LINUX_VERSION_CODE (checkpatch's
# warning is for code merged upstream, which has no other kernel to build
# against): kernel/bioreader_compat.h says why.
BR_COMPAT_H := kernel/bioreader_compat.h

checkpatch:
	@if [ -z "$(CHECKPATCH)" ]; then \
	  echo "checkpatch: no checkpatch.pl found (run tools/install-deps.sh); skipped" >&2; \
	  exit 0; fi; \
	echo "== checkpatch --strict ($(CHECKPATCH))"; \
	files=$$(find kernel uapi -name '*.[ch]' -not -name '*.mod.c' | sort); \
	bad=0; \
	for f in $$files; do \
	  ign=; [ $$f != $(BR_COMPAT_H) ] || ign="--ignore LINUX_VERSION_CODE"; \
	  out=$$(perl $(CHECKPATCH) --strict --no-tree --no-summary --terse \
		--show-types $$ign -f $$f 2>&1) || bad=1; \
	  [ -z "$$out" ] || { echo "$$out"; bad=1; }; \
	done; \
	if [ $$bad -ne 0 ]; then echo "checkpatch: not clean (above)" >&2; exit 1; fi; \
	echo "checkpatch: $$(echo $$files | wc -w) files clean"

# --- install ----------------------------------------------------------------
#
#   make install [DESTDIR=] [PREFIX=/usr]   the product: the driver module
#                      (not the simulator), programs, udev rules,
#                      sysusers.d, tmpfiles.d, modprobe.d, the systemd unit
#                      and the man pages (docs/install.md); depmod -a unless
#                      DESTDIR is set.  Build first (make); the modules are
#                      not rebuilt here.  Every file installed is listed in
#                      $(PREFIX)/share/bioreader/install-manifest.  It
#                      refuses a bioflowd built with the test hooks.
#   make install-sim   the simulated reader, bioreader_sim.ko, for demos and
#                      integration tests (never on a production appliance),
#                      listed in $(PREFIX)/share/bioreader/install-manifest-sim
#   make install-collector   the fleet collector host's files:
#                      bioflow-collector, its unit, sysusers.d and
#                      tmpfiles.d files, its man page and the example
#                      rsyslog configuration, listed in
#                      $(PREFIX)/share/bioreader/install-manifest-collector
#   make uninstall, make uninstall-sim, make uninstall-collector
#                      remove exactly the files of the manifest.
#   make dkms-source   the driver's sources and dkms.conf into
#                      $(DESTDIR)/usr/src/bioreader-$(BR_VERSION)
#   make dkms-source-sim
#                      the simulator's into
#                      $(DESTDIR)/usr/src/bioreader-sim-$(BR_VERSION)
#   make sign KEY=PEM CERT=X509 [HASH=sha256] [SIGN_MODULES=...]
#                      signs kernel/*.ko (or SIGN_MODULES) with
#                      $(KDIR)/scripts/sign-file; an existing signature is
#                      replaced.

PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# Where udev, systemd, kmod and DKMS look: not under PREFIX.
MODDIR ?= /lib/modules/$(KVER)/updates/bioreader
UDEVRULESDIR ?= /usr/lib/udev/rules.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
MODPROBEDIR ?= /lib/modprobe.d
UNITDIR ?= /usr/lib/systemd/system
MANIFEST ?= $(PREFIX)/share/bioreader/install-manifest
MANIFEST_SIM ?= $(PREFIX)/share/bioreader/install-manifest-sim
DEPMOD ?= depmod
INSTALL ?= install

BR_VERSION := $(shell sed -n 's/^MODULE_VERSION("\(.*\)");$$/\1/p' kernel/bioreader_main.c)
BR_MODULES := kernel/bioreader.ko kernel/bioreader_sim.ko
# The module make install copies: the driver only; the simulator is
# make install-sim's.  INSTALL_MODULES= installs none (the Debian packages
# ship the module sources for DKMS instead, debian/rules).
INSTALL_MODULES ?= kernel/bioreader.ko
SIM_MODULE := kernel/bioreader_sim.ko
# The appliance's pages: bioflow-collector runs on the fleet collector
# host, not on an appliance, and is not installed here.
BR_MANPAGES := $(filter-out docs/man/bioflow-collector.8,$(wildcard docs/man/*.[1-8]))

# "SOURCE DEST MODE" triples (DEST without DESTDIR).
BR_INSTALL_FILES := \
	$(foreach m,$(INSTALL_MODULES),$(m) $(MODDIR)/$(notdir $(m)) 0644) \
	$(B)/bioctl $(SBINDIR)/bioctl 0755 \
	$(B)/bioflow-verify $(BINDIR)/bioflow-verify 0755 \
	$(B)/bioflow-provision $(SBINDIR)/bioflow-provision 0755 \
	$(B)/bioflowd $(SBINDIR)/bioflowd 0755 \
	$(B)/bioflow-forward $(SBINDIR)/bioflow-forward 0755 \
	udev/60-bioreader.rules $(UDEVRULESDIR)/60-bioreader.rules 0644 \
	udev/bioreader.sysusers $(SYSUSERSDIR)/bioreader.conf 0644 \
	packaging/tmpfiles.d/bioflowd.conf $(TMPFILESDIR)/bioflowd.conf 0644 \
	packaging/modprobe.d/bioreader.conf $(MODPROBEDIR)/bioreader.conf 0644 \
	$(B)/bioflowd.service $(UNITDIR)/bioflowd.service 0644 \
	$(B)/bioflow-forward.service $(UNITDIR)/bioflow-forward.service 0644 \
	$(foreach p,$(BR_MANPAGES),$(p) $(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)) 0644)

# The fleet collector host's files (not an appliance's): make
# install-collector, its own manifest.  The rsyslog configuration is an
# example for a dedicated rsyslogd (docs/forwarding.md), not a file of
# /etc/rsyslog.d.
DOCDIR ?= $(PREFIX)/share/doc
MANIFEST_COLLECTOR ?= $(PREFIX)/share/bioreader/install-manifest-collector
BR_COLLECTOR_FILES := \
	$(B)/bioflow-collector $(SBINDIR)/bioflow-collector 0755 \
	$(B)/bioflow-collector.service $(UNITDIR)/bioflow-collector.service 0644 \
	packaging/sysusers.d/bioflow-collector.conf $(SYSUSERSDIR)/bioflow-collector.conf 0644 \
	packaging/tmpfiles.d/bioflow-collector.conf $(TMPFILESDIR)/bioflow-collector.conf 0644 \
	docs/man/bioflow-collector.8 $(MANDIR)/man8/bioflow-collector.8 0644 \
	collector/rsyslog-bioflow.conf $(DOCDIR)/bioflow-collector/examples/rsyslog-bioflow.conf 0644

.PHONY: install uninstall install-sim uninstall-sim install-check-modules \
	install-collector uninstall-collector \
	dkms-source dkms-source-sim sign $(B)/bioflowd.service $(B)/bioflow-forward.service \
	$(B)/bioflow-collector.service

install-check-modules:
	@for m in $(INSTALL_MODULES); do test -f $$m || { \
	  echo "install: $$m is missing: run make (as a user) first" >&2; exit 1; }; done

# The daemon installed must be the release build: no test hook.
# (DAEMON_BIN= checks another binary, without building anything.)
DAEMON_BIN ?= $(B)/bioflowd
check-release-daemon: $(DAEMON_BIN)
	@if grep -qa '$(HOOKS_MARK)' $(DAEMON_BIN); then \
	  echo "install: $(DAEMON_BIN) was built with the test hooks ($(HOOKS_CFLAGS)):" \
	       "rebuild it without (make clean; make)" >&2; exit 1; fi

# The units name the programs by their installed paths.
$(B)/bioflowd.service: packaging/systemd/bioflowd.service
	@mkdir -p $(@D)
	sed 's|^ExecStart=/usr/sbin/|ExecStart=$(SBINDIR)/|' $< >$@

$(B)/bioflow-forward.service: packaging/systemd/bioflow-forward.service
	@mkdir -p $(@D)
	sed 's|^ExecStart=/usr/sbin/|ExecStart=$(SBINDIR)/|' $< >$@

$(B)/bioflow-collector.service: packaging/systemd/bioflow-collector.service
	@mkdir -p $(@D)
	sed 's|^ExecStart=/usr/sbin/|ExecStart=$(SBINDIR)/|' $< >$@

install: install-check-modules check-release-daemon $(B)/bioctl $(B)/bioflow-verify \
		$(B)/bioflow-provision $(B)/bioflowd $(B)/bioflowd.service \
		$(B)/bioflow-forward $(B)/bioflow-forward.service
	@set -e; set -- $(BR_INSTALL_FILES); list=""; \
	while [ $$# -ge 3 ]; do \
	  echo "  INSTALL $(DESTDIR)$$2"; \
	  $(INSTALL) -D -m $$3 $$1 "$(DESTDIR)$$2"; \
	  list="$$list$$2 "; shift 3; \
	done; \
	$(INSTALL) -d "$(DESTDIR)$(dir $(MANIFEST))"; \
	printf '%s\n' $$list $(MANIFEST) >"$(DESTDIR)$(MANIFEST)"; \
	echo "  MANIFEST $(DESTDIR)$(MANIFEST)"
ifeq ($(DESTDIR),)
	$(DEPMOD) -a $(KVER)
	-command -v systemd-sysusers >/dev/null && systemd-sysusers $(SYSUSERSDIR)/bioreader.conf
	-command -v systemd-tmpfiles >/dev/null && systemd-tmpfiles --create $(TMPFILESDIR)/bioflowd.conf
	-command -v udevadm >/dev/null && udevadm control --reload
	-command -v systemctl >/dev/null && test -d /run/systemd/system && systemctl daemon-reload
endif

# Removes the manifest's files (the manifest last), then the directories
# that became empty among those install created.
uninstall:
	@set -e; m="$(DESTDIR)$(MANIFEST)"; \
	test -f "$$m" || { echo "uninstall: no manifest $$m" >&2; exit 1; }; \
	while read -r f; do \
	  case "$$f" in /*) ;; *) echo "uninstall: bad manifest line '$$f'" >&2; exit 1;; esac; \
	  [ "$$f" = "$(MANIFEST)" ] && continue; \
	  echo "  RM $(DESTDIR)$$f"; rm -f "$(DESTDIR)$$f"; \
	done <"$$m"; \
	rm -f "$$m"; \
	for d in "$(DESTDIR)$(MODDIR)" "$(DESTDIR)$(dir $(MANIFEST))"; do \
	  rmdir "$$d" 2>/dev/null || true; done
ifeq ($(DESTDIR),)
	$(DEPMOD) -a $(KVER)
	-command -v udevadm >/dev/null && udevadm control --reload
	-command -v systemctl >/dev/null && test -d /run/systemd/system && systemctl daemon-reload
endif

install-collector: $(B)/bioflow-collector $(B)/bioflow-collector.service
	@set -e; set -- $(BR_COLLECTOR_FILES); list=""; \
	while [ $$# -ge 3 ]; do \
	  echo "  INSTALL $(DESTDIR)$$2"; \
	  $(INSTALL) -D -m $$3 $$1 "$(DESTDIR)$$2"; \
	  list="$$list$$2 "; shift 3; \
	done; \
	$(INSTALL) -d "$(DESTDIR)$(dir $(MANIFEST_COLLECTOR))"; \
	printf '%s\n' $$list $(MANIFEST_COLLECTOR) >"$(DESTDIR)$(MANIFEST_COLLECTOR)"; \
	echo "  MANIFEST $(DESTDIR)$(MANIFEST_COLLECTOR)"
ifeq ($(DESTDIR),)
	-command -v systemd-sysusers >/dev/null && systemd-sysusers $(SYSUSERSDIR)/bioflow-collector.conf
	-command -v systemd-tmpfiles >/dev/null && systemd-tmpfiles --create $(TMPFILESDIR)/bioflow-collector.conf
	-command -v systemctl >/dev/null && test -d /run/systemd/system && systemctl daemon-reload
endif

uninstall-collector:
	@$(MAKE) --no-print-directory uninstall MANIFEST=$(MANIFEST_COLLECTOR) DEPMOD=true

# The simulator: its module and a manifest of its own, so that the
# product's make uninstall and this one's leave each other alone.
install-sim:
	@test -f $(SIM_MODULE) || { \
	  echo "install-sim: $(SIM_MODULE) is missing: run make (as a user) first" >&2; exit 1; }
	@set -e; echo "  INSTALL $(DESTDIR)$(MODDIR)/$(notdir $(SIM_MODULE))"; \
	$(INSTALL) -D -m 0644 $(SIM_MODULE) "$(DESTDIR)$(MODDIR)/$(notdir $(SIM_MODULE))"; \
	$(INSTALL) -d "$(DESTDIR)$(dir $(MANIFEST_SIM))"; \
	printf '%s\n' $(MODDIR)/$(notdir $(SIM_MODULE)) $(MANIFEST_SIM) >"$(DESTDIR)$(MANIFEST_SIM)"; \
	echo "  MANIFEST $(DESTDIR)$(MANIFEST_SIM)"
ifeq ($(DESTDIR),)
	$(DEPMOD) -a $(KVER)
endif

uninstall-sim:
	@$(MAKE) --no-print-directory uninstall MANIFEST=$(MANIFEST_SIM)

# What DKMS builds from: Kbuild files, the module sources and the uAPI.
# The driver's tree has no simulator source (kernel/sim/), and its
# dkms.conf builds the driver alone (BR_ONLY); the simulator's tree has
# the simulator and the headers and algorithms it shares, not the driver.
BR_KERNEL_SRC := $(filter-out %.mod.c,$(shell find kernel -name '*.[ch]' | sort))
BR_UAPI_SRC := $(shell find uapi -name '*.h' | sort)
BR_DKMS_SRC := Kbuild kernel/Kbuild $(filter-out kernel/sim/%,$(BR_KERNEL_SRC)) $(BR_UAPI_SRC)
BR_DKMS_SIM_SRC := Kbuild kernel/Kbuild \
	$(filter kernel/sim/% kernel/algo/% kernel/%.h,$(BR_KERNEL_SRC)) $(BR_UAPI_SRC)
BR_DKMS_DIR := /usr/src/bioreader-$(BR_VERSION)
BR_DKMS_SIM_DIR := /usr/src/bioreader-sim-$(BR_VERSION)

# dkms_tree DIR CONF SOURCES
define dkms_tree
	@set -e; d="$(DESTDIR)$(1)"; \
	grep -qx 'PACKAGE_VERSION="$(BR_VERSION)"' $(2) || { \
	  echo "$@: $(2)'s PACKAGE_VERSION is not $(BR_VERSION)" >&2; exit 1; }; \
	rm -rf "$$d"; \
	for f in $(3); do $(INSTALL) -D -m 0644 $$f "$$d/$$f"; done; \
	$(INSTALL) -m 0644 $(2) "$$d/dkms.conf"; \
	echo "  DKMS source $$d"
endef

dkms-source:
	$(call dkms_tree,$(BR_DKMS_DIR),packaging/dkms/dkms.conf,$(BR_DKMS_SRC))

dkms-source-sim:
	$(call dkms_tree,$(BR_DKMS_SIM_DIR),packaging/dkms/sim/dkms.conf,$(BR_DKMS_SIM_SRC))

# sign-file appends a signature; a module already signed is first cut back
# to its unsigned length (trailer: signature, 12-byte struct
# module_signature whose last 4 bytes are the big-endian signature length,
# 28-byte magic).
SIGN_FILE ?= $(KDIR)/scripts/sign-file
SIGN_MODULES ?= $(BR_MODULES)
HASH ?= sha256
BR_SIG_MAGIC := ~Module signature appended~

sign:
	@test -n "$(KEY)" -a -n "$(CERT)" || { \
	  echo "usage: make sign KEY=private-key.pem CERT=cert.pem|der [HASH=sha256]" >&2; exit 2; }
	@test -x "$(SIGN_FILE)" || { echo "sign: no $(SIGN_FILE)" >&2; exit 1; }
	@set -e; for m in $(SIGN_MODULES); do \
	  test -f $$m || { echo "sign: $$m is missing: run make first" >&2; exit 1; }; \
	  size=$$(stat -c %s $$m); \
	  if [ "$$(tail -c 28 $$m | head -c 27 | tr -d '\0')" = "$(BR_SIG_MAGIC)" ]; then \
	    len=$$(tail -c 32 $$m | head -c 4 | od -An -tu1 | \
		   awk '{ print (($$1 * 256 + $$2) * 256 + $$3) * 256 + $$4 }'); \
	    truncate -s $$((size - 28 - 12 - len)) $$m; \
	    echo "  UNSIGN $$m"; \
	  fi; \
	  $(SIGN_FILE) $(HASH) "$(KEY)" "$(CERT)" $$m; \
	  echo "  SIGN $$m"; \
	done

# --- misc -------------------------------------------------------------------

print-kver:
	@echo $(KVER)

print-kdir:
	@echo $(KDIR)

# Only those with a kernel build tree (headers) installed.
print-kvers:
	@for k in $(KVER) $(foreach m,$(BR_KERNEL_METAS),$(call meta_kver,$(m))); do \
	  case " $$seen " in *" $$k "*) continue ;; esac; seen="$$seen $$k"; \
	  if [ -f /lib/modules/$$k/build/Makefile ] || \
	     [ -f /usr/src/linux-headers-$$k/Makefile ]; then echo $$k; fi; \
	done

clean:
	-@test -f "$(KDIR)/Makefile" && $(MAKE) -s -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(B)
