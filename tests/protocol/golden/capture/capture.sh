#!/bin/sh
# Re-captures golden request frames: for each client, starts the capture broker on an ephemeral
# loopback port, drives the client through every API it can send, and replaces
# tests/protocol/golden/<client>/ with the frames recorded. See ../README.md.
#
#   capture.sh [rdkafka] [kafka-python] [kafkajs] [sarama] [platformatic]   (default: all)
#
# KAFKA_SPECS: Kafka's JSON message specifications (default ../shared/kafka-4.3-protocol/messages
# next to the repository). Needs: kcat librdkafka-dev python3-kafka golang-go
# golang-github-shopify-sarama-dev (apt), node + npm (npm ci in ./node).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
golden=$(dirname "$here")
repo=$(cd "$golden/../../.." && pwd)
specs=${KAFKA_SPECS:-$repo/../shared/kafka-4.3-protocol/messages}
work=$(mktemp -d)
broker_pid=
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_broker() { # $1: client
  rm -rf "$golden/$1" "$work/port"
  python3 "$here/capture_broker.py" --specs "$specs" --schemas "$repo/protocol/schema" \
    --out "$golden/$1" --port-file "$work/port" 2>"$work/$1.log" &
  broker_pid=$!
  for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port")
}

stop_broker() { # $1: client
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
  grep -E 'left over|cannot decode' "$work/$1.log" || true
  echo "$1: $(ls "$golden/$1" | wc -l) frames"
}

run() { # $1: client
  case $1 in
  rdkafka)
    cc -Wall -Wextra -o "$work/rdkafka_driver" "$here/rdkafka_driver.c" -lrdkafka
    timeout 120 "$work/rdkafka_driver" "127.0.0.1:$port" ;;
  kafka-python)
    timeout 120 /usr/bin/python3 "$here/kafka_python_driver.py" "127.0.0.1:$port" ;;
  kafkajs)
    [ -d "$here/node/node_modules" ] || (cd "$here/node" && npm ci --no-audit --no-fund)
    timeout 120 node "$here/node/kafkajs_driver.js" "127.0.0.1:$port" ;;
  platformatic)
    [ -d "$here/node/node_modules" ] || (cd "$here/node" && npm ci --no-audit --no-fund)
    timeout 120 node "$here/node/platformatic_driver.mjs" "127.0.0.1:$port" ;;
  sarama)
    mkdir -p "$work/gopath"
    (cd "$here/sarama" && GO111MODULE=off GOPATH="$work/gopath:/usr/share/gocode" \
      GOCACHE="$work/gocache" go build -o "$work/sarama_driver" . 2>/dev/null)
    timeout 120 "$work/sarama_driver" "127.0.0.1:$port" ;;
  *) echo "unknown client $1" >&2; exit 2 ;;
  esac
}

[ $# -gt 0 ] || set -- rdkafka kafka-python kafkajs sarama platformatic
for client in "$@"; do
  start_broker "$client"
  run "$client" || echo "$client: driver exited with $?"
  stop_broker "$client"
done
