#!/usr/bin/env bash
# The load benchmark in one command: a mock OpenAI upstream, Rampart (Release, SQLite, a real API key,
# secret detection and PII obfuscation on) and Portkey's open-source gateway, side by side with "direct"
# (the client calling the mock, the floor). See docs/benchmarks.md, "Load benchmark".
#
#   bench/load/run.sh                 full run (about 20 minutes with the defaults below, 3 of them building the executables)
#   QUICK=1 bench/load/run.sh         smoke run (about 3 minutes: short runs, 2,000 streams)
#   SOAK_SECONDS=600 bench/load/run.sh  the issue's 10-minute soak (about 29 minutes in all)
#   PHASES=soak SOAK_SECONDS=600 bench/load/run.sh  only the soak
#   COMPARE_DIR=/tmp/base PHASES=compare bench/load/run.sh  this build against another, side by side (about 3 minutes)
#
# Every setting is an environment variable (defaults in brackets):
#   DURATION [10]        seconds of each measured wrk run        ROUNDS [2]          interleaved rounds (A B C A B C)
#   WARMUP [10]          seconds of unmeasured wrk load per target and scenario before the first round
#   CONNECTIONS [64]     wrk connections                         WRK_THREADS [1]     wrk threads
#   RATE [1000]          requests/s of the fixed-rate runs       RATE_SECONDS [20]   length of each fixed-rate run
#   SOAK_SECONDS [60]    memory soak at RATE (the issue asks for 600)
#   STREAMS [10000]      concurrent streams to hold              STREAM_HOLD_SECONDS [10]
#   TTFB_COUNT [500]     streamed requests per time-to-first-byte sample, against a mock pacing its chunks
#   PACED_CHUNK_DELAY_MS [1]  that mock's delay between chunks, so that the first byte and the end are apart
#   MOCK_LATENCY_MS [0]  mock delay before answering             MOCK_CHUNKS [20]    chunks per streamed answer
#   GATEWAY_CPUS [1]     CPUs for the gateway under test (taskset list); the direct floor's mock runs here too
#   LOAD_CPUS [0]        CPUs for wrk, the measuring client and the mock behind the gateways
#   PORT_BASE [19100]    mock +1, direct mock +2, slow mock +3, paced mock +4, slow h2c mock +5, h2c mock +6, Rampart +80,
#                        Rampart calling the provider over HTTP/2 +82, pass-through +85, Portkey +87
#   RESULTS_DIR [bench/load/results]  where the summary (Markdown) and the raw RESULT lines are kept
#   PHASES ["throughput cpu ttfb rate soak streams streams-h2"]  which measurements to make
#   RAMPART_ENV ["MALLOC_ARENA_MAX=2"]  environment Rampart starts with: what the Dockerfile sets (empty for none)
#   RATE_CSV [0]         1: keep one line per request of every fixed-rate and soak run (rate.<target>.<round>.csv in the raw folder)
#   RAMPART_BUILD [aot]  aot: the Native AOT executable, as the Dockerfile ships it; jit: `dotnet Rampart.dll` on the JIT
#   COMPARE_DIR          for the compare phase: a folder with another build's executable, e.g. from another commit:
#                        git worktree add /tmp/base HEAD~1 && dotnet publish /tmp/base/src/Rampart -c Release -o /tmp/base/out
#                        then COMPARE_DIR=/tmp/base/out; COMPARE_LABEL names it in the report
#
# Traffic goes to 127.0.0.1 only. Every loop is bounded; every process this script starts is stopped on exit, by PID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOAD_DIR="$ROOT/bench/load"

if [[ "${QUICK:-0}" == 1 ]]; then
  : "${DURATION:=3}" "${WARMUP:=2}" "${RATE_SECONDS:=5}" "${SOAK_SECONDS:=15}" "${STREAMS:=2000}" "${STREAM_HOLD_SECONDS:=3}" "${TTFB_COUNT:=100}"
