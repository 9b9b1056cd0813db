#!/usr/bin/env bash
# tcpping benchmarks, run on demand (not in CI); needs root for the accuracy part.
#   1. speed: one probe to a loopback listener, whole process, tcpping vs nc -z vs nping
#   2. memory: peak RSS of one probe and of a 100-probe run
#   3. accuracy: reported connect time vs the SYN -> SYN/ACK time tcpdump saw on a veth pair
# Traffic stays on loopback and inside two namespaces made (and deleted) here.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-300}
PROBES=${PROBES:-300}
OUT=${OUT:-/tmp/tcpping-bench}
mkdir -p "$OUT"
APP=tpb-app-$$ VNET=tpb-vnet-$$
LISTENER_PID=""

cleanup() {
    [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null || true
    ip netns del "$APP" 2>/dev/null || true
    ip netns del "$VNET" 2>/dev/null || true
}
trap cleanup EXIT

# Accepts and closes connections as fast as it can; prints its port when ready.
LISTENER='
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1024)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.close()
'

echo "== building release tcpping"
cargo build --release --bin tcpping >/dev/null 2>&1
TCPPING=$PWD/target/release/tcpping

echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc), kernel $(uname -r)"
echo "versions: $(nc -h 2>&1 | head -1), $(nping --version 2>/dev/null | head -2 | tail -1 | sed 's/^ *//'), $(hyperfine --version)"

echo "== 1. speed: one probe to a loopback listener, whole process ($RUNS runs each)"
coproc LST { exec python3 -c "$LISTENER" 127.0.0.1 0; }
LISTENER_PID=$LST_PID
read -r PORT <&"${LST[0]}"
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$OUT/speed.json" \
    -n tcpping "$TCPPING -n 1 127.0.0.1 $PORT" \
    -n "nc -z" "nc -z 127.0.0.1 $PORT" \
    -n nping "nping --tcp-connect -c 1 127.0.0.1 -p $PORT" >"$OUT/speed.txt" 2>&1 || { cat "$OUT/speed.txt"; exit 1; }
python3 - "$OUT/speed.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"  {k:8s} median {v:7.3f} ms  mean {r[k]['mean']*1000:7.3f} ms  min {r[k]['min']*1000:7.3f} ms")
print(f"  ratio tcpping/nc    = {med['tcpping']/med['nc -z']:.2f}  (goal <= 1.2)")
print(f"  ratio tcpping/nping = {med['tcpping']/med['nping']:.2f}  (goal <= 0.3)")
EOF

echo "== 2. memory: peak RSS"
for args in "-n 1" "-n 100 -i 0"; do
    # shellcheck disable=SC2086
    kb=$(/usr/bin/time -f %M "$TCPPING" $args -q 127.0.0.1 "$PORT" 2>&1 >/dev/null | tail -1)
    echo "  tcpping $args: $kb KiB = $(awk "BEGIN{printf \"%.2f\", $kb/1024}") MiB (goal <= 8 MiB)"
done
kb=$(/usr/bin/time -f %M nc -z 127.0.0.1 "$PORT" 2>&1 >/dev/null | tail -1); echo "  nc -z: $kb KiB"
kb=$(/usr/bin/time -f %M nping --tcp-connect -c 1 127.0.0.1 -p "$PORT" 2>&1 >/dev/null | tail -1); echo "  nping: $kb KiB"
kill "$LISTENER_PID"; LISTENER_PID=""

echo "== 3. accuracy: connect time vs SYN -> SYN/ACK on a veth pair ($PROBES probes)"
if [ "$(id -u)" -ne 0 ]; then echo "  skipped: needs root"; exit 0; fi
ip netns add "$APP"; ip netns add "$VNET"
ip link add tpbA$$ netns "$APP" type veth peer name tpbV$$ netns "$VNET"
ip -n "$APP" addr add 10.78.0.1/24 dev tpbA$$; ip -n "$VNET" addr add 10.78.0.2/24 dev tpbV$$
for ns in "$APP" "$VNET"; do ip -n "$ns" link set lo up; done
ip -n "$APP" link set tpbA$$ up; ip -n "$VNET" link set tpbV$$ up
coproc VL { exec ip netns exec "$VNET" python3 -c "$LISTENER" 10.78.0.2 9100; }
LISTENER_PID=$VL_PID
read -r _ <&"${VL[0]}"
# The same measurement for a blocking connect() timed with perf_counter in Python: the floor
# a user-space timer can reach on this machine (wake-up latency), to judge tcpping's excess.
BLOCKING='
import json, socket, struct, sys, time
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t = time.perf_counter(); s.connect(("10.78.0.2", 9100)); d = time.perf_counter() - t
    print(json.dumps({"type": "attempt", "success": True, "local": "x:%d" % s.getsockname()[1], "connect_ms": d * 1000}))
    s.close(); time.sleep(0.005)
'
measure() { # name, command...
    local name=$1; shift
    ip netns exec "$APP" tcpdump -i tpbA$$ -n -s 96 --time-stamp-precision=nano -w "$OUT/$name.pcap" \
        'tcp port 9100 and tcp[tcpflags] & tcp-syn != 0' >/dev/null 2>&1 &
    local dump=$!
    sleep 1
    ip netns exec "$APP" "$@" >"$OUT/$name.ndjson"
    sleep 0.5; kill -INT $dump; wait $dump 2>/dev/null || true
    tcpdump -r "$OUT/$name.pcap" -n -tt --time-stamp-precision=nano 2>/dev/null >"$OUT/$name.txt"
    python3 - "$OUT/$name.ndjson" "$OUT/$name.txt" "$name" <<'EOF'
import json, re, sys, statistics
syn, synack = {}, {}
for line in open(sys.argv[2]):
    m = re.match(r"(\d+\.\d+) IP (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[(\S+)\]", line)
    if not m: continue
    ts, sport, dport, flags = float(m[1]), int(m[3]), int(m[5]), m[6]
    if flags == "S": syn.setdefault(sport, ts)
    elif flags == "S.": synack.setdefault(dport, ts)
excess, wire, kernel = [], [], []
for rec in map(json.loads, open(sys.argv[1])):
    if rec["type"] != "attempt" or not rec["success"]: continue
    port = int(rec["local"].rsplit(":", 1)[1])
    if port in syn and port in synack:
        w = (synack[port] - syn[port]) * 1e6
        wire.append(w); excess.append(rec["connect_ms"] * 1000 - w)
        if rec.get("kernel_rtt_ms") is not None:
            kernel.append(rec["kernel_rtt_ms"] * 1000 - w)
def spread(values):
    values = sorted(values)
    q = lambda p: values[max(0, int(len(values) * p) - 1)]
    return (f"min {values[0]:.1f}, median {statistics.median(values):.1f}, "
            f"p95 {q(0.95):.1f}, max {values[-1]:.1f} us")
print(f"  {sys.argv[3]}: matched {len(excess)} probes; wire SYN->SYN/ACK median {statistics.median(wire):.1f} us; "
      f"excess (reported - wire): {spread(excess)}")
if kernel:
    print(f"  {sys.argv[3]} kernel_rtt_ms - wire: {spread(kernel)}")
EOF
}
measure tcpping "$TCPPING" -n "$PROBES" -i 5ms --json 10.78.0.2:9100
measure blocking-python python3 -c "$BLOCKING" "$PROBES"
echo "  goal: tcpping median excess <= 50 us"
