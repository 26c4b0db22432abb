#!/usr/bin/env bash
# Installs the servers that the integration tests start from their binaries (local-servers/servers.ts),
# only those missing, from the Debian/Ubuntu archive. Idempotent: with everything present it does
# nothing but say so. The packages' own system services are neither started nor enabled: the tests
# start private servers on ephemeral ports and must not find (or depend on) system ones.
#
#   scripts/install-test-deps.sh            install what is missing
#   scripts/install-test-deps.sh --dry-run  print what it would run
set -euo pipefail

DRY_RUN=0
[[ "${1:-}" == "--dry-run" ]] && DRY_RUN=1

# binary -> Debian package -> service name. Debian's influxdb is 1.6.7 (v1 write + InfluxQL);
# victoria-metrics (1.79) accepts the InfluxDB line protocol on /write and /api/v2/write.
BINARIES=(nats-server mosquitto influxd victoria-metrics)
declare -A PACKAGE=([nats-server]=nats-server [mosquitto]=mosquitto [influxd]=influxdb [victoria-metrics]=victoria-metrics)
declare -A SERVICE=([nats-server]=nats-server [mosquitto]=mosquitto [influxd]=influxdb [victoria-metrics]=victoria-metrics)

say() { echo "install-test-deps: $*"; }
run() {
  if ((DRY_RUN)); then echo "+ $*"; else "$@"; fi
}
find_binary() {
  local bin=$1 dir
  command -v "$bin" 2>/dev/null && return 0
  for dir in /usr/sbin /usr/bin /usr/local/bin /usr/local/sbin; do
    [[ -x "$dir/$bin" ]] && { echo "$dir/$bin"; return 0; }
  done
  return 1
}

missing=()
for bin in "${BINARIES[@]}"; do
  if path=$(find_binary "$bin"); then
    say "$bin found at $path"
  else
    say "$bin missing: will install package ${PACKAGE[$bin]}"
    missing+=("$bin")
  fi
done
if ((${#missing[@]} == 0)); then
  say "nothing to install"
  exit 0
fi

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    say "not root and no sudo: install ${missing[*]} yourself"
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here: install the packages for ${missing[*]} with your system's package manager"
  exit 1
fi

# Keep maintainer scripts from starting services: invoke-rc.d and deb-systemd-invoke ask
# /usr/sbin/policy-rc.d, and exit status 101 means "action forbidden" (Debian's
# README.policy-rc.d). One already there (Docker images ship one) is set aside and put back on exit,
# since it may allow what ours forbids.
POLICY=/usr/sbin/policy-rc.d
SAVED=$POLICY.dynasplit-saved
HAD_POLICY=0
[[ -e $POLICY ]] && HAD_POLICY=1
restore_policy() {
  if ((HAD_POLICY)); then run "${SUDO[@]}" mv -f "$SAVED" "$POLICY"; else run "${SUDO[@]}" rm -f "$POLICY"; fi
  say "restored $POLICY"
}
((HAD_POLICY)) && run "${SUDO[@]}" mv -f "$POLICY" "$SAVED"
trap restore_policy EXIT
say "temporary $POLICY (exit 101): no service starts during the install"
run "${SUDO[@]}" sh -c "printf '#!/bin/sh\\nexit 101\\n' > $POLICY && chmod 755 $POLICY"

packages=()
for bin in "${missing[@]}"; do packages+=("${PACKAGE[$bin]}"); done
say "apt-get update, then install: ${packages[*]}"
run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

# Installing also enables the services for the next boot (systemd symlinks, SysV rc links): undo it.
for bin in "${missing[@]}"; do
  service=${SERVICE[$bin]}
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    run "${SUDO[@]}" deb-systemd-helper disable "$service.service" || true
  fi
  if command -v update-rc.d >/dev/null 2>&1 && [[ -e /etc/init.d/$service ]]; then
    run "${SUDO[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
  say "$service installed, not started, not enabled"
done

for bin in "${missing[@]}"; do
  if ((DRY_RUN)) || find_binary "$bin" >/dev/null; then continue; fi
  say "$bin still missing after installing ${PACKAGE[$bin]}"
  exit 1
done
say "done"
