# SPDX-License-Identifier: GPL-2.0
# dmpstat, the user tool: its figures are the kernel's, its outputs are
# well-formed, its errors are one clear line.

DMPSTAT=/dmp/bin/dmpstat

# Skip (exit 77) when the guest has no dmpstat.
need_dmpstat() {
	[ -x $DMPSTAT ] || { echo "no $DMPSTAT in the guest"; exit 77; }
}

# A dmp device dmp1 over a 16 MiB loop device, with 8 reads of 4 KiB and
# 3 writes of 64 KiB done with O_DIRECT.
dmp1_with_io() {
	need_dmpstat
	load
	loop=$(loopdev 16)
	dm dmp1 "0 32768 dmp $loop"
	dread /dev/mapper/dmp1 4096 8
	dwrite /dev/mapper/dmp1 65536 3 10
}

# kstat OP KEY: a figure of `dmsetup message dmp1 0 stats` (OP: read, write, other).
kstat() {
	$DMSETUP message dmp1 0 stats | grep "^$1 .*=" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# khist OP lat_ns|size_b: a histogram of the kernel's stats, comma-separated.
khist() {
	$DMSETUP message dmp1 0 stats | sed -n "s/^$1 $2 //p" | tr ' ' ','
}

# jop JSON OP: the inside of the object OP of the (last) device of a dmpstat
# JSON document (the "module" object comes before the devices).
jop() {
	echo "$1" | sed -n "s/.*\"$2\":{\([^}]*\)}.*/\1/p"
}

# jget OBJECT KEY: a scalar of an object's inside.
jget() {
	echo "$1" | tr ',' '\n' | sed -n "s/^\"$2\"://p"
}

# jarr OBJECT KEY: an array of an object's inside, without its brackets.
jarr() {
	echo "$1" | sed -n "s/.*\"$2\":\[\([^]]*\)\].*/\1/p"
}

# one_line_error RC_WANTED PATTERN CMD...: CMD exits RC_WANTED, prints
# nothing on stdout and one line matching PATTERN on stderr.
one_line_error() {
	local want=$1 pat=$2 rc
	shift 2
	"$@" >"$T/o" 2>"$T/e"
	rc=$?
	assert_eq "$rc" "$want" "exit status of '$*'"
	assert_eq "$(($(wc -l <"$T/e")))" 1 "lines on stderr of '$*' ($(cat "$T/e"))"
	assert_eq "$(($(wc -c <"$T/o")))" 0 "bytes on stdout of '$*'"
	grep -q "^dmpstat: .*$pat" "$T/e" || fail "'$*': '$(cat "$T/e")' does not say '$pat'"
}

t_dmpstat_lists_dmp_devices() {
	need_dmpstat
	load
	loop=$(loopdev 8)
	dm dmp2 "0 8192 dmp $loop"
	dm lin1 "0 8192 linear $loop 0"
	dm dmp1 "$(printf '0 4096 linear %s 0\n4096 4096 dmp %s 4096' "$loop" "$loop")"
	out=$($DMPSTAT -l) || fail "dmpstat -l failed"
	assert_eq "$out" "$(printf 'dmp1\ndmp2')" "dmpstat -l"
	out=$($DMPSTAT --list --json) || fail "dmpstat --list --json failed"
	assert_eq "$out" '{"devices":["dmp1","dmp2"]}' "dmpstat --list --json"
	must $DMSETUP remove dmp2
	assert_eq "$($DMPSTAT -l)" "dmp1" "dmpstat -l after a removal"
}

t_dmpstat_json_equals_kernel_figures() {
	dmp1_with_io
	out=$($DMPSTAT --json dmp1) || fail "dmpstat --json dmp1 failed"
	assert_eq "$(($(echo "$out" | wc -l)))" 1 "lines of one JSON report"
	case $out in '{"time":'*'}') ;; *) fail "not one JSON object: $out" ;; esac
	assert_eq "$(echo "$out" | sed -n 's/.*"interval_s":\([a-z0-9.]*\),.*/\1/p')" null "first report's interval"
	case $out in *'"devices":[{"name":"dmp1","targets":1,'*) ;; *) fail "no device dmp1 in $out" ;; esac
	for op in read write other; do
		o=$(jop "$out" $op)
		[ -n "$o" ] || fail "no '$op' object in $out"
		for key in reqs bytes errors in_flight lat_sum_ns; do
			assert_eq "$(jget "$o" $key)" "$(kstat $op $key)" "$op $key"
		done
		assert_eq "$(jarr "$o" lat_ns)" "$(khist $op lat_ns)" "$op latency histogram"
		assert_eq "$(jarr "$o" size_b)" "$(khist $op size_b)" "$op size histogram"
	done
	r=$(jop "$out" read)
	w=$(jop "$out" write)
	# The exact figures, and `dmsetup status`'s.
	assert_eq "$(jget "$r" reqs)" 8 "reads"
	assert_eq "$(jget "$r" bytes)" 32768 "bytes read"
	assert_eq "$(jget "$r" avg_size)" 4096 "average read size"
	assert_eq "$(jget "$w" reqs)" 3 "writes"
	assert_eq "$(jget "$w" bytes)" 196608 "bytes written"
	assert_eq "$(jget "$w" avg_size)" 65536 "average write size"
	assert_eq "$(jget "$r" reqs)" "$(stat_field dmp1 read_reqs)" "reads vs status"
	assert_eq "$(jget "$r" bytes)" "$(stat_field dmp1 read_bytes)" "bytes read vs status"
	assert_eq "$(jget "$w" reqs)" "$(stat_field dmp1 write_reqs)" "writes vs status"
	assert_eq "$(jget "$w" bytes)" "$(stat_field dmp1 write_bytes)" "bytes written vs status"
	assert_eq "$(jget "$(jop "$out" other)" reqs)" "$(stat_field dmp1 other_reqs)" "others vs status"
	assert_eq "$(jget "$(jop "$out" all)" errors)" "$(stat_field dmp1 errors)" "errors vs status"
	assert_eq "$(jget "$r" in_flight)" 0 "reads in flight"
	assert_eq "$(jget "$r" completed)" 8 "reads completed"
	assert_eq "$(jget "$r" reqs_per_s)" null "first report's rate"
	# 8 reads in the 4 KiB size bucket, 3 writes in the 64 KiB one.
	assert_eq "$(jarr "$r" size_b)" "0,0,0,0,8,0,0,0,0,0,0,0,0" "read sizes"
	assert_eq "$(jarr "$w" size_b)" "0,0,0,0,0,0,0,0,3,0,0,0,0" "write sizes"
	# First report: the largest latency is the kernel's, exact; the
	# percentiles lie below it.
	max=$(jget "$r" lat_max_ns)
	assert_eq "$max" "$(kstat read max_lat_ns)" "largest read latency"
	assert_eq "$(jget "$r" lat_max_exact)" true "largest read latency is exact"
	p50=$(jget "$r" lat_p50_ns)
	p99=$(jget "$r" lat_p99_ns)
	[ "$p50" -gt 0 ] && [ "$p50" -le "$p99" ] && [ "$p99" -le "$max" ] ||
		fail "read latency p50 $p50, p99 $p99, max $max"
	# Module-wide figures: volumes.
	m=$(echo "$out" | sed -n 's/.*"module":{"read":{\([^}]*\)},"write":{\([^}]*\)},"total":{\([^}]*\)}}.*/\1 \2 \3/p')
	assert_eq "$m" '"reqs":8,"avg_size":4096 "reqs":3,"avg_size":65536 "reqs":11,"avg_size":20852' "module figures"
	volumes_is 8 4096 3 65536 11 20852
	note "dmpstat --json: $(echo "$out" | cut -c1-160)..."
}

