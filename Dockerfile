# syntax=docker/dockerfile:1
# Safehold's image: the operator and the mover are one program (`safehold`),
# on Node.js 24, with what the mover calls: restic, rbd (ceph-common),
# blockdev (util-linux), qemu-img (qemu-utils), git (a Git repository's
# bundle), ssh (openssh-client, for ssh remotes), and etcdctl and etcdutl (an
# etcd snapshot). Runs as a non-root user
# by default; mover Jobs ask for root and only the capabilities they need.
#   docker build -t safehold:0.1.0 .
# Versions match .node-version and testenv/scripts/versions.sh (a unit test holds them equal).
ARG NODE_VERSION=24.21.0
ARG RESTIC_VERSION=v0.18.1
ARG ETCD_VERSION=v3.6.16

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Debian's restic is too old for --stdin-from-command; build the pinned release.
FROM golang:1.26-bookworm AS restic
ARG RESTIC_VERSION
RUN CGO_ENABLED=0 GOBIN=/out go install -trimpath github.com/restic/restic/cmd/restic@${RESTIC_VERSION}

# etcd's modules carry replace directives, so `go install` refuses them: each tool is built
# from a module of its own that requires etcd's (the root of each is a main package).
FROM golang:1.26-bookworm AS etcd
ARG ETCD_VERSION
RUN for tool in etcdctl etcdutl; do \
      mkdir -p "/build/$tool" && cd "/build/$tool" \
      && printf 'module safehold.build/%s\ngo 1.24\nrequire go.etcd.io/etcd/%s/v3 %s\n' "$tool" "$tool" "${ETCD_VERSION}" > go.mod \
      && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "/out/$tool" "go.etcd.io/etcd/$tool/v3" || exit 1; \
    done

FROM node:${NODE_VERSION}-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates ceph-common qemu-utils util-linux e2fsprogs git openssh-client \
  && rm -rf /var/lib/apt/lists/*
COPY --from=restic /out/restic /usr/local/bin/restic
COPY --from=etcd /out/etcdctl /out/etcdutl /usr/local/bin/
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN chmod 0755 dist/bin/safehold.js && ln -s /app/dist/bin/safehold.js /usr/local/bin/safehold
USER 65532:65532
ENTRYPOINT ["safehold"]
CMD ["operator"]
