#!/usr/bin/env bash
# Install Alertmanager (amtool, prometheus-alertmanager) and VictoriaMetrics
# (vmalert, victoria-metrics) from Debian 12's packages, unpacked with
# `dpkg -x` under .tools/ so that no service is started and the system's
# dpkg database is left alone (idempotent; a second run does no network
# access):
#
#   <repo>/.tools/alertmanager/usr/bin/{amtool,prometheus-alertmanager}   0.25.x
#   <repo>/.tools/victoria-metrics/usr/bin/{vmalert,victoria-metrics}     1.79.x
#   <repo>/.tools/nginx/usr/sbin/nginx                                    1.22.x
#
# nginx serves Parquet files over HTTP to `--data http://…` in the tests
# (its own configuration is written by the test; the package's is unused).
#
# The tests find them there (or through $AMTOOL, $ALERTMANAGER, $VMALERT,
# $VICTORIA_METRICS) and fail rather than skip when $SLO_REQUIRE_SERVERS=1.
set -euo pipefail
export LC_ALL=C

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
log() { printf '[install-servers] %s\n' "$*" >&2; }

# unpack <package> <dir> <binary-that-must-run, under usr/bin unless it names its directory>
unpack() {
    local pkg="$1" dir="$REPO_ROOT/.tools/$2" bin="$3"
    [[ "$bin" == */* ]] || bin="bin/$bin"
    if [[ -x "$dir/usr/$bin" ]]; then
        return 0
    fi
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-servers.XXXXXX")"
    chmod 755 "$tmp"
    log "downloading $pkg"
    (cd "$tmp" && { apt-get download -q "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download -q "$pkg" >/dev/null; }; })
    rm -rf -- "$dir.partial"
    mkdir -p -- "$REPO_ROOT/.tools"
    dpkg -x "$tmp"/"$pkg"_*.deb "$dir.partial"
    rm -rf -- "$tmp"
    "$dir.partial/usr/$bin" --version >/dev/null 2>&1 || "$dir.partial/usr/$bin" -version >/dev/null 2>&1 \
        || "$dir.partial/usr/$bin" -v >/dev/null 2>&1 \
        || { log "$bin from $pkg does not run"; exit 1; }
    rm -rf -- "$dir"
    mv -- "$dir.partial" "$dir"
    log "$pkg: $dir/usr/$bin"
}

unpack prometheus-alertmanager alertmanager amtool
unpack victoria-metrics victoria-metrics vmalert
unpack nginx nginx sbin/nginx
