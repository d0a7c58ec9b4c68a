#!/usr/bin/env bash
# Runs every Fuzz target in the module for FUZZTIME each (default 2s), one target per go test
# invocation (go fuzzes one target at a time), packages in sequence, one line per target.
# Exits non-zero when a target fails; go keeps the failing input under the package's
# testdata/fuzz/<Target>/, where it stays as a regression seed once the bug is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-2s}
list=$(go test -list '^Fuzz' ./...)
targets=() # "pkg name"
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	*) names=() ;;
	esac
done <<<"$list"
echo "fuzz: ${#targets[@]} targets, ${fuzztime} each"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=0
start=$SECONDS
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	t0=$SECONDS
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1; then
		execs=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | awk '{print $2}')
		printf 'fuzz: ok   %-45s %-28s %3ds %s execs\n' "${pkg#github.com/furl/furl/}" "$name" $((SECONDS - t0)) "${execs:-?}"
	else
		printf 'fuzz: FAIL %-45s %-28s %3ds\n' "${pkg#github.com/furl/furl/}" "$name" $((SECONDS - t0))
		cat "$out"
		failed=1
	fi
done
echo "fuzz: done in $((SECONDS - start))s"
exit $failed
