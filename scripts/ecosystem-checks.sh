#!/usr/bin/env bash
# Checks a built server against the GraphQL ecosystem, from the repository root:
#   1. conformance/                 graphql-http's server audit (every MUST and SHOULD)
#   2. examples/typescript-client/  graphql-codegen + tsc --noEmit + the typed client, live
#                                   (queries and mutations over HTTP, subscriptions over graphql-ws)
#   3. examples/relay-client/       relay-compiler (Node interface on nodeId), then relay-runtime:
#                                   a @connection paged twice, a @refetchable refetch by nodeId,
#                                   the store keyed by nodeId
#   4. examples/apollo-client/      Apollo Client 4: relayStylePagination + fetchMore, cache by
#                                   __typename + id, error types, a subscription (GraphQLWsLink)
#   5. examples/urql-client/        urql + Graphcache relayPagination(): pages merged, no repeats
#   6. browser-test/                GraphiQL in Debian's headless Chromium (installed if missing):
#                                   a query, the Explorer plugin (tick conversations -> totalCount,
#                                   run, read the count), and a subscription that shows an event
#
#   scripts/ecosystem-checks.sh [SERVER_BINARY]     (default target/debug/conversation-graphql)
#
# Starts the binary on a free port with a fresh SQLite database in a temporary directory, waits
# for /health, runs every step (a failed step does not stop the later ones), always stops the
# server, and ends with `ecosystem-checks: N passed, M failed`. Exits 1 if any step failed.
# Needs node and npm (Node 20+); needs no terminal and reads no standard input.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-target/debug/conversation-graphql}
if [[ $bin != /* ]]; then bin=$PWD/$bin; fi
if [[ ! -x $bin ]]; then
  echo "error: no server binary at $bin (build it with 'cargo build', or pass its path)" >&2
  exit 2
fi
cd "$root"
exec </dev/null
export CI=true npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

work=$(mktemp -d "${TMPDIR:-/tmp}/ecosystem-checks.XXXXXX")
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section() { printf '\n==== %s ====\n' "$*"; }
now_ms() { date +%s%3N; }

passed=0
failed=0
summary=()
# step NAME COMMAND...: runs COMMAND, times it, records ok / FAILED; returns its status.
step() {
  local name=$1 start rc=0
  shift
  section "$name"
  echo "+ $*"
  start=$(now_ms)
  "$@" || rc=$?
  local secs
  secs=$(awk -v ms=$(($(now_ms) - start)) 'BEGIN { printf "%.1f", ms / 1000 }')
  if ((rc == 0)); then
    passed=$((passed + 1))
    summary+=("ok      ${secs}s  $name")
    echo "---- ok: $name (${secs}s)"
  else
    failed=$((failed + 1))
    summary+=("FAILED  ${secs}s  $name (exit $rc)")
    echo "---- FAILED: $name (exit $rc, ${secs}s)"
  fi
  return "$rc"
}
skip() {
  failed=$((failed + 1))
  summary+=("SKIPPED        $1 (an earlier step of it failed)")
}

# ---------------------------------------------------------------------------------------------
section "server: $bin"
"$bin" --listen 127.0.0.1:0 --database-url "sqlite://$work/ecosystem.db?mode=rwc" \
  >"$work/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 1 300); do # up to 30 s
  url=$(sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" |
    grep -oE 'GraphiQL: http://[0-9.]+:[0-9]+/graphql' | head -n1 | cut -d' ' -f2 || true)
  [[ -n $url ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "error: the server exited at start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z $url ]]; then
  echo "error: the server printed no 'GraphiQL: http://…/graphql' line within 30 s:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
origin=${url%/graphql}
for _ in $(seq 1 100); do # up to 10 s
  curl -fsS "$origin/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$origin/health" >/dev/null || { echo "error: $origin/health does not answer" >&2; exit 1; }
echo "server pid $server_pid at $url (database $work/ecosystem.db); /health answers"
echo "node $(node --version), npm $(npm --version 2>/dev/null)"

# ---------------------------------------------------------------------------------------------
if step "conformance: npm ci" npm ci --no-audit --no-fund --prefix conformance; then
  step "conformance: graphql-http server audit" \
    node conformance/audit.mjs "$url" --report "$work/audit.json" || true
else
  skip "conformance: graphql-http server audit"
fi

# ---------------------------------------------------------------------------------------------
client=examples/typescript-client
if step "typescript client: npm ci" npm ci --no-audit --no-fund --prefix "$client" &&
  step "typescript client: graphql-codegen" npm run --prefix "$client" codegen &&
  step "typescript client: tsc --noEmit" npm run --prefix "$client" typecheck &&
  step "typescript client: tsc (build)" npm run --prefix "$client" build; then
  step "typescript client: live check" env GRAPHQL_URL="$url" node "$client/dist/check-live.js" || true
else
  skip "typescript client: the steps after the failed one"
fi

# ---------------------------------------------------------------------------------------------
client=examples/relay-client
if step "relay client: npm ci" npm ci --no-audit --no-fund --prefix "$client" &&
  step "relay client: relay-compiler" npm run --prefix "$client" relay; then
  step "relay client: live check" env GRAPHQL_URL="$url" node "$client/src/check-live.mjs" || true
else
  skip "relay client: the steps after the failed one"
fi

# ---------------------------------------------------------------------------------------------
client=examples/apollo-client
if step "apollo client: npm ci" npm ci --no-audit --no-fund --prefix "$client"; then
  step "apollo client: live check" env GRAPHQL_URL="$url" node "$client/src/check-live.mjs" || true
else
  skip "apollo client: live check"
fi

# ---------------------------------------------------------------------------------------------
client=examples/urql-client
if step "urql client: npm ci" npm ci --no-audit --no-fund --prefix "$client"; then
  step "urql client: live check" env GRAPHQL_URL="$url" node "$client/src/check-live.mjs" || true
else
  skip "urql client: live check"
fi

# ---------------------------------------------------------------------------------------------
install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    echo "already installed: $(/usr/bin/chromium --version 2>/dev/null)"
    return 0
  fi
  local sudo=
  if [[ $(id -u) != 0 ]]; then sudo="sudo -n"; fi
  echo "installing Debian's chromium (apt-get output in $work/apt.log)"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } \
    >"$work/apt.log" 2>&1; then
    tail -n 40 "$work/apt.log"
    return 1
  fi
  /usr/bin/chromium --version
}
if step "browser: chromium (Debian package)" install_chromium &&
  step "browser: npm ci" npm ci --no-audit --no-fund --prefix browser-test; then
  # graphiql.mjs prints where it saved its screenshot (SCREENSHOT=path to choose).
  step "browser: GraphiQL in headless Chromium" node browser-test/graphiql.mjs "$url" || true
else
  skip "browser: GraphiQL in headless Chromium"
fi

# ---------------------------------------------------------------------------------------------
section "summary"
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server died during the checks; its log:"
  cat "$work/server.log"
  failed=$((failed + 1))
  summary+=("FAILED         the server stayed up")
fi
printf '%s\n' "${summary[@]}"
echo "ecosystem-checks: $passed passed, $failed failed"
((failed == 0))