fi
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-10}"
ROUNDS="${ROUNDS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-1}"
RATE="${RATE:-1000}"
RATE_SECONDS="${RATE_SECONDS:-20}"
SOAK_SECONDS="${SOAK_SECONDS:-60}"
STREAMS="${STREAMS:-10000}"
STREAM_HOLD_SECONDS="${STREAM_HOLD_SECONDS:-10}"
TTFB_COUNT="${TTFB_COUNT:-500}"
PACED_CHUNK_DELAY_MS="${PACED_CHUNK_DELAY_MS:-1}"
MOCK_LATENCY_MS="${MOCK_LATENCY_MS:-0}"
MOCK_CHUNKS="${MOCK_CHUNKS:-20}"
GATEWAY_CPUS="${GATEWAY_CPUS:-1}"
LOAD_CPUS="${LOAD_CPUS:-0}"
PORT_BASE="${PORT_BASE:-19100}"
RESULTS_DIR="${RESULTS_DIR:-$LOAD_DIR/results}"
PHASES=" ${PHASES:-throughput cpu ttfb rate soak streams streams-h2} "
RAMPART_ENV="${RAMPART_ENV-MALLOC_ARENA_MAX=2}"
RAMPART_BUILD="${RAMPART_BUILD:-aot}"
[[ "$RAMPART_BUILD" == aot || "$RAMPART_BUILD" == jit ]] || { echo "RAMPART_BUILD is aot or jit, not '$RAMPART_BUILD'" >&2; exit 2; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
COMPARE_DIR="${COMPARE_DIR:-}"
if [[ $PHASES == *" compare "* ]]; then
  [[ -x "$COMPARE_DIR/Rampart" ]] || { echo "the compare phase needs COMPARE_DIR: a folder with another build's Rampart executable (see the top of this file)" >&2; exit 2; }
  COMPARE_DIR="$(cd "$COMPARE_DIR" && pwd)"
fi

MOCK_PORT=$((PORT_BASE + 1))
DIRECT_PORT=$((PORT_BASE + 2))
SLOW_PORT=$((PORT_BASE + 3))
PACED_PORT=$((PORT_BASE + 4))
SLOW_H2_PORT=$((PORT_BASE + 5))
H2_MOCK_PORT=$((PORT_BASE + 6))
RAMPART_PORT=$((PORT_BASE + 80))
COMPARE_PORT=$((PORT_BASE + 81))
RAMPART_H2_PORT=$((PORT_BASE + 82))
PORTKEY_PORT=$((PORT_BASE + 87))
PASSTHROUGH_PORT=$((PORT_BASE + 85))

phase() { [[ $PHASES == *" $1 "* ]]; }
# Rampart calling the provider over HTTP/2 is measured in the throughput and CPU phases only.
if phase throughput || phase cpu; then TARGETS=(direct passthrough rampart rampart-h2 portkey); else TARGETS=(direct passthrough rampart portkey); fi
measured() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }
log() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

for tool in dotnet node npm wrk taskset curl; do
  command -v "$tool" >/dev/null || die "needs '$tool' (wrk: apt-get update && apt-get install -y wrk)"
done

WORK="$(mktemp -d /tmp/rampart-load.XXXXXX)"
RAW="$WORK/results"
mkdir -p "$RAW" "$RESULTS_DIR"
PIDS=()

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start a background process pinned to CPUs, remember its PID. Usage: start NAME CPUS DIR command…
start() {
  local name=$1 cpus=$2 dir=$3
  shift 3
  (cd "$dir" && exec taskset -c "$cpus" "$@") >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  eval "${name//-/_}_PID=$!"
}

