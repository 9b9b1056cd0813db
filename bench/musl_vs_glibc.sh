#!/usr/bin/env bash
# Static musl build vs the usual glibc build, release profile, run on demand (not in CI):
#   1. start-up plus one probe to a loopback listener, whole process (hyperfine -N)
#   2. peak RSS of the same run (/usr/bin/time -v), and the binaries' sizes
# Both binaries are built here; traffic stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-300}
OUT=${OUT:-/tmp/musl-bench}
mkdir -p "$OUT"
LISTENER_PID=""
cleanup() { [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null || true; }
trap cleanup EXIT

# Accepts and closes connections as fast as it can; prints its port when ready.
LISTENER='
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(1024)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.close()
'

echo "== building release binaries (glibc and musl)"
cargo build --release --locked --bin tcpping >/dev/null 2>&1
cargo build --release --locked --bin tcpping --target x86_64-unknown-linux-musl >/dev/null 2>&1
GLIBC=$PWD/target/release/tcpping
MUSL=$PWD/target/x86_64-unknown-linux-musl/release/tcpping

echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc), kernel $(uname -r)"
echo "versions: $(ldd --version | head -1), musl $(dpkg-query -W -f '${Version}' musl-tools 2>/dev/null), $(hyperfine --version)"
echo "sizes: glibc $(stat -c %s "$GLIBC") bytes ($(file -b "$GLIBC" | cut -d, -f1-2)), musl $(stat -c %s "$MUSL") bytes ($(file -b "$MUSL" | grep -o 'static[a-z-]*'))"

coproc LST { exec python3 -c "$LISTENER"; }
LISTENER_PID=$LST_PID
read -r PORT <&"${LST[0]}"

echo "== 1. one probe to a loopback listener, whole process ($RUNS runs each)"
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$OUT/speed.json" \
    -n glibc "$GLIBC -n 1 127.0.0.1 $PORT" \
    -n musl "$MUSL -n 1 127.0.0.1 $PORT" >"$OUT/speed.txt" 2>&1 || { cat "$OUT/speed.txt"; exit 1; }
python3 - "$OUT/speed.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
for k, v in r.items():
    print(f"  {k:6s} median {v['median']*1000:7.3f} ms  mean {v['mean']*1000:7.3f} ms  min {v['min']*1000:7.3f} ms")
print(f"  ratio musl/glibc (medians) = {r['musl']['median']/r['glibc']['median']:.2f}")
PY

echo "== 2. peak RSS of one probe (median of 20 runs, /usr/bin/time -v)"
rss() {
    for _ in $(seq 20); do
        /usr/bin/time -v "$1" -n 1 127.0.0.1 "$PORT" 2>&1 >/dev/null | awk '/Maximum resident/ {print $6}'
    done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
G=$(rss "$GLIBC"); M=$(rss "$MUSL")
echo "  glibc ${G} KiB, musl ${M} KiB, ratio musl/glibc = $(awk -v m="$M" -v g="$G" 'BEGIN {printf "%.2f", m/g}')"
