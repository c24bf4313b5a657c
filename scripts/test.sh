#!/usr/bin/env bash
# Runs every test on lavapipe, then the driver-sensitive subset on SwiftShader, and prints one
# closing line "N passed, N failed" over both runs. Extra arguments go to both vitest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The SwiftShader subset: kernels and ops whose code paths depend on adapter limits.
SWIFTSHADER_SUBSET=(tests/engine/device.test.ts tests/engine/ops.test.ts tests/engine/random.test.ts tests/shaders)

status=0
echo "── tests on lavapipe ──"
LATENT_VK_ICD=lavapipe npx vitest run --reporter=default --reporter=json --outputFile.json="$out/lavapipe.json" "$@" || status=1
echo "── driver subset on SwiftShader ──"
subset=()
for p in "${SWIFTSHADER_SUBSET[@]}"; do [ -e "$p" ] && subset+=("$p"); done
LATENT_VK_ICD=swiftshader npx vitest run --reporter=default --reporter=json --outputFile.json="$out/swiftshader.json" "${subset[@]}" "$@" || status=1

node -e '
const fs = require("fs");
let p = 0, f = 0, missing = 0;
for (const name of ["lavapipe", "swiftshader"]) {
  const file = process.argv[1] + "/" + name + ".json";
  if (!fs.existsSync(file)) { missing++; continue; }
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  p += r.numPassedTests; f += r.numFailedTests;
  // a file that failed to load counts as a failure
  f += (r.testResults || []).filter((t) => t.status === "failed" && (!t.assertionResults || t.assertionResults.length === 0)).length;
}
console.log(`${p} passed, ${f + missing} failed`);
process.exit(f + missing > 0 ? 1 : 0);
' "$out" || status=1
exit $status
