#!/usr/bin/env bash
# Safehold's image, built from the Dockerfile as shipped, with buildah.
#
# No image registry is reachable here, so the base images the Dockerfile
# names are made first, from what is reachable:
#   debian:bookworm-slim          Debian's packages (mmdebstrap, minbase)
#   node:<.node-version>-bookworm-slim   that, plus the pinned Node.js (the
#                                 setup's copy, from the npm registry) and npm
#   golang:1.26-bookworm          that, plus this machine's Go
# and the real node's sandbox image, localhost/safehold-pause:1 (testenv/pause).
# Then `buildah bud` builds the Dockerfile unchanged, its RUN steps reaching
# Debian's packages, the npm registry and the Go module proxy through the
# host's network, as the setup itself does. Images live in buildah storage
# under the cache ($SAFEHOLD_CACHE/containers); each base is made once per
# version, and the image is built again only when an input changed (the hash
# of the Dockerfile, the npm manifests, tsconfig, src and the bases), with
# its layers cached. Prints the image's name last.
# `build-image.sh postgres` (or mariadb) makes a test image the database
# journeys run (testenv/images/<name>) on the same bases, once per Containerfile.
#   usage: build-image.sh [--print-name | --print-postgres | --print-mariadb | pause | postgres | mariadb | buildah ARGS...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=versions.sh
source "$root/testenv/scripts/versions.sh"
NODE_VERSION=$(tr -d " \n" < "$root/.node-version")
cache=${SAFEHOLD_CACHE:-$HOME/.cache/safehold}
say() { printf '[build-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Storage beside the other caches; run state on tmpfs, so a reboot leaves no stale locks.
storage=(--root "$cache/containers/storage" --runroot /run/safehold-containers --storage-driver overlay)
b() { buildah "${storage[@]}" "$@"; }
# `build-image.sh buildah ARGS`: buildah on this storage (for tests that run the image).
if [ "${1:-}" = buildah ]; then shift; exec buildah "${storage[@]}" "$@"; fi
has_image() { b inspect --type image "$1" >/dev/null 2>&1; }

debian_image=docker.io/library/debian:bookworm-slim
node_image=docker.io/library/node:$NODE_VERSION-bookworm-slim
go_minor=$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
go_image=docker.io/library/golang:$go_minor-bookworm
# The label of each base says what it was made from: a change makes it again.
base_label=safehold.base-version

ensure_packages() {
  local missing=()
  for p in buildah mmdebstrap runc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

base_current() { # image version
  has_image "$1" && [ "$(b inspect --type image --format "{{index .OCIv1.Config.Labels \"$base_label\"}}" "$1" 2>/dev/null)" = "$2" ]
}

# A minimal Debian bookworm from Debian's packages, with CA certificates (Go's module downloads need them).
ensure_debian() {
  local version="bookworm-minbase-ca-1"
  base_current "$debian_image" "$version" && return
  say "making $debian_image from Debian's packages (mmdebstrap)"
  local tmp; tmp=$(mktemp -d)
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$tmp/rootfs.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  local c; c=$(b from scratch)
  b add "$c" "$tmp/rootfs.tar" / >/dev/null
  b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash \
    --label "$base_label=$version" "$c"
  b commit --quiet --rm "$c" "$debian_image" >/dev/null
  rm -rf "$tmp"
}

# As the official node image: Node.js in /usr/local, npm beside it, a `node` user (1000).
ensure_node() {
  local version="node-$NODE_VERSION-npm-$NPM_VERSION-1"
  base_current "$node_image" "$version" && return
  say "making $node_image"
  local tmp; tmp=$(mktemp -d)
  ( cd "$tmp" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && tar xzf npm-*.tgz )
  local c mnt; c=$(b from --pull=never "$debian_image"); mnt=$(b mount "$c")
  cp -a "$cache/node-v$NODE_VERSION/bin/node" "$mnt/usr/local/bin/node"
  cp -a "$cache/node-v$NODE_VERSION/include" "$mnt/usr/local/"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$tmp/package" "$mnt/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  echo 'node:x:1000:' >> "$mnt/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >> "$mnt/etc/passwd"
  mkdir -p "$mnt/home/node" && chown 1000:1000 "$mnt/home/node"
  b umount "$c" >/dev/null
  b config --env "NODE_VERSION=$NODE_VERSION" --cmd node --label "$base_label=$version" "$c"
  b commit --quiet --rm "$c" "$node_image" >/dev/null
  rm -rf "$tmp"
}

# As the official golang image: Go in /usr/local/go, GOPATH /go; with this machine's module settings.
ensure_go() {
  local goversion; goversion=$(go env GOVERSION)
  local version="$goversion-1"
  base_current "$go_image" "$version" && return
  say "making $go_image from this machine's $goversion"
  local c mnt; c=$(b from --pull=never "$debian_image"); mnt=$(b mount "$c")
  cp -a "$(go env GOROOT)" "$mnt/usr/local/go"
  mkdir -p "$mnt/go/bin" "$mnt/go/src" && chmod -R 1777 "$mnt/go"
  b umount "$c" >/dev/null
  b config --env "GOLANG_VERSION=${goversion#go}" --env GOPATH=/go --env GOTOOLCHAIN=local \
    --env "GOPROXY=$(go env GOPROXY)" --env "GOSUMDB=$(go env GOSUMDB)" \
    --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --workingdir /go --cmd bash --label "$base_label=$version" "$c"
  b commit --quiet --rm "$c" "$go_image" >/dev/null
}

# The real node's sandbox image (containerd's sandbox_image): testenv/pause, static, alone.
pause_image=localhost/safehold-pause:1
ensure_pause() {
  local version; version=$( (cat "$root/testenv/pause/main.go"; go env GOVERSION) | sha256sum | cut -c1-16)
  base_current "$pause_image" "$version" && return
  say "making $pause_image"
  local tmp; tmp=$(mktemp -d)
  ( cd "$root/testenv/pause" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$tmp/pause" . )
  local c; c=$(b from scratch)
  b copy "$c" "$tmp/pause" /pause >/dev/null
  b config --entrypoint '["/pause"]' --user 65535:65535 --label "$base_label=$version" "$c"
  b commit --quiet --rm "$c" "$pause_image" >/dev/null
  rm -rf "$tmp"
}

# What the image is made of: the Dockerfile's inputs and the bases' versions.
input_hash() {
  (
    cd "$root"
    printf '%s\n' "$NODE_VERSION" "$NPM_VERSION" "$(go env GOVERSION)" "$RESTIC_VERSION"
    find Dockerfile package.json package-lock.json tsconfig.json tsconfig.build.json src \
      -type f 2>/dev/null | LC_ALL=C sort | xargs sha256sum
  ) | sha256sum | cut -c1-16
}

# The databases of the database journeys (testenv/images/<name>), named after their Containerfile's hash.
test_image() { # name
  echo "localhost/safehold-test-$1:$(sha256sum < "$root/testenv/images/$1/Containerfile" | cut -c1-16)"
}
ensure_test_image() { # name
  local image; image=$(test_image "$1")
  if ! has_image "$image"; then
    ensure_debian
    say "building $image from Debian's packages"
    b bud --quiet --layers --pull=never --network host --isolation chroot \
      -f "$root/testenv/images/$1/Containerfile" -t "$image" "$root/testenv/images/$1" >/dev/null
  fi
  echo "$image"
}

ensure_packages
case "${1:-}" in
  postgres|mariadb) ensure_test_image "$1"; exit 0 ;;
  --print-postgres|--print-mariadb) test_image "${1#--print-}"; exit 0 ;;
esac
hash=$(input_hash)
image=localhost/safehold:$hash
if [ "${1:-}" = --print-name ]; then echo "$image"; exit 0; fi
ensure_pause
if [ "${1:-}" = pause ]; then exit 0; fi
if has_image "$image"; then echo "$image"; exit 0; fi

ensure_debian
ensure_node
ensure_go
say "building $image from the Dockerfile"
started=$(date +%s)
# The RUN steps trust what this machine trusts (it may reach registries through a TLS proxy of its
# own): its CA bundle and an npm configuration naming it are mounted for each step, not kept.
trust=()
host_cas=/etc/ssl/certs/ca-certificates.crt
if [ -f "$host_cas" ]; then
  npmrc=$(mktemp); printf 'cafile=%s\n' "$host_cas" > "$npmrc"
  trust=(-v "$host_cas:$host_cas:ro" -v "$npmrc:/usr/local/etc/npmrc:ro")
fi
b bud --quiet --layers --pull=never --network host --isolation chroot "${trust[@]}" \
  -f "$root/Dockerfile" -t "$image" "$root" >/dev/null
[ -n "${npmrc:-}" ] && rm -f "$npmrc"
say "built $image in $(( $(date +%s) - started )) s"
# Older builds of the image go; the bases and the layer cache stay.
b images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/safehold:' | grep -v ":$hash\$" \
  | xargs -r buildah "${storage[@]}" rmi >/dev/null 2>&1 || true
echo "$image"
