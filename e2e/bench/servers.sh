# Sourced by e2e/bench/run.sh (needs its rt, cleanup helpers, image.sh and $WORK, $DUNE, label).
#
# servers_bench ROUNDS SECONDS: PostgreSQL (pgbench), Redis (redis-benchmark) and nginx (wrk),
# each server in a container of the bench image (e2e/bench/image.sh) under Dune mode, native
# mode, runc and runsc --platform=ptrace. Network: every container shares the host's network
# namespace (no network namespace in config.json; runsc gets --network=host), the server
# listens on 127.0.0.1 on a port of its own, and the load generator runs on the host, chrooted
# into the same image (its pgbench, redis-benchmark and wrk: no host packages needed) and talks
# over loopback. Per round and server, the runtimes run in a rotating order; for each: `R run
# --detach`, wait for the port, a warm-up load (repeated until it succeeds, up to 60 s), the
# measured load, `R delete --force`.
#   pgbench          TPC-B-like default script, 4 clients, 2 threads, -T SECONDS; tps
#                    (fsync, synchronous_commit and full_page_writes off: the data directory is
#                    a tmpfs copy of the image's; the cost measured is the server's CPU and calls)
#   redis-benchmark  SET and GET, 16 clients, BENCH_REDIS_REQUESTS requests each (default
#                    20000: it has no time limit); requests/s
#   wrk              2 threads, 16 connections, -d SECONDS, GET of a 615-byte page; requests/s
# Writes $WORK/srv/NAME.METRIC ("round value") and $WORK/srv/notes (wrk's socket errors, which
# are part of the measurement, not a failure); sets srv_failed["NAME/SERVER"] (why a runtime
# has no data for a server: that pair leaves the rest of the run, reported by srv_notes).

srv_names=(dune dune-native runc runsc-ptrace)
srv_list=(postgres redis nginx)
srv_metrics=(pgbench redis-set redis-get wrk)
declare -A srv_of=([pgbench]=postgres [redis-set]=redis [redis-get]=redis [wrk]=nginx)
declare -A srv_metric_label=(
  [pgbench]="PostgreSQL, pgbench tps" [redis-set]="Redis SET, requests/s"
  [redis-get]="Redis GET, requests/s" [wrk]="nginx, wrk requests/s")
declare -A srv_port=([postgres]=${BENCH_PG_PORT:-15432} [redis]=${BENCH_REDIS_PORT:-16379} [nginx]=$BENCH_NGINX_PORT)
declare -A srv_failed=()
srv_ran=()

# srv_rt NAME: RT for a server: runsc shares the host's network stack instead of none
srv_rt() {
  rt "$1"
  [[ $1 == runsc-* ]] && RT=("${RT[@]/--network=none/--network=host}")
  return 0
}

# port_open PORT: exit 0 when something accepts on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# srv_bundles: one bundle per server, host network namespace
srv_bundles() {
  local s d
  bench_bundle "$WORK/srv/postgres" "$WORK/srv/empty" sh -c \
    "cp -a /srv/pgdata /tmp/pg && exec /usr/lib/postgresql/15/bin/postgres -D /tmp/pg -p ${srv_port[postgres]} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" || return 1
  bench_bundle "$WORK/srv/redis" "$WORK/srv/empty" redis-server --port "${srv_port[redis]}" --bind 127.0.0.1 \
    --save "" --appendonly no --protected-mode no --daemonize no --dir /tmp || return 1
  bench_bundle "$WORK/srv/nginx" "$WORK/srv/empty" nginx -c /etc/nginx/bench.conf || return 1
  for s in "${srv_list[@]}"; do
    d=$WORK/srv/$s
    bundle_jq "$d" '.linux.namespaces |= map(select(.type != "network"))'
  done
  # nginx as www-data: a master started as root would chown its temp paths and change its
  # user, which the default capabilities (runc's spec) do not allow
  bundle_jq "$WORK/srv/nginx" --argjson u "$(awk -F: '$1 == "www-data" {print $3}' "$BENCH_IMAGE/rootfs/etc/passwd")" \
    --argjson g "$(awk -F: '$1 == "www-data" {print $4}' "$BENCH_IMAGE/rootfs/etc/passwd")" '.process.user = {uid: $u, gid: $g}'
  # PostgreSQL refuses to run as root
  bundle_jq "$WORK/srv/postgres" --argjson u "$(stat -c %u "$BENCH_IMAGE/rootfs/srv/pgdata")" \
    --argjson g "$(stat -c %g "$BENCH_IMAGE/rootfs/srv/pgdata")" '.process.user = {uid: $u, gid: $g}'
}

