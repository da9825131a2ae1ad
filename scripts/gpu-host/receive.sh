#!/usr/bin/env bash
# Runs ON THE OFFLINE HOST, once per call that carried one part of the bundle made by pack.sh:
#   bash scripts/gpu-host/receive.sh .gpu-bundle/part-003 [.gpu-bundle/manifest.txt]
# Checks the part against the manifest (sha256, size), keeps it, and appends every part that is next in
# order to $VLLM_NODE_BUNDLE_DIR/archive.tar (an xz-compressed tar, whatever its name says). Parts may arrive
# in any order and more than once: each is appended exactly once (record: appended.txt), and a run cut off
# mid-append is repaired on the next (the archive is truncated back to the sum of the recorded parts).
# A manifest of a different bundle (other archive_sha256) starts over.
#   VLLM_NODE_BUNDLE_DIR  (default /tmp/vllm-node-bundle)
set -euo pipefail
PART="${1:?usage: receive.sh PART_PATH [MANIFEST]}"
MANIFEST="${2:-$(dirname "$PART")/manifest.txt}"
DEST="${VLLM_NODE_BUNDLE_DIR:-/tmp/vllm-node-bundle}"
NAME="$(basename "$PART")"
log() { echo "receive: $*" >&2; }
[[ -f "$PART" ]] || { log "ERROR: no such file: $PART"; exit 1; }
mkdir -p "$DEST/parts"
touch "$DEST/appended.txt"

field() { sed -n "s/^$1=//p" "$2" | head -1; }
if [[ -f "$MANIFEST" ]]; then
  NEW="$(field archive_sha256 "$MANIFEST")"
  OLD="$( [[ -f "$DEST/manifest.txt" ]] && field archive_sha256 "$DEST/manifest.txt" || true)"
  if [[ -n "$OLD" && "$OLD" != "$NEW" ]]; then
    log "manifest is for another bundle ($NEW, had $OLD): starting over"
    rm -rf "$DEST/parts" "$DEST/archive.tar" "$DEST/appended.txt"
    mkdir -p "$DEST/parts"; touch "$DEST/appended.txt"
  fi
  cp "$MANIFEST" "$DEST/manifest.txt.tmp" && mv "$DEST/manifest.txt.tmp" "$DEST/manifest.txt"
fi
[[ -f "$DEST/manifest.txt" ]] || { log "ERROR: no manifest (carry .gpu-bundle/manifest.txt with the part)"; exit 1; }
M="$DEST/manifest.txt"

ENTRY="$(awk -v n="$NAME" '$1=="part" && $2==n {print $3, $4}' "$M")"
[[ -n "$ENTRY" ]] || { log "ERROR: $NAME is not listed in the manifest"; exit 1; }
read -r WANT_SHA WANT_BYTES <<<"$ENTRY"

if grep -qx "$NAME" "$DEST/appended.txt"; then
  log "$NAME already appended"
elif [[ -f "$DEST/parts/$NAME" ]]; then
  log "$NAME already received"
else
  GOT_SHA="$(sha256sum "$PART" | cut -d' ' -f1)"
  if [[ "$GOT_SHA" != "$WANT_SHA" || "$(stat -c %s "$PART")" != "$WANT_BYTES" ]]; then
    log "ERROR: $NAME damaged: sha256 $GOT_SHA, expected $WANT_SHA ($WANT_BYTES bytes)"; exit 1
  fi
  cp "$PART" "$DEST/parts/$NAME.tmp" && mv "$DEST/parts/$NAME.tmp" "$DEST/parts/$NAME"
fi

# Append every part that is next in order.
OFFSET=0
while read -r p sha bytes; do
  if grep -qx "$p" "$DEST/appended.txt"; then rm -f "$DEST/parts/$p"; OFFSET=$((OFFSET + bytes)); continue; fi
  [[ -f "$DEST/parts/$p" ]] || break
  touch "$DEST/archive.tar"
  truncate -s "$OFFSET" "$DEST/archive.tar"   # undo a half-done append of an earlier run
  cat "$DEST/parts/$p" >> "$DEST/archive.tar"
  echo "$p" >> "$DEST/appended.txt"
  rm -f "$DEST/parts/$p"
  OFFSET=$((OFFSET + bytes))
  log "appended $p"
done < <(awk '$1=="part" {print $2, $3, $4}' "$M")

TOTAL="$(awk '$1=="part"' "$M" | wc -l)"
DONE="$(sort -u "$DEST/appended.txt" | grep -c . || true)"
WAITING="$(cd "$DEST/parts" && ls 2>/dev/null | tr '\n' ' ')"
MISSING="$(awk '$1=="part" {print $2}' "$M" | while read -r p; do
  grep -qx "$p" "$DEST/appended.txt" || [[ -f "$DEST/parts/$p" ]] || printf '%s ' "$p"; done)"
log "$DONE/$TOTAL parts appended to $DEST/archive.tar${WAITING:+; held until earlier parts come: $WAITING}"
if [[ "$DONE" == "$TOTAL" ]]; then
  log "complete: now run bash scripts/gpu-host/install.sh"
else
  log "still to send: ${MISSING:-none}"
fi
