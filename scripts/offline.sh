#!/usr/bin/env bash
# Runs a command with no network: inside a new network namespace where only loopback is up (the CPU suite
# starts `vllm serve` on 127.0.0.1). Sets VLLM_NODE_OFFLINE=1 there, which tests/cpu/offline.suite.ts checks.
# As root it uses `unshare -n`; otherwise `unshare -rn` (a user namespace). Where neither works it says so
# loudly on stderr and runs the command with the network, as before.
#
# Usage: bash scripts/offline.sh COMMAND [ARGS...]     e.g. bash scripts/offline.sh vitest run --project cpu
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/offline.sh COMMAND [ARGS...]" >&2
  exit 2
fi

# Already inside (a nested call): nothing to do.
if [ "${VLLM_NODE_OFFLINE:-}" = "1" ]; then
  exec "$@"
fi

IP="$(command -v ip || true)"
for candidate in /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip; do
  [ -n "$IP" ] && break
  [ -x "$candidate" ] && IP="$candidate"
done

warn() {
  {
    echo "################################################################################"
    echo "# scripts/offline.sh: NOT OFFLINE: $1"
    echo "# Running with the network; tests/cpu/offline.suite.ts is skipped."
    echo "################################################################################"
  } >&2
}

UNSHARE=""
if ! command -v unshare >/dev/null 2>&1; then
  warn "unshare (util-linux) is not installed"
elif [ -z "$IP" ]; then
  warn "the ip command (iproute2) is not installed, so loopback could not be brought up"
else
  # Probe once: the namespace must come up and loopback must be settable inside it.
  for flags in -n -rn; do
    if [ "$flags" = "-n" ] && [ "$(id -u)" != "0" ]; then continue; fi
    if unshare "$flags" -- "$IP" link set lo up >/dev/null 2>&1; then
      UNSHARE="$flags"
      break
    fi
  done
  [ -n "$UNSHARE" ] || warn "network namespaces are not available here (unshare -n / unshare -rn failed)"
fi

if [ -z "$UNSHARE" ]; then
  exec "$@"
fi

echo "scripts/offline.sh: running without network (unshare $UNSHARE, loopback only): $*" >&2
exec unshare "$UNSHARE" -- /usr/bin/env bash -c '"$0" link set lo up && export VLLM_NODE_OFFLINE=1 && exec "$@"' "$IP" "$@"
