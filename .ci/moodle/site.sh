#!/usr/bin/env bash
# Real Moodle sites on 127.0.0.1 for the end-to-end suite and for anyone who wants one.
#
#   site.sh prepare                              packages (root), PostgreSQL running, DB role
#   site.sh up NAME VERSION PORT PLUGIN_DIR      fresh site: code, database, dataroot, install,
#                                                plugin, web services + REST, server started
#   site.sh plugin NAME PLUGIN_DIR               replace local/maildrift with PLUGIN_DIR, upgrade
#   site.sh start|stop NAME                      the PHP built-in server of a site
#   site.sh php NAME ARGS...                     php in the site's top folder (admin/cli/cfg.php ...)
#   site.sh env NAME                             the site's facts as shell assignments
#   site.sh destroy NAME                         server stopped, database dropped, folder removed
#
# VERSION is 4.5 or 5.1. Sites live in $MAILDRIFT_MOODLE_ROOT (default /var/tmp/maildrift-moodle),
# never in the project; the release trees come from $MAILDRIFT_SHARED (default: the folder
# `shared` beside the repository) /moodle/*.tar.zst.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${MAILDRIFT_MOODLE_ROOT:-/var/tmp/maildrift-moodle}
shared=${MAILDRIFT_SHARED:-$(dirname "$repo")/shared}
# A worktree sits one level deeper than the checkout (…/wt/NAME); its shared/ is the checkout's.
if [ -z "${MAILDRIFT_SHARED:-}" ] && [ ! -d "$shared/moodle" ] && [ -d "$(dirname "$(dirname "$repo")")/shared/moodle" ]; then
    shared=$(dirname "$(dirname "$repo")")/shared
fi
# One role for every site's database; each site has its own database.
db_user=maildrift
db_pass=maildrift
admin_user=admin
admin_pass=${MAILDRIFT_MOODLE_ADMIN_PASS:-Maildrift-Admin-1}

die() { echo "site.sh: $*" >&2; exit 1; }
log() { printf '[%s %s] %s\n' "$(date -u +%H:%M:%S)" "${site:-moodle}" "$*" >&2; }

# Moodle refuses to install with PHP's default max_input_vars; the scan dir keeps our ini beside
# the distribution's (the leading ':' keeps PHP's default directory too).
php_env() {
    mkdir -p "$root/php.d"
    if [ ! -f "$root/php.d/99-maildrift.ini" ]; then
        printf 'max_input_vars = 5000\nmemory_limit = 512M\n' >"$root/php.d/99-maildrift.ini"
    fi
    export PHP_INI_SCAN_DIR=":$root/php.d"
}

prepare() {
    export DEBIAN_FRONTEND=noninteractive
    local want=(php-cli php-pgsql php-intl php-xml php-mbstring php-curl php-zip php-gd php-soap
        postgresql zstd curl python3-aiosmtpd python3-dkim)
    local missing=()
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run as root or install them"
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # Start every PostgreSQL cluster the package created (there is one on a fresh machine).
    pg_lsclusters -h | while read -r ver cluster _port status _rest; do
        [ "$status" = online ] || pg_ctlcluster "$ver" "$cluster" start
    done
    for _ in $(seq 50); do
        runuser -u postgres -- psql -qAtc 'select 1' >/dev/null 2>&1 && break
        sleep 0.2
    done
    # The sites are throwaway test data: durability only costs time (the install writes ~2000
    # tables and rows in many small transactions).
    if [ "$(runuser -u postgres -- psql -qAtc 'show fsync')" != off ]; then
        runuser -u postgres -- psql -qc 'alter system set fsync = off' \
            -c 'alter system set synchronous_commit = off' -c 'alter system set full_page_writes = off' \
            -c 'select pg_reload_conf()' >/dev/null
    fi
    if [ "$(runuser -u postgres -- psql -qAtc "select 1 from pg_roles where rolname='$db_user'")" != 1 ]; then
        runuser -u postgres -- psql -qc "create role $db_user login createdb password '$db_pass'"
    fi
}

site_vars() {
    site=$1
    [[ $site =~ ^[a-z][a-z0-9_]{0,30}$ ]] || die "site name '$site': use a-z, 0-9 and _ (starting with a letter)"
    dir=$root/$site
    dbname=md_$site
    [ -f "$dir/site.env" ] && . "$dir/site.env"
    return 0
}

# Top folder (config.php, admin/cli) and web root (where plugins go) of a version's tree.
tree_facts() {
    case $1 in
    4.5) archive=moodle-4.5.8plus.tar.zst; top=moodle; public= ;;
    5.1) archive=moodle-5.1.6.tar.zst; top=moodle5; public=/public ;;
    *) die "version '$1': use 4.5 or 5.1" ;;
    esac
}

server_running() { [ -f "$dir/server.pid" ] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; }