# Stop one process this script started, and forget its PID so that cleanup never signals a reused one.
stop() {
  local pid=$1 kept=()
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

# Wait (at most 60 s) until an HTTP URL answers at all.
wait_for() {
  local url=$1 name=$2
  for _ in $(seq 240); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    sleep 0.25
  done
  cat "$WORK/$name.log" >&2
  die "$name did not start (log above)"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- file descriptors: each open stream costs Rampart two sockets (caller + upstream) -------------------------
# Rampart itself accepts (open-files limit − 1024) / 2 connections unless RAMPART_MAX_CONNECTIONS says otherwise.
HARD_NOFILE=$(ulimit -Hn)
[[ "$HARD_NOFILE" == unlimited ]] && HARD_NOFILE=1048576
ulimit -n "$(( HARD_NOFILE < 65536 ? HARD_NOFILE : 65536 ))"
STREAMS_REQUESTED=$STREAMS
MAX_STREAMS=$(( ($(ulimit -n) - 1024) / 2 ))
if (( STREAMS > MAX_STREAMS )); then
  echo "note: the open-files limit here is $(ulimit -n) (hard limit $HARD_NOFILE); Rampart needs two per stream, so holding $MAX_STREAMS streams instead of $STREAMS" >&2
  STREAMS=$MAX_STREAMS
fi

for port in $MOCK_PORT $DIRECT_PORT $SLOW_PORT $PACED_PORT $SLOW_H2_PORT $H2_MOCK_PORT $RAMPART_PORT $RAMPART_H2_PORT $PASSTHROUGH_PORT $PORTKEY_PORT; do
  port_free "$port" || die "port $port is in use; set PORT_BASE to another range"
done

# --- build ---------------------------------------------------------------------------------------------------
log "building Rampart, the mock upstream and the load client (Release)"
for project in src/Rampart bench/Rampart.MockUpstream bench/Rampart.LoadClient; do
  name=$(basename "$project")
  build=()
  # The mock is the floors (direct, pass-through) and what the gateways call: built as Rampart is, so that the floors are like for like.
  [[ "$project" != bench/Rampart.LoadClient && "$RAMPART_BUILD" == jit ]] && build=(-p:PublishAot=false)
  dotnet publish "$ROOT/$project" -c Release -o "$WORK/bin/$name" "${build[@]}" --nologo -v quiet >"$WORK/build-$name.log" 2>&1 \
    || { cat "$WORK/build-$name.log" >&2; die "build of $project failed"; }
done
if [[ ! -d "$LOAD_DIR/portkey/node_modules/@portkey-ai/gateway" ]]; then
  log "installing Portkey's gateway from npm (bench/load/portkey)"
  (cd "$LOAD_DIR/portkey" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1) || { cat "$WORK/npm.log" >&2; die "npm ci failed"; }
fi
if [[ "$RAMPART_BUILD" == jit ]]; then MOCK=(dotnet "$WORK/bin/Rampart.MockUpstream/Rampart.MockUpstream.dll"); else MOCK=("$WORK/bin/Rampart.MockUpstream/Rampart.MockUpstream"); fi
CLIENT=(taskset -c "$LOAD_CPUS" dotnet "$WORK/bin/Rampart.LoadClient/Rampart.LoadClient.dll")
RAMPART_DIR="$WORK/bin/Rampart"
if [[ "$RAMPART_BUILD" == jit ]]; then RAMPART_EXE=(dotnet Rampart.dll); else RAMPART_EXE=("$RAMPART_DIR/Rampart"); fi

# --- mocks -----------------------------------------------------------------------------------------------------
log "starting the mock upstreams"
start mock "$LOAD_CPUS" "$WORK" "${MOCK[@]}" --port="$MOCK_PORT" --latency-ms="$MOCK_LATENCY_MS" --chunks="$MOCK_CHUNKS"
start mock-direct "$GATEWAY_CPUS" "$WORK" "${MOCK[@]}" --port="$DIRECT_PORT" --latency-ms="$MOCK_LATENCY_MS" --chunks="$MOCK_CHUNKS"
# Streams that last 10 minutes (600 chunks, one a second): the held-streams test closes them long before.
start mock-slow "$LOAD_CPUS" "$WORK" "${MOCK[@]}" --port="$SLOW_PORT" --chunks=600 --chunk-delay-ms=1000
# Streams whose chunks are paced, for the time-to-first-byte samples.
start mock-paced "$LOAD_CPUS" "$WORK" "${MOCK[@]}" --port="$PACED_PORT" --latency-ms="$MOCK_LATENCY_MS" --chunks="$MOCK_CHUNKS" --chunk-delay-ms="$PACED_CHUNK_DELAY_MS"
wait_for "http://127.0.0.1:$MOCK_PORT/v1/models" mock
wait_for "http://127.0.0.1:$PACED_PORT/v1/models" mock-paced
wait_for "http://127.0.0.1:$DIRECT_PORT/v1/models" mock-direct
wait_for "http://127.0.0.1:$SLOW_PORT/v1/models" mock-slow
# The same slow streams from a mock that speaks only HTTP/2 without TLS, for holding streams over few upstream sockets.
start mock-slow-h2 "$LOAD_CPUS" "$WORK" "${MOCK[@]}" --port="$SLOW_H2_PORT" --chunks=600 --chunk-delay-ms=1000 --h2c=true
# And the mock behind the gateways, speaking only HTTP/2 without TLS: what Rampart calls in the rampart-h2 runs.
start mock-h2 "$LOAD_CPUS" "$WORK" "${MOCK[@]}" --port="$H2_MOCK_PORT" --latency-ms="$MOCK_LATENCY_MS" --chunks="$MOCK_CHUNKS" --h2c=true
for port in $SLOW_H2_PORT $H2_MOCK_PORT; do
  for _ in $(seq 240); do curl -s -o /dev/null --http2-prior-knowledge --max-time 1 "http://127.0.0.1:$port/v1/models" && break; sleep 0.25; done
done
# The pass-through: Kestrel + HttpClient relaying bytes to the same mock and doing nothing else, on the gateways' CPU.
# It is the floor of any gateway built on the same server and client, so "Rampart ÷ pass-through" is what Rampart's
# own work (auth, parsing, guardrails, routing, audit) costs.
start passthrough "$GATEWAY_CPUS" "$WORK" "${MOCK[@]}" --port="$PASSTHROUGH_PORT" --forward-to="http://127.0.0.1:$MOCK_PORT/v1"
wait_for "http://127.0.0.1:$PASSTHROUGH_PORT/v1/models" passthrough

# --- Rampart: SQLite in a temp dir, a user with a normal API key, workspaces with PII obfuscation ------------------
log "setting up Rampart (SQLite in $WORK/data)"
export RAMPART_DATA_DIR="$WORK/data"
export OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" OPENAI_API_KEY="sk-mock-not-a-real-key"
rampart() { (cd "$RAMPART_DIR" && "${RAMPART_EXE[@]}" "$@"); }
{
  rampart migrate
  rampart users create --email bench@localhost --name "Load benchmark"
  rampart workspaces create --name bench --provider openai --model mock --pii obfuscate
  rampart workspaces create --name bench-slow --provider openai --model mock --pii obfuscate
  rampart credentials set --workspace bench-slow --provider openai --base-url "http://127.0.0.1:$SLOW_PORT/v1"
  rampart workspaces create --name bench-slow-h2 --provider openai --model mock --pii obfuscate
  rampart credentials set --workspace bench-slow-h2 --provider openai --base-url "http://127.0.0.1:$SLOW_H2_PORT/v1"
  rampart members add --workspace bench-slow-h2 --user bench@localhost
  rampart workspaces create --name bench-paced --provider openai --model mock --pii obfuscate
  rampart credentials set --workspace bench-paced --provider openai --base-url "http://127.0.0.1:$PACED_PORT/v1"
  rampart members add --workspace bench --user bench@localhost
  rampart members add --workspace bench-slow --user bench@localhost
  rampart members add --workspace bench-paced --user bench@localhost
  rampart keys create --user bench@localhost --name load
} >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; die "Rampart set-up failed"; }
API_KEY=$(grep -o 'rmp_[A-Za-z0-9]*' "$WORK/setup.log" | tail -1)
[[ -n "$API_KEY" ]] || die "no API key in the set-up output"
# The other build of the compare phase, and the Rampart that calls the provider over HTTP/2, get the same users,
# workspaces and key in a database of their own.
phase compare && cp -r "$WORK/data" "$WORK/data-compare"
measured rampart-h2 && cp -r "$WORK/data" "$WORK/data-h2"

# Run from its own folder, as deployed, so that its appsettings.json (log levels) applies.
# Its environment is the container's (RAMPART_ENV, by default what the Dockerfile sets), split into words on purpose.
# shellcheck disable=SC2086
start_rampart() { start rampart "$GATEWAY_CPUS" "$RAMPART_DIR" env ASPNETCORE_URLS="http://127.0.0.1:$RAMPART_PORT" $RAMPART_ENV "${RAMPART_EXE[@]}"; }
start_rampart
# The same build calling the provider over HTTP/2, as it calls hosted providers: it asks for HTTP/2, which they
# negotiate over TLS when they offer it (Providers/UpstreamHttpVersion.cs). A local mock has no TLS, so this one is
# told that plain-http providers speak HTTP/2 (Rampart:Upstream:CleartextHttp2) and calls the h2c mock. Portkey's
# gateway calls providers with Node's fetch, which speaks HTTP/1.1 only; so do the pass-through and the rampart runs.
if measured rampart-h2; then
  # shellcheck disable=SC2086
  start rampart-h2 "$GATEWAY_CPUS" "$RAMPART_DIR" env RAMPART_DATA_DIR="$WORK/data-h2" ASPNETCORE_URLS="http://127.0.0.1:$RAMPART_H2_PORT" \
    OPENAI_BASE_URL="http://127.0.0.1:$H2_MOCK_PORT/v1" Rampart__Upstream__CleartextHttp2=true $RAMPART_ENV "${RAMPART_EXE[@]}"
  wait_for "http://127.0.0.1:$RAMPART_H2_PORT/api/v1/models" rampart-h2
fi
start portkey "$GATEWAY_CPUS" "$LOAD_DIR/portkey" node node_modules/@portkey-ai/gateway/build/start-server.js --port="$PORTKEY_PORT" --headless
wait_for "http://127.0.0.1:$RAMPART_PORT/api/v1/models" rampart
wait_for "http://127.0.0.1:$PORTKEY_PORT/" portkey

# --- request bodies --------------------------------------------------------------------------------------------
# small: one short question. large: ~8 KB of ordinary prose with an e-mail address and a phone number in it, so
# the PII obfuscation really rewrites the request. stream: the small one, streamed with usage.
node - "$WORK" <<'EOF'
const fs = require('fs');
const dir = process.argv[2];
const prose = 'The quarterly report covers revenue, hiring and the migration of the billing service to the new cluster. ' +
  'Please summarise the risks in plain words and suggest three next steps for the team. ';
let large = 'Contact me at ana.lopez@example.com or +1 415 555 0132 if anything is unclear. ';
while (large.length < 8192 - prose.length) large += prose;
const bodies = {
  small: { messages: [{ role: 'user', content: 'What is the capital of France? Answer in one word.' }] },
  large: { messages: [{ role: 'user', content: large }] },
  stream: { messages: [{ role: 'user', content: 'What is the capital of France? Answer in one word.' }], stream: true, stream_options: { include_usage: true } },
};
for (const [name, body] of Object.entries(bodies)) {
  for (const model of ['mock', 'bench', 'bench-slow', 'bench-slow-h2', 'bench-paced']) {
    fs.writeFileSync(`${dir}/${name}.${model}.json`, JSON.stringify({ model, ...body }));
  }
}
EOF

# The paced mock (time to first byte) is reached directly, through Portkey's custom host, or through Rampart's
# workspace bench-paced; the others through the plain mock and the workspace bench.
url_of() { # target [direct mock port]
  case $1 in
    direct) echo "http://127.0.0.1:${2:-$DIRECT_PORT}/v1/chat/completions" ;;
    passthrough) echo "http://127.0.0.1:$PASSTHROUGH_PORT/v1/chat/completions" ;;
    rampart) echo "http://127.0.0.1:$RAMPART_PORT/api/v1/chat/completions" ;;
    rampart-h2) echo "http://127.0.0.1:$RAMPART_H2_PORT/api/v1/chat/completions" ;;
    compare) echo "http://127.0.0.1:$COMPARE_PORT/api/v1/chat/completions" ;;
    portkey) echo "http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions" ;;
  esac
}
model_of() { [[ $1 == rampart || $1 == rampart-h2 || $1 == compare ]] && echo "${2:-bench}" || echo mock; } # target [workspace]
headers_of() { # target [port of the mock behind Portkey]
  case $1 in
    direct | passthrough) echo "Authorization: Bearer sk-mock-not-a-real-key" ;;
    rampart | rampart-h2 | compare) echo "Authorization: Bearer $API_KEY" ;;
    portkey) echo "Authorization: Bearer sk-mock-not-a-real-key|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:${2:-$MOCK_PORT}/v1" ;;
  esac
}
csv_args() { [[ "${RATE_CSV:-0}" == 1 ]] && printf -- '--latencies-csv %s' "$RAW/$1.csv"; return 0; } # name → the load client's per-request CSV option
client_headers() { local IFS='|'; for h in $(headers_of "$@"); do printf -- '--header\n%s\n' "$h"; done; }

