# hasuite: build, test, fuzz, bench, install, demo.
GO       ?= go
PREFIX   ?= /usr
DESTDIR  ?=
BIN      := bin
FUZZTIME ?= 30s
FUZZPARALLEL ?= 1
FUZZ     ?= .
CMDS     := heartbeatd heartbeatd/cmd/cl_status heartbeatd/cmd/hb_standby heartbeatd/cmd/hb_takeover ipfail ldirectord

.PHONY: all build man test unit deps fuzz bench bench-micro bench-outage bench-daemons bench-ipvs bench-ldcheck bench-nway soak install deb demo demo-down vet clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(addprefix ./,$(CMDS))

# The manual pages docs/NAME.S.md rendered to roff in $(BIN)/man/NAME.S by
# go-md2man (internal/tools/md2man); dated by the last commit of docs/.
MAN_PAGES := $(notdir $(basename $(wildcard docs/*.[158].md)))
MAN_DATE  ?= $(shell git log -1 --format=%cs -- docs 2>/dev/null)

man:
	@mkdir -p $(BIN)/man
	$(GO) run ./internal/tools/md2man -o $(BIN)/man -date "$(MAN_DATE)" -source hasuite $(addprefix docs/,$(addsuffix .md,$(MAN_PAGES)))

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }

# The README's test command. As root it also runs the network-namespace and
# interop suites (they skip with a message otherwise); HASUITE_REQUIRE_ROOT_SUITES=1
# turns such a skip into a failure, as CI does.
test: deps vet
	$(GO) test -count=1 -timeout 20m ./...

# Unit tests only (no root needed, nothing installed).
unit:
	$(GO) test -count=1 -short ./...

deps:
	@sh test/deps.sh

# Every fuzz target (or those whose "package FuzzName" matches the regexp
# FUZZ) for FUZZTIME each with FUZZPARALLEL workers; the list comes first.
fuzz:
	@list=$$(for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  pkg=$$($(GO) list $$dir) || exit 1; \
	  grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -c6- | sort | sed "s|^|$$pkg |"; \
	done | grep -E '$(FUZZ)'); \
	echo "$$list"; \
	echo "$$list" | while read pkg f; do \
	  [ -n "$$f" ] || continue; \
	  echo "== $$pkg $$f"; \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL) $$pkg </dev/null || exit 1; \
	done

# Every end-to-end benchmark below in one run (root, about 20 minutes) and
# one table of hasuite against the classic programs measured in the same
# run (bench/report; results, logs and bench.md in /tmp/hasuite-bench).
# BENCH_QUICK=1: small runs to try it (~8 min, not the real numbers);
# BENCH_ROUNDS=N: runs per case of outage, start-up and memory (3);
# BENCH_FLAGS: more flags of bench/report (-only, -dir, -outage-args, ...).
bench:
	$(GO) run ./bench/report -go $(GO) $(if $(BENCH_QUICK),-quick) $(if $(BENCH_ROUNDS),-rounds $(BENCH_ROUNDS)) $(if $(BENCH_IPVS_CPUS),-ipvs-cpus $(BENCH_IPVS_CPUS)) $(BENCH_FLAGS)

# Go micro-benchmarks beside the code they measure (go test -bench in each
# package; bench/ holds only the end-to-end ones).
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v /bench/)

# Failover outage, heartbeat 3.0.6 vs heartbeatd (root, ~4 min): the table
# in docs/performance.md.
bench-outage:
	sh bench/outage.sh

# Start to VIP up (heartbeatd vs heartbeat 3.0.6) and idle memory of
# heartbeatd, ipfail and ldirectord vs the classic ones (root, ~6 min).
bench-daemons:
	$(GO) test -run '^$$' -bench '^Benchmark(Startup|Idle)$$' -benchtime 1x -timeout 60m ./bench/daemons

# Health checking at 10,000 reals and failure detection, Perl ldirectord
# 4.12 vs ours (root, ~7 min): the ldirectord tables in docs/performance.md.
bench-ldcheck:
	sh bench/ldcheck.sh

# Failure detection of membership memberlist on five directors with both
# cores saturated by busy loops: detection and failover times, false "dead"
# declarations and needless group moves (root; 10 min of kills, or
# make bench-nway NWAY_DURATION=90s; bench/nway).
bench-nway:
	$(GO) test -run '^$$' -bench '^BenchmarkNwayDetection$$' -benchtime 1x -timeout 40m ./bench/nway $(if $(NWAY_DURATION),-args -nway.duration $(NWAY_DURATION))

# test/demo's cluster under churn (real servers flapping, failovers every
# 3-5 min), every daemon's goroutines, fds and RSS sampled: do they stay
# flat? (root; 1 h, or make soak SOAK_DURATION=3m; bench/README.md "soak").
soak:
	sh bench/soak.sh $(SOAK_DURATION)

# Cold apply of 1,000 virtual services × 10 real servers in the IPVS VM
# (root, ~4 min; BENCH_IPVS_CPUS sets the VM's CPUs): the table in
# docs/performance.md.
bench-ipvs:
	HASUITE_IPVS_BENCH=1 HASUITE_IPVS_BENCH_CPUS=$(BENCH_IPVS_CPUS) $(GO) test -count=1 -timeout 20m -run '^TestLVSVM$$' -v ./ldirectord/lvs

# FHS layout as Debian's heartbeat and ldirectord packages lay it out (see
# docs/operations.md "Install and package"). etc/systemd, etc/init.d,
# etc/logrotate.d and etc/default are installed when present; /usr/sbin etc.
# in them follow PREFIX. The sample etc/ha.d goes to the examples, never
# over an operator's /etc/ha.d.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/hasuite
MANDIR     ?= $(PREFIX)/share/man
FIXPREFIX  := sed -e 's|/usr/sbin/|$(PREFIX)/sbin/|g' -e 's|/usr/bin/|$(PREFIX)/bin/|g' -e 's|/usr/share/heartbeat/|$(PREFIX)/share/heartbeat/|g'

install: build man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/heartbeat
	install -m 0755 $(BIN)/heartbeatd $(BIN)/ipfail $(BIN)/ldirectord $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BIN)/cl_status $(DESTDIR)$(PREFIX)/bin/cl_status
	install -m 0755 $(BIN)/hb_standby $(BIN)/hb_takeover $(DESTDIR)$(PREFIX)/share/heartbeat/
	# The classic ipfail paths (heartbeat's docs, Debian's) lead to ours;
	# heartbeatd also maps them itself (heartbeatd/respawn/builtin.go).
	install -d $(DESTDIR)$(PREFIX)/lib/heartbeat $(DESTDIR)$(PREFIX)/libexec/heartbeat
	ln -sfn ../../sbin/ipfail $(DESTDIR)$(PREFIX)/lib/heartbeat/ipfail
	ln -sfn ../../sbin/ipfail $(DESTDIR)$(PREFIX)/libexec/heartbeat/ipfail
	# IPaddr, IPaddr2, LVSSyncDaemonSwap and ldirectord are built into
	# heartbeatd; resource.d/ldirectord is the link Debian's ldirectord ships.
	install -d $(DESTDIR)/etc/ha.d/resource.d
	ln -sfn $(PREFIX)/sbin/ldirectord $(DESTDIR)/etc/ha.d/resource.d/ldirectord
	@set -e; for f in etc/systemd/*.service etc/systemd/*.socket etc/systemd/*.timer; do \
	  [ -f "$$f" ] || continue; install -d $(DESTDIR)$(SYSTEMDDIR); \
	  echo "install $$f"; $(FIXPREFIX) "$$f" > $(DESTDIR)$(SYSTEMDDIR)/$${f##*/}; chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/$${f##*/}; done; \
	for f in etc/init.d/*; do \
	  [ -f "$$f" ] || continue; install -d $(DESTDIR)/etc/init.d; \
	  echo "install $$f"; $(FIXPREFIX) "$$f" > $(DESTDIR)/etc/init.d/$${f##*/}; chmod 0755 $(DESTDIR)/etc/init.d/$${f##*/}; done; \
	for d in logrotate.d default; do for f in etc/$$d/*; do \
	  [ -f "$$f" ] || continue; install -d $(DESTDIR)/etc/$$d; \
	  echo "install $$f"; $(FIXPREFIX) "$$f" > $(DESTDIR)/etc/$$d/$${f##*/}; chmod 0644 $(DESTDIR)/etc/$$d/$${f##*/}; done; done; \
	for f in $$(find etc/ha.d -type f | sort); do \
	  install -D -m 0644 "$$f" $(DESTDIR)$(DOCDIR)/examples/$${f#etc/}; done
	# Manual pages, gzip -9n as Debian ships them; hb_takeover(1) is
	# documented in hb_standby(1).
	@set -e; for p in $(MAN_PAGES); do \
	  d=$(DESTDIR)$(MANDIR)/man$${p##*.}; install -d $$d; \
	  gzip -9n -c $(BIN)/man/$$p > $$d/$$p.gz; chmod 0644 $$d/$$p.gz; done
	ln -sfn hb_standby.1.gz $(DESTDIR)$(MANDIR)/man1/hb_takeover.1.gz

# A .deb of `make install` (PREFIX=/usr), built with dpkg-deb from a staged
# tree: packaging/deb holds control and the maintainer scripts.
DEB_VERSION ?= 0.0~git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0)
DEB_COMPRESS ?= xz
DEB_ARCH    ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
DEB_STAGE   := $(abspath $(BIN))/deb/hasuite
DEB         := $(abspath $(BIN))/hasuite_$(DEB_VERSION)_$(DEB_ARCH).deb

deb:
	rm -rf $(DEB_STAGE)
	$(MAKE) install PREFIX=/usr DESTDIR=$(DEB_STAGE)
	sh packaging/deb/stage.sh $(DEB_STAGE) $(DEB_VERSION) $(DEB_ARCH)
	dpkg-deb --root-owner-group -Z$(DEB_COMPRESS) --build $(DEB_STAGE) $(DEB)
	@echo "built $(DEB)"

# The README's first command: a highly available LVS cluster in network
# namespaces on this machine, narrated (root, under a minute; test/demo).
# DEMO_CI=1: no pauses or colours, exit 0 only if every step was observed.
demo: build
	$(GO) build -o $(BIN)/hasuite-demo ./test/demo
	@$(BIN)/hasuite-demo -bin $(BIN)

# Removes what an interrupted demo left behind (namespaces hsdemo-*,
# their processes, /tmp/hsdemo).
demo-down:
	@$(GO) build -o $(BIN)/hasuite-demo ./test/demo
	@$(BIN)/hasuite-demo -down

clean:
	rm -rf $(BIN)
