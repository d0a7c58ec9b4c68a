#!/usr/bin/env bash
# Runs every Fuzz target in the module for FUZZTIME each (default 2s), one target per run (go
# fuzzes one target at a time), packages in sequence, one line per target. Each package's test
# binary is built once with fuzzing instrumentation and run once per target from the package's
# directory, as go test would. Exits non-zero when a target fails; the failing input is written
# to the package's testdata/fuzz/<Target>/, where it stays as a regression seed once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-2s}
list=$(go test -list '^Fuzz' ./...)
cache=$(go env GOCACHE)/fuzz
bin=$(mktemp -d)
out=$bin/out
trap 'rm -rf "$bin"' EXIT
declare -A names=() # package -> its targets
pkgs=()
pending=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) pending+=("$line") ;;
	ok*)
		if ((${#pending[@]})); then
			pkg=$(awk '{print $2}' <<<"$line")
			pkgs+=("$pkg")
			names[$pkg]="${pending[*]}"
		fi
		pending=()
		;;
	*) pending=() ;;
	esac
done <<<"$list"
n=0
for pkg in "${pkgs[@]}"; do n=$((n + $(wc -w <<<"${names[$pkg]}"))); done
echo "fuzz: $n targets in ${#pkgs[@]} packages, ${fuzztime} each"
failed=0
start=$SECONDS
for pkg in "${pkgs[@]}"; do
	short=${pkg#github.com/furl/furl/}
	read -ra targets <<<"${names[$pkg]}"
	dir=$(go list -f '{{.Dir}}' "$pkg")
	if ! go test -c -fuzz "^${targets[0]}\$" -o "$bin/t" "$pkg" >"$out" 2>&1; then
		echo "fuzz: FAIL $short: build"
		cat "$out"
		failed=1
		continue
	fi
	for name in "${targets[@]}"; do
		t0=$SECONDS
		ok=0
		for ft in "$fuzztime" 20s; do
			if (cd "$dir" && "$bin/t" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$ft" \
				-test.fuzzcachedir "$cache/$pkg") >"$out" 2>&1; then
				ok=1
				break
			fi
			# go counts gathering the corpus's baseline coverage in -fuzztime; on a busy machine
			# that can outlast a short run ("context deadline exceeded", no failing input): run
			# once more, longer. Anything else is a failure.
			if grep -q 'Failing input written' "$out" || ! grep -q 'context deadline exceeded' "$out"; then
				break
			fi
		done
		if ((ok)); then
			execs=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | awk '{print $2}' || true)
			printf 'fuzz: ok   %-28s %-24s %3ds %8s execs\n' "$short" "$name" $((SECONDS - t0)) "${execs:-?}"
		else
			printf 'fuzz: FAIL %-28s %-24s %3ds\n' "$short" "$name" $((SECONDS - t0))
			cat "$out"
			failed=1
		fi
	done
done
echo "fuzz: done in $((SECONDS - start))s"
exit $failed