# srv_load SERVER SECONDS OUT: one load run from the host; OUT gets "METRIC VALUE" lines
srv_load() {
  local s=$1 secs=$2 out=$3 raw=$WORK/srv/load.raw rc=0 p=${srv_port[$1]}
  case $s in
    postgres)
      bench_chroot "$BENCH_IMAGE/rootfs" /usr/lib/postgresql/15/bin/pgbench -h 127.0.0.1 -p "$p" \
        -U postgres -n -c 4 -j 2 -T "$secs" postgres >"$raw" 2>&1 || rc=$?
      awk '/^tps = / {print "pgbench", $3}' "$raw" >"$out" ;;
    redis)
      bench_chroot "$BENCH_IMAGE/rootfs" redis-benchmark -h 127.0.0.1 -p "$p" -c 16 \
        -n "$(( secs < 2 ? 2000 : ${BENCH_REDIS_REQUESTS:-20000} ))" -t set,get --csv >"$raw" 2>&1 || rc=$?
      tr -d '"' <"$raw" | awk -F, '$1 == "SET" {print "redis-set", $2} $1 == "GET" {print "redis-get", $2}' >"$out" ;;
    nginx)
      bench_chroot "$BENCH_IMAGE/rootfs" wrk -t 2 -c 16 -d "${secs}s" "http://127.0.0.1:$p/" >"$raw" 2>&1 || rc=$?
      # a run with answers other than 2xx is no measurement
      if grep -q 'Non-2xx' "$raw"; then rc=1; fi
      awk '/^Requests\/sec:/ {print "wrk", $2}' "$raw" >"$out" ;;
  esac
  ((rc == 0)) && [[ -s $out ]]
}

# srv_round SERVER NAME ROUND SECONDS: one measured run; appends to $WORK/srv/NAME.METRIC
srv_round() {
  local s=$1 n=$2 r=$3 secs=$4 id="bench-srv-$1-$2-$3" rc=0 t pid kvm metric v
  srv_rt "$n"
  port_open "${srv_port[$s]}" && { srv_failed[$n/$s]="port ${srv_port[$s]} was busy before $s started"; return 1; }
  timeout -k 5 60 "${RT[@]}" run --detach --bundle "$WORK/srv/$s" "$id" </dev/null \
    >"$WORK/srv/$id.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    cleanup "$n" "$id"
    srv_failed[$n/$s]="run --detach: exit status $rc: $(tail -n 2 "$WORK/srv/$id.log" | tr '\n' ' ' | cut -c1-200)"
    return 1
  fi
  # Are we measuring what the label says? A Dune-mode server holds a KVM VM; others do not.
  pid=$("${RT[@]}" state "$id" | jq -r '.pid')
  kvm=$(find "/proc/$pid/fd" -lname 'anon_inode:kvm-vm' 2>/dev/null | wc -l)
  if [[ $n == dune && $kvm == 0 ]] || [[ $n == dune-native && $kvm != 0 ]]; then
    cleanup "$n" "$id"
    srv_failed[$n/$s]="the server process is $([[ $kvm == 0 ]] && echo not) in a KVM VM"
    return 1
  fi
  for ((t = 0; t < 600; t++)); do
    port_open "${srv_port[$s]}" && break
    kill -0 "$pid" 2>/dev/null || break   # the server exited: its log says why
    sleep 0.1
  done
  if ! port_open "${srv_port[$s]}"; then
    srv_failed[$n/$s]="no server on port ${srv_port[$s]}: $(tail -n 2 "$WORK/srv/$id.log" | tr '\n' ' ' | cut -c1-200)"
    cleanup "$n" "$id"
    return 1
  fi
  # warm-up: the first load that succeeds (a server may accept before it serves)
  for ((t = 0; t < 30; t++)); do
    srv_load "$s" 1 "$WORK/srv/warm.out" && break
    sleep 1
  done
  if ((t == 30)) || ! srv_load "$s" "$secs" "$WORK/srv/run.out"; then
    srv_failed[$n/$s]="the load failed: $(tail -n 4 "$WORK/srv/load.raw" | tr '\n' ' ' | cut -c1-160); server: $(tail -n 2 "$WORK/srv/$id.log" | tr '\n' ' ' | cut -c1-160)"
    cleanup "$n" "$id"
    return 1
  fi
  while read -r metric v; do echo "$r $v" >>"$WORK/srv/$n.$metric"; done <"$WORK/srv/run.out"
  grep -h 'Socket errors' "$WORK/srv/load.raw" | sed "s/^ */${label[$n]}, round $((r + 1)): wrk: /" >>"$WORK/srv/notes" || true
  "${RT[@]}" delete --force "$id" >/dev/null 2>&1 || cleanup "$n" "$id"
  for ((t = 0; t < 100; t++)); do port_open "${srv_port[$s]}" || break; sleep 0.1; done
  rm -f "$WORK/srv/$id.log"
}

