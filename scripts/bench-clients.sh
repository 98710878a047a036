#!/usr/bin/env bash
# Broker and client throughput, side by side with librdkafka's performance tool, against one
# `rill broker` on this machine (docs/performance.md, "Broker and clients").
#
#   scripts/bench-clients.sh            # ROUNDS=3 RECORDS_100B=5000000 RECORDS_1KIB=2000000
#
# Each round, for 100-byte and 1 KiB records: librdkafka's rdkafka_performance produces, then
# `rill perf produce` produces the same count with the same settings (acks=1, linger.ms=5,
# batch.size=1 MiB, no compression, 8 partitions); then both consume the 1 KiB topic from the
# beginning. The broker's CPU time (user + system, from /proc) during each produce run gives CPU
# seconds per GB appended. Prints one line per run and the medians.
#
# The broker's data lives on tmpfs (DATA, default /dev/shm/…) with size-based retention: the
# figures measure the broker and the clients, not this machine's virtual disk, whose writeback
# throttles sustained writes above ~400 MB/s. rdkafka_performance is compiled from the example
# that librdkafka-dev ships (its two private headers replaced by a small shim).
set -euo pipefail
cd "$(dirname "$0")/.."

RILL=${RILL:-.build/release/rill}
ROUNDS=${ROUNDS:-3}
RECORDS_100B=${RECORDS_100B:-5000000}
RECORDS_1KIB=${RECORDS_1KIB:-2000000}
PORT=${PORT:-19392}
DATA=${DATA:-/dev/shm/rill-bench-clients}
TOOLS=.build/bench-tools
RDPERF=$TOOLS/rdkafka_performance
BOOTSTRAP=127.0.0.1:$PORT
PROPS=(acks=1 linger.ms=5 batch.size=1048576 compression.type=none)

[ -x "$RILL" ] || { echo "bench-clients: $RILL is missing: run make release" >&2; exit 1; }
if [ ! -x "$RDPERF" ]; then
    example=/usr/share/doc/librdkafka-dev/examples/rdkafka_performance.c
    [ -f "$example" ] || example=$example.gz
    [ -e "$example" ] || { echo "bench-clients: $example is missing: run make deps (librdkafka-dev)" >&2; exit 1; }
    mkdir -p "$TOOLS/src" "$TOOLS/examples"
    case "$example" in *.gz) gzip -dc "$example" >"$TOOLS/examples/rdkafka_performance.c" ;; *) cp "$example" "$TOOLS/examples/" ;; esac
    cat >"$TOOLS/src/rd.h" <<'EOF'
/* The few definitions rdkafka_performance.c takes from librdkafka's private headers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>
typedef int64_t rd_ts_t;
static inline rd_ts_t rd_clock(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return (rd_ts_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000; }
#define rd_snprintf snprintf
#define RD_UNUSED __attribute__((unused))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
EOF
    : >"$TOOLS/src/rdtime.h"
    gcc -O2 -w -I"$TOOLS/src" -I/usr/include/librdkafka -o "$RDPERF" "$TOOLS/examples/rdkafka_performance.c" -lrdkafka -lm -lpthread
fi

rm -rf "$DATA"
# The broker's stdin is a pipe from a holder process: if this script dies without its trap,
# the holder's end closes with it and the broker stops; the trap stops both.
exec 3< <(exec sleep infinity 2>/dev/null)
HOLDER=$!
"$RILL" broker --data-dir "$DATA" --listen "$BOOTSTRAP" --stop-when-stdin-closes \
    --override log.retention.check.interval.ms=1000 --override log.segment.bytes=67108864 \
    --override log.retention.bytes=268435456 <&3 >"$TOOLS/broker.log" 2>&1 &
BROKER=$!
exec 3<&-
trap 'kill $BROKER $HOLDER 2>/dev/null; wait $BROKER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do grep -q listening "$TOOLS/broker.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$TOOLS/broker.log" || { cat "$TOOLS/broker.log" >&2; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$BROKER/stat"; }
TICKS=$(getconf CLK_TCK)

rdperf_produce() { # TOPIC SIZE COUNT → records/s
    "$RDPERF" -P -t "$1" -s "$2" -c "$3" -b "$BOOTSTRAP" -a 1 -X linger.ms=5 -X batch.size=1048576 -X queue.buffering.max.messages=2000000 -q 2>&1 |
        sed -n 's/.* \([0-9]*\) msgs\/s.*/\1/p' | tail -1
}
rdperf_consume() { # TOPIC COUNT → records/s
    local partitions=()
    for p in $(seq 0 7); do partitions+=(-p "$p"); done
    "$RDPERF" -C -t "$1" "${partitions[@]}" -o beginning -c "$2" -b "$BOOTSTRAP" -q 2>&1 |
        sed -n 's/.* \([0-9]*\) msgs\/s.*/\1/p' | tail -1
}
rill_produce() { # TOPIC SIZE COUNT → records/s
    "$RILL" perf produce --bootstrap "$BOOTSTRAP" --topic "$1" --record-size "$2" --num-records "$3" --producer-props "${PROPS[@]}" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["recordsPerSecond"])'
}
rill_consume() { # TOPIC COUNT → records/s
    "$RILL" perf consume --bootstrap "$BOOTSTRAP" --topic "$1" --messages "$2" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["recordsPerSecond"])'
}

