# SPDX-License-Identifier: GPL-2.0
# A small job scheduler for the test command (source it; scripts/test.sh).
#
# The test command is a graph of jobs (set-up, kernel builds, Debian trees,
# dmp.ko builds, guest suites, host checks) on a 2-core machine. Each job is
# a shell function run in the background with its output in
# out/jobs/NAME.log; it starts once the jobs it needs have succeeded and
# there is room for its weight (in quarter-cores: a `make -j2` kernel build
# weighs 8, a guest suite 6, a Debian tree, whose Rust crates compile one
# after the other, 4, a download 1) under DMP_TEST_SLOTS (default 12: a
# build and a tree, or a suite and a tree, but not a build and a suite).
# Jobs are started in the order they were declared, as room allows.
#
#   job NAME WEIGHT "NEEDS..." FUNCTION [ARGS...]
#   run_jobs                       runs them all; returns when every job ended
#
# A job's test results: `result NAME RC` inside it, or its own counts through
# `add_counts P F`; both go to out/jobs/NAME.counts, summed by test.sh. A job
# whose function fails (it could not do its work: a build failed) counts as
# one failure, and the jobs that need it do not run (one failure each).

SCHED_SLOTS=${DMP_TEST_SLOTS:-12}
declare -a SCHED_ORDER=()
declare -A SCHED_W=() SCHED_NEEDS=() SCHED_CMD=() SCHED_STATE=() SCHED_T0=() SCHED_T1=() SCHED_PID=()
SCHED_START=$(date +%s)

job() { # NAME WEIGHT "NEEDS..." FUNCTION [ARGS...]
	local name=$1 w=$2 needs=$3
	shift 3
	SCHED_ORDER+=("$name")
	SCHED_W[$name]=$w
	SCHED_NEEDS[$name]=$needs
	SCHED_CMD[$name]=$(printf '%q ' "$@")
	SCHED_STATE[$name]=wait
}

# Inside a job: record results.
result() { # NAME RC
	if [ "$2" -eq 0 ]; then
		JOB_PASSED=$((JOB_PASSED + 1))
		echo "ok - $1"
	else
		JOB_FAILED=$((JOB_FAILED + 1))
		echo "not ok - $1"
	fi
}
add_counts() { JOB_PASSED=$((JOB_PASSED + $1)) JOB_FAILED=$((JOB_FAILED + $2)); }

sched_slug() { echo "${1//[^A-Za-z0-9_.-]/_}"; }

sched_start() { # NAME
	local name=$1 slug
	slug=$(sched_slug "$name")
	SCHED_T0[$name]=$(date +%s)
	SCHED_STATE[$name]=run
	log "start: $name"
	(
		JOB_NAME=$name JOB_PASSED=0 JOB_FAILED=0
		trap 'echo "$JOB_PASSED $JOB_FAILED" >"out/jobs/'"$slug"'.counts"' EXIT
		eval "${SCHED_CMD[$name]}"
	) >"out/jobs/$slug.log" 2>&1 </dev/null &
	SCHED_PID[$!]=$name
}

sched_used() {
	local n used=0
	for n in "${SCHED_ORDER[@]}"; do
		[ "${SCHED_STATE[$n]}" = run ] && used=$((used + SCHED_W[$n]))
	done
	echo $used
}

# Can NAME start: "yes", "no" (wait), or "dead" (a job it needs failed).
sched_ready() {
	local d
	for d in ${SCHED_NEEDS[$1]}; do
		[ -n "${SCHED_STATE[$d]:-}" ] || { echo dead; return; }
		case ${SCHED_STATE[$d]} in
		ok) ;;
		failed | dead) echo dead; return ;;
		*) echo no; return ;;
		esac
	done
	echo yes
}

sched_finish() { # NAME RC
	local name=$1 rc=$2 slug t
	slug=$(sched_slug "$name")
	SCHED_T1[$name]=$(date +%s)
	t=$((SCHED_T1[$name] - SCHED_T0[$name]))
	[ -f "out/jobs/$slug.counts" ] || echo "0 1" >"out/jobs/$slug.counts"
	# What the job says about its tests, and why it failed.
	grep -E '^not ok' "out/jobs/$slug.log" | sed "s|^|[$name] |"
	if [ "$rc" -eq 0 ]; then
		SCHED_STATE[$name]=ok
		log "done: $name ($t s)"
	else
		SCHED_STATE[$name]=failed
		read -r p f <"out/jobs/$slug.counts"
		[ "$f" -gt 0 ] || echo "$p 1" >"out/jobs/$slug.counts"
		log "FAILED: $name ($t s, exit $rc); the end of out/jobs/$slug.log:"
		tail -25 "out/jobs/$slug.log" | sed "s|^|[$name] |"
	fi
}

run_jobs() {
	local n st free pid rc progress
	mkdir -p out/jobs
	while :; do
		progress=1
		while [ $progress -eq 1 ]; do
			progress=0
			free=$((SCHED_SLOTS - $(sched_used)))
			for n in "${SCHED_ORDER[@]}"; do
				[ "${SCHED_STATE[$n]}" = wait ] || continue
				st=$(sched_ready "$n")
				if [ "$st" = dead ]; then
					SCHED_STATE[$n]=dead
					SCHED_T0[$n]=$(date +%s) SCHED_T1[$n]=$(date +%s)
					echo "0 1" >"out/jobs/$(sched_slug "$n").counts"
					log "not run: $n (a job it needs failed)"
					progress=1
					continue
				fi
				# A job heavier than the machine runs alone.
				if [ "$st" = yes ] && { [ "${SCHED_W[$n]}" -le "$free" ] || [ "$free" -eq "$SCHED_SLOTS" ]; }; then
					sched_start "$n"
					free=$((free - SCHED_W[$n]))
					progress=1
				fi
			done
		done
		[ ${#SCHED_PID[@]} -gt 0 ] || break
		pid=
		wait -n -p pid "${!SCHED_PID[@]}"
		rc=$?
		[ -n "$pid" ] || continue
		n=${SCHED_PID[$pid]}
		unset "SCHED_PID[$pid]"
		sched_finish "$n" "$rc"
	done
}

# The wall time of every job (start offset, duration, state), as a table.
sched_times() {
	local n p f
	printf '%-46s %7s %7s %7s %7s  %s\n' "phase" "start s" "time s" "passed" "failed" "state"
	for n in "${SCHED_ORDER[@]}"; do
		[ -n "${SCHED_T0[$n]:-}" ] || continue
		read -r p f <"out/jobs/$(sched_slug "$n").counts" 2>/dev/null || { p=0 f=1; }
		printf '%-46s %7d %7d %7d %7d  %s\n' "$n" $((SCHED_T0[$n] - SCHED_START)) \
			$((SCHED_T1[$n] - SCHED_T0[$n])) "$p" "$f" "${SCHED_STATE[$n]}"
	done
}

# Sum of the jobs' counts: "PASSED FAILED".
sched_counts() {
	local n p f tp=0 tf=0
	for n in "${SCHED_ORDER[@]}"; do
		read -r p f <"out/jobs/$(sched_slug "$n").counts" 2>/dev/null || { p=0 f=1; }
		tp=$((tp + p)) tf=$((tf + f))
	done
	echo "$tp $tf"
}
