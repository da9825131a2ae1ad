#!/usr/bin/env bash
# Runs HERE: packs what the project needs on an offline host beyond the git tree (npm packages without the
# TypeScript compiler, the compiled dist/, the Qwen3 tokenizer files) into .gpu-bundle/project.tar.xz (< 60 MiB).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
npx tsc -p tsconfig.build.json
mkdir -p .gpu-bundle
tar --exclude='node_modules/typescript' --exclude='node_modules/.cache' -cf - node_modules dist \
  .models/tiny-qwen3/tokenizer.json .models/tiny-qwen3/tokenizer_config.json | xz -T2 -3 > .gpu-bundle/project.tar.xz
ls -la .gpu-bundle/project.tar.xz
