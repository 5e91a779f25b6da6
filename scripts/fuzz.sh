#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fuzz.sh: coverage-guided fuzzing campaigns with libFuzzer (ASan+UBSan),
# one target after another, each starting from its committed corpus
# (tests/fuzz/corpus/T and tests/data/fuzz/T). Builds ./build-fuzz with
# clang (-DSLIPWAY_FUZZ=ON), runs each target at nice 19 until --runs
# executions or --minutes, whichever comes first, then minimises the old
# corpus plus what it grew into BUILD-FUZZ/campaign/T/merged (-merge=1)
# and prints one line per target. --update puts the merged set in place of
# tests/fuzz/corpus/T (inputs holding a PRIVATE KEY go to tests/data/fuzz/T
# instead); commit it. A crash stops that target's run: its input is left
# in BUILD-FUZZ/campaign/T/ (crash-*, leak-*, timeout-*, oom-*).
#   scripts/fuzz.sh                          every target, 10 M runs or 60 min
#   scripts/fuzz.sh --minutes 5 http_head    one target, 5 minutes
#   scripts/fuzz.sh --seconds 10 --no-merge  a quick pass over all targets
#   scripts/fuzz.sh --list                   the targets, their -max_len and dictionary
# --build DIR builds and runs another build directory than ./build-fuzz.
# Not under /work/tools/heavy.sh: it uses one core; run at most two at once.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
secs=3600 runs=10000000 build=1 merge=1 update=0 out= bdir=$src/build-fuzz
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) secs=$(( $2 * 60 )); shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--build) bdir=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--no-merge) merge=0; shift ;;
	--update) update=1; shift ;;
	--list) list=1; shift ;;
	-h|--help) sed -n '3,20p' "$0"; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
case $bdir in /*) ;; *) bdir=$src/$bdir ;; esac
out=${out:-$bdir/campaign}

# per target: -max_len (a little above the largest real input) and dictionary
opts() {
	case $1 in
	backup_file)	echo "32768 -" ;;
	checksums)	echo "4096 checksums" ;;
	crl_der)	echo "2048 pem" ;;
	csr_policy)	echo "8192 json" ;;
	csr_watch)	echo "8192 json" ;;
	http_head)	echo "16384 http" ;;
	http_request)	echo "4096 http" ;;
	inventory_yaml)	echo "8192 yaml" ;;
	kekwrap_parse)	echo "1024 -" ;;
	key_parse)	echo "4096 pem" ;;
	pem_decode)	echo "4096 pem" ;;
	privsep_msg)	echo "8192 -" ;;
	rollout_redact)	echo "4096 -" ;;
	ssh_hostkey)	echo "2048 ssh" ;;
	store_rec)	echo "4096 -" ;;
	token_string)	echo "256 token" ;;
	unseal_msg)	echo "2048 -" ;;
	*)		echo "4096 -" ;;
	esac
}

all=$(cd tests/fuzz && ls -1 ./*.c | sed 's|^\./||; s|\.c$||' | grep -vx replay)
if [ -n "${list:-}" ]; then
	for t in $all; do set -- $(opts "$t"); echo "$t max_len=$1 dict=$2"; done
	exit 0
fi
targets=${*:-$all}
for t in $targets; do
	[ -f "tests/fuzz/$t.c" ] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
done

if [ $build = 1 ]; then
	scripts/setup.sh >/dev/null
	CC=clang cmake -S . -B "$bdir" -DSLIPWAY_FUZZ=ON >/dev/null
	nice -n 19 cmake --build "$bdir" -j2 --target \
	    $(for t in $targets; do echo "${t}_fuzzer"; done) >/dev/null
fi

mkdir -p "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
printf '%-15s %10s %6s %7s %6s %6s %6s %s\n' target execs secs before after \
    cov ft crashes
for t in $targets; do
	bin=$bdir/tests/fuzz/${t}_fuzzer
	set -- $(opts "$t")
	len=$1 dict=$2
	w=$out/$t
	rm -rf "$w"
	mkdir -p "$w/grow"
	corp=$src/tests/fuzz/corpus/$t
	data=$src/tests/data/fuzz/$t
	seeds=("$corp")
	[ -d "$data" ] && seeds+=("$data")
	args=(-max_len="$len" -timeout=25 -rss_limit_mb=2048
	    -print_final_stats=1 -artifact_prefix="$w/")
	[ "$dict" != - ] && args+=(-dict="$src/tests/fuzz/dict/$dict.dict")
	before=$(ls "$corp" | wc -l)
	t0=$(date +%s)
	nice -n 19 "$bin" "${args[@]}" -runs="$runs" -max_total_time="$secs" \
	    "$w/grow" "${seeds[@]}" >"$w/fuzz.log" 2>&1 || true
	secs_run=$(( $(date +%s) - t0 ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/fuzz.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$w/fuzz.log" | tail -1 || true)
	crashes=$(cd "$w" && ls -d crash-* leak-* timeout-* oom-* 2>/dev/null | tr '\n' ' ' || true)
	after=-
	if [ $merge = 1 ] && [ -z "$crashes" ]; then
		# named seeds and regression inputs (not a SHA-1) always stay;
		# the data seeds count but are left where they are
		m=$w/merged
		mkdir -p "$m"
		for f in "$corp"/*; do
			[[ $(basename "$f") =~ ^[0-9a-f]{40}$ ]] || cp "$f" "$m/"
		done
		[ -d "$data" ] && for f in "$data"/*; do cp "$f" "$m/data-seed-$(basename "$f")"; done
		nice -n 19 "$bin" -merge=1 -max_len="$len" -timeout=25 \
		    -rss_limit_mb=2048 "$m" "$corp" "$w/grow" >"$w/merge.log" 2>&1 ||
		    { echo "fuzz.sh: $t: merge failed, see $w/merge.log" >&2; continue; }
		rm -f "$m"/data-seed-*
		after=$(ls "$m" | wc -l)
		if [ $update = 1 ]; then
			rm -rf "$corp"
			mkdir -p "$corp"
			for f in "$m"/*; do
				if grep -q 'PRIVATE KEY' "$f"; then
					mkdir -p "$data"
					cp "$f" "$data/"
				else
					cp "$f" "$corp/"
				fi
			done
			after=$(ls "$corp" | wc -l)
		fi
	fi
	set -- ${cov:-cov: - ft: -}
	printf '%-15s %10s %6s %7s %6s %6s %6s %s\n' "$t" "${execs:--}" \
	    "$secs_run" "$before" "$after" "$2" "$4" "${crashes:-none}" |
	    tee -a "$out/summary.txt"
done
