# Fuzzing minibroker: `make fuzz` runs every cargo-fuzz target for FUZZ_SECS seconds each.
#
# Include this file from the root Makefile (`include fuzz/fuzz.mk`), or run it directly:
# `make -f fuzz/fuzz.mk fuzz`. See fuzz/README.md.
#
#   make fuzz                          every target, 60 s each
#   make fuzz FUZZ_SECS=600            longer
#   make fuzz FUZZ_TARGETS=session     one target
#   make fuzz FUZZ_ARGS=-seed=1        extra libFuzzer flags
#   make fuzz-replay                   replay corpus, regressions and saved crashes (stable)
#   make fuzz-cmin                     minimize the committed corpus
#   make fuzz-coverage                 coverage of the codec by the decode corpus

FUZZ_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
FUZZ_SECS ?= 60
FUZZ_TARGETS ?= decode decode_chunked roundtrip session store ws_frames
FUZZ_ARGS ?=
# libFuzzer flags: the MQTT dictionary; an input taking over 10 s is a hang; any single
# allocation above 64 MiB is a crash (inputs are at most a few KiB, so only an allocation
# sized by a length the input claims can get there).
FUZZ_FLAGS = -dict=mqtt.dict -max_total_time=$(FUZZ_SECS) -timeout=10 -malloc_limit_mb=64 \
	-print_final_stats=1 $(FUZZ_ARGS)

# A nightly toolchain when one is installed, else stable told to accept nightly flags.
FUZZ_CARGO := $(shell if rustup toolchain list 2>/dev/null | grep -q '^nightly'; \
	then echo 'cargo +nightly'; else echo 'RUSTC_BOOTSTRAP=1 cargo'; fi)

.PHONY: fuzz fuzz-install fuzz-build fuzz-replay fuzz-cmin fuzz-coverage fuzz-seeds

fuzz-install:
	@command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

fuzz-build: fuzz-install
	cd $(FUZZ_DIR) && $(FUZZ_CARGO) fuzz build

# New inputs go to fuzz/target/corpus/<target> (not committed); the committed seeds and
# regressions are read as extra corpus directories.
fuzz: fuzz-build
	@set -e; cd $(FUZZ_DIR); for t in $(FUZZ_TARGETS); do \
		mkdir -p target/corpus/$$t; \
		seeds=corpus/$$t; [ -d regressions/$$t ] && seeds="$$seeds regressions/$$t"; \
		echo "== fuzz $$t for $(FUZZ_SECS) s"; \
		$(FUZZ_CARGO) fuzz run $$t target/corpus/$$t $$seeds -- $(FUZZ_FLAGS); \
	done

fuzz-replay:
	cargo test --test fuzz_replay

# Writes the generated seeds into fuzz/corpus (run fuzz-cmin afterwards).
fuzz-seeds:
	cargo test --test fuzz_replay -- --ignored generate_seed_corpus

fuzz-cmin: fuzz-install
	@set -e; cd $(FUZZ_DIR); for t in $(FUZZ_TARGETS); do \
		$(FUZZ_CARGO) fuzz cmin $$t corpus/$$t; \
	done

# Coverage of the codec by the decode corpus (seeds and what runs found); needs llvm-tools:
# `rustup component add llvm-tools-preview --toolchain nightly`.
FUZZ_RUSTC := $(shell if rustup toolchain list 2>/dev/null | grep -q '^nightly'; \
	then echo 'rustc +nightly'; else echo 'rustc'; fi)
FUZZ_HOST = $(shell $(FUZZ_RUSTC) -vV | sed -n 's/^host: //p')
FUZZ_LLVM_COV = $(shell $(FUZZ_RUSTC) --print sysroot)/lib/rustlib/$(FUZZ_HOST)/bin/llvm-cov

fuzz-coverage: fuzz-install
	cd $(FUZZ_DIR) && mkdir -p target/corpus/decode && \
		$(FUZZ_CARGO) fuzz coverage decode corpus/decode target/corpus/decode
	$(FUZZ_LLVM_COV) report \
		$(FUZZ_DIR)/target/$(FUZZ_HOST)/coverage/$(FUZZ_HOST)/release/decode \
		-instr-profile=$(FUZZ_DIR)/coverage/decode/coverage.profdata \
		$(abspath $(FUZZ_DIR)/../src/protocol)