# --- every target answers every body correctly before anything is measured -------------------------------------------
log "checking every target's answers"
for target in "${TARGETS[@]}"; do
  for scenario in small large stream; do
    curl_headers=()
    while IFS= read -r h; do curl_headers+=(-H "$h"); done < <(headers_of "$target" | tr '|' '\n')
    out=$(curl -sS -D "$WORK/check.headers" --max-time 10 "$(url_of "$target")" "${curl_headers[@]}" \
      -H 'Content-Type: application/json' --data-binary "@$WORK/$scenario.$(model_of "$target").json")
    grep -q '^HTTP/1.1 200' "$WORK/check.headers" || die "$target/$scenario did not answer 200: $out"
    if [[ $scenario == stream ]]; then
      [[ $(grep -c '^data: ' <<<"$out") -ge $((MOCK_CHUNKS + 2)) && $out == *'data: [DONE]'* ]] || die "$target/$scenario: incomplete stream"
    else
      [[ $out == *'mock upstream answering'* ]] || die "$target/$scenario: unexpected answer $out"
    fi
    if [[ $target == rampart* && $scenario == large ]]; then
      grep -qi '^x-rampart-pii: .*action=obfuscate' "$WORK/check.headers" || die "Rampart did not obfuscate the PII in the 8 KB prompt"
    fi
  done
