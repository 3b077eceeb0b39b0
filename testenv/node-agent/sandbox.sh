#!/usr/bin/env bash
# Runs one container's process the way a container runtime would show it its
# world, inside a private mount namespace (started by `unshare --mount`):
# a fresh root whose top-level folders are the host's but /root (the image of `safehold`
# is this machine), its own /dev, /tmp and /dev/shm, each volume bound at its
# mountPath, block devices at their devicePath, then chroot, user and
# capability bounding set, and exec.
#   sandbox.sh SPEC -- COMMAND [ARGS...]
# SPEC holds tab-separated lines:
#   root DIR | workdir DIR | user UID GID | caps cap1,cap2 | nnp | readonly-root
#   bind SRC DST ro|rw | file SRC DST ro|rw | device SRC DST
set -euo pipefail
spec=$1; shift
[ "${1:-}" = "--" ] && shift

root='' workdir=/ uid='' gid='' caps='' has_caps=0 nnp=0 ro_root=0
binds=()
while IFS=$'\t' read -r kind a b c || [ -n "$kind" ]; do
  case $kind in
    root) root=$a ;;
    workdir) workdir=$a ;;
    user) uid=$a; gid=$b ;;
    caps) caps=$a; has_caps=1 ;;
    nnp) nnp=1 ;;
    readonly-root) ro_root=1 ;;
    bind|file|device) binds+=("$kind"$'\t'"$a"$'\t'"$b"$'\t'"${c:-rw}") ;;
    '') ;;
    *) echo "sandbox: unknown spec line: $kind" >&2; exit 127 ;;
  esac
done <"$spec"
[ -n "$root" ] || { echo "sandbox: no root in $spec" >&2; exit 127; }

mkdir -p "$root"
mount -t tmpfs -o mode=755 sandbox-root "$root"
for entry in /*; do
  name=${entry#/}
  # /root stays out: a container gets its own empty one, so the image's programs bound
  # under it (the tool cache) are reachable by a non-root user, as in a real image.
  case $name in proc|sys|dev|tmp|lost+found|root) continue ;; esac
  if [ -L "$entry" ]; then cp -P "$entry" "$root/$name"; continue; fi
  [ -d "$entry" ] || continue
  mkdir "$root/$name"
  mount --rbind "$entry" "$root/$name"
  [ "$ro_root" = 1 ] && mount -o remount,bind,ro "$root/$name"
done
mkdir "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
mkdir -m 755 "$root/root"
mount --rbind /proc "$root/proc"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=1777 tmp "$root/tmp"
mount -t tmpfs -o mode=755 dev "$root/dev"
for d in null zero full random urandom tty; do
  touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"
done
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir "$root/dev/shm"; mount -t tmpfs -o mode=1777 shm "$root/dev/shm"

# Mount points first, while the new root is still writable; then make the root
# read-only if asked; then bind the volumes (each keeps its own ro/rw). A path
# through a symlink (/var/run -> /run) is resolved as the container will see it,
# not followed out of the new root.
inside() { printf '%s%s' "$root" "$(realpath -m "$1")"; }
for line in "${binds[@]}"; do
  IFS=$'\t' read -r kind src dst mode <<<"$line"
  target=$(inside "$dst")
  if [ "$kind" = bind ]; then
    mkdir -p "$target"
  else
    mkdir -p "$(dirname "$target")"; [ -e "$target" ] || touch "$target"
  fi
done
if [ "$ro_root" = 1 ]; then
  mount -o remount,ro "$root/tmp"
  mount -o remount,ro "$root"
fi
for line in "${binds[@]}"; do
  IFS=$'\t' read -r kind src dst mode <<<"$line"
  target=$(inside "$dst")
  mount --bind "$src" "$target"
  [ "$mode" = ro ] && mount -o remount,bind,ro "$target"
done

priv=()
if [ -n "$uid" ]; then priv+=(--reuid="$uid" --regid="${gid:-$uid}" --clear-groups); fi
if [ "$has_caps" = 1 ]; then
  bounding=-all; ambient=''
  IFS=, read -ra list <<<"$caps"
  for cap in "${list[@]}"; do [ -n "$cap" ] && bounding+=",+$cap" && ambient+=",+$cap"; done
  priv+=(--bounding-set="$bounding")
  if [ -n "$uid" ] && [ "$uid" != 0 ] && [ -n "$ambient" ]; then priv+=(--inh-caps="${ambient#,}" --ambient-caps="${ambient#,}"); fi
fi
[ "$nnp" = 1 ] && priv+=(--no-new-privs)

exec chroot "$root" setpriv "${priv[@]}" -- /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
