# SPDX-License-Identifier: GPL-2.0
# Monitoring through the real components: dmpstat's exporter (--listen) and
# its textfile output read by Debian's prometheus-node-exporter, both scraped
# by Debian's Prometheus; what PromQL answers equals the kernel's figures.

PROMETHEUS=/usr/bin/prometheus
NODE_EXPORTER=/usr/bin/prometheus-node-exporter
HTTP=/dmp/bin/http_get
EXPORTER_ADDR=127.0.0.1:9947
NODE_ADDR=127.0.0.1:9100
PROM_ADDR=127.0.0.1:9090

need_monitoring() {
	# The project's scripts put every one of them in the guest: one missing
	# is a failure, never a skip (the case must not pass without them).
	[ -x /dmp/bin/dmpstat ] || { echo "  FAIL: no /dmp/bin/dmpstat in the guest"; exit 1; }
	for b in $PROMETHEUS $NODE_EXPORTER $HTTP; do
		[ -x $b ] || { echo "  FAIL: no $b in the guest (scripts/initramfs.sh)"; exit 1; }
	done
	ip link set lo up 2>/dev/null
}

# The background processes of a case, stopped when it ends (also on failure).
BG=
bg_start() {
	"$@" >>"$T/bg.log" 2>&1 &
	BG="$BG $!"
}
bg_stop() {
	for p in $BG; do kill "$p" 2>/dev/null; done
	for p in $BG; do wait "$p" 2>/dev/null; done
	BG=
}

# wait_for SECONDS WHAT CMD...: until CMD succeeds.
wait_for() {
	local n=$(($1 * 5)) what=$2
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || { tail -20 "$T/bg.log"; fail "timed out waiting for $what"; }
		sleep 0.2
	done
}

# http_code ADDR PATH [ARGS...]: the status code of a GET.
http_code() { $HTTP "$@" | head -1; }

is_200() { [ "$(http_code "$@")" = 200 ]; }

# query_is EXPR VALUE: the query's one value is VALUE now.
query_is() { [ "$(promq "$1")" = "$2" ]; }
# query_has EXPR: the query answers a series now (a filter: "X >= 2").
query_has() {
	local v
	v=$(promq "$1")
	[ -n "$v" ] && [ "$v" != none ]
}

# promq EXPR [TIME]: the value of a one-element instant vector, or "none".
promq() {
	local out
	out=$($HTTP $PROM_ADDR /api/v1/query "query=$1" ${2:+time=$2} | tail -1)
	case $out in
	*'"status":"success"'*) ;;
	*) fail "query '$1': $out" ;;
	esac
	case $out in
	*'"result":[]'*) echo none ;;
	*'"result":[{'*'},{'*) fail "query '$1' gave several series: $out" ;;
	*) echo "$out" | sed -n 's/.*"value":\[[0-9.e+]*,"\([^"]*\)"\].*/\1/p' ;;
	esac
}

# samples SELECTOR RANGE: the raw samples of one series, one "TIME VALUE" a line.
samples() {
	$HTTP $PROM_ADDR /api/v1/query "query=$1[$2]" | tail -1 |
		sed -n 's/.*"values":\[\[\(.*\)\]\]}.*/\1/p' | sed 's/\],\[/;/g' | tr ';' '\n' | tr -d '"' | tr ',' ' ' | awk 1
}