done

# --- throughput: wrk, closed loop, interleaved A B C A B C ----------------------------------------------------------
run_wrk() { # target scenario seconds [connections] → RESULT line
  BODY_FILE="$WORK/$2.$(model_of "$1").json" HEADERS="$(headers_of "$1")" \
    taskset -c "$LOAD_CPUS" wrk -t"$WRK_THREADS" -c"${4:-$CONNECTIONS}" -d"$3s" --latency --timeout 10s -s "$LOAD_DIR/post.lua" "$(url_of "$1")"
}
if phase throughput; then
  log "warming up every target (${WARMUP}s of each scenario)"
  for target in "${TARGETS[@]}"; do
    for scenario in small large stream; do run_wrk "$target" "$scenario" "$WARMUP" >/dev/null; done
  done
  for scenario in small large stream; do
    for round in $(seq "$ROUNDS"); do
      for target in "${TARGETS[@]}"; do
        log "wrk $scenario $target (round $round of $ROUNDS, ${DURATION}s, $CONNECTIONS connections)"
        run_wrk "$target" "$scenario" "$DURATION" | tee "$RAW/wrk.$scenario.$target.$round.txt" | grep -E 'Requests/sec|^RESULT' >&2
      done
    done
  done
fi

# --- CPU time per request: the figure that other load on the machine disturbs least -------------------------------------
# Throughput on a shared 2-core machine moves with whatever else runs; the CPU a process spends per answered request
# moves much less. Read utime + stime (/proc/PID/stat, clock ticks) of the system under test and of the mock behind
# it around one wrk run, and divide by the requests wrk counted.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
phase cpu && for scenario in small large stream; do
  for target in "${TARGETS[@]}"; do
    case $target in
      direct) sut=$mock_direct_PID ;;
      passthrough) sut=$passthrough_PID ;;
      rampart) sut=$rampart_PID ;;
      rampart-h2) sut=$rampart_h2_PID ;;
      portkey) sut=$portkey_PID ;;
    esac
    behind=$mock_PID
    [[ $target == rampart-h2 ]] && behind=$mock_h2_PID
    run_wrk "$target" "$scenario" "$WARMUP" >/dev/null
    before=$(cpu_ticks "$sut"); mock_before=$(cpu_ticks "$behind")
    line=$(run_wrk "$target" "$scenario" "$DURATION" | grep '^RESULT')
    after=$(cpu_ticks "$sut"); mock_after=$(cpu_ticks "$behind")
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
    hz=$(getconf CLK_TCK)
    us=$(awk -v t=$((after - before)) -v r="$requests" -v hz="$hz" 'BEGIN { printf "%.1f", r ? t * 1e6 / hz / r : 0 }')
    mock_us=$(awk -v t=$((mock_after - mock_before)) -v r="$requests" -v hz="$hz" 'BEGIN { printf "%.1f", r ? t * 1e6 / hz / r : 0 }')
    echo "RESULT requests=$requests cpu_us_per_request=$us mock_cpu_us_per_request=$mock_us" | tee "$RAW/cpu.$scenario.$target.txt" >&2
  done
