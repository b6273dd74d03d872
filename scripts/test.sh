#!/usr/bin/env bash
# Runs every check proconsul has, on a fresh Debian machine: installs what is missing (system packages
# with apt-get, Python packages with pip), then lint, type check, the test suite, and py-consul's own
# test suite against proconsul (which must not fall below tests/compat/pyconsul-baseline).
#
#   scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v dig >/dev/null || need_apt+=(dnsutils)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v dockerd >/dev/null || need_apt+=(docker.io)  # Docker health checks run against a real engine
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)  # its test image, built offline
command -v patroni >/dev/null || need_apt+=(patroni)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)  # the shipped HAProxy template is checked with haproxy -c
dpkg -s python3-consul >/dev/null 2>&1 || need_apt+=(python3-consul)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium)  # the web UI's browser tests drive it with Playwright
command -v dnsperf >/dev/null || need_apt+=(dnsperf)  # bench/dns_throughput.py's load generator
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need_apt+=(dnsmasq-base)  # its reference server (the binary only, no system service)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing system packages: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== installing proconsul with its test dependencies"
python3 -m pip install -q -e '.[test]' 2>&1 | grep -v -e '^WARNING: Location' -e 'Running pip as the' || true

echo "== ruff"
python3 -m ruff check src tests bench
echo "== mypy"
python3 -m mypy

echo "== pytest"
python3 -m pytest -p no:cacheprovider "$@"

echo "== py-consul's own test suite against proconsul"
out=$(mktemp)
bash ../shared/compat/pyconsul/run.sh proconsul > "$out" 2>&1 || true
tail -n 40 "$out"
summary=$(grep -E '^[0-9]+ (passed|failed)|[0-9]+ passed' "$out" | tail -n 1)
passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
baseline=$(cat tests/compat/pyconsul-baseline)
echo "py-consul compatibility: ${passed} passed (baseline ${baseline})"
if [ "${passed:-0}" -lt "$baseline" ]; then
  echo "py-consul compatibility fell below the baseline" >&2
  exit 1
fi
