#!/usr/bin/env bash
# Compares minibroker with mosquitto (and rumqttd when it is on PATH) on loopback and writes
# the medians to BENCHMARKS.md.
#
# Every broker runs pinned to core 0 and the load generator to core 1, so the generator never
# steals the broker's CPU; the latency scenario also runs with nothing pinned (see run_unpinned). Each round starts every broker afresh (so the idle-connection memory
# figure starts from an idle broker), then runs each scenario against each broker in turn.
#
# Environment:
#   BENCH_SECS   measured seconds per run (default 4)
#   BENCH_QUICK  1 for a single-round smoke run with 2-second runs
#   BENCH_ROUNDS rounds (default 3; medians are taken over them)
#   BENCH_CONNS  idle connections in the conns scenario (default 10000)
#   BENCH_MEMORY_BUDGET  memory_limit in bytes of the *(memory budget set)* rows (default 64 MiB)
#   BENCH_SMALL  0 to leave out the *(small build)* rows and the `make small` build they need
#   BENCH_OUT    where to write the markdown (default BENCHMARKS.md at the repository root)

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

quick=${BENCH_QUICK:-0}
if [[ $quick == 1 ]]; then
    secs=${BENCH_SECS:-2}
    rounds=${BENCH_ROUNDS:-1}
else
    secs=${BENCH_SECS:-4}
    rounds=${BENCH_ROUNDS:-3}
fi
conns=${BENCH_CONNS:-10000}
# Messages the bridge queues while its upstream is down (max_queued_messages of the burst rows).
burst_bound=${BENCH_BURST_BOUND:-100000}
# memory_limit of the rows with a memory budget, in bytes (64 MiB).
memory_budget=${BENCH_MEMORY_BUDGET:-67108864}
out=${BENCH_OUT:-$root/BENCHMARKS.md}
small=${BENCH_SMALL:-1}
small_brokers=()
[[ $small == 1 ]] && small_brokers=(minibroker-small mosquitto-small)
command_line="BENCH_QUICK=$quick BENCH_SECS=$secs BENCH_ROUNDS=$rounds BENCH_CONNS=$conns benches/run.sh"

log() { printf '==> %s\n' "$*" >&2; }

# --- what the run needs ---------------------------------------------------------------------

# 10,000 idle connections need as many descriptors in the broker and in the generator; the
# children inherit this.
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < conns + 100)); then
    log "note: open files limited to $(ulimit -n); the conns scenario will open fewer connections"
fi

