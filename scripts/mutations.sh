#!/usr/bin/env bash
# Mutation check: applies each mutation of the code review's table (docs/code-review m01-m26) to a
# scratch worktree, regenerates the golden files with UPDATE_GOLDEN=force (as a developer would who
# accepts the change without stating its intent),
# runs the behavioural tests that should notice, and prints a table caught / missed.
#
#   scripts/mutations.sh              every mutation, each against the test files listed for it
#   scripts/mutations.sh m07 m12      only these
#   MUTATION_TESTS=all scripts/...    the whole suite for each mutation (slow: minutes each)
#
# Not part of npm test: it rebuilds once per mutation. Needs root for the host tests (CI=1 is set,
# so a missing tool fails instead of skipping). A mutation whose text is not found is "not applied"
# (the code moved: update its pattern), never "caught".
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/plc-mutations.XXXXXX")
tree=$scratch/tree
git -C "$repo" worktree add --detach --quiet "$tree" HEAD || exit 1
# What is checked is the last commit: commit first.
ln -s "$repo/node_modules" "$tree/node_modules"
cleanup() {
  git -C "$repo" worktree remove --force "$tree" >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT

# id | what | file | perl substitution (applied to the whole file) | test files (build/test/…)
mutations=$(cat <<'TABLE'
m01|sh() stops escaping '|compiler/render/quote.ts|s/\Qreturn `'${text.replace(\/'\/g, `'\\\\''`)}'`;\E/return `'\${text}'`;/|quote.property hostile-values.property host/install host/quoting
m02|unitExec stops doubling $|compiler/render/quote.ts|s/\Q.replace(\/\$\/g, "\$\$\$\$")\E//|quote.property
m03|py() emits single-quoted text|compiler/render/quote.ts|s/\Qreturn JSON.stringify(textOf(value, "py"));\E/return `'\${textOf(value, "py")}'`;/|golden quote.property
m05|install.sh drops sha256sum --check|compiler/render/templates/install/3-bundle.sh.ejs|s/\Q  sha256sum --check --strict --quiet "$sums" >&2 || die\E/  true || die/|golden host/install host/upgrade
m06|plugin order picks the last eligible plugin|compiler/resolve/index.ts|s/\Qconst index = remaining.findIndex(\E/const index = remaining.findLastIndex(/|golden plugins
m07|post hooks no longer reversed|compiler/render/index.ts|s/\Qreturn hook.endsWith(".post") ? found.reverse() : found;\E/return found;/|intent golden
m08|backup before the deploy removed|compiler/render/templates/install/5-backup.sh.ejs|s/\Q  "$backup" || die "backup failed\E/  true || die "backup failed/|host/upgrade host/backup
m09|restore.sh skips restore.post|compiler/render/templates/restore.sh.ejs|s/\Qfor (const hook of hooks("restore.post"))\E/for (const hook of [])/|intent host/postgres
m10|a failed deploy keeps the new secrets|compiler/render/templates/install/transaction.sh.ejs|s/\Qfor file in docker-image .secrets.env .backup_password .env; do\E/for file in docker-image .backup_password .env; do/|host/upgrade
m11|install.sh accepts files SHA256SUMS does not list|compiler/render/templates/install/3-bundle.sh.ejs|s/\Q[ "$listed" = "$present" ] || die\E/true || die/|host/install host/tampered
m12|the health check accepts 5xx|compiler/render/templates/install/10-health.sh.ejs|s/\Qcase $code in [234]??)\E/case \$code in [2345]??)/|host/intent host/upgrade
m13|docker run --restart no|compiler/render/templates/docker-run.sh.ejs|s/\Q--restart unless-stopped\E/--restart no/|host/intent host/upgrade
m14|host_vars ranked below the group|compiler/resolve/index.ts|s/\Q    inventory.groupVars.get(group) ?? [],\E\n(\Q    host === undefined ? [] : (inventory.hostVars.get(host) ?? []),\E)/$1\n    inventory.groupVars.get(group) ?? [],/|intent golden
m15|the pg dump completeness check dropped|plugins/postgres/backup.pre.sh.ejs|s/\Q|| die "the postgres dump is incomplete"\E/|| true/|golden host/postgres
m16|a failed nginx -t keeps the new vhost|compiler/render/templates/install/transaction.sh.ejs|s/\Q  if [ -f "$journal\/before\/vhost" ]; then cp -p "$journal\/before\/vhost" "$1"; else rm -f "$1"; fi\E/  true/|host/intent host/upgrade
m17|releases_kept off by one|compiler/render/templates/install/transaction.sh.ejs|s/\Qtail -n <%- sh(spec.releasesKept) %>\E/tail -n <%- sh(spec.releasesKept + 1) %>/|host/upgrade
m18|the backup/prune/restore lock is a no-op|compiler/render/templates/_lock.sh.ejs|s/\Q  if ! flock -w "${PLC_LOCK_WAIT:-7200}" 8; then\E/  if false; then/|host/backup
m19|check and explain stop masking secrets|compiler/explain.ts|s/\QisSecretPointer(spec, pointer) && !isEmpty ? MASK : value\E/value/|plugins secrets explain
m20|plc verify skips the bundle-id check|compiler/verify.ts|s/\Qif (problems.length === 0 && bundleId([], manifest, id) !== manifest.id)\E/if (problems.length < 0 \&\& bundleId([], manifest, id) !== manifest.id)/|intent verify
m21|the receiver skips the sha256 plc computed|compiler/ship/receiver.ts|s/\Qprintf '%s  %s\\\\n' "$expected" "$dir\/${STREAM.bundle}" | sha256sum -c --strict --quiet >\/dev\/null 2>&1 ||\E/true ||/|intent
m22|ssh StrictHostKeyChecking=accept-new|compiler/ship/ssh.ts|s/\QStrictHostKeyChecking=yes\E/StrictHostKeyChecking=accept-new/|ship/ship ship/jump
m23|restic exit 3 (partial snapshot) accepted|compiler/render/templates/backup.sh.ejs|s/\Qif [ "$status" -eq 3 ]; then\E/if false; then/|host/backup
m24|SECRET_KEY in the public env file|compiler/render/index.ts|s/\QpublicEnv: spec.env.filter((entry) => !entry.isSecret)\E/publicEnv: spec.env.filter(() => true)/|golden secrets vault
m25|restore.pre hooks run in reverse|compiler/render/templates/restore.sh.ejs|s/\Qfor (const hook of hooks("restore.pre"))\E/for (const hook of hooks("restore.pre").slice().reverse())/|intent golden
m26|a raw value concatenated after a helper call|compiler/render/templates/vhost.conf.ejs|s/\Q<%- nginx(\E(.*?)\Q) %>\E/<%- nginx($1) + spec.name %>/|templates golden
TABLE
)

wanted=" $* "
results=()
while IFS='|' read -r id what file expr tests; do
  [ -n "$id" ] || continue
  if [ $# -gt 0 ] && [[ $wanted != *" $id "* ]]; then continue; fi
  (cd "$tree" && git checkout --quiet -- . && git clean -fdq -- golden)
  before=$(sha256sum "$tree/$file" | cut -d' ' -f1)
  perl -0pi -e "$expr" "$tree/$file"
  if [ "$(sha256sum "$tree/$file" | cut -d' ' -f1)" = "$before" ]; then
    results+=("| $id | $what | not applied (pattern not found) |")
    continue
  fi
  log=$scratch/$id.log
  if ! (cd "$tree" && npm run build >"$log" 2>&1); then
    results+=("| $id | $what | not applicable: the mutant does not compile (fix its pattern) |")
    continue
  fi
  (cd "$tree" && UPDATE_GOLDEN=force node --test build/test/golden.test.js >>"$log" 2>&1)
  if [ "${MUTATION_TESTS:-}" = all ]; then
    files=$(cd "$tree" && ls build/test/*.test.js build/test/*/*.test.js)
  else
    files=$(for t in $tests; do printf 'build/test/%s.test.js ' "$t"; done)
  fi
  # shellcheck disable=SC2086 # a list of files
  if (cd "$tree" && CI=1 node --test --test-concurrency=2 $files >>"$log" 2>&1); then
    results+=("| $id | $what | **missed** ($tests) |")
  else
    failed=$(grep -E '^ *not ok' "$log" | sed 's/^ *not ok [0-9]* - //' | grep -v '^build/' | head -3 | paste -sd ';' -)
    results+=("| $id | $what | caught: ${failed:-see log} |")
  fi
  printf '%s done\n' "$id" >&2
done <<<"$mutations"

printf '| # | mutation | after UPDATE_GOLDEN=1 |\n| --- | --- | --- |\n'
printf '%s\n' "${results[@]}"
printf '| m04 | logrotatePath accepts whitespace | equivalent: absolute-path refuses spaces before render |\n'