t_dmpstat_plain_and_histogram() {
	dmp1_with_io
	out=$($DMPSTAT dmp1) || fail "dmpstat dmp1 failed"
	assert_eq "$(echo "$out" | sed -n 1p)" \
		"dmp module (since load or reset): read 8 reqs avg 4096 B, write 3 reqs avg 65536 B, total 11 reqs avg 20852 B" \
		"module line"
	# shellcheck disable=SC2046
	set -- $(echo "$out" | sed -n 2p)
	assert_eq "$1 $2 $3 $4 $5" "Device reads writes rkB wkB" "header of a first report"
	# shellcheck disable=SC2046
	set -- $(echo "$out" | sed -n 3p)
	assert_eq "$1 $2 $3 $4 $5 $6 $7 $8 $9" "dmp1 8.00 3.00 32.00 192.00 4.00 64.00 0.00 0" "row of dmp1"
	assert_eq "$(($(echo "$out" | wc -l)))" 3 "lines of a one-device report"
	out=$($DMPSTAT --histogram dmp1) || fail "dmpstat --histogram dmp1 failed"
	echo "$out" | grep -q '^dmp1 read latency: 8 completed, p50 ' || fail "no read latency histogram: $out"
	echo "$out" | grep -q '^dmp1 read size: 8 requests, avg 4096 B$' || fail "no read size histogram: $out"
	echo "$out" | grep -q '^  \[    4KiB,     8KiB)          8 100.0% #' || fail "no 4 KiB bucket: $out"
	echo "$out" | grep -q '^  \[   64KiB,   128KiB)          3 100.0% #' || fail "no 64 KiB bucket: $out"
	# Rows of latency buckets add up to the completed reads.
	n=$(echo "$out" | sed -n '/^dmp1 read latency/,/^dmp1 read size/p' | grep '^  \[' |
		while read -r _ _ _ c _; do echo "$c"; done | { s=0; while read -r c; do s=$((s + c)); done; echo $s; })
	assert_eq "$n" 8 "read latency buckets"
}

