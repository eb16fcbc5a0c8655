#!/usr/bin/env bash
# Builds the model-server image from containers/model-server/Dockerfile with buildah, on a machine
# that reaches no container registry (only Debian's mirror and the npm registry), such as CI.
#
# The Dockerfile stays the one recipe. Where `node:<version>-<suite>-slim` can be pulled (AWS
# CodeBuild, a workstation), `docker build` builds it as it is (docs/deploy.md). Here the script
# first makes that base image itself, the way the official one is made: a minimal Debian <suite>
# (debootstrap from Debian's mirror), the official Node.js <version> binary (the npm registry's
# node-linux-<arch> package carries it), the npm release that Node version ships, and the `node`
# user (uid 1000). Then it runs `buildah bud` on the unchanged Dockerfile with NODE_IMAGE pointing
# at that base. The base is built once per storage and reused.
#
# Needs root and buildah, debootstrap, npm (.ci/run installs the Debian packages). On a machine
# whose kernel refuses podman's defaults, set CONTAINERS_CONF to containers/model-server/ci-containers.conf.
# Behind a TLS-intercepting proxy, NODE_EXTRA_CA_CERTS (the host's CA bundle) is mounted into the
# build's RUN steps, and the host's npm cache is mounted as a throwaway overlay (content is
# checked against the lock file's integrity either way): neither ends up in the image.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: containers/model-server/build.sh [options]

Builds the model-server image (containers/model-server/Dockerfile) without pulling from a
container registry: the Node base image is made from Debian's mirror and the npm registry.

Options:
  --tag NAME          image name (default localhost/tollgate-model-server:dev)
  --root DIR          container storage root for buildah/podman (default: their own);
                      its run state goes to DIR/run
  --node-image IMAGE  use this Node base image instead of building one
  --base-only         build (or find) the Node base image, print its name, and stop
  --build-arg K=V     passed to the Dockerfile (e.g. PULL_CHAT_MODEL=HuggingFaceTB/SmolLM2-135M-Instruct)
  -h, --help          this text

Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), NODE_EXTRA_CA_CERTS,
CONTAINERS_CONF. Prints the image name as its last line.
EOF
}

cd "$(dirname "$0")/../.."
dockerfile=containers/model-server/Dockerfile
tag=localhost/tollgate-model-server:dev
node_image=""
base_only=false
storage=()
build_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --root) storage=(--root "$2" --runroot "$2/run"); shift 2 ;;
    --node-image) node_image="$2"; shift 2 ;;
    --base-only) base_only=true; shift ;;
    --build-arg) build_args+=(--build-arg "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { echo "[build.sh $(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "build.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (buildah mounts the base image's filesystem)"
for tool in buildah npm; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

# The base the Dockerfile names, e.g. node:22.12.0-bookworm-slim.
default_base=$(sed -n 's/^ARG NODE_IMAGE=\([^@]*\).*/\1/p' "$dockerfile")
[[ "$default_base" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]] ||
  die "cannot read node:<version>-<suite>-slim from $dockerfile's ARG NODE_IMAGE (got '$default_base')"
node_version=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[2]}
# The npm release bundled with that Node version (its release notes; the official image has it).
case "$node_version" in
  22.12.0) npm_version=10.9.0 ;;
  *) die "no npm version known for Node $node_version: add the one its release bundles to build.sh" ;;
esac

build_base() {
  local name=$1 arch work ctr mnt
  command -v debootstrap >/dev/null || die "debootstrap is not installed"
  case "$(dpkg --print-architecture)" in
    amd64) arch=x64 ;;
    arm64) arch=arm64 ;;
    *) die "unsupported architecture $(dpkg --print-architecture)" ;;
  esac
  work=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-node-base.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  log "debootstrap --variant=minbase $suite (Debian's mirror)"
  debootstrap --variant=minbase "$suite" "$work/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  log "node-linux-$arch@$node_version and npm@$npm_version from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-$arch@$node_version" "npm@$npm_version" >/dev/null)
  ctr=$(buildah "${storage[@]}" from scratch)
  mnt=$(buildah "${storage[@]}" mount "$ctr")
  tar -C "$work/rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf - . | tar -C "$mnt" -xf -
  # The official image's layout: node in /usr/local/bin, npm in /usr/local/lib/node_modules.
  tar -xzf "$work/node-linux-$arch-$node_version.tgz" -C "$mnt/usr/local" --strip-components=1 package/bin/node
  mkdir -p "$mnt/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  chroot "$mnt" /bin/sh -c "groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"
  [ "$(chroot "$mnt" /usr/local/bin/node --version)" = "v$node_version" ] || die "the base's node is not v$node_version"
  buildah "${storage[@]}" umount "$ctr" >/dev/null
  buildah "${storage[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$node_version" --cmd node "$ctr"
  buildah "${storage[@]}" commit --rm --quiet "$ctr" "$name" >/dev/null
  log "base image $name"
}

if [ -z "$node_image" ]; then
  node_image="localhost/tollgate-node:$node_version-$suite-slim"
  if buildah "${storage[@]}" inspect --type image "$node_image" >/dev/null 2>&1; then
    log "reusing base image $node_image"
  else
    build_base "$node_image"
  fi
fi
if $base_only; then
  echo "$node_image"
  exit 0
fi

args=(--build-arg "NODE_IMAGE=$node_image" "${build_args[@]}" -f "$dockerfile" -t "$tag")
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  args+=(--volume "$NODE_EXTRA_CA_CERTS:/run/tollgate-build-ca.crt:ro"
    --build-arg NODE_EXTRA_CA_CERTS=/run/tollgate-build-ca.crt)
fi
npm_cache=$(npm config get cache 2>/dev/null || true)
[ -n "$npm_cache" ] && [ -d "$npm_cache/_cacache" ] && args+=(--volume "$npm_cache:/root/.npm:O")
log "buildah bud -f $dockerfile (NODE_IMAGE=$node_image)"
buildah "${storage[@]}" bud "${args[@]}" . >&2
log "built $tag"
echo "$tag"