mosquitto_bin=$(command -v mosquitto || true)
[[ -z $mosquitto_bin && -x /usr/sbin/mosquitto ]] && mosquitto_bin=/usr/sbin/mosquitto
if [[ -z $mosquitto_bin ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing mosquitto"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >/dev/null
        mosquitto_bin=/usr/sbin/mosquitto
    else
        log "mosquitto is missing: install it (apt-get install mosquitto) and run again"
        exit 1
    fi
fi
rumqttd_bin=$(command -v rumqttd || true)

log "building minibroker and mqtt-load (release)"
cargo build --release --quiet -p minibroker -p mqtt-load
# The embedded rows run minibroker inside examples/audit_log.rs, a host program with every hook
# set and an in-process subscriber to #.
cargo build --release --quiet -p minibroker --example audit_log
minibroker_bin=$root/target/release/minibroker
audit_log_bin=$root/target/release/examples/audit_log
if [[ $small == 1 ]]; then
    log "building the small build (make small)"
    make --no-print-directory small >/dev/null
    small_bin=$root/target/$(rustc -vV | sed -n 's/^host: //p')/small/minibroker
fi
load_bin=$root/target/release/mqtt-load

pin_broker=()
pin_load=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
    pin_broker=(taskset -c 0)
    pin_load=(taskset -c 1)
    pinning="brokers on core 0, load generator on core 1 (taskset)"
else
    pinning="not pinned (taskset or a second core is missing)"
    log "note: $pinning"
fi

# --- brokers --------------------------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/minibroker-bench.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports from a random start, probed with bash's /dev/tcp. Not called in a
# subshell, so that each call moves past the port it handed out.
next_port=$((20000 + RANDOM % 20000))
take_port() { # name
    while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do
        next_port=$((next_port + 1))
    done
    port[$1]=$next_port
    next_port=$((next_port + 1))
}

# Broker instances: name, label in the table, note (separate rows), command (with PORT).
names=()
declare -A label note cmd port pid

add_broker() {
    names+=("$1")
    label[$1]=$2
    note[$1]=$3
    cmd[$1]=$4
}

write_mosquitto_conf() { # file port raised? [tls]
    {
        echo "listener $2 127.0.0.1"
        if [[ ${4:-} == tls ]]; then
            echo "cafile $tls_dir/ca.crt"
            echo "certfile $tls_dir/server.crt"
            echo "keyfile $tls_dir/server.key"
            # minibroker speaks TLS 1.2 (native-tls's server settings); compare like with like.
            echo "tls_version tlsv1.2"
        fi
        echo "allow_anonymous true"
        echo "persistence false"
        [[ $(id -u) == 0 ]] && echo "user root"
        if [[ $3 == raised ]]; then
            echo "max_queued_messages 1000000"
            echo "max_inflight_messages 100"
            # minibroker sets TCP_NODELAY; without this mosquitto's latency includes Nagle.
            echo "set_tcp_nodelay true"
        fi
    } >"$1"
}

# One user, `bench`, who may read and write bench/#; made with minibroker's own tool, which
# writes mosquitto's $7$ form (PBKDF2-SHA512, 101 iterations), so both brokers check the same.
"$minibroker_bin" passwd -c -b "$tmp/passwd" bench bench
printf 'user bench\ntopic readwrite bench/#\n' >"$tmp/acl"
write_auth_lines() {
    echo "allow_anonymous false"
    echo "password_file $tmp/passwd"
    echo "acl_file $tmp/acl"
}

write_minibroker_auth_conf() { # file port
    {
        echo "listener $2 127.0.0.1"
        write_auth_lines
        echo "user root"
    } >"$1"
}

# A home broker (minibroker or mosquitto, same file) bridging bench/# out at QoS 1 to
# 127.0.0.1:UPSTREAM, as the client id given; the bridge's queue is bounded by max_queued_*.
write_minibroker_persist_conf() { # file port sync-policy
    {
        echo "listener $2 127.0.0.1"
        echo "allow_anonymous true"
        # The offline rows queue a few seconds of publishing: more than the other rows' bound.
        echo "max_queued_messages 20000000"
        echo "max_inflight_messages 100"
        echo "persistence true"
        echo "persistence_location $tmp/store-$2"
        echo "persistence_sync $3"
        [[ $(id -u) == 0 ]] && echo "user root"
    } >"$1"
}

write_bridge_conf() { # file port upstream-port remote-client-id max-queued
    {
        echo "listener $2 127.0.0.1"
        echo "allow_anonymous true"
        echo "persistence false"
        echo "max_queued_messages $5"
        echo "max_inflight_messages 100"
        [[ $(id -u) == 0 ]] && echo "user root"
        echo "connection up"
        echo "address 127.0.0.1:$3"
        echo "remote_clientid $4"
        echo "topic bench/# out 1"
    } >"$1"
}

write_rumqttd_conf() { # file port
    cat >"$1" <<EOF
id = 0

[router]
id = 0
max_connections = $((conns + 100))
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "127.0.0.1:$2"
next_connection_delay_ms = 0
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 20480
    max_inflight_count = 100
    dynamic_filters = true
EOF
}

# TLS: a CA and a server certificate for 127.0.0.1, made for this run and removed with $tmp.
tls_dir=$tmp/tls
mkdir -p "$tls_dir"
make_tls_certs() {
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$tls_dir/server.ext"
    openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=mqtt-load CA" \
        -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.crt" 2>/dev/null
    openssl req "${ec[@]}" -subj "/CN=127.0.0.1" \
        -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" 2>/dev/null
    openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
        -set_serial 1 -days 2 -extfile "$tls_dir/server.ext" -out "$tls_dir/server.crt" 2>/dev/null
    chmod a+r "$tls_dir"/*
}
make_tls_certs

add_broker minibroker minibroker "" \
    "$minibroker_bin -b 127.0.0.1 -p PORT --max-queued 1000000 --max-inflight 100 -q"
add_broker mosquitto mosquitto "" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
add_broker minibroker-defaults minibroker "default limits" "$minibroker_bin -b 127.0.0.1 -p PORT -q"
add_broker mosquitto-defaults mosquitto "default limits" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
# Over TLS: minibroker's plain listener, unused, gets a port of its own (PLAIN_PORT); with -p 0
# the kernel could hand it the port meant for TLS.
add_broker minibroker-tls minibroker "TLS" \
    "$minibroker_bin -b 127.0.0.1 -p PLAIN_PORT --tls-bind 127.0.0.1 --tls-port PORT --cert $tls_dir/server.crt --key $tls_dir/server.key --max-queued 1000000 --max-inflight 100 -q"
add_broker mosquitto-tls mosquitto "TLS" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
# Over WebSockets, to each broker's `protocol websockets` listener.
add_broker minibroker-ws minibroker "WebSockets" "$minibroker_bin -c $tmp/ws-PORT.conf -q"
add_broker mosquitto-ws mosquitto "WebSockets" "$mosquitto_bin -c $tmp/ws-PORT.conf"
# Embedded in a host program that sees every connect and message through its hooks and takes
# every message through an in-process subscription to #; mosquitto, which cannot be embedded,
# runs as in the main rows (and so delivers each message once where minibroker does twice).
add_broker minibroker-embedded minibroker "embedded: hooks, host subscribed to #" \
    "$audit_log_bin --port PORT --max-queued 1000000 --max-inflight 100"
add_broker mosquitto-embedded mosquitto "embedded: hooks, host subscribed to #" \
    "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
# With a password file and an ACL file, every client logging in as `bench`.
add_broker minibroker-auth minibroker "users and ACL" "$minibroker_bin -c $tmp/minibroker-PORT.conf -q"
add_broker mosquitto-auth mosquitto "users and ACL" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
# Bridges: one mosquitto upstream (not a row of its own) that both home brokers bridge to, and
# home brokers whose upstream is down (a port nobody listens on) for the burst rows.
add_broker upstream mosquitto "upstream" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
add_broker minibroker-bridge minibroker "bridge to mosquitto" "$minibroker_bin -c $tmp/bridge-PORT.conf -q"
add_broker mosquitto-bridge mosquitto "bridge to mosquitto" "$mosquitto_bin -c $tmp/bridge-PORT.conf"
# With persistence on, the store in a directory of its own, emptied at every start.
add_broker minibroker-persist minibroker "persistence" "$minibroker_bin -c $tmp/persist-PORT.conf -q"
add_broker minibroker-persist-batch minibroker "persistence, batch fsync" \
    "$minibroker_bin -c $tmp/persist-PORT.conf -q"
add_broker mosquitto-persist mosquitto "persistence" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
add_broker minibroker-burst minibroker "bridge, upstream down" "$minibroker_bin -c $tmp/bridge-PORT.conf -q"
add_broker mosquitto-burst mosquitto "bridge, upstream down" "$mosquitto_bin -c $tmp/bridge-PORT.conf"
# The main rows' limits plus memory_limit, which both brokers take from their configuration.
add_broker minibroker-memlimit minibroker "memory budget set" "$minibroker_bin -c $tmp/memlimit-PORT.conf -q"
add_broker mosquitto-memlimit mosquitto "memory budget set" "$mosquitto_bin -c $tmp/memlimit-PORT.conf"
# minibroker with per-client publish rate limits far above what the load sends; mosquitto has no
# such option and runs as in the main rows.
add_broker minibroker-ratelimit minibroker "publish rate limits set" "$minibroker_bin -c $tmp/ratelimit-PORT.conf -q"
add_broker mosquitto-ratelimit mosquitto "publish rate limits set" "$mosquitto_bin -c $tmp/ratelimit-PORT.conf"
# `make small`'s static, size-optimised executable, with the main rows' limits.
if [[ $small == 1 ]]; then
    add_broker minibroker-small minibroker "small build" \
        "$small_bin -b 127.0.0.1 -p PORT --max-queued 1000000 --max-inflight 100 -q"
    add_broker mosquitto-small mosquitto "small build" "$mosquitto_bin -c $tmp/mosquitto-PORT.conf"
fi
if [[ -n $rumqttd_bin ]]; then
    add_broker rumqttd rumqttd "" "$rumqttd_bin -c $tmp/rumqttd-PORT.toml"
fi
# A stand-in that does no broker work, only copies bytes from publisher to subscriber: the floor
# under the latency rows. Its figures go to the notes below the table, not into it.
add_broker floor floor "" "$load_bin forward --host 127.0.0.1 --port PORT"

for name in "${names[@]}"; do
    take_port "$name"
    p=${port[$name]}
    case $name in
    mosquitto) write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" raised ;;
    mosquitto-defaults) write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" defaults ;;
    mosquitto-tls) write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" raised tls ;;
    mosquitto-embedded | mosquitto-small) write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" raised ;;
    mosquitto-auth)
        write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" defaults
        sed -i '/^allow_anonymous/d' "$tmp/mosquitto-$p.conf"
        write_auth_lines >>"$tmp/mosquitto-$p.conf"
        ;;
    minibroker-auth) write_minibroker_auth_conf "$tmp/minibroker-$p.conf" "$p" ;;
    minibroker-ws)
        printf 'listener %s 127.0.0.1\nprotocol websockets\nallow_anonymous true\n' "$p" >"$tmp/ws-$p.conf"
        printf 'max_queued_messages 1000000\nmax_inflight_messages 100\n' >>"$tmp/ws-$p.conf"
        ;;
    mosquitto-ws)
        # mosquitto 2.0 refuses to start with WebSocket listeners alone: an MQTT one, unused,
        # comes first.
        take_port "$name-plain"
        write_mosquitto_conf "$tmp/ws-$p.conf" "${port[$name-plain]}" raised
        printf 'listener %s 127.0.0.1\nprotocol websockets\n' "$p" >>"$tmp/ws-$p.conf"
        ;;
    upstream) write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" raised ;;
    *-bridge) write_bridge_conf "$tmp/bridge-$p.conf" "$p" "${port[upstream]}" "bench-$name" 1000000 ;;
    *-burst)
        [[ -n ${port[dead]:-} ]] || take_port dead
        write_bridge_conf "$tmp/bridge-$p.conf" "$p" "${port[dead]}" "bench-$name" "$burst_bound"
        ;;
    minibroker-memlimit)
        printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$p" >"$tmp/memlimit-$p.conf"
        printf 'max_queued_messages 1000000\nmax_inflight_messages 100\n' >>"$tmp/memlimit-$p.conf"
        echo "memory_limit $memory_budget" >>"$tmp/memlimit-$p.conf"
        ;;
    mosquitto-memlimit)
        write_mosquitto_conf "$tmp/memlimit-$p.conf" "$p" raised
        echo "memory_limit $memory_budget" >>"$tmp/memlimit-$p.conf"
        ;;
    minibroker-ratelimit)
        printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$p" >"$tmp/ratelimit-$p.conf"
        printf 'max_queued_messages 1000000\nmax_inflight_messages 100\n' >>"$tmp/ratelimit-$p.conf"
        printf 'publish_rate_limit 100000000\npublish_byte_rate_limit 100000000000\n' >>"$tmp/ratelimit-$p.conf"
        ;;
    mosquitto-ratelimit) write_mosquitto_conf "$tmp/ratelimit-$p.conf" "$p" raised ;;
    rumqttd) write_rumqttd_conf "$tmp/rumqttd-$p.toml" "$p" ;;
    minibroker-persist) write_minibroker_persist_conf "$tmp/persist-$p.conf" "$p" periodic ;;
    minibroker-persist-batch) write_minibroker_persist_conf "$tmp/persist-$p.conf" "$p" batch ;;
    mosquitto-persist)
        write_mosquitto_conf "$tmp/mosquitto-$p.conf" "$p" raised
        sed -i '/^persistence false/d; s/^max_queued_messages .*/max_queued_messages 20000000/' \
            "$tmp/mosquitto-$p.conf"
        printf 'persistence true\npersistence_location %s/\n' "$tmp/store-$p" >>"$tmp/mosquitto-$p.conf"
        ;;
    esac
    if [[ ${cmd[$name]} == *PLAIN_PORT* ]]; then
        take_port "$name-plain"
        cmd[$name]=${cmd[$name]//PLAIN_PORT/${port[$name-plain]}}
    fi
    cmd[$name]=${cmd[$name]//PORT/$p}
done

start_broker() { # name
    local name=$1 p=${port[$1]} i
    if [[ $name == *-persist* ]]; then
        # Every round starts from an empty store.
        rm -rf "$tmp/store-$p"
        mkdir -p "$tmp/store-$p"
    fi
    # shellcheck disable=SC2086 # the command is split into words on purpose
    "${pin_broker[@]}" ${cmd[$name]} >>"$tmp/$name.log" 2>&1 &
    pid[$name]=$!
    pids+=("$!")
    for ((i = 0; i < 100; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            return 0
        fi
        kill -0 "${pid[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    log "$name did not start listening on port $p; its log:"
    tail -n 20 "$tmp/$name.log" >&2 || true
    stop_broker "$name"
    return 1
}

stop_broker() { # name
    local p=${pid[$1]:-}
    [[ -z $p ]] && return 0
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    pid[$1]=
}

results=$tmp/results.jsonl
floor_results=$tmp/floor.jsonl
: >"$results"
: >"$floor_results"

# Runs one scenario against one broker and keeps its JSON line.
run_load() { # name scenario args...
    local name=$1
    shift
    local p=${pid[$name]:-}
    if [[ -z $p ]] || ! kill -0 "$p" 2>/dev/null; then
        log "skipping $1 on $name: the broker is not running"
        return 0
    fi
    local args=("$@" --port "${port[$name]}" --secs "$secs" --broker-pid "$p" --label "${label[$name]}")
    [[ -n ${note[$name]} ]] && args+=(--note "${note[$name]}")
    local output status=0 t0=$SECONDS into=$results
    [[ $name == floor ]] && into=$floor_results
    output=$(timeout 300 "${pin_load[@]}" "$load_bin" "${args[@]}" 2>&1) || status=$?
    grep -v '^{' <<<"$output" | sed "s/^/   [$name] /" >&2 || true
    grep '^{' <<<"$output" >>"$into" || true
    log "$name $* took $((SECONDS - t0))s"
    if ((status != 0)); then
        log "mqtt-load $1 against $name failed (status $status)"
    fi
}

# Runs one scenario with nothing pinned, the broker and the generator sharing the cores as the
# kernel sees fit, as on a gateway where nobody pins anything; its rows are marked (not pinned).
# Pinned apart, every message of the latency scenario waits for two wake-ups across cores, and
# the floor shows that those take most of the figure whatever the broker does.
run_unpinned() { # name scenario args...
    local p=${pid[$1]:-} all_cores="0-$(($(nproc) - 1))" saved_pin_load=("${pin_load[@]}")
    if ((${#pin_broker[@]} == 0)) || [[ -z $p ]]; then
        return 0
    fi
    taskset -a -p -c "$all_cores" "$p" >/dev/null
    pin_load=()
    run_load "$@" --note "not pinned"
    pin_load=("${saved_pin_load[@]}")
    taskset -a -p -c 0 "$p" >/dev/null 2>&1 || true
}

# --- the rounds -----------------------------------------------------------------------------

# Fan-in in MQTT 5 (QoS, then options): what v5 costs against 3.1.1, and what topic aliases save.
fanin_v5=("0 --mqtt5" "0 --mqtt5 --topic-alias" "1 --mqtt5")

main_brokers=()
for name in "${names[@]}"; do
    case $name in
    *-defaults | *-tls | *-ws | *-auth | *-embedded | upstream | *-bridge | *-burst | *-persist* | *-memlimit | *-ratelimit | *-small | floor) ;;
    *) main_brokers+=("$name") ;;
    esac
done

started=$(date +%s)
# Other work on the machine shows up in every figure; the table records how busy it was.
load_average=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
for ((round = 1; round <= rounds; round++)); do
    log "round $round of $rounds"
    for name in "${names[@]}"; do
        start_broker "$name" || true
    done
    # Idle connections first, while every broker's memory is that of a fresh start.
    for name in "${main_brokers[@]}"; do run_load "$name" conns --conns "$conns"; done
    for name in "${small_brokers[@]}"; do run_load "$name" conns --conns "$conns"; done
    for qos in 0 1 2; do
        for name in "${main_brokers[@]}"; do run_load "$name" fanin --qos "$qos"; done
        # MQTT 5 right after the 3.1.1 rows it is compared with (rumqttd's listener is 3.1.1).
        for variant in "${fanin_v5[@]}"; do
            [[ ${variant%% *} == "$qos" ]] || continue
            for name in minibroker mosquitto; do
                # shellcheck disable=SC2086 # the variant is split into words on purpose
                run_load "$name" fanin --qos $variant
            done
        done
    done
    # QoS 2 from four publishers: the case where mosquitto is known to collapse.
    for name in "${main_brokers[@]}"; do run_load "$name" fanin --qos 2 --publishers 4; done
    # mosquitto's default limits (20 in flight, 1000 queued) drop QoS 1/2 under fan-in.
    for qos in 1 2; do
        for name in minibroker-defaults mosquitto-defaults; do run_load "$name" fanin --qos "$qos"; done
    done
    # Fan-in with every client on TLS, against each broker's TLS listener.
    for qos in 0 1; do
        for name in minibroker-tls mosquitto-tls; do
            run_load "$name" fanin --qos "$qos" --tls-ca "$tls_dir/ca.crt"
        done
    done
    # Fan-in with every client on WebSockets, against each broker's WebSocket listener.
    for qos in 0 1; do
        for name in minibroker-ws mosquitto-ws; do run_load "$name" fanin --qos "$qos" --ws; done
    done
    # Fan-in with memory_limit set: what keeping the memory budget's account costs.
    for qos in 0 1; do
        for name in minibroker-memlimit mosquitto-memlimit; do run_load "$name" fanin --qos "$qos"; done
    done
    # Fan-in with publish rate limits set, never reached: what keeping the buckets costs.
    for qos in 0 1; do
        for name in minibroker-ratelimit mosquitto-ratelimit; do run_load "$name" fanin --qos "$qos"; done
    done
    # What the small build's size-optimised code costs in speed.
    for qos in 0 1; do
        for name in "${small_brokers[@]}"; do run_load "$name" fanin --qos "$qos"; done
    done
    # Fan-in to a broker embedded in a host program with every hook set and a subscriber of its
    # own on #.
    for qos in 0 1; do
        for name in minibroker-embedded mosquitto-embedded; do run_load "$name" fanin --qos "$qos"; done
    done
    # Every client logs in (a PBKDF2 check per connection) and every delivery passes the ACL.
    for name in minibroker-auth mosquitto-auth; do
        run_load "$name" conns --conns "$conns" --username bench --password bench
        for qos in 0 1; do run_load "$name" fanin --qos "$qos" --username bench --password bench; done
    done
    for name in "${main_brokers[@]}"; do run_load "$name" fanout; done
    for name in "${main_brokers[@]}" floor; do run_load "$name" latency; done
    for name in "${main_brokers[@]}" floor; do run_unpinned "$name" latency; done
    for name in "${main_brokers[@]}"; do run_load "$name" subs; done
    # 100,000 retained messages, then one subscriber on r/+/x, at each broker's default limits
    # (1000 queued, 20 in flight): all must arrive, whatever the queue limit.
    for qos in 0 1; do
        for name in minibroker-defaults mosquitto-defaults; do run_load "$name" retained --qos "$qos"; done
    done
    # QoS 1 through a bridge, publishers on the home broker, the subscriber on the upstream.
    for name in minibroker-bridge mosquitto-bridge; do
        run_load "$name" fanin --qos 1 --sub-port "${port[upstream]}"
    done
    # The upstream down: a burst of QoS 1 that only the bridge's bounded queue takes.
    for name in minibroker-burst mosquitto-burst; do run_load "$name" burst --qos 1; done
    # Persistence: QoS 1 fan-in to an online persistent-session subscriber, then into the queue
    # of an offline one (drained when it comes back), then the same with kill -9 between the
    # two, the restarted broker draining what its store kept. Killing comes last: mqtt-load
    # stops the broker it restarted.
    persist_brokers=(minibroker-persist minibroker-persist-batch mosquitto-persist)
    for name in "${persist_brokers[@]}"; do run_load "$name" fanin --qos 1 --persistent; done
    for name in "${persist_brokers[@]}"; do run_load "$name" offline; done
    for name in "${persist_brokers[@]}"; do
        run_load "$name" offline --restart "exec ${pin_broker[*]} ${cmd[$name]} >>$tmp/$name.log 2>&1"
    done
    for name in "${names[@]}"; do
        stop_broker "$name"
    done
done
elapsed=$(($(date +%s) - started))

# --- the report -----------------------------------------------------------------------------

table=$("$load_bin" table "$results")
cpu_model=$(grep -m1 -E '^(model name|Model|Hardware)' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
version_of() { "$@" 2>&1 | head -n 1 || true; }
mosquitto_version=$(version_of "$mosquitto_bin" -h)
minibroker_version="$(version_of "$minibroker_bin" -V) ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
# The size a user installs: the release binary stripped of symbols (debug info included in
# the build for profiling); both link the system's OpenSSL dynamically.
stripped_kib() { # binary
    if strip -o "$tmp/stripped" "$1" 2>/dev/null; then
        echo $(($(stat -c %s "$tmp/stripped") / 1024))
    else
        echo "unknown"
    fi
}
minibroker_size=$(stripped_kib "$minibroker_bin")
mosquitto_size=$(stripped_kib "$mosquitto_bin")
rumqttd_version=${rumqttd_bin:+$(version_of "$rumqttd_bin" --version)}
# The median of one figure over the floor's latency runs, pinned or not.
floor_median() { # figure pinned|unpinned
    local runs
    if [[ $2 == pinned ]]; then
        runs=$(grep -v 'not pinned' "$floor_results" || true)
    else
        runs=$(grep 'not pinned' "$floor_results" || true)
    fi
    grep -o "\"$1\":[0-9.]*" <<<"$runs" | cut -d: -f2 | sort -n | awk '
        { v[NR] = $1 }
        END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
floor_figures() { # pinned|unpinned
    echo "p50 $(floor_median p50_us "$1") µs, p99 $(floor_median p99_us "$1") µs, p99.9 $(floor_median p999_us "$1") µs"
}

{
    echo "# Benchmarks"
    echo
    echo "minibroker against mosquitto on one machine over loopback, measured with \`mqtt-load\`"
    echo "(\`benches/load\`). Each figure is the median of $rounds round(s) of $secs-second runs; the last"
    echo "column is minibroker divided by mosquitto, so above 1 is better for figures where higher"
    echo "is better and below 1 for those where lower is better (latency, memory, time)."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Machine: $(uname -m), ${cpu_model:-unknown CPU}, $(nproc) cores; $pinning;"
    echo "  load average before the run: $load_average"
    echo "- minibroker: $minibroker_version, \`--max-queued 1000000 --max-inflight 100\`"
    echo "- Binary size, stripped: minibroker $minibroker_size KiB (default features, TLS and"
    echo "  WebSockets); mosquitto $mosquitto_size KiB. Both link the system's OpenSSL dynamically;"
    echo "  mosquitto also links libsystemd, libwrap and libcap, minibroker none of those"
    echo "- mosquitto: $mosquitto_version, \`max_queued_messages 1000000\`, \`max_inflight_messages 100\`, \`set_tcp_nodelay true\`"
    [[ -n $rumqttd_bin ]] && echo "- rumqttd: $rumqttd_version, \`max_inflight_count 100\`"
    echo "- Rows marked *(default limits)* ran both brokers without those options."
    echo "- Rows marked *(TLS)* ran both brokers on a TLS listener (TLS 1.2, ECDSA P-256 certificate),"
    echo "  every client connecting over TLS with native-tls."
    echo "- Rows marked *(WebSockets)* ran both brokers on a \`protocol websockets\` listener, every"
    echo "  client speaking MQTT inside masked binary WebSocket frames, one frame per write."
    echo "- Rows marked *(persistence)* ran both brokers with persistence on (minibroker's default"
    echo "  periodic fsync; mosquitto's default autosave), *(persistence, batch fsync)* minibroker with"
    echo "  \`persistence_sync batch\`. *offline*: 8 QoS 1 publishers fill the queue of an offline"
    echo "  persistent session, which then reconnects and drains it; *kill -9*: the broker is killed"
    echo "  after the fill and restarted, and *acknowledged, lost %* is what its store did not keep."
    echo "- Rows marked *(users and ACL)* ran both brokers at default limits with a password file (one"
    echo "  user, mosquitto's \$7\$ PBKDF2 form at 101 iterations) and an ACL file granting bench/#; every"
    echo "  client logs in."
    echo "- Rows marked *(memory budget set)* ran both brokers as in the main rows with"
    echo "  \`memory_limit $memory_budget\` ($((memory_budget / 1048576)) MiB), a budget fan-in stays well within."
    echo "- Rows marked *(publish rate limits set)* ran minibroker as in the main rows with"
    echo "  \`publish_rate_limit 100000000\` and \`publish_byte_rate_limit 100000000000\`, limits the load never"
    echo "  reaches, and mosquitto, which has no such option, as in the main rows."
    if [[ $small == 1 ]]; then
        echo "- Rows marked *(small build)* ran minibroker as \`make small\` builds it (OpenSSL built in,"
        echo "  one static non-PIE executable, optimised for size; stripped $(stripped_kib "$small_bin") KiB) with"
        echo "  the main rows' options, and mosquitto as in the main rows."
    fi
    if ((${#pin_broker[@]} > 0)); then
        echo "- Rows marked *(not pinned)* ran the broker and the load generator with no CPU affinity,"
        echo "  sharing both cores as the kernel placed them, as on a gateway where nothing is pinned."
        echo "  Pinned apart, every message waits for two wake-ups across cores."
    fi
    echo "- The latency rows' floor: a stand-in that does no broker work, only copies the publisher's"
    echo "  bytes to the subscriber (\`mqtt-load forward\`), measured as the brokers were. What a"
    echo "  broker's figure has above it is the broker's own doing:"
    echo "  - pinned: $(floor_figures pinned);"
    echo "  - not pinned: $(floor_figures unpinned)."
    echo "- Rows marked *(embedded: hooks, host subscribed to #)* ran minibroker inside"
    echo "  \`examples/audit_log.rs\`: every hook set (each allows), an observer counting every event,"
    echo "  and an in-process subscription to # taking every message, so each message is delivered"
    echo "  twice; mosquitto, which cannot be embedded, ran as in the main rows."
    echo "- Command: \`$command_line\` (took ${elapsed}s)"
    echo
    echo "$table"
    echo
    echo "Scenarios: *fanin* — publishers to 8 topics, one subscriber on \`#\`; *fanout* — one publisher,"
    echo "100 subscribers; *latency* — 10,000 msg/s QoS 0, write-to-read time; *conns* — idle connections"
    echo "with one subscription each, broker VmRSS before and after; *subs* — one client holding N"
    echo "subscriptions (half exact, half \`sensors/N/+\`), publishing to topics that match a few;"
    echo "*retained* — 100,000 retained messages on \`r/<i>/x\`, then one subscriber on \`r/+/x\`: the time"
    echo "until the last arrives, how many do, and the broker's VmRSS before and at its peak while sending;"
    echo "*fanin (bridge to mosquitto)* — publishers on the home broker, the subscriber on a mosquitto upstream"
    echo "its bridge (\`topic bench/# out 1\`) forwards to; *burst* — QoS 1 publishers into a home broker whose"
    echo "bridge's upstream is down, its queue bounded at max_queued_messages $burst_bound: the broker's VmRSS"
    echo "before and at its peak. See \`mqtt-load --help\`."
    echo
    echo "Rows marked *v5* ran in MQTT 5 (\`--mqtt5\`); with *topic aliases* each publisher sends a topic"
    echo "once with a Topic Alias and then the alias alone, and the subscriber accepts aliases from the"
    echo "broker. Their *v5 / v3.1.1* lines give each broker's rate over its own rate in the 3.1.1 row"
    echo "above, so 1 means MQTT 5 cost that broker nothing extra."
} >"$out"

echo
echo "$table"
echo
log "wrote $out (${elapsed}s)"
