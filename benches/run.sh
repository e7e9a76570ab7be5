#!/usr/bin/env bash
# Runs every benchmark and prints the figures (BENCHMARKS.md explains them).
# Installs what the benches need when it is missing: a Python venv with checkdmarc 6.0.4
# under target/ (never committed), and, when run as root, GNU time and hyperfine via apt-get.
#
#   bash benches/run.sh            # everything, default sizes
#   DNS_RUNS=5 STARTUP_RUNS=100 FLEET_SERIAL=0 bash benches/run.sh
#
# The output is also written to target/bench-results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${BENCH_VENV:-target/bench-venv}"
CHECKDMARC_VERSION=6.0.4

apt_updated=0
apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null || {
        echo "run.sh: $1 is missing and cannot be installed here (not root or no apt-get)" >&2
        return 1
    }
    if [ "$apt_updated" = 0 ]; then
        apt-get update -q > /dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" > /dev/null
}

[ -x /usr/bin/time ] || apt_install time || true
command -v hyperfine > /dev/null || apt_install hyperfine || true
command -v python3 > /dev/null || apt_install python3 python3-venv || true

if ! "$VENV/bin/python" -c "import checkdmarc, sys; sys.exit(checkdmarc.__version__ != '$CHECKDMARC_VERSION')" 2> /dev/null; then
    echo "run.sh: installing checkdmarc $CHECKDMARC_VERSION into $VENV"
    python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; }
    "$VENV/bin/pip" install -q "checkdmarc==$CHECKDMARC_VERSION"
fi
export CHECKDMARC_PYTHON="$PWD/$VENV/bin/python"

mkdir -p target
{
    echo "== machine"
    echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu:     $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory:  $(free -m | awk '/^Mem:/ {print $2 " MB"}')"
    echo "kernel:  $(uname -sr)"
    echo "rustc:   $(rustc --version)"
    echo "python:  $("$CHECKDMARC_PYTHON" --version 2>&1), checkdmarc $CHECKDMARC_VERSION"
    echo "commit:  $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"

    echo "== start-up"
    cargo bench -q --bench startup 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\)'
    if command -v hyperfine > /dev/null; then
        hyperfine -N --warmup 3 --runs "${STARTUP_RUNS:-50}" --style basic \
            --export-json target/hyperfine-startup.json \
            "target/release/maildrift --version" 2>&1
        python3 -c 'import json; r = json.load(open("target/hyperfine-startup.json"))["results"][0]; print("hyperfine: median %.2f ms, min %.2f ms, mean %.2f ms" % tuple(r[k] * 1e3 for k in ("median", "min", "mean")))'
    fi

    echo "== DNS audit"
    cargo bench -q --bench dns_audit 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\)'

    echo "== fleet"
    cargo bench -q --bench fleet 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\)'

    echo "== history"
    cargo bench -q --bench history 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\)'
} 2>&1 | tee target/bench-results.txt