done

# The HTTP/2 runs are over; the phases below measure the Rampart that calls the provider over HTTP/1.1.
measured rampart-h2 && stop "$rampart_h2_PID"

# --- this build against another, side by side ------------------------------------------------------------------------
# One build's CPU per request moves by ±30 % from one run to the next on this machine, so two builds measured one after
# the other cannot be told apart by less. Here both run on the gateway's CPU at the same time, each driven by its own
# wrk with half the connections: the machine's slow and fast spells fall on both alike, and the ratio of their CPU per
# request is what to read. Two copies of one build read 0.98-1.00 this way (docs/benchmarks.md).
if phase compare; then
  # shellcheck disable=SC2086
  start compare "$GATEWAY_CPUS" "$COMPARE_DIR" env RAMPART_DATA_DIR="$WORK/data-compare" ASPNETCORE_URLS="http://127.0.0.1:$COMPARE_PORT" $RAMPART_ENV "$COMPARE_DIR/Rampart"
  wait_for "http://127.0.0.1:$COMPARE_PORT/api/v1/models" compare
  half=$(((CONNECTIONS + 1) / 2))
  for scenario in small large stream; do
    log "compare $scenario: both builds warming up at once (${WARMUP}s, $half connections each)"
    run_wrk rampart "$scenario" "$WARMUP" "$half" >/dev/null & warm=$!
    run_wrk compare "$scenario" "$WARMUP" "$half" >/dev/null; wait "$warm"
    for round in $(seq "$ROUNDS"); do
      this_before=$(cpu_ticks "$rampart_PID"); other_before=$(cpu_ticks "$compare_PID")
      run_wrk rampart "$scenario" "$DURATION" "$half" >"$WORK/compare.this" & this_wrk=$!
      run_wrk compare "$scenario" "$DURATION" "$half" >"$WORK/compare.other"; wait "$this_wrk"
      this_after=$(cpu_ticks "$rampart_PID"); other_after=$(cpu_ticks "$compare_PID")
      this=$(grep '^RESULT' "$WORK/compare.this"); other=$(grep '^RESULT' "$WORK/compare.other")
      awk -v t=$((this_after - this_before)) -v o=$((other_after - other_before)) -v hz="$(getconf CLK_TCK)" -v this="$this" -v other="$other" '
        function field(line, name) { return match(line, name "=[0-9]+") ? substr(line, RSTART + length(name) + 1, RLENGTH - length(name) - 1) : 0 }
        BEGIN {
          tr = field(this, "requests"); or = field(other, "requests")
          te = field(this, "non2xx") + field(this, "connect_err") + field(this, "read_err") + field(this, "timeout_err")
          oe = field(other, "non2xx") + field(other, "connect_err") + field(other, "read_err") + field(other, "timeout_err")
          printf "RESULT requests=%d cpu_us_per_request=%.1f errors=%d other_requests=%d other_cpu_us_per_request=%.1f other_errors=%d\n", tr, tr ? t * 1e6 / hz / tr : 0, te, or, or ? o * 1e6 / hz / or : 0, oe
        }' | tee "$RAW/compare.$scenario.$round.txt" >&2
    done
  done
  stop "$compare_PID"
fi

