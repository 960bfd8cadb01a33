#!/usr/bin/env bash
# Install Alertmanager (amtool, prometheus-alertmanager) and VictoriaMetrics
# (vmalert, victoria-metrics) from Debian 12's packages, unpacked with
# `dpkg -x` under .tools/ so that no service is started and the system's
# dpkg database is left alone (idempotent; a second run does no network
# access):
#
#   <repo>/.tools/alertmanager/usr/bin/{amtool,prometheus-alertmanager}   0.25.x
#   <repo>/.tools/victoria-metrics/usr/bin/{vmalert,victoria-metrics}     1.79.x
#
# The tests find them there (or through $AMTOOL, $ALERTMANAGER, $VMALERT,
# $VICTORIA_METRICS) and fail rather than skip when $SLO_REQUIRE_SERVERS=1.
set -euo pipefail
export LC_ALL=C

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
log() { printf '[install-servers] %s\n' "$*" >&2; }

# unpack <package> <dir> <binary-that-must-run>
unpack() {
    local pkg="$1" dir="$REPO_ROOT/.tools/$2" bin="$3"
    if [[ -x "$dir/usr/bin/$bin" ]]; then
        return 0
    fi
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-servers.XXXXXX")"
    chmod 755 "$tmp"
    log "downloading $pkg"
    (cd "$tmp" && { apt-get download -q "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download -q "$pkg" >/dev/null; }; })
    rm -rf -- "$dir.partial"
    dpkg -x "$tmp"/"$pkg"_*.deb "$dir.partial"
    rm -rf -- "$tmp"
    "$dir.partial/usr/bin/$bin" --version >/dev/null 2>&1 || "$dir.partial/usr/bin/$bin" -version >/dev/null 2>&1 \
        || { log "$bin from $pkg does not run"; exit 1; }
    rm -rf -- "$dir"
    mv -- "$dir.partial" "$dir"
    log "$pkg: $dir/usr/bin/$bin"
}

unpack prometheus-alertmanager alertmanager amtool
unpack victoria-metrics victoria-metrics vmalert
