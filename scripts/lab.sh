#!/usr/bin/env bash
# The main job: install and build everything, bring up the virtual 3-node Cluster Lab (network
# namespaces + one dockerd per node, `cluster-lab start` on all nodes at once) and show its status.
# Extra arguments go to `cluster-lab lab up`, e.g. `bash scripts/lab.sh --nodes 5`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
exec node "$ROOT/packages/cli/dist/bin.js" lab up "$@"
