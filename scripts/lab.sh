#!/usr/bin/env bash
# The main job: install and build everything, bring up the virtual 3-node Cluster Lab, show its status.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
exec node "$ROOT/packages/cli/dist/bin.js" --help