servers_bench() {
  local rounds=$1 secs=$2 r k n s m
  mkdir -p "$WORK/srv/empty"
  : >"$WORK/srv/notes"
  srv_bundles || return 1
  for n in "${srv_names[@]}"; do for m in "${srv_metrics[@]}"; do : >"$WORK/srv/$n.$m"; done; done
  for ((r = 0; r < rounds; r++)); do
    for s in "${srv_list[@]}"; do
      for ((k = 0; k < ${#srv_names[@]}; k++)); do
        n=${srv_names[$(((r + k) % ${#srv_names[@]}))]}
        [[ -z ${srv_failed[$n/$s]:-} ]] || continue
        srv_round "$s" "$n" "$r" "$secs" ||
          echo "bench: servers: ${label[$n]}: $s: ${srv_failed[$n/$s]} ($s under it left out of the rest of the run)" >&2
      done
      printf '.'
    done
  done
  echo
  for n in "${srv_names[@]}"; do
    for m in "${srv_metrics[@]}"; do
      [[ -s $WORK/srv/$n.$m ]] && { srv_ran+=("$n"); break; }
    done
  done
  return 0
}

# srv_median NAME METRIC: median over the rounds (empty without data)
srv_median() {
  [[ -s $WORK/srv/$1.$2 ]] || return 0
  awk '{print $2}' "$WORK/srv/$1.$2" | sort -g | awk '{v[NR] = $1}
    END {printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# srv_table: markdown rows, median (ratio to runc) per runtime and metric
srv_fmt() { echo "$1"; }
srv_missing() { echo "${srv_failed[$1/${srv_of[$2]}]:+failed}"; }
srv_table() { ratio_table "server, metric" srv_names srv_metrics srv_metric_label srv_median srv_fmt srv_missing; }

# srv_notes: one line per runtime and server that failed (why), and wrk's socket errors
srv_notes() {
  local n s
  for n in "${srv_names[@]}"; do
    for s in "${srv_list[@]}"; do
      [[ -z ${srv_failed[$n/$s]:-} ]] || echo "${label[$n]}, $s: ${srv_failed[$n/$s]}."
    done
  done
  sed 's/$/./' "$WORK/srv/notes"
}

# srv_plot PNG ROUNDS: throughput relative to runc per metric (bars per runtime)
srv_plot() {
  local png=$1 rounds=$2 m n i=0 j b v line xt="" plot="" off
  local -a cols=()
  : >"$WORK/srv/ratios.dat"
  for n in "${srv_names[@]}"; do [[ $n == runc ]] || cols+=("$n"); done
  for m in "${srv_metrics[@]}"; do
    b=$(srv_median runc "$m")
    xt+="${xt:+, }\"${srv_metric_label[$m]/, /\\n}\" $i"
    line="$i"
    for n in "${cols[@]}"; do
      v=$(srv_median "$n" "$m")
      if [[ -n $v && -n $b ]]; then line+=" $(ratio "$v" "$b")"; else line+=" NaN"; fi
    done
    echo "$line" >>"$WORK/srv/ratios.dat"
    i=$((i + 1))
  done
  plot=$(ratio_plot_columns "$WORK/srv/ratios.dat" %.2f "${cols[@]}")
  gnuplot <<GP
set terminal pngcairo size 1000,560 noenhanced font ",11"
set bmargin 4.5
set output "$png"
set title "server throughput in a container, median of $rounds interleaved rounds, relative to runc (= 1)"
set ylabel "throughput / runc's throughput"
set yrange [0:*]
$(ratio_bars_settings "$i" "$xt" 10)
plot $plot
GP
}