# prom_norm: sample lines (not comments) with labels sorted, numbers as %.17g,
# so texts of different encoders compare (Go writes 1.023e-06 for 0.000001023).
prom_norm() {
	awk '/^#/ || NF == 0 { next }
	{
		i = index($0, "{")
		if (i == 0) { name = $1; lab = ""; val = $2 }
		else { name = substr($0, 1, i - 1); j = index($0, "} "); lab = substr($0, i + 1, j - i - 1); val = substr($0, j + 2) }
		n = split(lab, a, ",")
		for (k = 1; k <= n; k++) {
			split(a[k], kv, "=")
			v = kv[2]; gsub(/"/, "", v)
			if (kv[1] == "le" && v != "+Inf") v = sprintf("%.17g", v + 0)
			a[k] = kv[1] "=" v
		}
		for (k = 2; k <= n; k++) { x = a[k]; m = k - 1; while (m > 0 && a[m] > x) { a[m + 1] = a[m]; m-- } a[m + 1] = x }
		s = ""
		for (k = 1; k <= n; k++) s = s (k > 1 ? "," : "") a[k]
		printf "%s{%s} %.17g\n", name, s, val + 0
	}' | sort
}

# kbucket OP Q: the index of the kernel bucket that holds the rank Q*N of
# dmpmix's OP latency histogram (as histogram_quantile picks it), then its
# bounds as Prometheus' le: "INDEX LE_BELOW LE_TOP" (seconds).
kbucket() {
	local s
	s=$($DMSETUP message dmpmix 0 stats)
	{
		echo "$s" | sed -n 's/^lat_ns_lower //p'
		echo "$s" | sed -n "s/^$1 lat_ns //p"
	} | awk -v q="$2" 'NR == 1 { for (i = 1; i <= NF; i++) lo[i] = $i; nb = NF; next }
	{
		for (i = 1; i <= NF; i++) n += $i
		r = q * n
		for (i = 1; i <= NF; i++) { c += $i; if (c >= r) break }
		below = (i == 1) ? 0 : (lo[i] - 1) / 1e9
		top = (i < nb) ? (lo[i + 1] - 1) / 1e9 : "+Inf"
		printf "%d %.9f %s\n", i - 1, below, (i < nb) ? sprintf("%.9f", top) : top
	}'
}

# 90 fast reads and 10 reads delayed 80 ms by dm-delay below dmp: the median
# is in a fast bucket, p99 in [2^26, 2^27) ns.
mix_devices() {
	dm zero1 "0 20480 zero"
	dm mix "$(printf '0 10240 linear /dev/mapper/zero1 0\n10240 10240 delay /dev/mapper/zero1 10240 80')"
	dm dmpmix "0 20480 dmp /dev/mapper/mix"
}
mix_io() {
	dread /dev/mapper/dmpmix 4096 90
	dread /dev/mapper/dmpmix 4096 10 1280
}

prom_config() {
	cat >"$T/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: dmpstat
		    static_configs:
		      - targets: ['$EXPORTER_ADDR']
		  - job_name: node
		    static_configs:
		      - targets: ['$NODE_ADDR']
	EOF
}

# Known I/O through dmp while Prometheus scrapes the exporter and
# node_exporter (textfile): the counter, increase() over the run and
# histogram_quantile() of both jobs against the kernel's figures.
t_monitoring_prometheus_scrapes_exporter_and_node_exporter() {
	need_monitoring
	load
	mix_devices
	trap bg_stop EXIT
	mkdir -p "$T/textfile" "$T/tsdb"
	bg_start $DMPSTAT --listen $EXPORTER_ADDR
	bg_start $DMPSTAT --prometheus -o "$T/textfile/dmp.prom" 0.5
	bg_start $NODE_EXPORTER --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$T/textfile" --web.listen-address=$NODE_ADDR
	prom_config
	start=$(date +%s)
	bg_start $PROMETHEUS --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
		--web.listen-address=$PROM_ADDR --log.level=warn
	wait_for 90 "Prometheus ready" is_200 $PROM_ADDR /-/ready
	note "Prometheus ready after $(($(date +%s) - start)) s"
	sel='dmp_requests_total{device="dmpmix",op="read"'
	# Both jobs have scraped the device before the I/O (its counters at 0).
	for job in dmpstat node; do
		wait_for 30 "two scrapes of job $job" query_has "count_over_time($sel,job=\"$job\"}[1m]) >= 2"
	done
	mix_io
	status_is dmpmix "read_reqs=100 read_bytes=409600 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	for job in dmpstat node; do
		wait_for 30 "job $job to see 100 reads" query_is "$sel,job=\"$job\"}" 100
	done
	# One more scrape of each, so that the last samples are after the I/O.
	sleep 2
	for job in dmpstat node; do
		s="$sel,job=\"$job\"}"
		samples "$s" 5m >"$T/samples"
		first=$(head -1 "$T/samples") last=$(tail -1 "$T/samples")
		assert_eq "${first#* }" 0 "first sample of $s"
		assert_eq "${last#* }" 100 "last sample of $s"
		# The range from the first sample to the last, queried at the
		# last: increase() has nothing to extrapolate.
		t_last=${last% *}
		ms=$(echo "${first% *} $t_last" | awk '{ printf "%d", ($2 - $1) * 1000 + 0.5 }')
		assert_eq "$(promq "$s" "$t_last")" 100 "$s at $t_last"
		inc=$(promq "increase(${s}[${ms}ms])" "$t_last")
		note "job $job: GET /api/v1/query?query=increase(${s}[${ms}ms])&time=$t_last: $($HTTP $PROM_ADDR /api/v1/query "query=increase(${s}[${ms}ms])" time=$t_last | tail -1)"
		assert_eq "$inc" 100 "increase($s[${ms}ms]) at $t_last"
		note "job $job: $(wc -l <"$T/samples") samples over $ms ms, increase() = $inc, kernel read_reqs = 100"
		for q in 0.5 0.99; do
			b=$(kbucket read $q)
			set -- $b
			expr="histogram_quantile($q, sum by (le) (increase(dmp_request_latency_seconds_bucket{device=\"dmpmix\",op=\"read\",job=\"$job\"}[${ms}ms])))"
			v=$(promq "$expr" "$t_last")
			echo "$v $2 $3" | awk '{ exit !($1 >= $2 && $1 <= $3) }' ||
				fail "$job: quantile $q = $v s, outside the kernel's bucket $1: [$2, $3] s"
			# 80 ms: [2^26, 2^27) ns, or above if the host stalled the VM.
			[ $q = 0.99 ] && { [ "$1" -ge 17 ] || fail "the kernel's bucket of p99: $1, below 2^26 ns (80 ms)"; }
			note "job $job: histogram_quantile($q) = $v s, kernel bucket $1 = [$2, $3] s"
		done
	done
	assert_eq "$(promq 'sum(up)')" 2 "targets up"
}

# node_exporter's /metrics has every dmp family of the textfile with the
# HELP and TYPE dmpstat wrote, and the same values, which are the kernel's.
t_monitoring_node_exporter_keeps_types_help_and_values() {
	need_monitoring
	load
	mix_devices
	dd if=/dev/urandom of=/dev/mapper/dmpmix bs=65536 count=3 oflag=direct status=none || fail "writes"
	dread /dev/mapper/dmpmix 4096 7
	trap bg_stop EXIT
	mkdir -p "$T/textfile"
	must $DMPSTAT --prometheus -o "$T/textfile/dmp.prom"
	bg_start $NODE_EXPORTER --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$T/textfile" --web.listen-address=$NODE_ADDR
	wait_for 30 "node_exporter" is_200 $NODE_ADDR /metrics
	$HTTP $NODE_ADDR /metrics >"$T/node"
	grep -q '^node_textfile_scrape_error 0$' "$T/node" || fail "textfile error: $(grep textfile "$T/node")"
	f="$T/textfile/dmp.prom"
	grep '^# \(HELP\|TYPE\) dmp_' "$f" | sort >"$T/want.meta"
	grep '^# \(HELP\|TYPE\) dmp_' "$T/node" | sort >"$T/got.meta"
	assert_eq "$(grep -c '^# TYPE' "$T/want.meta")" 10 "families in the textfile"
	assert_eq "$(grep -c 'untyped' "$T/got.meta")" 0 "untyped families in node_exporter"
	cmp -s "$T/want.meta" "$T/got.meta" || fail "HELP/TYPE differ: $(diff "$T/want.meta" "$T/got.meta" | head)"
	grep '^dmp_' "$f" | prom_norm >"$T/want.samples"
	grep '^dmp_' "$T/node" | prom_norm >"$T/got.samples"
	cmp -s "$T/want.samples" "$T/got.samples" || fail "samples differ: $(diff "$T/want.samples" "$T/got.samples" | head)"
	# The values are the kernel's.
	status_is dmpmix "read_reqs=7 read_bytes=28672 write_reqs=3 write_bytes=196608 other_reqs=0 errors=0"
	for want in 'dmp_requests_total{device="dmpmix",op="read"} 7' \
		'dmp_requests_total{device="dmpmix",op="write"} 3' \
		'dmp_io_bytes_total{device="dmpmix",op="write"} 196608' \
		'dmp_request_size_bytes_bucket{device="dmpmix",op="write",le="131071"} 3' \
		'dmp_request_size_bytes_bucket{device="dmpmix",op="write",le="65535"} 0' \
		"dmp_request_latency_seconds_count{device=\"dmpmix\",op=\"read\"} $(kstat_of dmpmix read reqs)"; do
		grep -qxF "$want" "$T/node" || fail "no '$want' in node_exporter's /metrics"
	done
	grep -E '^(# (HELP|TYPE) )?dmp_requests_total|^(# (HELP|TYPE) )?dmp_request_latency_seconds(_count)?[ {]|dmp_request_latency_seconds_bucket\{device="dmpmix",op="read",le="(1.6383e-05|3.2767e-05|\+Inf)"' "$T/node" |
		while read -r l; do note "node_exporter: $l"; done
	note "node_exporter: $(grep -c '^dmp_' "$T/node") dmp samples, $(grep -c '^# TYPE dmp_' "$T/node") families, equal to the textfile"
}

# kstat_of DEV OP KEY: a figure of the kernel's stats message.
kstat_of() {
	$DMSETUP message "$1" 0 stats | grep "^$2 .*=" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

# The exporter: classic text by default, OpenMetrics when asked; 404, 400,
# 405 without dying; each scrape reads the kernel.
t_monitoring_exporter_http() {
	need_monitoring
	load
	mix_devices
	trap bg_stop EXIT
	bg_start $DMPSTAT --listen $EXPORTER_ADDR
	wait_for 20 "the exporter" is_200 $EXPORTER_ADDR /metrics
	$HTTP $EXPORTER_ADDR /metrics >"$T/classic"
	grep -qx 'Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/classic" || fail "classic Content-Type: $(head -5 "$T/classic")"
	grep -qxF 'dmp_requests_total{device="dmpmix",op="read"} 0' "$T/classic" || fail "no zero reads"
	grep -q '^# EOF' "$T/classic" && fail "EOF in the classic text"
	dread /dev/mapper/dmpmix 4096 5
	$HTTP $EXPORTER_ADDR /metrics -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' >"$T/om"
	grep -qx 'Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$T/om" || fail "OpenMetrics Content-Type: $(head -5 "$T/om")"
	assert_eq "$(tail -1 "$T/om")" "# EOF" "last line of the OpenMetrics text"
	grep -qxF 'dmp_requests_total{device="dmpmix",op="read"} 5' "$T/om" || fail "no 5 reads in the OpenMetrics text"
	grep -qxF '# TYPE dmp_requests counter' "$T/om" || fail "no OpenMetrics family dmp_requests"
	assert_eq "$(http_code $EXPORTER_ADDR /)" 404 "GET /"
	assert_eq "$(http_code $EXPORTER_ADDR /metrics/x)" 404 "GET /metrics/x"
	assert_eq "$(printf 'BREW /metrics HTCPCP/1.0\r\n\r\n' | $HTTP --raw $EXPORTER_ADDR | head -1)" 400 "a bad request line"
	assert_eq "$(printf 'GET /metrics HTTP/1.1\r\nno colon\r\n\r\n' | $HTTP --raw $EXPORTER_ADDR | head -1)" 400 "a bad header"
	# Binary garbage: tiny_http closes the connection without an answer.
	printf '\000\377garbage\r\n\r\n' | $HTTP --raw $EXPORTER_ADDR >"$T/garbage" 2>&1
	assert_eq "$(cat "$T/garbage")" "http_get: $EXPORTER_ADDR: no HTTP response (0 bytes)" "binary garbage"
	assert_eq "$(printf 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' | $HTTP --raw $EXPORTER_ADDR | head -1)" 405 "POST"
	# Eight scrapes at once, all answered, with the kernel's figure.
	pids=
	for i in 1 2 3 4 5 6 7 8; do
		$HTTP $EXPORTER_ADDR /metrics >"$T/c$i" &
		pids="$pids $!"
	done
	for p in $pids; do wait $p; done
	for i in 1 2 3 4 5 6 7 8; do
		grep -qxF 'dmp_requests_total{device="dmpmix",op="read"} 5' "$T/c$i" || fail "concurrent scrape $i: $(head -3 "$T/c$i")"
	done
	# The device gone: the scrape answers without it; the module gone: 500.
	must $DMSETUP remove dmpmix
	$HTTP $EXPORTER_ADDR /metrics >"$T/gone"
	assert_eq "$(head -1 "$T/gone")" 200 "a scrape after the removal"
	grep -q 'device="dmpmix"' "$T/gone" && fail "dmpmix still exported"
	must rmmod dmp
	assert_eq "$(http_code $EXPORTER_ADDR /metrics)" 500 "a scrape without the module"
	load
	one_line_error 2 "bad listen address 'nope'" $DMPSTAT --listen nope
	$DMPSTAT --listen $EXPORTER_ADDR >"$T/o" 2>"$T/e"
	assert_eq "$?" 1 "exit status of a second exporter on the same address"
	grep -q "^dmpstat: cannot listen on $EXPORTER_ADDR: .*in use" "$T/e" || fail "second exporter: $(cat "$T/e")"
	# Still serving after all that.
	assert_eq "$(http_code $EXPORTER_ADDR /metrics)" 200 "a scrape at the end"
	note "exporter: classic and OpenMetrics, 404/400/405/500, 8 concurrent scrapes"
}

# up_cs: uptime in centiseconds.
up_cs() {
	local u
	read -r u _ </proc/uptime
	echo "$u" | awk '{ printf "%d", $1 * 100 }'
}

# sleep_until CS: sleeps until the uptime is CS centiseconds.
sleep_until() {
	local now
	now=$(up_cs)
	[ "$1" -gt "$now" ] && sleep "$(echo "$1 $now" | awk '{ printf "%.2f", ($1 - $2) / 100 }')"
	return 0
}

# A bimodal workload through dmp (dmpmix: 6 fast reads and 6 reads delayed
# 80 ms by dm-delay in each busy interval, from 0.5 s into it) in 6 intervals of 3 s, of which
# the third and fifth have no I/O: dmpstat --heatmap draws cells in the busy
# columns only, in the rows of the kernel's non-empty buckets (two bands).
# The SVG, the kernel's final stats and the busy columns are left in /tmp
# for tests/host-checks/heatmap.sh, which renders the SVG in Chromium.
HEATMAP_BUSY="0 1 3 5"
t_dmpstat_heatmap_bimodal() {
	need_dmpstat
	load
	mix_devices
	rm -f /tmp/dmp-heatmap.svg /tmp/dmp-heatmap.stats
	start=$(up_cs)
	$DMPSTAT --heatmap "$T/h.svg" dmpmix 3 6 >"$T/out" 2>&1 &
	pid=$!
	for i in $HEATMAP_BUSY; do
		sleep_until $((start + 300 * i + 50))
		mix_burst
	done
	wait $pid
	assert_eq "$?" 0 "dmpstat --heatmap exit status ($(cat "$T/out"))"
	[ -s "$T/out" ] && fail "dmpstat --heatmap printed: $(cat "$T/out")"
	late=$(($(up_cs) - start))
	status_is dmpmix "read_reqs=48 read_bytes=196608 write_reqs=0 write_bytes=0 other_reqs=0 errors=0"
	$DMSETUP message dmpmix 0 stats >"$T/stats"
	# The read latency panel of the SVG: its cells by column and bucket.
	panel=$(sed -n '/data-kind="latency" data-device="dmpmix" data-op="read"/,/<\/g>/p' "$T/h.svg")
	[ -n "$panel" ] || fail "no read latency panel: $(head -c 600 "$T/h.svg")"
	geo=$(echo "$panel" | head -1 | sed 's/.*data-x0="\([0-9]*\)" data-y0="\([0-9]*\)" data-cw="\([0-9]*\)" data-ch="\([0-9]*\)" data-cols="\([0-9]*\)" data-b0="\([0-9]*\)" data-b1="\([0-9]*\)".*/\1 \2 \3 \4 \5 \6 \7/')
	set -- $geo
	assert_eq "$5" 6 "columns of the heatmap"
	# col:bucket of each cell.
	cells=$(echo "$panel" | sed -n 's/^<rect x="\([0-9]*\)" y="\([0-9]*\)" width="[0-9]*" height="[0-9]*" fill="#.*/\1 \2/p' |
		awk -v x0=$1 -v y0=$2 -v cw=$3 -v ch=$4 -v b1=$7 'NR > 0 { print ($1 - x0) / cw ":" b1 - ($2 - y0) / ch }' | sort -u)
	cols=$(echo "$cells" | cut -d: -f1 | sort -un | tr '\n' ' ')
	assert_eq "$cols" "$HEATMAP_BUSY " "columns with cells (busy intervals)"
	rows=$(echo "$cells" | cut -d: -f2 | sort -un | tr '\n' ' ')
	want=$(sed -n 's/^read lat_ns //p' "$T/stats" | awk '{ for (i = 1; i <= NF; i++) if ($i > 0) printf "%d ", i - 1 }')
	assert_eq "$rows" "$want" "rows with cells (the kernel's non-empty read latency buckets)"
	# Half the reads (the delayed ones) from 2^26 ns up, half below 2^25.
	set -- $(sed -n 's/^read lat_ns //p' "$T/stats")
	# (80 ms: [2^26, 2^27) ns, or above when the host stalls the VM).
	slow=$(echo "$@" | awk '{ for (i = 18; i <= NF; i++) n += $i; print n + 0 }')
	assert_eq "$slow" 24 "reads at 2^26 ns (67 ms) or more"
	assert_eq "${17}" 0 "reads in [2^25, 2^26) ns"
	cp "$T/h.svg" /tmp/dmp-heatmap.svg
	cp "$T/stats" /tmp/dmp-heatmap.stats
	note "heatmap: 6 columns, cells in columns $cols, rows $rows (kernel buckets $want), run ended at $late cs"
}
mix_burst() {
	dread /dev/mapper/dmpmix 4096 6
	dread /dev/mapper/dmpmix 4096 6 1280
}