t_dmpstat_sums_the_targets_of_a_device() {
	need_dmpstat
	load
	loop=$(loopdev 8)
	dm dmp2 "$(printf '0 4096 dmp %s\n4096 12288 dmp %s 4096' "$loop" "$loop")"
	dread /dev/mapper/dmp2 4096 2
	dread /dev/mapper/dmp2 4096 3 1000
	assert_eq "$(stat_field dmp2 read_reqs 1) $(stat_field dmp2 read_reqs 2)" "2 3" "reads per target"
	out=$($DMPSTAT --json dmp2) || fail "dmpstat --json dmp2 failed"
	case $out in *'"name":"dmp2","targets":2,'*) ;; *) fail "not 2 targets: $out" ;; esac
	assert_eq "$(jget "$(jop "$out" read)" reqs)" 5 "reads of both targets"
	assert_eq "$(jget "$(jop "$out" read)" bytes)" 20480 "bytes read of both targets"
}

t_dmpstat_interval_reports_deltas() {
	dmp1_with_io
	$DMPSTAT --json dmp1 5 2 >"$T/out" 2>"$T/err" &
	pid=$!
	# The first report (8 reads since creation) is out: then a reset and
	# 2 reads, which the second report shows as the interval's.
	i=0
	while [ ! -s "$T/out" ] && [ $i -lt 40 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done
	[ -s "$T/out" ] || fail "no first report"
	must $DMSETUP message dmp1 0 reset
	dread /dev/mapper/dmp1 4096 2
	wait $pid || fail "dmpstat --json dmp1 5 2 failed: $(cat "$T/err")"
	assert_eq "$(($(wc -l <"$T/out")))" 2 "reports"
	first=$(sed -n 1p "$T/out")
	second=$(sed -n 2p "$T/out")
	assert_eq "$(jget "$(jop "$first" read)" reqs)" 8 "reads of the first report"
	r=$(jop "$second" read)
	assert_eq "$(jget "$r" reqs)" 2 "reads of the interval"
	assert_eq "$(jget "$r" bytes)" 8192 "bytes read in the interval"
	assert_eq "$(jget "$(jop "$second" write)" reqs)" 0 "writes in the interval"
	iv=$(echo "$second" | sed -n 's/.*"interval_s":\([0-9.]*\),.*/\1/p')
	case $iv in 4.9* | 5 | 5.0* | 5.1*) ;; *) fail "interval $iv s, not 5" ;; esac
	case $(jget "$r" reqs_per_s) in 0.39* | 0.4 | 0.40*) ;; *) fail "reads/s $(jget "$r" reqs_per_s)" ;; esac
}

