#!/usr/bin/env bash
# Install the two promtool binaries the tests compare against (idempotent).
#
#   /usr/bin/promtool                          2.x, from Debian 12's `prometheus` package (installed with apt)
#   <repo>/.tools/promtool3/usr/bin/promtool   3.5.x, from Debian sid's `promtool` package (downloaded
#                                              and unpacked with `dpkg -x`; the system's apt sources,
#                                              lists and dpkg database are left alone)
#   <repo>/.tools/prometheus3/usr/bin/prometheus  the 3.5.x server, from sid's `prometheus` package, the same way
#                                              (/usr/bin/prometheus 2.42 comes with step 1's package)
#
# Must run as root on Debian 12 (bookworm) for step 1; a second run with both binaries present
# does no network access and finishes in well under a second.
#
# Environment overrides (all optional):
#   PROMTOOL3_MIRROR   Debian archive URL to fetch sid from (default: the mirror apt is configured with,
#                      e.g. http://deb.debian.org/debian). A snapshot URL such as
#                      http://snapshot.debian.org/archive/debian/20251120T000000Z works too.
#   PROMTOOL3_SERIES   version prefix the sid package must have (default: 3.5.)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export APT_LISTCHANGES_FRONTEND=none
export NEEDRESTART_MODE=a
export LC_ALL=C

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
PROMTOOL2_BIN=/usr/bin/promtool
PROMTOOL3_DIR="$REPO_ROOT/.tools/promtool3"
PROMTOOL3_BIN="$PROMTOOL3_DIR/usr/bin/promtool"
PROMETHEUS3_DIR="$REPO_ROOT/.tools/prometheus3"
PROMETHEUS3_BIN="$PROMETHEUS3_DIR/usr/bin/prometheus"
PROMTOOL3_SERIES="${PROMTOOL3_SERIES:-3.5.}"
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_BACKUP="$POLICY_RC.install-promtool-backup"

log()  { printf '[install-promtool] %s\n' "$*" >&2; }
warn() { printf '[install-promtool] WARNING: %s\n' "$*" >&2; }
die()  { printf '[install-promtool] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Temp dir and cleanup (also undoes the temporary policy-rc.d, if we installed one).
TMP=""
POLICY_RC_STATE=none # none | created | replaced
STAGE=""
cleanup() {
    local rc=$?
    case "$POLICY_RC_STATE" in
        created) rm -f -- "$POLICY_RC" ;;
        replaced) mv -f -- "$POLICY_RC_BACKUP" "$POLICY_RC" ;;
    esac
    if [[ -n "$STAGE" && -d "$STAGE" ]]; then rm -rf -- "$STAGE"; fi
    if [[ -n "$TMP" && -d "$TMP" ]]; then rm -rf -- "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make_tmp() {
    if [[ -z "$TMP" ]]; then
        TMP="$(mktemp -d "${TMPDIR:-/tmp}/install-promtool.XXXXXX")"
        # apt downloads as the unprivileged `_apt` user; let it reach the temp dir.
        chmod 755 "$TMP"
    fi
}

# retry <cmd...>: up to 3 attempts, 5s then 10s apart.
retry() {
    local attempt=1 max=3 delay=5
    until "$@"; do
        if ((attempt >= max)); then
            warn "giving up after $max attempts: $*"
            return 1
        fi
        warn "attempt $attempt/$max failed: $*; retrying in ${delay}s"
        sleep "$delay"
        attempt=$((attempt + 1))
        delay=$((delay * 2))
    done
}

# first_version_line <binary>: prints the first line of `<binary> --version`; fails if it
# doesn't run. (Output is captured first so `head` can't SIGPIPE the binary under pipefail.)
first_version_line() {
    local out
    [[ -x "$1" ]] || return 1
    out="$("$1" --version 2>&1)" || return 1
    printf '%s\n' "${out%%$'\n'*}"
}

# has_version <binary> <version-prefix> [name]: true if the binary runs and reports that version.
has_version() {
    local line
    line="$(first_version_line "$1")" || return 1
    [[ "$line" == "${3:-promtool}, version $2"* ]]
}

