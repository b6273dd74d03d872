#!/usr/bin/env bash
# Patroni failover with proconsul as the DCS, on loopback: start a `proconsul agent -dev`, two PostgreSQL
# members (pg1, pg2) under Patroni, write a row on the leader, kill -9 the leader's Patroni and PostgreSQL,
# and wait until the replica has been promoted and still has the row. Prints a timeline.
#
#   examples/patroni/failover.sh
#
# Needs (Debian): apt-get install patroni python3-consul postgresql, and proconsul installed
# (`pip install -e .`). As root, Patroni and PostgreSQL run as the `postgres` user (initdb refuses root).
#
# Environment:
#   PROCONSUL          command that runs proconsul (default: proconsul)
#   CONSUL_HTTP_ADDR   use this running agent (proconsul or Consul) instead of starting one
#   PG_BIN_DIR         PostgreSQL server binaries (default: newest /usr/lib/postgresql/*/bin)
#   KEEP=1             keep the scratch directory (configs, logs, data) afterwards
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
scope=pgdemo
proconsul=${PROCONSUL:-proconsul}
pg_bin=${PG_BIN_DIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pg_bin/initdb" ] || { echo "no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }
command -v patroni >/dev/null || { echo "no patroni (apt-get install patroni python3-consul)" >&2; exit 1; }
command -v envsubst >/dev/null || { echo "no envsubst (apt-get install gettext-base)" >&2; exit 1; }

run=$(mktemp -d /tmp/patroni-failover.XXXXXX)
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$run"
  as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups)
else
  as_pg=()
fi