echo "bench-clients: $(nproc) cores, broker data in $DATA, $ROUNDS rounds"
RESULTS=$(mktemp)
for round in $(seq "$ROUNDS"); do
    for size in 100 1024; do
        count=$RECORDS_100B; [ "$size" = 1024 ] && count=$RECORDS_1KIB
        for client in librdkafka rill; do
            topic="p$size-$client-$round"
            "$RILL" topics create "$topic" --bootstrap "$BOOTSTRAP" --partitions 8 >/dev/null
            before=$(cpu_ticks); start=$(date +%s.%N)
            if [ "$client" = librdkafka ]; then rate=$(rdperf_produce "$topic" "$size" "$count"); else rate=$(rill_produce "$topic" "$size" "$count"); fi
            after=$(cpu_ticks)
            line=$(awk -v c="$client" -v s="$size" -v r="$rate" -v n="$count" -v t=$((after - before)) -v hz="$TICKS" \
                'BEGIN { printf "produce %-5s %-10s %12.0f rec/s %8.1f MB/s  broker %5.2f CPU s/GB\n", s, c, r, r * s / 1e6, t / hz / (n * s / 1e9) }')
            echo "$line" | tee -a "$RESULTS"
        done
        if [ "$size" = 1024 ]; then
            topic="p1024-rill-$round"
            for client in librdkafka rill; do
                if [ "$client" = librdkafka ]; then rate=$(rdperf_consume "$topic" "$count"); else rate=$(rill_consume "$topic" "$count"); fi
                awk -v c="$client" -v r="$rate" 'BEGIN { printf "consume 1024  %-10s %12.0f rec/s %8.1f MB/s\n", c, r, r * 1024 / 1e6 }' | tee -a "$RESULTS"
            done
        fi
    done
done
echo "medians:"
awk '{ key = $1 " " $2 " " $3; rates[key] = rates[key] " " $4; mbs[key] = mbs[key] " " $6; cpu[key] = cpu[key] " " $9 }
     END { for (k in rates) print k, rates[k], "|", mbs[k], "|", cpu[k] }' "$RESULTS" | sort | python3 -c '
import statistics, sys
for line in sys.stdin:
    key, rest = line.split(None, 3)[:3], line.split(None, 3)[3]
    parts = [p.split() for p in rest.split("|")]
    med = [statistics.median(map(float, p)) if p and p[0] != "" else None for p in parts]
    cpu = f"  broker {med[2]:.2f} CPU s/GB" if key[0] == "produce" and med[2] is not None else ""
    print(f"{key[0]} {key[1]:>5} {key[2]:<10} {med[0]:>12,.0f} rec/s {med[1]:>8.1f} MB/s{cpu}")
'
rm -f "$RESULTS"
