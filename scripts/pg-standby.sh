#!/usr/bin/env bash
# A throwaway PostgreSQL primary and its hot standby (pg_basebackup -R), in a directory of
# their own, on ports of their own: for the read-replica tests and benchmarks. It never
# touches the machine's own cluster.
#
#   scripts/pg-standby.sh up DIR [PRIMARY_PORT [STANDBY_PORT]]  # prints the two URLs
#   scripts/pg-standby.sh stop-standby DIR | start-standby DIR
#   scripts/pg-standby.sh reset DIR  # the standby running and replaying, whatever it was
#   scripts/pg-standby.sh down DIR   # stops both, removes DIR
#
# The server binaries are taken from $TEST_PG_BIN (default /usr/lib/postgresql/15/bin). Run as
# root, the servers run as the `postgres` user (DIR is given to it); otherwise as the caller.
# Both listen on 127.0.0.1 and on a socket in DIR, with trust authentication (replication
# included), and hold a database `test`.
set -euo pipefail

BIN=${TEST_PG_BIN:-/usr/lib/postgresql/15/bin}

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

fail_with_log() { # fail_with_log LOG MESSAGE
    echo "pg-standby: $2" >&2
    [ -f "$1" ] && tail -n 30 "$1" >&2
    exit 1
}

start() { # start DIR NAME
    as_pg "$BIN/pg_ctl" -D "$1/$2" -l "$1/$2.log" -w -t 60 start >/dev/null \
        || fail_with_log "$1/$2.log" "the $2 did not start"
}

up() {
    local dir=$1 pport=${2:-55432} sport=${3:-55433}
    [ -x "$BIN/initdb" ] || { echo "pg-standby: no $BIN/initdb (set TEST_PG_BIN)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_pg "$BIN/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1 || fail_with_log "$dir/initdb.log" "initdb failed"
    as_pg tee -a "$dir/primary/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $pport
unix_socket_directories = '$dir'
max_connections = 200
wal_level = replica
max_wal_senders = 5
hot_standby = on
hot_standby_feedback = on
# A throwaway cluster: durability buys nothing here. (Commits still wait for their WAL write,
# so the standby receives it at once, as from a real primary.)
fsync = off
full_page_writes = off
EOF
    start "$dir" primary
    as_pg "$BIN/psql" -h "$dir" -p "$pport" -U postgres -d postgres -qAt \
        -c "CREATE DATABASE test" >/dev/null
    as_pg "$BIN/pg_basebackup" -R -D "$dir/standby" -h 127.0.0.1 -p "$pport" -U postgres \
        -X stream -c fast >"$dir/basebackup.log" 2>&1 \
        || fail_with_log "$dir/basebackup.log" "pg_basebackup failed"
    echo "port = $sport" | as_pg tee -a "$dir/standby/postgresql.conf" >/dev/null
    start "$dir" standby
    echo "TEST_PG_PRIMARY_URL=postgres://postgres@127.0.0.1:$pport/test"
    echo "TEST_PG_STANDBY_URL=postgres://postgres@127.0.0.1:$sport/test"
}

reset() { # the standby running, its replay not paused
    local dir=$1
    if ! as_pg "$BIN/pg_ctl" -D "$dir/standby" status >/dev/null 2>&1; then
        start "$dir" standby
    fi
    local port
    port=$(sed -n 's/^port = //p' "$dir/standby/postgresql.conf" | tail -n 1)
    as_pg "$BIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt \
        -c "SELECT pg_wal_replay_resume()" >/dev/null
}

down() {
    local dir=$1
    for name in standby primary; do
        if [ -f "$dir/$name/postmaster.pid" ]; then
            as_pg "$BIN/pg_ctl" -D "$dir/$name" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$dir"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    down) down "$2" ;;
    stop-standby) as_pg "$BIN/pg_ctl" -D "$2/standby" -m fast -w stop >/dev/null ;;
    start-standby) start "$2" standby ;;
    reset) reset "$2" ;;
    *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
