# Build, run and test minibroker.
#
#   make run    release build, then a broker on port 1883
#   make test   install what the tests need, then run every check
#   make bench  minibroker against mosquitto, results in BENCHMARKS.md (benches/bench.mk)
#   make small  a static, size-optimised broker for boards short of memory (see the README)
#   make install   the binary, the systemd unit, logrotate and sysusers files and an example
#                  configuration, under DESTDIR and PREFIX (default /usr/local)
#
# `make test` runs each step even when an earlier one failed (a formatting slip should not hide a
# failing test), prints one line naming the failed steps, and exits non-zero if there were any.
# The steps can also be run one by one: fmt-check, clippy, clippy-no-tls, doc-check, cargo-test,
# e2e-paho1, e2e-paho2, e2e-small, e2e-js, install-check. run, test and bench first make sure OpenSSL's headers are there (build-deps).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

CARGO ?= cargo
PYTHON ?= python3
PORT ?= 1883
# Extra arguments for pytest, e.g. `make e2e-paho2 PYTEST_ARGS='-k retained -x'`.
PYTEST_ARGS ?=

E2E_DIR := tests/e2e
JS_DIR := tests/js
TEST_STEPS := fmt-check clippy clippy-no-tls doc-check cargo-test e2e-paho1 e2e-paho2 e2e-small e2e-js install-check
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
# Configuration and logrotate go to /etc whatever the prefix, as Debian's packages place them.
SYSCONFDIR ?= /etc

.PHONY: install install-check
.PHONY: all build run small test deps build-deps mosquitto-clients mosquitto-broker venvs \
        fmt-check clippy clippy-no-tls doc-check cargo-test e2e e2e-paho1 e2e-paho2 e2e-small e2e-js \
        node chromium \
        clean

all: build

# The broker, and the examples the e2e tests run (examples/home_hub.rs embeds the broker).
build: build-deps
	$(CARGO) build --bins --examples

run: build-deps
	$(CARGO) build --release
	./target/release/minibroker -p $(PORT)

# One static executable with OpenSSL built in from source (which needs perl and make), linked
# without position independence: about a third of the default build's idle memory. What it
# gives up is in the README's "A smaller build".
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
SMALL_BIN = target/$(HOST_TRIPLE)/small/minibroker

small:
	RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
	    $(CARGO) build --profile small --features vendored-openssl --target $(HOST_TRIPLE) --bin minibroker
	@echo "built $(SMALL_BIN)"

