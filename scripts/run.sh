#!/usr/bin/env bash
# One entry point for a fresh clone: sets everything up, then runs a task
# with the pinned Node.js.   usage: scripts/run.sh test|demo|env|bench [args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=setup.sh
source "$root/scripts/setup.sh"
cd "$root"
task=${1:?usage: scripts/run.sh test|demo|env|bench [args...]}; shift
# The tests run Safehold's own image (test/image.test.ts): built from the Dockerfile, cached by its inputs;
# the database journeys and the pause benchmark PostgreSQL and MariaDB images made from Debian's packages
# (testenv/images).
case "$task" in
  test|setup|bench)
    "$root/testenv/scripts/build-image.sh" >/dev/null
    "$root/testenv/scripts/build-image.sh" postgres >/dev/null
    "$root/testenv/scripts/build-image.sh" mariadb >/dev/null ;;
esac
case "$task" in
  test)  exec npm run --silent test:all -- "$@" ;;
  env)   exec node testenv/cli.ts "$@" ;;
  demo)  exec node demo/run.ts "$@" ;;
  bench) exec npm run --silent bench:all -- "$@" ;;
  setup) ;;
  *) echo "unknown task: $task" >&2; exit 2 ;;
esac