require_root() {
    [[ "$(id -u)" == 0 ]] || die "$1 needs root (re-run as root, e.g. with sudo)"
}

# ---------------------------------------------------------------------------------------------
# Step 1: promtool 2.x from bookworm's `prometheus` package.

# Keep maintainer scripts from starting the prometheus service: invoke-rc.d and
# deb-systemd-invoke both ask policy-rc.d, and exit code 101 means "action forbidden".
block_service_starts() {
    if [[ -e "$POLICY_RC" ]]; then
        local rc=0
        "$POLICY_RC" prometheus start >/dev/null 2>&1 || rc=$?
        if ((rc == 101)); then
            return 0 # the existing policy already forbids starts (the usual Docker-image setup)
        fi
        log "temporarily replacing $POLICY_RC (it returned $rc, not 101)"
        mv -f -- "$POLICY_RC" "$POLICY_RC_BACKUP"
        POLICY_RC_STATE=replaced
    else
        POLICY_RC_STATE=created
    fi
    printf '#!/bin/sh\n# temporary, written by install-promtool.sh\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
}

restore_service_policy() {
    case "$POLICY_RC_STATE" in
        created) rm -f -- "$POLICY_RC" ;;
        replaced) mv -f -- "$POLICY_RC_BACKUP" "$POLICY_RC" ;;
    esac
    POLICY_RC_STATE=none
}

apt_candidate() { # apt_candidate <pkg> [apt options...]
    local pkg="$1"
    shift
    apt-cache "$@" policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}

APT_INSTALL_OPTS=(
    -y -q --no-install-recommends
    -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef
    -o Dpkg::Options::=--force-confold
)

install_promtool2() {
    if has_version "$PROMTOOL2_BIN" 2.; then
        log "promtool 2.x already installed at $PROMTOOL2_BIN; skipping apt"
        return 0
    fi
    require_root "installing the prometheus package"
    command -v apt-get >/dev/null || die "apt-get not found; this script expects Debian 12"

    local action=install
    if [[ -e "$PROMTOOL2_BIN" ]]; then
        local owner
        owner="$(dpkg-query -S "$PROMTOOL2_BIN" 2>/dev/null | cut -d: -f1 || true)"
        if [[ "$owner" == prometheus ]]; then
            warn "$PROMTOOL2_BIN exists but does not run or is not 2.x; reinstalling prometheus"
            action=reinstall
        else
            die "$PROMTOOL2_BIN exists but is not promtool 2.x ($(first_version_line "$PROMTOOL2_BIN" || echo 'does not run')); owned by: ${owner:-no package}. Remove it first."
        fi
    fi

    local updated=0 cand
    cand="$(apt_candidate prometheus)"
    if [[ -z "$cand" || "$cand" == "(none)" ]]; then
        log "no install candidate for prometheus; running apt-get update"
        retry apt-get -q -o DPkg::Lock::Timeout=300 update || die "apt-get update failed"
        updated=1
        cand="$(apt_candidate prometheus)"
        [[ -n "$cand" && "$cand" != "(none)" ]] ||
            die "apt has no 'prometheus' package even after apt-get update; is this Debian 12 with 'main' enabled?"
    fi
    [[ "$cand" == 2.* ]] || die "apt would install prometheus $cand, expected 2.x (Debian 12 ships 2.42)"

    log "installing prometheus $cand (provides $PROMTOOL2_BIN)"
    block_service_starts
    local attempt ok=0
    for attempt in 1 2 3; do
        local extra=()
        if [[ "$action" == reinstall ]]; then extra=(--reinstall); fi
        if apt-get "${APT_INSTALL_OPTS[@]}" "${extra[@]}" install prometheus; then
            ok=1
            break
        fi
        ((attempt < 3)) || break
        warn "apt-get install prometheus failed (attempt $attempt/3); retrying in $((attempt * 5))s"
        sleep $((attempt * 5))
        # A 404 usually means stale package lists: refresh them once before retrying.
        if ((updated == 0)); then
            apt-get -q -o DPkg::Lock::Timeout=300 update || warn "apt-get update failed too"
            updated=1
        fi
    done
    restore_service_policy
    ((ok)) || die "could not install the prometheus package (see apt output above)"
    has_version "$PROMTOOL2_BIN" 2. ||
        die "prometheus installed but $PROMTOOL2_BIN does not report version 2.x: $(first_version_line "$PROMTOOL2_BIN" || echo 'does not run')"
}