# --- time to first byte of a stream: sequential requests from the load client ----------------------------------------
phase ttfb && for round in $(seq "$ROUNDS"); do
  for target in direct rampart portkey; do
    log "time to first byte, $target (round $round, $TTFB_COUNT streams one after another)"
    mapfile -t hs < <(client_headers "$target" "$PACED_PORT")
    "${CLIENT[@]}" ttfb --url "$(url_of "$target" "$PACED_PORT")" --body "$WORK/stream.$(model_of "$target" bench-paced).json" "${hs[@]}" \
      --count "$TTFB_COUNT" --warmup 30 \
      | tee "$RAW/ttfb.$target.$round.txt" >&2 || true
  done
done

# --- added latency at a fixed rate, open loop; Rampart's RSS after warm-up -------------------------------------------
# The memory figures are about a steady 1,000 RPS, so Rampart starts afresh here rather than carrying the heap that
# the saturating wrk runs grew.
if phase rate || phase soak || phase streams; then
  if phase throughput || phase cpu || phase ttfb; then
    echo "rampart_rss_after_saturation_mb=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$rampart_PID/status")" >"$RAW/rss-after-saturation.txt"
    log "restarting Rampart (it held $(cut -d= -f2 "$RAW/rss-after-saturation.txt") MB after the earlier runs)"
    stop "$rampart_PID"
    start_rampart
    wait_for "http://127.0.0.1:$RAMPART_PORT/api/v1/models" rampart
  fi
  # A fresh process on one core needs a while before its hot path is fully compiled (tiered JIT). Hit at the full
  # rate from the first second, it falls behind by seconds, each waiting call opens its own connection to the
  # provider, and what the backlog allocated sits in generation 2 long after it has cleared, so the memory read
  # later is the cold start's and not the steady state's (docs/benchmarks.md, "Cold start and the warm-up").
  # So the warm-up ramps, as a load balancer's slow start does: a quarter of the rate for 10 s, then the full rate.
  log "warming Rampart up: $((RATE / 4))/s for 10 s, then $RATE/s for 10 s"
  mapfile -t hs < <(client_headers rampart)
  "${CLIENT[@]}" rate --url "$(url_of rampart)" --body "$WORK/small.bench.json" "${hs[@]}" --rps "$((RATE / 4))" --seconds 10 --warmup-seconds 0 >/dev/null || true
  "${CLIENT[@]}" rate --url "$(url_of rampart)" --body "$WORK/small.bench.json" "${hs[@]}" --rps "$RATE" --seconds 10 --warmup-seconds 0 >/dev/null || true
fi
# The pass-through runs at the same rate too: what the second hop alone adds in this topology (a gateway's CPU, the
# mock sharing the load generator's) is part of the added latency any gateway on this machine shows.
if phase rate; then
  log "warming the pass-through up: $RATE/s for 10 s"
  mapfile -t hs < <(client_headers passthrough)
  "${CLIENT[@]}" rate --url "$(url_of passthrough)" --body "$WORK/small.$(model_of passthrough).json" "${hs[@]}" --rps "$RATE" --seconds 10 --warmup-seconds 0 >/dev/null || true
fi
phase rate && for round in $(seq "$ROUNDS"); do
  for target in direct passthrough rampart; do
    log "fixed rate $RATE/s, $target (round $round, ${RATE_SECONDS}s after 5s of warm-up)"
    mapfile -t hs < <(client_headers "$target")
    pid_args=()
    [[ $target == rampart ]] && pid_args=(--pid "$rampart_PID" --rss-every 5)
    "${CLIENT[@]}" rate --url "$(url_of "$target")" --body "$WORK/small.$(model_of "$target").json" "${hs[@]}" \
      --rps "$RATE" --seconds "$RATE_SECONDS" --warmup-seconds 5 "${pid_args[@]}" $(csv_args "rate.$target.$round") | tee "$RAW/rate.$target.$round.txt" >&2 || true
  done
done

# --- memory soak at the fixed rate -----------------------------------------------------------------------------------
mapfile -t hs < <(client_headers rampart)
phase soak && log "soak: Rampart at $RATE/s for ${SOAK_SECONDS}s, resident memory sampled along the way" && "${CLIENT[@]}" rate --url "$(url_of rampart)" --body "$WORK/small.bench.json" "${hs[@]}" --rps "$RATE" --seconds "$SOAK_SECONDS" \
  --warmup-seconds 10 --pid "$rampart_PID" --rss-every "$(( SOAK_SECONDS >= 120 ? SOAK_SECONDS / 12 : 5 ))" $(csv_args soak.rampart) | tee "$RAW/soak.rampart.txt" >&2 || true

# --- concurrent open streams -------------------------------------------------------------------------------------------
phase streams && log "holding $STREAMS concurrent streams through Rampart (workspace bench-slow → a mock sending one chunk a second)" && "${CLIENT[@]}" streams --url "$(url_of rampart)" --body "$WORK/stream.bench-slow.json" "${hs[@]}" --count "$STREAMS" \
  --open-concurrency 200 --hold-seconds "$STREAM_HOLD_SECONDS" --pid "$rampart_PID" --timeout-seconds 240 \
  | tee "$RAW/streams.rampart.txt" >&2 || true

