# shellcheck shell=bash
# A throw-away PostgreSQL cluster for tests. Source it, then:
#   hc_pg_start   # exports HC_PG_URL, HC_PG_DIR, HC_PG_BIN, HC_PG_PORT
#   ...
#   hc_pg_stop    # stops the cluster and deletes its directory (idempotent)
# As root the server runs as the `postgres` user (PostgreSQL refuses root);
# as any other user it runs as that user.

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# hc__pg_run CMD... — run a PostgreSQL server command as the cluster's owner.
hc__pg_run() {
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        (cd "$HC_PG_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$HC_PG_DIR" && "$@")
    fi
}

# hc__pg_find_bin — print the newest /usr/lib/postgresql/*/bin that has initdb.
hc__pg_find_bin() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' \
        -printf '%h\n' 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" ]] && printf '%s\n' "$dir"
}

hc_pg_start() {
    if [[ -n "${HC_PG_DIR:-}" ]]; then
        echo "error: a cluster is already running in $HC_PG_DIR" >&2
        return 1
    fi
    local bin
    if ! bin=$(hc__pg_find_bin); then
        hc_ensure_apt postgresql || return 1
        bin=$(hc__pg_find_bin) || { echo "error: no initdb under /usr/lib/postgresql" >&2; return 1; }
    fi
    if [[ ${EUID:-$(id -u)} -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        echo "error: running as root but there is no 'postgres' user to run the server" >&2
        return 1
    fi

    HC_PG_BIN=$bin
    HC_PG_DIR=$(mktemp -d /tmp/hc-pg.XXXXXX)
    export HC_PG_BIN HC_PG_DIR
    chmod 700 "$HC_PG_DIR"
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        chown postgres:postgres "$HC_PG_DIR"
    fi
    local data="$HC_PG_DIR/data" log="$HC_PG_DIR/server.log"

    # C.UTF-8 keeps text UTF-8 without depending on generated locales; plain C
    # is the fallback where that locale does not exist.
    if ! hc__pg_run "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$HC_PG_DIR/initdb.log" 2>&1; then
        hc__pg_run rm -rf "$data"
        if ! hc__pg_run "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
            --locale=C >>"$HC_PG_DIR/initdb.log" 2>&1; then
            cat "$HC_PG_DIR/initdb.log" >&2
            echo "error: initdb failed" >&2
            hc_pg_stop
            return 1
        fi
    fi

    # A port could be taken between picking and binding it: try a few.
    local port attempt started=""
    for attempt in 1 2 3; do
        port=$(hc_free_port)
        if hc__pg_run "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-h 127.0.0.1 -p $port -k $HC_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null; then
            started=1
            break
        fi
        echo "warning: PostgreSQL did not start on port $port (attempt $attempt)" >&2
    done
    if [[ -z "$started" ]]; then
        tail -n 30 "$log" >&2 || true
        echo "error: pg_ctl start failed" >&2
        hc_pg_stop
        return 1
    fi

    # Trust auth: the superuser connects over TCP without a password.
    if ! "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE healthcloud WITH LOGIN SUPERUSER PASSWORD 'healthcloud'" \
        -c "CREATE DATABASE healthcloud OWNER healthcloud" >/dev/null; then
        echo "error: could not create role/database healthcloud" >&2
        hc_pg_stop
        return 1
    fi

    HC_PG_PORT=$port
    HC_PG_URL="postgres://healthcloud:healthcloud@127.0.0.1:$port/healthcloud"
    export HC_PG_PORT HC_PG_URL
}

# hc_pg_stop — stop the cluster started by hc_pg_start and remove its files.
hc_pg_stop() {
    [[ -n "${HC_PG_DIR:-}" ]] || return 0
    if [[ -d "$HC_PG_DIR" ]]; then
        if [[ -f "$HC_PG_DIR/data/postmaster.pid" ]]; then
            hc__pg_run "$HC_PG_BIN/pg_ctl" -D "$HC_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        fi
        rm -rf "$HC_PG_DIR"
    fi
    unset HC_PG_DIR HC_PG_URL HC_PG_PORT
}