test: deps
	@failed=""; \
	for step in $(TEST_STEPS); do \
	    echo "==> make $$step"; \
	    $(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "make test: FAILED:$$failed"; \
	    exit 1; \
	fi; \
	echo "make test: all steps passed ($(TEST_STEPS))"

# --- what the build and the tests need ----------------------------------------------------

deps: build-deps mosquitto-clients mosquitto-broker venvs node chromium $(JS_DIR)/node_modules/.installed

# The default `tls` feature builds native-tls, which links the system's OpenSSL: on Debian its
# headers (libssl-dev) and pkg-config to find them. Shared by run, test and bench.
build-deps:
	@if pkg-config --exists openssl 2>/dev/null; then \
	    exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    echo "OpenSSL headers or pkg-config not found: installing libssl-dev pkg-config"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libssl-dev pkg-config; \
	else \
	    echo "error: building minibroker with TLS needs the OpenSSL headers and pkg-config." >&2; \
	    echo "       Install them as root, e.g.: sudo apt-get install -y libssl-dev pkg-config" >&2; \
	    echo "       or build without TLS: cargo build --no-default-features" >&2; \
	    exit 1; \
	fi

# The e2e tests drive the broker with mosquitto_pub and mosquitto_sub.
mosquitto-clients:
	@if command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null; then \
	    exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	    echo "mosquitto_sub not found: installing mosquitto-clients"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto-clients; \
	else \
	    echo "error: mosquitto_sub and mosquitto_pub are needed by the tests in $(E2E_DIR)." >&2; \
	    echo "       Install them as root, e.g.: sudo apt-get install -y mosquitto-clients" >&2; \
	    exit 1; \
	fi

# The bridge tests (tests/bridge_mosquitto.rs) use Debian's mosquitto as the upstream broker;
# they are skipped, saying so, when it is missing and cannot be installed.
mosquitto-broker:
	@if [ -x /usr/sbin/mosquitto ]; then \
	    exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	    echo "/usr/sbin/mosquitto not found: installing mosquitto"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto; \
	else \
	    echo "warning: /usr/sbin/mosquitto is missing; the bridge tests against it are skipped." >&2; \
	    echo "         Install it as root, e.g.: sudo apt-get install -y mosquitto" >&2; \
	fi

# The MQTT.js tests (tests/js) run in Node.js, with the npm packages package-lock.json pins.
node:
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
	    exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	    echo "node or npm not found: installing nodejs npm"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; \
	else \
	    echo "error: node and npm are needed by the tests in $(JS_DIR)." >&2; \
	    echo "       Install them as root, e.g.: sudo apt-get install -y nodejs npm" >&2; \
	    exit 1; \
	fi

# The browser test drives Debian's Chromium; it is skipped, saying so, when it is missing and
# cannot be installed.
chromium:
	@if [ -x /usr/bin/chromium ]; then \
	    exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	    echo "/usr/bin/chromium not found: installing chromium"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
	    echo "warning: /usr/bin/chromium is missing; the browser test in $(JS_DIR) is skipped." >&2; \
	    echo "         Install it as root, e.g.: sudo apt-get install -y chromium" >&2; \
	fi

$(JS_DIR)/node_modules/.installed: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json | node
	cd $(JS_DIR) && npm ci --no-audit --no-fund
	@touch $@

venvs: .venv-paho1/.installed .venv-paho2/.installed

# One virtualenv per paho-mqtt major version. The stamp file makes a second `make test` skip
# the install; editing the requirements file rebuilds that venv from scratch.
#
# Debian's python3 cannot create a venv with pip in it unless python3-venv is installed; then
# the venv is created without pip and the system pip installs into it (pip >= 22.3).
.venv-%/.installed: $(E2E_DIR)/requirements-%.txt
	@echo "creating .venv-$* from $<"
	@rm -rf .venv-$*
	@if $(PYTHON) -m venv .venv-$* >/dev/null 2>&1 && [ -x .venv-$*/bin/pip ]; then \
	    .venv-$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<; \
	else \
	    echo "python3 -m venv cannot provide pip here (on Debian: apt-get install python3-venv);" \
	         "using the system pip for .venv-$*"; \
	    rm -rf .venv-$*; \
	    $(PYTHON) -m venv --without-pip .venv-$*; \
	    $(PYTHON) -m pip --python .venv-$*/bin/python install --quiet \
	        --disable-pip-version-check -r $<; \
	fi
	@touch $@

# --- the checks ---------------------------------------------------------------------------

fmt-check:
	$(CARGO) fmt --check

# --workspace: the load generator in benches/load too.
clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The build without TLS (no OpenSSL) must stay clean too.
clippy-no-tls:
	$(CARGO) clippy --workspace --no-default-features --all-targets -- -D warnings

# The API documentation builds without a warning (broken links, links to private items).
doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

# Unit, socket and doc tests, the tests of examples/home_hub.rs and the load generator's.
cargo-test:
	$(CARGO) test --workspace

e2e: e2e-paho1 e2e-paho2

e2e-paho1: .venv-paho1/.installed build
	.venv-paho1/bin/python -m pytest $(E2E_DIR) $(PYTEST_ARGS)

e2e-paho2: .venv-paho2/.installed build
	.venv-paho2/bin/python -m pytest $(E2E_DIR) $(PYTEST_ARGS)

# The same tests against the executable `make small` builds: the static build, OpenSSL compiled
# in, checked as its users run it, TLS and WebSockets included.
e2e-small: .venv-paho2/.installed small build
	MINIBROKER_BIN=$(CURDIR)/$(SMALL_BIN) .venv-paho2/bin/python -m pytest $(E2E_DIR) $(PYTEST_ARGS)

# MQTT.js over ws and wss in Node, and a page in headless Chromium.
e2e-js: $(JS_DIR)/node_modules/.installed build
	cd $(JS_DIR) && node --test mqttjs.test.mjs browser.test.mjs

# --- installing as a system service --------------------------------------------------------

# An existing configuration is never overwritten; the example is then installed beside it.
install: build-deps
	$(CARGO) build --release
	install -D -m 0755 target/release/minibroker $(DESTDIR)$(BINDIR)/minibroker
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d
	sed 's|@BINDIR@|$(BINDIR)|g' dist/minibroker.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/minibroker.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/minibroker.service
	install -m 0644 dist/minibroker.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/minibroker.conf
	install -D -m 0644 dist/minibroker.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/minibroker
	install -d $(DESTDIR)$(SYSCONFDIR)/minibroker
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/minibroker/minibroker.conf ]; then \
	    install -m 0644 dist/minibroker.conf $(DESTDIR)$(SYSCONFDIR)/minibroker/minibroker.conf.example; \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/minibroker/minibroker.conf; the example is minibroker.conf.example"; \
	else \
	    install -m 0644 dist/minibroker.conf $(DESTDIR)$(SYSCONFDIR)/minibroker/minibroker.conf; \
	fi

# `make install` into a scratch DESTDIR: every file where it belongs, the unit pointing at the
# installed binary, and that binary answering.
install-check:
	@dest=$$(mktemp -d); trap 'rm -rf "$$dest"' EXIT; \
	$(MAKE) --no-print-directory install DESTDIR="$$dest" PREFIX=/usr >/dev/null; \
	for f in usr/bin/minibroker usr/lib/systemd/system/minibroker.service \
	         usr/lib/sysusers.d/minibroker.conf etc/logrotate.d/minibroker \
	         etc/minibroker/minibroker.conf; do \
	    [ -e "$$dest/$$f" ] || { echo "install-check: $$f missing"; exit 1; }; \
	done; \
	grep -q '^ExecStart=/usr/bin/minibroker -c /etc/minibroker/minibroker.conf$$' \
	    "$$dest/usr/lib/systemd/system/minibroker.service" \
	    || { echo "install-check: ExecStart does not name /usr/bin/minibroker"; exit 1; }; \
	"$$dest/usr/bin/minibroker" --version; \
	$(MAKE) --no-print-directory install DESTDIR="$$dest" PREFIX=/usr >/dev/null; \
	[ -e "$$dest/etc/minibroker/minibroker.conf.example" ] \
	    || { echo "install-check: a second install overwrote the configuration"; exit 1; }; \
	echo "install-check: all files installed"

clean:
	$(CARGO) clean
	rm -rf .venv-paho1 .venv-paho2 $(E2E_DIR)/.pytest_cache $(JS_DIR)/node_modules

include benches/bench.mk
include fuzz/fuzz.mk

bench: build-deps
