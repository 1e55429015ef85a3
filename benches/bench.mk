# The `bench` target: minibroker against mosquitto over loopback, results in BENCHMARKS.md.
#
# Meant to be included by the root Makefile (`include benches/bench.mk`); also usable alone as
# `make -f benches/bench.mk bench`. The script raises the open-files limit itself (`ulimit -n`)
# for the 10,000-connection scenario. Knobs: BENCH_SECS, BENCH_QUICK=1, BENCH_ROUNDS,
# BENCH_CONNS (see benches/run.sh).

BENCH_DIR := $(dir $(lastword $(MAKEFILE_LIST)))

.PHONY: bench

bench:
	ulimit -n "$$(ulimit -Hn)" && bash $(BENCH_DIR)run.sh
