# hasuite: build, test, fuzz, bench, install, demo.
GO       ?= go
PREFIX   ?= /usr
DESTDIR  ?=
BIN      := bin
FUZZTIME ?= 30s
CMDS     := heartbeatd heartbeatd/cmd/cl_status heartbeatd/cmd/hb_standby heartbeatd/cmd/hb_takeover ipfail ldirectord

.PHONY: all build test unit deps fuzz bench bench-outage bench-ipvs bench-ldcheck install demo demo-down vet clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(addprefix ./,$(CMDS))

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

# Every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v -e /bench/outage -e /bench/ldcheck)

# Failover outage, heartbeat 3.0.6 vs heartbeatd (root, ~4 min): the table
# in docs/performance.md.
bench-outage:
	sh bench/outage.sh

# Health checking at 10,000 reals and failure detection, Perl ldirectord
# 4.12 vs ours (root, ~7 min): the ldirectord tables in docs/performance.md.
bench-ldcheck:
	sh bench/ldcheck.sh

# Cold apply of 1,000 virtual services × 10 real servers in the IPVS VM
# (root, ~4 min; BENCH_IPVS_CPUS sets the VM's CPUs): the table in
# docs/performance.md.
bench-ipvs:
	HASUITE_IPVS_BENCH=1 HASUITE_IPVS_BENCH_CPUS=$(BENCH_IPVS_CPUS) $(GO) test -count=1 -timeout 20m -run '^TestLVSVM$$' -v ./ldirectord/lvs

install: build
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/ha.d
	install -m 0755 $(BIN)/heartbeatd $(DESTDIR)$(PREFIX)/sbin/heartbeatd
	# ipfail beside heartbeatd: respawn lines naming the classic ipfail run it.
	install -m 0755 $(BIN)/ipfail $(DESTDIR)$(PREFIX)/sbin/ipfail
	install -m 0755 $(BIN)/ldirectord $(DESTDIR)$(PREFIX)/sbin/ldirectord
	install -m 0755 $(BIN)/cl_status $(DESTDIR)$(PREFIX)/bin/cl_status
	install -d $(DESTDIR)$(PREFIX)/share/heartbeat
	install -m 0755 $(BIN)/hb_standby $(BIN)/hb_takeover $(DESTDIR)$(PREFIX)/share/heartbeat/

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
