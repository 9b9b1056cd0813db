#!/usr/bin/env bash
# nameresolver vs kdig vs dig: one query to a loopback dnsmasq (no upstream, nothing leaves
# 127.0.0.1), whole process, in one hyperfine run; then peak RSS with /usr/bin/time -v.
# Prints a markdown section for bench/RESULTS.md. On demand only, not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in hyperfine kdig dig /usr/sbin/dnsmasq /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine knot-dnsutils bind9-dnsutils dnsmasq-base time)" >&2; exit 2; }
done

cargo build --release --bin nameresolver >&2
BIN=target/release/nameresolver
NAME=www.netdiag.test
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d)

/usr/sbin/dnsmasq --no-daemon --no-resolv --no-hosts --no-poll --conf-file=/dev/null --pid-file= \
    --bind-interfaces --user=root --log-facility=/dev/null --listen-address=127.0.0.1 --port="$PORT" \
    --local=/netdiag.test/ --host-record=$NAME,10.0.0.5,fd00::5 2>/dev/null &
DNSMASQ=$!
trap 'kill $DNSMASQ 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do "$BIN" $NAME 127.0.0.1:"$PORT" --timeout 200ms >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN" $NAME 127.0.0.1:"$PORT" >/dev/null

NR_A="$BIN $NAME 127.0.0.1:$PORT --type A"
NR="$BIN $NAME 127.0.0.1:$PORT"
KDIG="kdig @127.0.0.1 -p $PORT $NAME"
DIG="dig @127.0.0.1 -p $PORT $NAME"

hyperfine -N --warmup 20 --runs 300 --export-json "$WORK/h.json" \
    -n "nameresolver --type A" "$NR_A" -n "nameresolver (A+AAAA)" "$NR" -n kdig "$KDIG" -n dig "$DIG" >&2

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}'; }
RSS_NR_A=$(rss $NR_A); RSS_NR=$(rss $NR); RSS_KDIG=$(rss $KDIG); RSS_DIG=$(rss $DIG)

CPU=$(awk -F: '/model name/ {sub(/^ /,"",$2); print $2; exit}' /proc/cpuinfo)
python3 - "$WORK/h.json" "$RSS_NR_A" "$RSS_NR" "$RSS_KDIG" "$RSS_DIG" "$(date -u +%Y-%m-%d)" "$(nproc)" "$(uname -r)" "$CPU" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["results"]
rss = dict(zip(["nameresolver --type A", "nameresolver (A+AAAA)", "kdig", "dig"], map(int, sys.argv[2:6])))
date, nproc, kernel, cpu = sys.argv[6:10]
kdig = next(r for r in h if r["command"] == "kdig")
print(f"Measured {date} on {nproc} cores, Linux {kernel}, {cpu}; `bench/nameresolver.sh`.\n")
print("| command | median | mean ± σ | vs kdig (median) | peak RSS |")
print("| --- | --- | --- | --- | --- |")
for r in h:
    print(f"| {r['command']} | {r['median']*1e3:.2f} ms | {r['mean']*1e3:.2f} ± {r['stddev']*1e3:.2f} ms "
          f"| {r['median']/kdig['median']:.2f}x | {rss[r['command']]/1024:.1f} MiB |")
PY
