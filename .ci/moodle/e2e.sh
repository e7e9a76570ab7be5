#!/usr/bin/env bash
# The end-to-end suite against real Moodle 4.5 and 5.1 (issue 10), as .ci/run runs it:
# both sites installed in parallel with the last released plugin (2026112900), upgraded to the
# working tree's plugin, then `cargo test --test real_moodle` against them, then removed.
#
# Ports: MAILDRIFT_E2E_PORT45 / MAILDRIFT_E2E_PORT51 (default 8745 / 8751).
# Keep the sites afterwards (to debug): MAILDRIFT_E2E_KEEP=1. With CI=true the servers are
# stopped and the folders left to the throwaway machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
site=.ci/moodle/site.sh
# The last plugin release before issue 10: the upgrade path starts here.
released=f7af220d056c0b70381c91e5fb16f6498f64f230
port45=${MAILDRIFT_E2E_PORT45:-8745}
port51=${MAILDRIFT_E2E_PORT51:-8751}

t0=$SECONDS
$site prepare
echo "packages and PostgreSQL ready after $((SECONDS - t0)) s"

if ! git cat-file -e "$released^{commit}" 2>/dev/null; then
    echo "e2e.sh: commit $released (plugin 2026112900, the start of the upgrade path) is not in this checkout; fetch the history (git fetch --unshallow)" >&2
    exit 1
fi
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git archive "$released" moodle/local_maildrift | tar -xf - -C "$old"
grep -q '2026112900' "$old/moodle/local_maildrift/version.php"

bring_up() { # NAME VERSION PORT
    $site up "$1" "$2" "$3" "$old/moodle/local_maildrift"
    $site plugin "$1" moodle/local_maildrift
}
t1=$SECONDS
bring_up e2e45 4.5 "$port45" >/tmp/maildrift-e2e45.log 2>&1 &
p45=$!
bring_up e2e51 5.1 "$port51" >/tmp/maildrift-e2e51.log 2>&1 &
p51=$!
fail=0
wait "$p45" || { fail=1; echo "Moodle 4.5 site failed:"; tail -n 40 /tmp/maildrift-e2e45.log; }
wait "$p51" || { fail=1; echo "Moodle 5.1 site failed:"; tail -n 40 /tmp/maildrift-e2e51.log; }
[ "$fail" = 0 ] || exit 1
echo "both sites installed and upgraded in $((SECONDS - t1)) s (in parallel)"

t2=$SECONDS
set +e
MAILDRIFT_REAL_MOODLE=1 MAILDRIFT_MOODLE_45=e2e45 MAILDRIFT_MOODLE_51=e2e51 \
    cargo test --locked --test real_moodle -- --ignored --test-threads=4
rc=$?
# The relay probe cases change smtphosts on the same sites, so they run after, not beside, the
# cases above.
MAILDRIFT_REAL_MOODLE=1 MAILDRIFT_MOODLE_45=e2e45 MAILDRIFT_MOODLE_51=e2e51 \
    cargo test --locked --test relay_real_moodle -- --ignored --test-threads=1 || rc=1
set -e
echo "suite ran in $((SECONDS - t2)) s; whole step $((SECONDS - t0)) s"
if [ "${MAILDRIFT_E2E_KEEP:-0}" = 1 ]; then
    :
elif [ "${CI:-}" = true ]; then
    # The CI machine is thrown away: stop the servers, skip deleting ~1 GB of small files.
    $site stop e2e45
    $site stop e2e51
else
    $site destroy e2e45
    $site destroy e2e51
fi
exit "$rc"
