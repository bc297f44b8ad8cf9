# shellcheck shell=bash
# Shared helpers for the project's shell tools. Source it, don't run it:
#   source "$REPO/tools/lib/common.sh"
# It sets REPO (the repository root) unless the caller already did, and puts
# the Swift toolchain on PATH when it lives in /opt/swift but PATH lacks it.

if [[ -n "${HC_COMMON_LOADED:-}" ]]; then return 0; fi
HC_COMMON_LOADED=1

: "${REPO:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export REPO

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    PATH="/opt/swift/usr/bin:$PATH"
    export PATH
fi

# hc_log MSG... — announce a step: "==> MSG", bold when stdout is a terminal.
hc_log() {
    if [[ -t 1 ]]; then
        printf '\033[1m==> %s\033[0m\n' "$*"
    else
        printf '==> %s\n' "$*"
    fi
}

# hc_die MSG... — print an error to stderr and exit 1.
hc_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# hc_as_root CMD... — run CMD as root: directly when we are root, else via sudo.
hc_as_root() {
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        printf 'error: need root (or sudo) to run: %s\n' "$*" >&2
        return 1
    fi
}

# The Debian libraries the Swift package links (Package.swift's system-library targets,
# plus libcurl for FoundationNetworking): every script that builds installs these.
HC_BUILD_DEPS=(libsqlite3-dev libssl-dev zlib1g-dev libqrencode-dev libpng-dev libcurl4-openssl-dev libjansson-dev)

# hc_ensure_apt PKG... — install the Debian packages that are not installed yet.
# apt-get update runs at most once per shell, and only if something is missing.
hc_ensure_apt() {
    local pkg missing=()
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0

    hc_log "installing Debian packages: ${missing[*]}"
    # Wait for another apt/dpkg process instead of failing on its lock.
    local lock=(-o DPkg::Lock::Timeout=300)
    if [[ -z "${HC_APT_UPDATED:-}" ]]; then
        hc_as_root apt-get "${lock[@]}" update -qq || return 1
        HC_APT_UPDATED=1
    fi
    hc_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# hc_python — the interpreter used for the venv: $HC_PYTHON, else Debian's
# /usr/bin/python3 (whose venv support comes from apt), else python3 on PATH.
hc_python() {
    if [[ -n "${HC_PYTHON:-}" ]]; then
        printf '%s\n' "$HC_PYTHON"
    elif [[ -x /usr/bin/python3 ]]; then
        printf '%s\n' /usr/bin/python3
    else
        command -v python3 || { echo "error: python3 not found" >&2; return 1; }
    fi
}

# hc_ensure_venv — make $REPO/.venv and install tools/requirements-check.txt
# into it. pip runs only when the requirements file changed since the last
# successful install (its sha256 is kept in .venv/.requirements-check.sha256).
hc_ensure_venv() {
    local venv="$REPO/.venv"
    local req="$REPO/tools/requirements-check.txt"
    local stamp="$venv/.requirements-check.sha256"
    local py want
    py=$(hc_python) || return 1
    [[ -f "$req" ]] || { echo "error: $req is missing" >&2; return 1; }

    # A venv whose interpreter no longer runs (python upgraded, half-made) is rebuilt.
    if [[ -d "$venv" ]] && ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
        rm -rf "$venv"
    fi
    if [[ ! -d "$venv" ]]; then
        if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            hc_ensure_apt python3-venv || return 1
            "$py" -m venv "$venv" || { rm -rf "$venv"; return 1; }
        fi
    fi

    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    hc_log "installing Python checkers from tools/requirements-check.txt"
    rm -f "$stamp"
    PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$venv/bin/python" -m pip install -q -r "$req" || return 1
    printf '%s\n' "$want" >"$stamp"
}

# hc_free_port — print a TCP port on 127.0.0.1 that is free right now.
hc_free_port() {
    local py
    py=$(command -v python3 || echo /usr/bin/python3)
    "$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# hc_wait_http URL SECONDS [PID] — poll URL until it answers 200. Returns
# non-zero on timeout, or as soon as process PID (if given) has exited.
hc_wait_http() {
    local url=$1 seconds=$2 pid=${3:-}
    local deadline=$((SECONDS + seconds)) code
    while ((SECONDS < deadline)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null) || true
        [[ "$code" == 200 ]] && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "error: process $pid exited while waiting for $url" >&2
            return 1
        fi
        sleep 1
    done
    echo "error: $url did not answer 200 within ${seconds}s" >&2
    return 1
}
