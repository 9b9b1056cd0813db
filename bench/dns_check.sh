#!/usr/bin/env bash
# 2,000 names through `netdiag check` against a local Unbound (127.0.0.1, local-data only, no
# upstream), once with a 30,000-line hosts file (an ad-block list's size) and once with an empty
# one. Goals: no false DNS timeout, and the big hosts file costs at most 1.2x.
#
# The hosts file is /etc/hosts inside a private mount namespace (unshare -m, then a bind mount),
# so the machine's own file is untouched. The servers come from WEBSITE_DNS_SERVER, not
# --dns-server: an explicit server skips the hosts file (as nslookup with a server does), and
# this bench is about the hosts file being read for every name, as on App Service.
# Every name resolves to 127.0.x.y and port 9 refuses at once: nothing leaves loopback.
# Needs root (unshare -m). On demand only, not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in hyperfine /usr/sbin/unbound unshare python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine unbound util-linux)" >&2; exit 2; }
done

# NETDIAG_BIN runs another build (e.g. an older commit's) through the same bench.
if [ -z "${NETDIAG_BIN:-}" ]; then
    cargo build --release --bin netdiag >&2
fi
BIN=${NETDIAG_BIN:-$PWD/target/release/netdiag}
NAMES=2000
HOSTS_LINES=30000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d)

python3 - "$WORK" "$PORT" "$NAMES" "$HOSTS_LINES" <<'PY'
import sys
work, port, names, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(f"{work}/unbound.conf", "w") as f:
    f.write(f"""server:
  interface: 127.0.0.1
  port: {port}
  do-ip6: no
  username: ""
  chroot: ""
  directory: "{work}"
  pidfile: "{work}/unbound.pid"
  use-syslog: no
  logfile: ""
  num-threads: 1
  module-config: "iterator"
  local-zone: "test." nodefault
  local-zone: "bench.test." static
""")
    for i in range(names):
        f.write(f'  local-data: "n{i}.bench.test. 60 IN A 127.0.{i // 250}.{i % 250 + 1}"\n')
    f.write("remote-control:\n  control-enable: no\n")
with open(f"{work}/targets", "w") as f:
    for i in range(names):
        f.write(f"n{i}.bench.test:9\n")
with open(f"{work}/hosts-big", "w") as f:
    f.write("127.0.0.1 localhost\n")
    for i in range(lines):
        f.write(f"0.0.0.0 ad{i}.blocklist.test tracker{i}.blocklist.test\n")
open(f"{work}/hosts-empty", "w").write("127.0.0.1 localhost\n")
PY

/usr/sbin/unbound -d -c "$WORK/unbound.conf" 2>"$WORK/unbound.log" &
UNBOUND=$!
trap 'kill $UNBOUND 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do
    python3 - "$PORT" <<'PY' && break
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.1)
s.sendto(bytes.fromhex("4e44010000010000000000000000060001"), ("127.0.0.1", int(sys.argv[1])))
s.recv(512)
PY
    sleep 0.1
done

cat >"$WORK/run.sh" <<EOF
#!/bin/sh
# \$1: the hosts file to see as /etc/hosts in this mount namespace only.
mount --bind "\$1" /etc/hosts
# Every target fails by design (port 9 refuses): exit 1 is the expected verdict, not an error.
WEBSITE_DNS_SERVER=127.0.0.1:$PORT $BIN check --json -w 1s -f $WORK/targets >"\$2" || true
EOF
chmod +x "$WORK/run.sh"

hyperfine --warmup 1 --runs 5 --export-json "$WORK/h.json" \
    -n "check, 30,000-line hosts" "unshare -m $WORK/run.sh $WORK/hosts-big $WORK/out-big.json" \
    -n "check, empty hosts" "unshare -m $WORK/run.sh $WORK/hosts-empty $WORK/out-empty.json" >&2

CPU=$(awk -F: '/model name/ {sub(/^ /,"",$2); print $2; exit}' /proc/cpuinfo)
python3 - "$WORK" "$(date -u +%Y-%m-%d)" "$(nproc)" "$(uname -r)" "$CPU" "$NAMES" "$HOSTS_LINES" <<'PY'
import json, sys
work, date, nproc, kernel, cpu, names, lines = sys.argv[1:8]
h = {r["command"]: r for r in json.load(open(f"{work}/h.json"))["results"]}
def verdicts(path):
    text = open(path).read()
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(l) for l in text.splitlines() if l.strip()]
    targets = [t for d in docs for t in (d.get("targets") or ([d] if "dns" in d else []))]
    results = {}
    for t in targets:
        r = (t.get("dns") or {}).get("result", "none")
        results[r] = results.get(r, 0) + 1
    return len(targets), results
big, empty = h["check, 30,000-line hosts"], h["check, empty hosts"]
print(f"Measured {date} on {nproc} cores, Linux {kernel}, {cpu}; `bench/dns_check.sh`.\n")
print(f"{names} names through `netdiag check --json -w 1s -f targets` against a local Unbound "
      f"(WEBSITE_DNS_SERVER), /etc/hosts bind-mounted in a private mount namespace.\n")
print("| hosts file | median | mean ± σ | vs empty | targets | DNS results |")
print("| --- | --- | --- | --- | --- | --- |")
for label, r, out in [(f"{lines} lines", big, "out-big.json"), ("empty", empty, "out-empty.json")]:
    n, res = verdicts(f"{work}/{out}")
    print(f"| {label} | {r['median']:.2f} s | {r['mean']:.2f} ± {r['stddev']:.2f} s "
          f"| {r['median'] / empty['median']:.2f}x | {n} | {', '.join(f'{k}: {v}' for k, v in sorted(res.items()))} |")
PY
