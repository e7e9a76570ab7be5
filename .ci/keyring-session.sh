#!/usr/bin/env bash
# Runs a command against a real, throw-away Secret Service: a private D-Bus session bus with
# gnome-keyring-daemon on it and an unlocked `login` collection as the default one.
#
#   MAILDRIFT_KEYRING_TESTS=1 .ci/keyring-session.sh cargo test --test token_keyring
#
# Nothing of the caller's own keyring is touched: the bus is private (dbus-run-session), and
# the keyring files and the daemon's control socket live in a temporary directory
# (XDG_DATA_HOME and XDG_RUNTIME_DIR point there; HOME is left alone so cargo and rustup
# still find their files). The directory and the daemon are removed on exit.
#
# Needs (Debian): gnome-keyring, dbus-daemon (dbus-run-session), libsecret-tools
# (secret-tool, used by the tests to read entries from outside maildrift) and
# libglib2.0-bin (gdbus, used here and by the tests to lock the collection). When they are
# missing and this runs as root under CI=true, they are installed with apt-get; elsewhere
# the script says what to install and stops.
#
# The dance, as checked with gnome-keyring 42.1 on Debian 12:
#  1. `gnome-keyring-daemon --unlock` reads a password on stdin, starts a daemon if there is
#     none, and unlocks the `login` keyring with it, creating that keyring (with this
#     password) when it does not exist yet. Only a `login` keyring is unlocked this way.
#  2. `gnome-keyring-daemon --start` then finds that daemon through its control socket in
#     $XDG_RUNTIME_DIR/keyring and makes it claim org.freedesktop.secrets on the bus. It
#     prints "discover_other_daemon: 1" to say it found the running one.
#  3. The `default` alias must name a collection, or libsecret and keyring-rs have nowhere
#     to store new items. A fresh daemon points it at `login`; we check and set it if not.
# The password is random and thrown away: nothing outside this run ever needs it again.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]   (runs COMMAND with a private, unlocked Secret Service)" >&2
    exit 2
fi

need_tools() {
    local missing=()
    command -v dbus-run-session >/dev/null || missing+=(dbus-daemon)
    command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
    command -v secret-tool >/dev/null || missing+=(libsecret-tools)
    command -v gdbus >/dev/null || missing+=(libglib2.0-bin)
    echo "${missing[@]:-}"
}

if [ -z "${MAILDRIFT_KEYRING_SESSION_INNER:-}" ]; then
    missing=$(need_tools)
    if [ -n "$missing" ]; then
        if [ "${CI:-}" = "true" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "keyring-session: installing $missing" >&2
            apt-get update -qq >&2
            # shellcheck disable=SC2086 # one word per package
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
        else
            echo "keyring-session: missing $missing; install with: apt-get install -y $missing" >&2
            exit 1
        fi
    fi
    # Re-run this script as the first process of a private session bus.
    exec dbus-run-session -- env MAILDRIFT_KEYRING_SESSION_INNER=1 bash "$0" "$@"
fi

scratch=$(mktemp -d)
chmod 700 "$scratch"
mkdir -m 700 "$scratch/data" "$scratch/run"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run"

cleanup() {
    # The daemon outlives the command otherwise; find it by the bus name it owns.
    local pid
    pid=$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.secrets \
        2>/dev/null | tr -dc '0-9') || true
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

password=$(head -c 24 /dev/urandom | base64)
printf '%s' "$password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
unset password
gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1

secrets_call() {
    gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
        --method "org.freedesktop.Secret.Service.$1" "${@:2}"
}

login=/org/freedesktop/secrets/collection/login
if ! secrets_call ReadAlias default | grep -q "'$login'"; then
    secrets_call SetAlias default "objectpath '$login'" >/dev/null
fi
# Fail here, with a clear message, rather than in every test.
if ! secrets_call ReadAlias default | grep -q "'$login'"; then
    echo "keyring-session: the default collection is not $login; the Secret Service is not usable" >&2
    exit 1
fi
if gdbus introspect --session --dest org.freedesktop.secrets --object-path "$login" --only-properties \
    | grep -q 'Locked = true'; then
    echo "keyring-session: $login is still locked after --unlock" >&2
    exit 1
fi
echo "keyring-session: Secret Service up on a private bus, $login unlocked and default" >&2

status=0
"$@" || status=$?
exit "$status"
