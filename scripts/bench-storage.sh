#!/usr/bin/env bash
# The storage-engine benchmark `make bench` runs until the harness exists: the same sequential
# write pattern through fio and through `rill perf log`, in the same run, on the same disk, so the
# figures compare like with like.
#
# This disk's throughput swings by 2x between identical runs (a virtual disk, and the kernel's
# writeback state), so every figure is the median of REPEAT runs, fio and rill alternating, with
# dirty pages flushed (and, where permitted, the page cache dropped) before each run. fio writes
# a growing file without preallocation (--fallocate=none), as a log segment grows, from one
# buffer it does not re-randomise (--scramble_buffers=0), as rill appends one batch repeatedly;
# otherwise fio spends its CPU generating data, not writing it.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-$PWD/.build/bench-storage}
SIZE_MIB=${SIZE_MIB:-2048}          # bytes written per run
REPEAT=${REPEAT:-5}
RECORD_SIZE=${RECORD_SIZE:-1024}
BATCH_BYTES=${BATCH_BYTES:-1048576}
SYNC_MIB=16                         # fsync every 16 MiB (fio: every 16 writes of 1 MiB)
RILL=${RILL:-.build/release/rill}
RESULTS=${RESULTS:-results/storage/$(date -u +%Y%m%dT%H%M%SZ)}

mkdir -p "$BENCH_DIR" "$RESULTS"
records=$((SIZE_MIB * 1024 * 1024 / (RECORD_SIZE + 10)))

settle() {
  sync
  echo 1 2>/dev/null > /proc/sys/vm/drop_caches || true
}

fio_run() {  # $1 = fdatasync interval in 1 MiB writes (0 = none) → MB/s
  rm -f "$BENCH_DIR/fio.dat"; settle
  fio --name=seqwrite --filename="$BENCH_DIR/fio.dat" --rw=write --bs=1M --size="${SIZE_MIB}M" \
      --ioengine=psync --fdatasync="$1" --fallocate=none --scramble_buffers=0 --end_fsync=0 --output-format=json 2>/dev/null \
    | python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["jobs"][0]["write"]["bw_bytes"] / 1e6))'
  rm -f "$BENCH_DIR/fio.dat"
}

rill_run() {  # $1 = sync policy, rest = extra flags → JSON
  local policy=$1; shift
  rm -rf "$BENCH_DIR/log"; settle
  "$RILL" perf log --dir "$BENCH_DIR/log" --records "$records" --record-size "$RECORD_SIZE" \
      --batch-bytes "$BATCH_BYTES" --sync "$policy" --json "$@"
}

json_field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
median() { python3 -c "import statistics,sys; print('%.1f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }

echo "== storage engine: ${SIZE_MIB} MiB of ${RECORD_SIZE}-byte records in $((BATCH_BYTES / 1024)) KiB batches, median of $REPEAT =="
echo "   machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2 {print $2 " on " $1}')"

declare -a fio_sync fio_buffered rill_sync rill_buffered rill_read rill_recover rill_records rill_rss
for round in $(seq "$REPEAT"); do
  fio_sync+=("$(fio_run $SYNC_MIB)")
  r=$(rill_run "every-bytes:$((SYNC_MIB * 1024 * 1024))"); rill_sync+=("$(json_field "$r" appendMegabytesPerSecond)")
  fio_buffered+=("$(fio_run 0)")
  r=$(rill_run never --read --recover)
  rill_buffered+=("$(json_field "$r" appendMegabytesPerSecond)")
  rill_records+=("$(json_field "$r" appendRecordsPerSecond)")
  rill_read+=("$(json_field "$r" readMegabytesPerSecond)")
  rill_recover+=("$(json_field "$r" recoverMegabytesPerSecond)")
  rill_rss+=("$(json_field "$r" maxResidentMegabytes)")
  printf '   round %d: fdatasync every 16 MiB: fio %.0f, rill %.0f MB/s; no fsync: fio %.0f, rill %.0f MB/s\n' \
    "$round" "${fio_sync[-1]}" "${rill_sync[-1]}" "${fio_buffered[-1]}" "${rill_buffered[-1]}"
done
rm -rf "$BENCH_DIR/log"
crc=$("$RILL" perf crc --json)

fs=$(median "${fio_sync[@]}"); rs=$(median "${rill_sync[@]}")
fb=$(median "${fio_buffered[@]}"); rb=$(median "${rill_buffered[@]}")
ratio() { python3 -c "print('%.0f%%' % (100 * $1 / $2))"; }
printf '\n%-46s %10s %10s %7s\n' "" "fio MB/s" "rill MB/s" "rill/fio"
printf '%-46s %10s %10s %7s\n' "append, fdatasync every 16 MiB" "$fs" "$rs" "$(ratio "$rs" "$fs")"
printf '%-46s %10s %10s %7s\n' "append, no fsync (into the page cache)" "$fb" "$rb" "$(ratio "$rb" "$fb")"
printf '%-46s %10s %10s\n' "append, records/s (no fsync)" "" "$(median "${rill_records[@]}")"
printf '%-46s %10s %10s\n' "sequential read from the page cache, MB/s" "" "$(median "${rill_read[@]}")"
printf '%-46s %10s %10s\n' "recovery with no recovery point, MB/s" "" "$(median "${rill_recover[@]}")"
printf '%-46s %10s %10s\n' "max resident memory, MB" "" "$(median "${rill_rss[@]}")"
printf '%-46s %10s %10s\n' "CRC-32C on one core, GB/s" "" "$(python3 -c "import json,sys; print('%.1f' % json.loads(sys.argv[1])['gigabytesPerSecond'])" "$crc")"

list() { local IFS=,; echo "[$*]"; }
cat > "$RESULTS/summary.json" <<JSON
{"sizeMebibytes": $SIZE_MIB, "recordSize": $RECORD_SIZE, "batchBytes": $BATCH_BYTES, "repeat": $REPEAT,
 "fioSyncMegabytesPerSecond": $(list "${fio_sync[@]}"), "rillSyncMegabytesPerSecond": $(list "${rill_sync[@]}"),
 "fioBufferedMegabytesPerSecond": $(list "${fio_buffered[@]}"), "rillBufferedMegabytesPerSecond": $(list "${rill_buffered[@]}"),
 "rillAppendRecordsPerSecond": $(list "${rill_records[@]}"), "rillReadMegabytesPerSecond": $(list "${rill_read[@]}"),
 "rillRecoverMegabytesPerSecond": $(list "${rill_recover[@]}"), "rillMaxResidentMegabytes": $(list "${rill_rss[@]}"),
 "crc": $crc}
JSON
echo; echo "results: $RESULTS/summary.json"