# --- concurrent open streams, Rampart calling the provider over HTTP/2 -----------------------------------------------------
# Over HTTP/1.1 each stream holds two of Rampart's sockets, so the open-files limit caps the count; providers reached
# over TLS negotiate HTTP/2 and multiplex streams on a few connections. A local mock has no TLS, so this run turns on
# prior-knowledge HTTP/2 (Rampart:Upstream:CleartextHttp2) in a restarted Rampart and uses the h2c-only slow mock.
# A stream then costs one descriptor, so the connection cap is raised to match (RAMPART_MAX_CONNECTIONS), as an
# operator whose providers speak HTTP/2 would.
if phase streams-h2; then
  STREAMS_H2=$(( STREAMS_REQUESTED < $(ulimit -n) - 1024 ? STREAMS_REQUESTED : $(ulimit -n) - 1024 ))
  log "restarting Rampart with HTTP/2 to plain-http providers (h2c)"
  stop "$rampart_PID"
  # shellcheck disable=SC2086
  start rampart "$GATEWAY_CPUS" "$RAMPART_DIR" env ASPNETCORE_URLS="http://127.0.0.1:$RAMPART_PORT" $RAMPART_ENV Rampart__Upstream__CleartextHttp2=true RAMPART_MAX_CONNECTIONS=$(( $(ulimit -n) - 1024 )) "${RAMPART_EXE[@]}"
  wait_for "http://127.0.0.1:$RAMPART_PORT/api/v1/models" rampart
  log "holding $STREAMS_H2 concurrent streams through Rampart over HTTP/2 upstream connections (workspace bench-slow-h2)"
  mapfile -t hs < <(client_headers rampart)
  "${CLIENT[@]}" streams --url "$(url_of rampart)" --body "$WORK/stream.bench-slow-h2.json" "${hs[@]}" --count "$STREAMS_H2" \
    --open-concurrency 200 --hold-seconds "$STREAM_HOLD_SECONDS" --pid "$rampart_PID" --timeout-seconds 240 \
    | tee "$RAW/streams-h2.rampart.txt" >&2 || true
fi

# --- report --------------------------------------------------------------------------------------------------------------
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
cat >"$RAW/meta.txt" <<EOF
date=$(date -u '+%Y-%m-%d %H:%M UTC')
machine=$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), .NET $(dotnet --version), Node $(node --version), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), Portkey gateway $(node -p "require('$LOAD_DIR/portkey/node_modules/@portkey-ai/gateway/package.json').version")
load_before=$LOAD_BEFORE
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
command=$( [[ "${QUICK:-0}" == 1 ]] && echo "QUICK=1 " )$( [[ "${RATE_CSV:-0}" == 1 ]] && echo "RATE_CSV=1 " )$( [[ "$RAMPART_BUILD" != aot ]] && echo "RAMPART_BUILD=$RAMPART_BUILD " )$( phase compare && echo "COMPARE_DIR=$COMPARE_DIR " )$( [[ "$PHASES" != " throughput cpu ttfb rate soak streams streams-h2 " ]] && echo "PHASES='$(echo $PHASES)' " )DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS RATE=$RATE RATE_SECONDS=$RATE_SECONDS SOAK_SECONDS=$SOAK_SECONDS TTFB_COUNT=$TTFB_COUNT STREAMS=$STREAMS_REQUESTED STREAM_HOLD_SECONDS=$STREAM_HOLD_SECONDS bench/load/run.sh
pinning=gateway under test (and the direct floor's mock) on CPU $GATEWAY_CPUS; wrk, the load client and the mock behind the gateways on CPU $LOAD_CPUS
rampart_env=$RAMPART_ENV
mock=latency ${MOCK_LATENCY_MS} ms, ${MOCK_CHUNKS} chunks per stream, no delay between chunks (time to first byte: ${PACED_CHUNK_DELAY_MS} ms between chunks)
streams_requested=$STREAMS_REQUESTED
streams_attempted=$STREAMS
compare=$COMPARE_DIR${COMPARE_LABEL:+ ($COMPARE_LABEL)}
nofile=$(ulimit -n)
EOF
"${CLIENT[@]}" report --dir "$RAW" --rate "$RATE" --chunks "$MOCK_CHUNKS" >"$RESULTS_DIR/load-$STAMP.md"
cp -r "$RAW" "$RESULTS_DIR/load-$STAMP.raw"
log "summary (also in $RESULTS_DIR/load-$STAMP.md, raw output in $RESULTS_DIR/load-$STAMP.raw/)"
cat "$RESULTS_DIR/load-$STAMP.md"
