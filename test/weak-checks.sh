#!/usr/bin/env bash
# Issue 29's five weak checks, each against a deliberately broken implementation: every one must
# fail (and passes against the real code, in make test). Edits a tracked file for a moment and
# puts it back, even on Ctrl-C; not part of make test for that reason. Run: bash test/weak-checks.sh
set -uo pipefail
cd "$(dirname "$0")/.."
backup=$(mktemp) out=$(mktemp) file=''
restore() { [ -n "$file" ] && cp "$backup" "$file"; file=''; }
trap 'restore; rm -f "$backup" "$out"' EXIT
trap 'exit 130' INT TERM
failed=0
try() { # what, file, sed expression, test file, test name pattern
  file=$2; cp "$file" "$backup"; sed -i "$3" "$file"
  if cmp -s "$file" "$backup"; then echo "broken: $1: the mutation did not apply"; failed=1; restore; return; fi
  if node --import tsx --test --test-name-pattern="$5" "$4" >"$out" 2>&1; then
    echo "WEAK   $1: passes against the broken code"; failed=1
  elif grep -q AssertionError "$out"; then
    echo "ok     $1: fails against the broken code"
  else
    echo "broken: $1: fails, but not on an assertion:"; tail -5 "$out"; failed=1
  fi
  restore
}
try "a dead lock holder's takeover is said" scripts/lib/state/lock.ts \
  's/      if (stale) console.error(`  took over/      if (stale \&\& false) console.error(`  took over/' test/unit/state/lock.test.ts "takes over a lock"
try "the notebook's model is the profile's model" scripts/lib/profile/plan.ts \
  's/    model: models\[0\]!,/    model: models[models.length - 1]!,/' test/unit/profile/plan.test.ts "serves several models"
try "a container profile runs the image's command" scripts/lib/profile/plan.ts \
  's/  const command = settled.runtimeTraits.buildsOnHost ? backend.hostCommand(settled, settled.python.interpreter) : { argv: containerCommand, files: \[\] };/  const command = backend.hostCommand(settled, settled.python.interpreter);/' \
  test/unit/profile/plan.test.ts "holds the server command once"
try "llama_cpp.server's config file has the profile's port" scripts/lib/backend/llama-cpp-python/args.ts \
  's/    port: server.port,/    port: 8080,/' test/unit/backend/llama-cpp-python/args.test.ts "config file"
try "a refusal at plan time names the field and the file" scripts/lib/profile/plan.ts \
  "s/^  checkMetrics(profile, leafFile);/  checkMetrics(profile, leafFile);\n  if ((profile.description ?? '').startsWith('-')) throw new WorkbenchError('bad value', 'fix it');/; s/import { displayPath } from '..\/errors.ts';/import { displayPath, WorkbenchError } from '..\/errors.ts';/" \
  test/unit/render/hostile-values.test.ts "description with a leading dash"
exit $failed