t0=$(date +%s.%N)
elapsed() { awk -v now="$(date +%s.%N)" -v since="$1" 'BEGIN { printf "%.2f", now - since }'; }
say() { printf '[%6ss] %s\n' "$(elapsed "$t0")" "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

agent_pid=""
declare -A patroni_pid api_port pg_port
cleanup() {
  for name in pg1 pg2; do
    kill_member "$name" 2>/dev/null || true
  done
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT

# kill -9 a member: Patroni's process group, and PostgreSQL's (Patroni starts it in a session of its own)
kill_member() {
  local name=$1 pm pgid=""
  pm=$(head -n 1 "$run/data-$name/postmaster.pid" 2>/dev/null || true)
  # only a live postmaster (the pid file stays behind after kill -9)
  [ -n "$pm" ] && [ "$(ps -o comm= -p "$pm" 2>/dev/null)" = postgres ] && pgid=$(ps -o pgid= -p "$pm" | tr -d ' ')
  [ -n "${patroni_pid[$name]:-}" ] && kill -9 -- "-${patroni_pid[$name]}" 2>/dev/null
  [ -n "$pgid" ] && kill -9 -- "-$pgid" 2>/dev/null
  return 0
}

# wait_key KEY SECONDS CHECK: blocking queries on service/$scope/KEY until `CHECK <value>` succeeds
wait_key() {
  local key=$1 deadline=$((SECONDS + $2)) check=$3 index=0 value
  while ((SECONDS < deadline)); do
    value=$(curl -s -D "$run/headers" "http://$consul/v1/kv/service/$scope/$key?raw&index=$index&wait=5s" || true)
    "$check" "$value" && return 0
    index=$(tr -d '\r' < "$run/headers" | awk -F': ' 'tolower($1) == "x-consul-index" {print $2}')
    index=${index:-0}
  done
  echo "timed out waiting for $key ($check); last value: $value" >&2
  return 1
}
is_pg1() { [ "$1" = pg1 ]; }
is_pg2() { [ "$1" = pg2 ]; }
not_pg1() { [ "$1" != pg1 ]; }
running_replica() { [[ $1 == *'"state":"running"'* && $1 == *'"role":"replica"'* ]]; }
running_primary() { [[ $1 == *'"state":"running"'* && ($1 == *'"role":"master"'* || $1 == *'"role":"primary"'*) ]]; }
received() { local x; x=$(grep -o '"xlog_location":[0-9]*' <<<"$1" | cut -d: -f2); [ "${x:-0}" -ge "$lsn" ]; }

psql_on() { local name=$1; shift; "$pg_bin/psql" -h 127.0.0.1 -p "${pg_port[$name]}" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 "$@"; }

start_member() {
  local name=$1
  api_port[$name]=$(free_port)
  pg_port[$name]=$(free_port)
  SCOPE=$scope NAME=$name CONSUL_ADDR=$consul API_PORT=${api_port[$name]} PG_PORT=${pg_port[$name]} \
    DATA_DIR=$run/data-$name RUN_DIR=$run PG_BIN_DIR=$pg_bin \
    envsubst < "$here/patroni.yml.tmpl" > "$run/$name.yml"
  # setsid: its own process group (a script's background job is no group leader, so setsid does not fork)
  HOME=$run setsid "${as_pg[@]}" patroni "$run/$name.yml" > "$run/$name.log" 2>&1 < /dev/null &
  patroni_pid[$name]=$!
  disown  # no "Killed" job notice when it is killed below
}

if [ -n "${CONSUL_HTTP_ADDR:-}" ]; then
  consul=${CONSUL_HTTP_ADDR#http://}
else
  http_port=$(free_port)
  consul=127.0.0.1:$http_port
  # shellcheck disable=SC2086 # PROCONSUL may be a command with arguments
  $proconsul agent -dev -node=demo -bind=127.0.0.1 -http-port="$http_port" -dns-port=-1 \
    -data-dir="$run/agent" > "$run/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 100); do grep -q "agent started" "$run/agent.log" && break; sleep 0.1; done
  grep -q "agent started" "$run/agent.log" || { cat "$run/agent.log" >&2; exit 1; }
fi
say "agent at $consul, scratch directory $run"

start_member pg1
wait_key leader 60 is_pg1
wait_key members/pg1 30 running_primary
say "pg1 is the leader (PostgreSQL on 127.0.0.1:${pg_port[pg1]}, Patroni API ${api_port[pg1]})"

start_member pg2
wait_key members/pg2 60 running_replica
say "pg2 is a running replica (PostgreSQL on 127.0.0.1:${pg_port[pg2]}, Patroni API ${api_port[pg2]})"

psql_on pg1 -c "CREATE TABLE failover (id int PRIMARY KEY, note text)"
psql_on pg1 -c "INSERT INTO failover VALUES (1, 'written on pg1')"
lsn=$(psql_on pg1 -c "SELECT pg_current_wal_lsn() - '0/0'")
wait_key members/pg2 30 received
say "row written on pg1; pg2 has received WAL up to $lsn"
echo "--- patronictl list"
patronictl -c "$run/pg1.yml" list || true

kill_member pg1
killed=$(date +%s.%N)
say "kill -9 pg1 (Patroni and PostgreSQL)"
wait_key leader 60 not_pg1
say "leader key gone: pg1's session expired"
wait_key leader 30 is_pg2
say "pg2 took the leader key"
wait_key members/pg2 30 running_primary
failover=$(elapsed "$killed")
say "pg2 runs as primary"

for _ in $(seq 100); do [ "$(psql_on pg2 -c 'SELECT pg_is_in_recovery()')" = f ] && break; sleep 0.1; done
say "pg2 reads: $(psql_on pg2 -c 'SELECT note FROM failover WHERE id = 1')"
psql_on pg2 -c "INSERT INTO failover VALUES (2, 'written on pg2')"
say "pg2 accepts writes: $(psql_on pg2 -c 'SELECT count(*) FROM failover') rows"
echo "--- patronictl list"
patronictl -c "$run/pg2.yml" list || true
echo "failover time (kill -9 of pg1 -> pg2 holds the leader key and runs as primary): ${failover}s"
