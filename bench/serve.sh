#!/usr/bin/env bash
# netdiag serve vs Debian's prometheus-blackbox-exporter, run on demand (not in CI):
# REQUESTS /probe requests (CONCURRENCY at once, keep-alive) of a loopback listener and of a
# closed loopback port, through each exporter's TCP module, side by side in one run; then the
# cost of netdiag's check module on the same targets. Latency median/p99 and throughput from
# serve/examples/loadgen.rs; RSS from /proc (idle after start-up, and right after the load).
# Every daemon gets a config written here and listens on 127.0.0.1; the targets are loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
CONCURRENCY=${CONCURRENCY:-64}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/serve-bench}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

echo "== building release netdiag and the load generator"
cargo build --release --bin netdiag >/dev/null 2>&1
cargo build --release -p netdiag-serve --example loadgen >/dev/null 2>&1
NETDIAG=$PWD/target/release/netdiag
LOADGEN=$PWD/target/release/examples/loadgen

echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc), kernel $(uname -r)"
echo "blackbox: $(prometheus-blackbox-exporter --version 2>&1 | head -1)"

coproc SINK { exec "$LOADGEN" sink; }
PIDS+=("$SINK_PID")
read -r OPEN <&"${SINK[0]}"
CLOSED=$(free_port)

BB_PORT=$(free_port)
cat >"$OUT/blackbox.yml" <<EOF
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
EOF
prometheus-blackbox-exporter --config.file="$OUT/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
    >"$OUT/blackbox.log" 2>&1 &
PIDS+=("$!")
BB_PID=$!
ND_PORT=$(free_port)
# The dead DNS server is never asked: the targets are address literals.
"$NETDIAG" serve --listen "127.0.0.1:$ND_PORT" --dns-server 127.0.0.1:9 --max-concurrent 256 \
    >"$OUT/netdiag.log" 2>&1 &
PIDS+=("$!")
ND_PID=$!
wait_port "$BB_PORT"; wait_port "$ND_PORT"
sleep 1
echo "idle RSS KiB: blackbox $(rss_kib $BB_PID) netdiag $(rss_kib $ND_PID)" | tee "$OUT/idle.txt"
BB_IDLE=$(rss_kib $BB_PID); ND_IDLE=$(rss_kib $ND_PID)

# Both exporters must see the same thing before their speed means anything.
for port in "$OPEN" "$CLOSED"; do
    bb=$(curl -s "http://127.0.0.1:$BB_PORT/probe?module=tcp_connect&target=127.0.0.1:$port" | grep '^probe_success')
    nd=$(curl -s "http://127.0.0.1:$ND_PORT/probe?module=tcp&target=127.0.0.1:$port" | grep '^probe_success')
    echo "target 127.0.0.1:$port: blackbox $bb; netdiag $nd"
done

run() { # name port path
    local best=""
    for _ in $(seq "$ROUNDS"); do
        "$LOADGEN" get "127.0.0.1:$2" "$3" "$REQUESTS" "$CONCURRENCY" >>"$OUT/$1.jsonl"
    done
    echo "$1 $(tail -n "$ROUNDS" "$OUT/$1.jsonl" | tr '\n' ' ')"
}
: >"$OUT/all.txt"
for target in open closed; do
    port=$([ $target = open ] && echo "$OPEN" || echo "$CLOSED")
    run "blackbox-$target" "$BB_PORT" "/probe?module=tcp_connect&target=127.0.0.1:$port" | tee -a "$OUT/all.txt"
    run "netdiag-tcp-$target" "$ND_PORT" "/probe?module=tcp&target=127.0.0.1:$port" | tee -a "$OUT/all.txt"
    run "netdiag-check-$target" "$ND_PORT" "/probe?module=check&target=127.0.0.1:$port" | tee -a "$OUT/all.txt"
done
echo "loaded RSS KiB: blackbox $(rss_kib $BB_PID) netdiag $(rss_kib $ND_PID)" | tee "$OUT/loaded.txt"
BB_LOADED=$(rss_kib $BB_PID); ND_LOADED=$(rss_kib $ND_PID)

python3 - "$OUT/all.txt" "$BB_IDLE" "$ND_IDLE" "$BB_LOADED" "$ND_LOADED" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rest = line.split(" ", 1)
    runs = [json.loads(x) for x in rest.split()]
    rows[name] = {k: statistics.median(r[k] for r in runs) for k in ("median_ms", "p99_ms", "rps")}
    rows[name]["errors"] = sum(r["errors"] + r["non_200"] for r in runs)
bb_idle, nd_idle, bb_loaded, nd_loaded = map(int, sys.argv[2:])
print("| run | median | p99 | req/s | errors | median vs blackbox | p99 vs blackbox | req/s vs blackbox |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for target in ("open", "closed"):
    bb = rows[f"blackbox-{target}"]
    for name in (f"blackbox-{target}", f"netdiag-tcp-{target}", f"netdiag-check-{target}"):
        r = rows[name]
        print(f"| {name} | {r['median_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['rps']:.0f} | {r['errors']} | "
              f"{r['median_ms']/bb['median_ms']:.2f}x | {r['p99_ms']/bb['p99_ms']:.2f}x | {r['rps']/bb['rps']:.2f}x |")
print()
print(f"RSS idle: blackbox {bb_idle/1024:.1f} MiB, netdiag {nd_idle/1024:.1f} MiB ({nd_idle/bb_idle:.2f}x); "
      f"after the load: blackbox {bb_loaded/1024:.1f} MiB, netdiag {nd_loaded/1024:.1f} MiB ({nd_loaded/bb_loaded:.2f}x)")
EOF
