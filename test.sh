#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (Debian's Chromium and its driver for the
# dashboard's browser tests) when it is missing, builds everything, runs every test, and says "N passed, N failed".
# This is the README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

dotnet --info | head -n 3

# The dashboard's browser tests drive Debian's Chromium through chromedriver (headless, no download).
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  sudo_cmd=""
  [ "$(id -u)" = "0" ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y chromium chromium-driver
fi

# Build everything first: the benchmarks are not test projects, and a broken benchmark must fail CI too.
dotnet build Rampart.slnx

log=$(mktemp)
status=0
dotnet test Rampart.slnx 2>&1 | tee "$log" || status=$?

# One plain summary line for whoever reads the log: "N passed, N failed".
passed=$(grep -oE 'Passed: +[0-9]+,' "$log" | awk '{ s += $2 } END { print s + 0 }')
failed=$(grep -oE 'Failed: +[0-9]+,' "$log" | awk '{ s += $2 } END { print s + 0 }')
echo "${passed:-0} passed, ${failed:-0} failed"

if [ "${passed:-0}" = "0" ] && [ "$status" = "0" ]; then
  echo "No test ran: treating as a failure." >&2
  exit 1
fi
exit "$status"
