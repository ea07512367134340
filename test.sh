#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (Debian's Chromium and its driver for the
# dashboard's browser tests, Debian's PostgreSQL server for the PostgreSQL tests, nginx for the multi-instance tests) when it is missing, builds everything,
# runs every test twice — once on SQLite, once with every gateway under test on PostgreSQL (RAMPART_TEST_DB=postgres) —
# then publishes the Native AOT executable and runs the tests that start the gateway as a process against it, on both
# databases, and says "N passed, N failed" for all passes together. This is the README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

dotnet --info | head -n 3

sudo_cmd=""
[ "$(id -u)" = "0" ] || sudo_cmd="sudo"
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    $sudo_cmd apt-get update
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y "$@"
}

# The dashboard's browser tests drive Debian's Chromium through chromedriver (headless, no download).
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  apt_install chromium chromium-driver
fi

# The PostgreSQL tests start throw-away servers of their own (initdb + pg_ctl in a temp folder); they need the binaries only.
# RAMPART_TEST_POSTGRES (a connection string) points them at an existing server instead.
if [ -z "${RAMPART_TEST_POSTGRES:-}" ] && ! compgen -G "/usr/lib/postgresql/*/bin/postgres" > /dev/null; then
  apt_install postgresql
fi

# The multi-instance tests put Debian's nginx in front of two gateways (a config of their own in a temp folder, run in the foreground).
if ! [ -x /usr/sbin/nginx ]; then
  apt_install nginx
fi

# Native AOT compiles the shipped executable with a C toolchain (clang, or gcc where there is no clang).
if ! command -v clang > /dev/null && ! command -v gcc > /dev/null; then
  apt_install clang
fi

# Build everything first: the benchmarks are not test projects, and a broken benchmark must fail CI too.
dotnet build Rampart.slnx

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
echo "=== Pass 1 of 4: SQLite ==="
dotnet test Rampart.slnx --no-build 2>&1 | tee -a "$log" || status=$?
echo "=== Pass 2 of 4: PostgreSQL (RAMPART_TEST_DB=postgres) ==="
RAMPART_TEST_DB=postgres dotnet test Rampart.slnx --no-build 2>&1 | tee -a "$log" || status=$?

# The gateway ships as a Native AOT executable (the Dockerfile's). The passes above run it on the JIT; these run the
# tests that start the gateway as a process of its own (trait Gateway=Process) against the published executable,
# where code that only the JIT can run (reflection, emitted IL, a Dapper call left uncompiled) fails.
native=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$native"' EXIT
rid=$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')
dotnet publish src/Rampart -c Release -r "$rid" -o "$native" --nologo
echo "=== Pass 3 of 4: the Native AOT executable, SQLite ==="
RAMPART_TEST_GATEWAY_BINARY="$native/Rampart" dotnet test tests/Rampart.Tests --no-build --filter "Gateway=Process" 2>&1 | tee -a "$log" || status=$?
echo "=== Pass 4 of 4: the Native AOT executable, PostgreSQL ==="
RAMPART_TEST_DB=postgres RAMPART_TEST_GATEWAY_BINARY="$native/Rampart" dotnet test tests/Rampart.Tests --no-build --filter "Gateway=Process" 2>&1 | tee -a "$log" || status=$?

# One plain summary line for whoever reads the log: "N passed, N failed" (all passes summed).
passed=$(grep -oE 'Passed: +[0-9]+,' "$log" | awk '{ s += $2 } END { print s + 0 }')
failed=$(grep -oE 'Failed: +[0-9]+,' "$log" | awk '{ s += $2 } END { print s + 0 }')
echo "${passed:-0} passed, ${failed:-0} failed"

if [ "${passed:-0}" = "0" ] && [ "$status" = "0" ]; then
  echo "No test ran: treating as a failure." >&2
  exit 1
fi
exit "$status"
