#!/usr/bin/env bash
# `npm run container:build [-- EXTRA BUILD ARGS]`: builds docker/Dockerfile as ehi-gateway:<version>
# with its labels filled in from the repository: the version from package.json (the only place it
# is written), the git revision and the build time. Uses $CONTAINER_ENGINE, else docker, else
# podman (with --format docker, which keeps the HEALTHCHECK).
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null; then engine=docker; else engine=podman; fi
fi
version=$(node -p 'require("./package.json").version')
format=()
[ "$(basename "$engine")" = podman ] && format=(--format docker)
exec "$engine" build "${format[@]}" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f docker/Dockerfile -t "ehi-gateway:$version" "$@" .