t_dmpstat_interrupt_ends_after_a_whole_document() {
	dmp1_with_io
	for sig in INT TERM; do
		# No old output may be taken for the new run's.
		rm -f "$T/out"
		$DMPSTAT --json 1 >"$T/out" 2>"$T/err" &
		pid=$!
		i=0
		while [ "$(($(cat "$T/out" 2>/dev/null | wc -l)))" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done
		kill -$sig $pid
		wait $pid
		rc=$?
		assert_eq "$rc" 0 "exit status after SIG$sig"
		[ -s "$T/err" ] && fail "stderr after SIG$sig: $(cat "$T/err")"
		n=$(($(wc -l <"$T/out")))
		[ "$n" -ge 2 ] || fail "$n reports before SIG$sig"
		assert_eq "$(grep -c '^{"time":.*}$' "$T/out")" "$n" "whole documents after SIG$sig"
		assert_eq "$(($(tail -c 1 "$T/out" | wc -l)))" 1 "newline at the end after SIG$sig"
	done
}

t_dmpstat_prometheus_text() {
	dmp1_with_io
	out=$($DMPSTAT --prometheus dmp1) || fail "dmpstat --prometheus dmp1 failed"
	# The classic text format 0.0.4: no EOF, no UNIT, TYPE on the sample name.
	assert_eq "$(echo "$out" | grep -c '^# EOF\|^# UNIT')" 0 "EOF and UNIT lines"
	while read -r want; do
		echo "$out" | grep -qxF "$want" || fail "no line '$want' in: $out"
	done <<-'EOF'
		# TYPE dmp_requests_total counter
		# HELP dmp_io_bytes_total Bytes of the mapped requests.
		dmp_requests_total{device="dmp1",op="read"} 8
		dmp_requests_total{device="dmp1",op="write"} 3
		dmp_io_bytes_total{device="dmp1",op="read"} 32768
		dmp_io_bytes_total{device="dmp1",op="write"} 196608
		dmp_errors_total{device="dmp1",op="read"} 0
		dmp_in_flight_requests{device="dmp1",op="read"} 0
		dmp_device_targets{device="dmp1"} 1
		# TYPE dmp_request_latency_seconds histogram
		dmp_request_latency_seconds_count{device="dmp1",op="read"} 8
		dmp_request_latency_seconds_bucket{device="dmp1",op="read",le="+Inf"} 8
		# TYPE dmp_request_size_bytes histogram
		dmp_request_size_bytes_bucket{device="dmp1",op="read",le="4095.0"} 0
		dmp_request_size_bytes_bucket{device="dmp1",op="read",le="8191.0"} 8
		dmp_request_size_bytes_bucket{device="dmp1",op="write",le="65535.0"} 0
		dmp_request_size_bytes_bucket{device="dmp1",op="write",le="131071.0"} 3
		dmp_request_size_bytes_count{device="dmp1",op="write"} 3
		dmp_request_size_bytes_sum{device="dmp1",op="write"} 196608.0
		dmp_module_requests_total{op="read"} 8
		dmp_module_requests_total{op="write"} 3
		dmp_module_request_size_average_bytes{op="write"} 65536
	EOF
	# Every sample line is NAME{LABELS} VALUE; each family has one TYPE.
	bad=$(echo "$out" | grep -v '^#' | grep -v '^[a-z_]*{[^}]*} [0-9.e+-]*$' | head -1)
	[ -z "$bad" ] || fail "malformed sample line '$bad'"
	assert_eq "$(echo "$out" | grep '^# TYPE ' | sort | uniq -d)" "" "repeated TYPE lines"
	# The latency sum is the kernel's, in seconds.
	sum=$(echo "$out" | sed -n 's/^dmp_request_latency_seconds_sum{device="dmp1",op="read"} //p')
	[ -n "$sum" ] || fail "no read latency sum"
	# --output: written whole through a rename, nothing else left behind.
	must $DMPSTAT --prometheus -o "$T/dmp.prom" dmp1
	assert_eq "$(tail -1 "$T/dmp.prom")" \
		'dmp_request_size_bytes_sum{device="dmp1",op="other"} 0.0' "last line of the file"
	assert_eq "$(ls "$T" | grep -c 'dmp\.prom')" 1 "files left"
}

t_dmpstat_bad_arguments_and_devices() {
	need_dmpstat
	load
	loop=$(loopdev 4)
	dm dmp1 "0 8192 dmp $loop"
	dm lin1 "0 8192 linear $loop 0"
	one_line_error 2 "unexpected argument '--bogus'" $DMPSTAT --bogus
	one_line_error 2 "INTERVAL '0'" $DMPSTAT 0
	one_line_error 2 "INTERVAL '0'" $DMPSTAT dmp1 0
	one_line_error 2 "COUNT '0'" $DMPSTAT 1 0
	one_line_error 2 "COUNT '1.5'" $DMPSTAT dmp1 1 1.5
	one_line_error 2 "unexpected argument '-5'" $DMPSTAT dmp1 1 -5
	one_line_error 2 "cannot be used with" $DMPSTAT --json --prometheus
	one_line_error 2 "needs an INTERVAL" $DMPSTAT -y dmp1
	one_line_error 1 "no such device: nosuch" $DMPSTAT nosuch
	one_line_error 1 "no such device: nosuch" $DMPSTAT --json dmp1 nosuch 1 2
	one_line_error 1 "lin1 is not a dmp device" $DMPSTAT lin1
	one_line_error 1 "Permission denied (dmpstat must run as root)" \
		$SETPRIV --reuid=65534 --regid=65534 --clear-groups $DMPSTAT
	# A named device removed during a run is an error too.
	$DMPSTAT dmp1 1 >"$T/out" 2>"$T/err" &
	pid=$!
	i=0
	while [ ! -s "$T/out" ] && [ $i -lt 40 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done
	must $DMSETUP remove dmp1
	wait $pid
	assert_eq "$?" 1 "exit status after the device went away"
	grep -q '^dmpstat: no such device: dmp1' "$T/err" || fail "stderr: $(cat "$T/err")"
	must $DMPSTAT --help
	grep -q 'linear' "$T/.out" || fail "--help does not say how percentiles are estimated"
}

t_dmpstat_without_the_module() {
	need_dmpstat
	grep -q '^dmp ' /proc/modules && fail "dmp is loaded"
	one_line_error 1 "dmp is not loaded (no /sys/module/dmp)" $DMPSTAT
	one_line_error 1 "dmp is not loaded" $DMPSTAT -l
	one_line_error 1 "dmp is not loaded" $DMPSTAT --json dmp1 1 3
	# Usage errors come first.
	one_line_error 2 "unexpected argument" $DMPSTAT --bogus
}
