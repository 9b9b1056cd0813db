#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs the
# format check, clippy with warnings as errors, the Windows build (its tests run it under wine)
# and every test.
# Namespace tests need root; this script makes them fail, not skip, when anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

echo "== installing test prerequisites"
$SUDO apt-get update -qq
# bind9, knot, unbound and prometheus are installed for their binaries only: the tests start
# each with a config of their own on loopback. A policy-rc.d for the length of the install keeps
# the packages from starting their services with Debian's default configs.
POLICY=/usr/sbin/policy-rc.d
OUR_POLICY=""
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    OUR_POLICY=1
    trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    iproute2 iptables dnsmasq-base procps prometheus openssl curl \
    wine64 gcc-mingw-w64-x86-64 musl-tools \
    bind9 bind9-utils knot knot-dnsutils unbound >/dev/null
if [ -n "$OUR_POLICY" ]; then
    $SUDO rm -f "$POLICY"
    trap - EXIT
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add x86_64-pc-windows-gnu x86_64-unknown-linux-musl >/dev/null

export NETDIAG_TEST_REQUIRE_PRIVILEGED=1
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The Windows-only code (iphlpapi, the console) is linted too.
cargo clippy --workspace --bins --lib --locked --target x86_64-pc-windows-gnu -- -D warnings
echo "== cargo build for Windows (tests/windows_wine.rs runs the .exe files under wine)"
cargo build --bins --locked --target x86_64-pc-windows-gnu
export NETDIAG_WINDOWS_BIN_DIR="$PWD/target/x86_64-pc-windows-gnu/debug"
# The engine's unit tests for Windows, run under wine by tests/windows_wine.rs.
NETDIAG_WINDOWS_UNIT_TESTS=$(cargo test --locked --target x86_64-pc-windows-gnu -p netdiag-common --lib \
    --no-run --message-format=json | sed -n 's/.*"executable":"\([^"]*\.exe\)".*/\1/p' | tail -1)
export NETDIAG_WINDOWS_UNIT_TESTS
echo "== cargo build for static Linux (tests/musl_empty_root.rs runs them in an empty root)"
cargo build --bins --locked --target x86_64-unknown-linux-musl
export NETDIAG_MUSL_BIN_DIR="$PWD/target/x86_64-unknown-linux-musl/debug"
echo "== cargo test"
log=$(mktemp)
# --no-fail-fast: one failing test binary must not hide the results of the others.
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# cargo prints one result line per test binary, the last often a doc-test run of 0; close with
# the totals so a reader (or CI) sees at once how many tests ran.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "ignored (helpers that tests re-run inside namespaces): %d\ntotals: %d passed, %d failed\n", i, p, f }' "$log"
rm -f "$log"
exit "$status"
