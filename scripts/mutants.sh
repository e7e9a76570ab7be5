#!/usr/bin/env bash
# Mutation testing of the code whose mistakes cost users most (issue 16): cargo-mutants breaks
# one comparison, condition or return value at a time and the named tests must fail.
#
#   scripts/mutants.sh            every area below (295 mutants: 37 min on a shared 2-core machine)
#   scripts/mutants.sh --quick    the small subset CI runs (18 mutants: 92 s with a warm build)
#   scripts/mutants.sh AREA...    only these areas (names below)
#
# It works in a scratch copy of the checkout (target/mutants-scratch, kept between runs so
# builds are incremental), never in the working tree; --here mutates the checkout itself
# (CI's throw-away clone). MUTANTS_TREE=DIR picks another scratch folder (one with a warm
# target/ saves the first build of every dependency). Results: target/mutants-out/<area>/mutants.out/{caught,missed}.txt.
# A surviving mutant fails the script. Mutants that cannot change behaviour are excluded in
# .cargo/mutants.toml, each with its reason (mutants/equivalent.md explains them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# area | file | mutant-name regex | test targets (cargo args; one build per mutant)
# (cargo-mutants 27.1.0 adds the file's `delete field … from struct … expression` mutants
# whatever the regexes say; they are tested, and must be killed, with the area.)
areas=(
  "tokens|src/moodle/client.rs|scrub|Client::interpret|Client::moodle_error|looks_like_html|--lib"
  "transport|src/moodle/transport.rs|post|check_scheme|is_loopback|endpoint|--lib --test=moodle_client --test=faults_moodle"
  "gate|src/report/model.rs|Report::outcome|Report::gating_findings|Report::gates|Summary::of|Outcome::code|--lib --test=cli_check --test=cli_changes"
  "gate-fail-on|src/cli/args.rs|From<FailOn>|--test=cli_check"
  "gate-exit|src/cli/exit.rs|.|--test=cli_check"
  "gate-code|src/cli/check.rs|outcome_code|replace run -> |--test=cli_check"
  "exceptions|src/checks/exceptions.rs|.|--lib --test=cli_check"
  "health|src/health/evaluate.rs|.|--lib"
  "health-policy|src/health/policy.rs|HealthPolicy::parse|--lib"
  "spf-limits|src/dns/spf.rs|count_lookup|void_or_fail|--test=spf_limits --test=dns_spf"
  "merge|src/report/merge.rs|.|--lib --test=cli_shards"
  "shards|src/checks/mod.rs|run_shard|--lib --test=cli_shards"
  "baseline-accept|src/baseline/accept.rs|.|--lib --test=cli_baseline"
)
# The CI subset: the known survivors of the audit that opened issue 16, and the gate's exit
# codes (18 mutants).
quick=(
  "tokens-quick|src/moodle/client.rs|scrub|--lib"
  "health-quick|src/health/evaluate.rs|replace > with >= in evaluate|--lib"
  "merge-quick|src/report/merge.rs|match arm.*merge_exceptions|match guard.*merge_exceptions|--lib"
  "gate-quick|src/report/model.rs|Outcome::code|with && in Report::outcome|--lib"
)

here=false
selected=()
for arg in "$@"; do
  case "$arg" in
    --quick) selected=("${quick[@]}") ;;
    --here) here=true ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *)
      found=false
      for a in "${areas[@]}"; do
        if [ "${a%%|*}" = "$arg" ]; then selected+=("$a"); found=true; fi
      done
      $found || { echo "unknown area $arg; areas: $(printf '%s ' "${areas[@]%%|*}")" >&2; exit 1; }
      ;;
  esac
done
[ "${#selected[@]}" -gt 0 ] || selected=("${areas[@]}")

command -v cargo-mutants >/dev/null || {
  echo "cargo-mutants is missing: cargo install cargo-mutants --locked --version 27.1.0" >&2
  exit 1
}

if $here; then
  tree=$root
else
  tree=${MUTANTS_TREE:-$root/target/mutants-scratch}
  mkdir -p "$tree"
  # The checkout's tracked files (with uncommitted edits), nothing else; its target/ stays.
  (git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$tree" -xf -
fi
out=$root/target/mutants-out
mkdir -p "$out"

start=$(date +%s)
survivors=0
for spec in "${selected[@]}"; do
  IFS='|' read -r -a parts <<<"$spec"
  name=${parts[0]}
  file=${parts[1]}
  tests=${parts[${#parts[@]}-1]}
  res=()
  for re in "${parts[@]:2:${#parts[@]}-3}"; do res+=(--re "$re"); done
  cargs=()
  for t in $tests; do cargs+=("--cargo-arg=$t"); done
  echo "==> $name: $file (${res[*]}) tested by: $tests"
  t0=$(date +%s)
  set +e
  (cd "$tree" && cargo mutants --in-place --no-shuffle --baseline skip --timeout 120 \
      --build-timeout 900 --file "$file" "${res[@]}" "${cargs[@]}" \
      --output "$out/$name" 2>&1 | grep -E '^(MISSED|TIMEOUT|[0-9]+ mutants tested|Found)')
  set -e
  dir=$out/$name/mutants.out
  caught=$(cat "$dir/caught.txt" 2>/dev/null | wc -l)
  missed=$(cat "$dir/missed.txt" 2>/dev/null | wc -l)
  timeouts=$(cat "$dir/timeout.txt" 2>/dev/null | wc -l)
  unviable=$(cat "$dir/unviable.txt" 2>/dev/null | wc -l)
  echo "    $name: caught $caught, missed $missed, timeout $timeouts, unviable $unviable ($(( $(date +%s) - t0 )) s)"
  if [ "$missed" -gt 0 ] || [ "$timeouts" -gt 0 ]; then
    sed 's/^/    SURVIVED: /' "$dir/missed.txt" "$dir/timeout.txt" 2>/dev/null || true
    survivors=$((survivors + missed + timeouts))
  fi
done
echo "mutation testing took $(( $(date +%s) - start )) s; $survivors unexplained survivor(s)"
[ "$survivors" = 0 ]
