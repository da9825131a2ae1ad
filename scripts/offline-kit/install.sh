#!/usr/bin/env bash
# Installs a kit made by pack.sh on the OFFLINE host, with pip's own offline install:
#   bash scripts/offline-kit/install.sh KIT [PYTHON]
# KIT: vllm-node-kit.tar.xz, or the folder holding it or its parts (joined in order; checked against the .sha256).
# PYTHON: the host's Python (default $VLLM_NODE_PYTHON, else python3). Installs into $VLLM_NODE_KIT_DIR
# (default /tmp/vllm-node-kit): the wheels into site/ (`pip install --no-index --no-deps --target`), Node.js into
# node/, the project's node_modules and dist/ into the current folder (the project checkout); writes env.sh, then
# checks: `pip check` over what was installed, `import vllm`, Node.  Later shells: source $VLLM_NODE_KIT_DIR/env.sh
set -euo pipefail
KIT="${1:?usage: install.sh KIT [PYTHON]}"
PY="${2:-${VLLM_NODE_PYTHON:-python3}}"
DEST="${VLLM_NODE_KIT_DIR:-/tmp/vllm-node-kit}"
log() { echo "install: $*" >&2; }
mkdir -p "$DEST"
if [[ -d "$KIT" ]]; then
  if [[ ! -f "$KIT/vllm-node-kit.tar.xz" ]]; then cat "$KIT"/vllm-node-kit.tar.xz.part-* > "$KIT/vllm-node-kit.tar.xz"; fi
  (cd "$KIT" && { [[ ! -f vllm-node-kit.tar.xz.sha256 ]] || sha256sum -c --quiet vllm-node-kit.tar.xz.sha256; })
  KIT="$KIT/vllm-node-kit.tar.xz"
fi
rm -rf "$DEST/site" "$DEST/wheels" "$DEST/node"
xz -dc -T0 "$KIT" | tar -xf - -C "$DEST"
tar -xf "$DEST/project.tar" && rm "$DEST/project.tar"
"$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --target "$DEST/site" "$DEST"/wheels/*.whl
cat > "$DEST/env.sh" <<ENV
export PYTHONPATH="$DEST/site\${PYTHONPATH:+:\$PYTHONPATH}"
export PATH="$DEST/node/bin:\$PATH"
export VLLM_NODE_PYTHON="$(command -v "$PY")"
ENV
source "$DEST/env.sh"
log "$(ls "$DEST"/wheels | wc -l) wheels in $DEST/site; Node $(node --version)"
# What pip finds missing or mismatched for the packages the kit brought (those left out by KIT_EXCLUDE show here).
names="$(ls "$DEST"/wheels | sed 's/-[0-9].*//; s/_/-/g' | tr 'A-Z' 'a-z' | paste -sd'|')"
problems="$("$PY" -m pip check 2>/dev/null | grep -iE "^($names) " || true)"
log "pip check of the kit's packages: ${problems:-nothing missing}"
"$PY" -c 'import vllm, torch; print("vllm", vllm.__version__, "torch", torch.__version__)'
log "OK: source $DEST/env.sh"