# ---------------------------------------------------------------------------------------------
# Step 2: promtool 3.5.x from sid, unpacked under <repo>/.tools/promtool3.

# Prints the first http(s) Debian archive URL found in the apt sources (one-line .list files and
# deb822 .sources files), e.g. "http://deb.debian.org/debian". debian-security and third-party
# repositories are not matched.
detect_debian_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        if [[ -f "$f" ]]; then files+=("$f"); fi
    done
    ((${#files[@]})) || return 1
    local re='^https?://[^[:space:]]+/debian(/[0-9]{8}T[0-9]{6}Z)?/*$'
    local uri
    for f in "${files[@]}"; do
        if [[ "$f" == *.sources ]]; then
            # deb822: paragraphs separated by blank lines; honour "Enabled: no" and "Types:".
            awk '
                function flush() { if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") print uris; types = ""; uris = ""; enabled = "" }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                tolower($1) == "types:"   { sub(/^[^:]*:[ \t]*/, ""); types = $0; next }
                tolower($1) == "uris:"    { sub(/^[^:]*:[ \t]*/, ""); uris = $0; next }
                tolower($1) == "enabled:" { sub(/^[^:]*:[ \t]*/, ""); enabled = $0; next }
                END { flush() }
            ' "$f"
        else
            # one-line format: deb [options] URI suite components...
            sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]].*/\2/p' "$f"
        fi
    done | tr -s ' \t' '\n\n' | while read -r uri; do
        if [[ "$uri" =~ $re ]]; then
            printf '%s\n' "${uri%/}"
            break
        fi
    done
}

# install_sid <package> <dir>: sid's <package> (its binary /usr/bin/<package>) unpacked under <dir>.
SID_OPTS=()
SID_MIRROR=""
install_sid() {
    local pkg="$1" dir="$2"
    local bin="$dir/usr/bin/$pkg"
    if has_version "$bin" "$PROMTOOL3_SERIES" "$pkg"; then
        log "$pkg ${PROMTOOL3_SERIES}x already present at $bin; skipping download"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get not found; this script expects Debian 12"
    command -v dpkg >/dev/null || die "dpkg not found; this script expects Debian 12"

    if ((${#SID_OPTS[@]} == 0)); then
        local mirror="${PROMTOOL3_MIRROR:-}"
        if [[ -z "$mirror" ]]; then
            mirror="$(detect_debian_mirror || true)"
            if [[ -z "$mirror" ]]; then
                mirror=http://deb.debian.org/debian
                warn "could not find a Debian mirror in /etc/apt/sources.list{,.d/*}; using $mirror"
            fi
        fi
        mirror="${mirror%/}"
        SID_MIRROR="$mirror"
        log "fetching from sid via $mirror"

        make_tmp
        mkdir -p "$TMP/lists/partial" "$TMP/cache/archives/partial" "$TMP/deb"
        printf 'deb [target=Packages] %s sid main\n' "$mirror" >"$TMP/sources.list"
        # Only the Packages index is fetched (target=Packages); the system's post-update hooks
        # (appstream, packagekit) are about the system lists, so skip them for this private update.
        cat >"$TMP/apt.conf" <<'EOF'
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
        SID_OPTS=(
            -c "$TMP/apt.conf"
            -o "Dir::Etc::SourceList=$TMP/sources.list"
            -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$TMP/lists"
            -o "Dir::Cache=$TMP/cache"
            -o Dir::Cache::pkgcache=
            -o Dir::Cache::srcpkgcache=
            -o Dir::Etc::Preferences=/dev/null
            -o Dir::Etc::PreferencesParts=/dev/null
        )
        # Snapshot archives are frozen in time, so their Release files are "expired" by design.
        if [[ "$mirror" == *snapshot.debian.org* ]]; then
            SID_OPTS+=(-o Acquire::Check-Valid-Until=false)
        fi
        if id _apt >/dev/null 2>&1; then
            chown _apt "$TMP/deb" 2>/dev/null || true
        fi

        retry apt-get -q "${SID_OPTS[@]}" --error-on=any update ||
            die "apt-get update for sid ($mirror) failed"
    fi
    local opts=("${SID_OPTS[@]}")

    local cand
    cand="$(apt_candidate "$pkg" "${opts[@]}")"
    [[ -n "$cand" && "$cand" != "(none)" ]] || die "sid at $SID_MIRROR has no '$pkg' package"
    [[ "$cand" == "$PROMTOOL3_SERIES"* ]] ||
        die "sid's $pkg is $cand, not ${PROMTOOL3_SERIES}x; point PROMTOOL3_MIRROR at a snapshot (e.g. http://snapshot.debian.org/archive/debian/20251120T000000Z) or update this script"

    log "downloading $pkg $cand"
    (cd "$TMP/deb" && retry apt-get -q "${opts[@]}" download "$pkg=$cand") ||
        die "apt-get download $pkg=$cand failed"
    local debs=("$TMP"/deb/${pkg}_*.deb)
    [[ -f "${debs[0]}" ]] || die "apt-get download reported success but no ${pkg}_*.deb appeared"

    # Unpack into a staging dir next to the target, then swap it in.
    mkdir -p "$(dirname "$dir")"
    STAGE="$(mktemp -d "$dir.partial.XXXXXX")"
    dpkg -x "${debs[0]}" "$STAGE" || die "dpkg -x ${debs[0]} failed"
    printf '%s\n' "$cand" >"$STAGE/DEBIAN_VERSION"
    has_version "$STAGE/usr/bin/$pkg" "$PROMTOOL3_SERIES" "$pkg" ||
        die "unpacked $pkg $cand does not run here: $("$STAGE/usr/bin/$pkg" --version 2>&1 | head -n3 || true) (it needs libc6 >= 2.34; this system has $(dpkg-query -W -f='${Version}' libc6 2>/dev/null || echo unknown))"
    chmod 755 "$STAGE"
    rm -rf -- "$dir"
    mv -- "$STAGE" "$dir"
    STAGE=""
}

# ---------------------------------------------------------------------------------------------

install_promtool2
install_sid promtool "$PROMTOOL3_DIR"
# The Prometheus 3.5 server (tests/integration/pull.rs pulls from it as from 2.42).
install_sid prometheus "$PROMETHEUS3_DIR"

status=0
if v2="$(first_version_line "$PROMTOOL2_BIN")" && [[ "$v2" == "promtool, version 2."* ]]; then
    printf '%s: %s\n' "$PROMTOOL2_BIN" "$v2"
else
    printf '%s: MISSING or broken\n' "$PROMTOOL2_BIN" >&2
    status=1
fi
if v3="$(first_version_line "$PROMTOOL3_BIN")" && [[ "$v3" == "promtool, version $PROMTOOL3_SERIES"* ]]; then
    printf '%s: %s\n' "$PROMTOOL3_BIN" "$v3"
else
    printf '%s: MISSING or broken\n' "$PROMTOOL3_BIN" >&2
    status=1
fi
if v3="$(first_version_line "$PROMETHEUS3_BIN")" && [[ "$v3" == "prometheus, version $PROMTOOL3_SERIES"* ]]; then
    printf '%s: %s\n' "$PROMETHEUS3_BIN" "$v3"
else
    printf '%s: MISSING or broken\n' "$PROMETHEUS3_BIN" >&2
    status=1
fi
exit "$status"