start() {
    site_vars "$1"
    [ -f "$dir/site.env" ] || die "no site '$site' under $root (site.sh up first)"
    server_running && return 0
    php_env
    # setsid: the server outlives this script and can be stopped as one process group.
    PHP_CLI_SERVER_WORKERS=4 setsid php -S "127.0.0.1:$port" -t "$code$public" \
        >>"$dir/server.log" 2>&1 </dev/null &
    echo $! >"$dir/server.pid"
    for _ in $(seq 100); do
        if curl -fsS -o /dev/null "$wwwroot/login/index.php" 2>/dev/null; then
            log "serving $wwwroot"
            return 0
        fi
        server_running || die "the server of '$site' exited; see $dir/server.log"
        sleep 0.2
    done
    die "the server of '$site' did not answer on $wwwroot; see $dir/server.log"
}

stop() {
    site_vars "$1"
    if server_running; then
        kill -- "-$(cat "$dir/server.pid")" 2>/dev/null || kill "$(cat "$dir/server.pid")"
    fi
    rm -f "$dir/server.pid"
}

site_php() {
    site_vars "$1"
    shift
    php_env
    (cd "$code" && php "$@")
}

cfg() { site_php "$site" admin/cli/cfg.php "$@" >/dev/null; }

install_plugin() {
    site_vars "$1"
    local src=$2
    [ -f "$src/version.php" ] || die "plugin dir '$src' has no version.php"
    local dest=$code$public/local/maildrift
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -a "$src/." "$dest/"
    log "plugin from $src, upgrading"
    site_php "$site" admin/cli/upgrade.php --non-interactive >"$dir/upgrade.log" 2>&1 ||
        { tail -n 30 "$dir/upgrade.log" >&2; die "upgrade of '$site' failed; see $dir/upgrade.log"; }
    site_php "$site" admin/cli/purge_caches.php >/dev/null
}

up() {
    [ $# -eq 4 ] || die "usage: site.sh up NAME VERSION PORT PLUGIN_DIR"
    site_vars "$1"
    local version=$2 p=$3 plugin
    plugin=$(cd "$4" && pwd)
    tree_facts "$version"
    [[ $p =~ ^[0-9]+$ ]] || die "port '$p' is not a number"
    [ -f "$shared/moodle/$archive" ] || die "no $shared/moodle/$archive (set MAILDRIFT_SHARED)"
    [ -d "$dir" ] && { stop "$site"; rm -rf "$dir"; }
    mkdir -p "$dir/data"
    local t0=$SECONDS
    log "extracting $archive"
    zstd -qdc "$shared/moodle/$archive" | tar -xf - -C "$dir"
    code=$dir/$top
    port=$p
    wwwroot=http://127.0.0.1:$port
    runuser -u postgres -- psql -qc "drop database if exists $dbname" >/dev/null 2>&1
    runuser -u postgres -- psql -qc "create database $dbname owner $db_user encoding 'UTF8'" >/dev/null
    cat >"$dir/site.env" <<ENV
version=$version
port=$port
code=$code
public=$public
dataroot=$dir/data
wwwroot=$wwwroot
dbname=$dbname
admin_user=$admin_user
admin_pass=$admin_pass
ENV
    php_env
    log "installing Moodle $version into database $dbname"
    (cd "$code" && php admin/cli/install.php --non-interactive --agree-license --lang=en \
        --wwwroot="$wwwroot" --dataroot="$dir/data" --dbtype=pgsql --dbhost=127.0.0.1 \
        --dbname="$dbname" --dbuser="$db_user" --dbpass="$db_pass" --prefix=mdl_ \
        --fullname="maildrift $site" --shortname="$site" --adminuser="$admin_user" \
        --adminpass="$admin_pass" --adminemail="admin@$site.maildrift.test" \
        --supportemail="support@$site.maildrift.test") >"$dir/install.log" 2>&1 ||
        { tail -n 30 "$dir/install.log" >&2; die "install of '$site' failed; see $dir/install.log"; }
    cfg --name=enablewebservices --set=1
    cfg --name=webserviceprotocols --set=rest
    # Mail goes nowhere until a test points smtphosts at its own server.
    cfg --name=noreplyaddress --set="noreply@$site.maildrift.test"
    install_plugin "$site" "$plugin"
    start "$site"
    log "ready in $((SECONDS - t0)) s: $wwwroot (admin $admin_user / $admin_pass)"
}

destroy() {
    site_vars "$1"
    stop "$site"
    runuser -u postgres -- psql -qc "drop database if exists $dbname" >/dev/null 2>&1 || true
    rm -rf "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
prepare) prepare ;;
up) up "$@" ;;
plugin) [ $# -eq 2 ] || die "usage: site.sh plugin NAME PLUGIN_DIR"; install_plugin "$1" "$(cd "$2" && pwd)" ;;
start) start "$1" ;;
stop) stop "$1" ;;
php) site_php "$@" ;;
env) site_vars "$1"; cat "$dir/site.env" ;;
destroy) destroy "$1" ;;
*) sed -n '2,14p' "$0" >&2; exit 1 ;;
esac
