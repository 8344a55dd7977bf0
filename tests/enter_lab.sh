#!/usr/bin/env bash
# Runs a command inside a fresh network namespace (the lab), so that no
# discovery datagram of the tests can reach this machine's real network.
# Inside, only `lo` exists, with multicast routed to it; tests add lab hosts
# (named namespaces on a bridge) with tests/_lab.ts. Everything vanishes when
# the command ends.
#
#   bash tests/enter_lab.sh deno test -A --unstable-net tests/
set -euo pipefail
if [ "${INSTANCE_CHART_LAB:-}" = 1 ]; then exec "$@"; fi
for tool in unshare ip; do
  command -v "$tool" >/dev/null || {
    echo "enter_lab: '$tool' is missing; install util-linux and iproute2" >&2
    exit 1
  }
done
if [ "$(id -u)" = 0 ]; then ns=(unshare --net --mount --propagation private)
else ns=(unshare --user --map-root-user --net --mount --propagation private); fi
exec "${ns[@]}" env INSTANCE_CHART_LAB=1 bash -c '
  set -e
  mount -t tmpfs lab /run && mkdir -p /run/netns
  ip link set lo up
  ip link set lo multicast on
  ip route add 224.0.0.0/4 dev lo src 127.0.0.1
  exec "$@"' enter_lab "$@"
