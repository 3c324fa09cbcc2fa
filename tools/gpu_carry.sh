#!/usr/bin/env bash
# Prepare the working tree for a call to a lent GPU machine, and put it back afterwards.
#
#   bash tools/gpu_carry.sh prepare [PHOTOS]   # before the call
#   bash tools/gpu_carry.sh restore            # right after it, before any commit
#
# What travels to the machine (tracked files, untracked files git does not ignore, and the carried folders) must be at
# most 64 MiB, and the tracked default model alone is 58.6 MiB. `prepare`:
#   1. builds gpu_carry/ (git-ignored): the wheels of tools/gpu_wheels.txt, which the machine lacks (from
#      GPU_CARRY_WHEELS, a folder that holds them, else downloaded with pip), and PHOTOS (default: colorgan's sample
#      photos) shrunk to a 288 px shorter side, which is all a 256 px crop needs;
#   2. leaves the default model behind: it is taken out of git's index (the file stays on disk) and excluded, so it
#      neither counts as tracked nor travels as untracked;
#   3. adds up what would travel, and says what to do when it is over 64 MiB (exit 1);
#   4. prints the device call to make.
# `restore` puts the model back in the index and removes the exclusion, so `git status` is as it was. The shipped weights
# never travel: a GPU run trains from the recipe, and its results come back in parts of at most 15 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
CARRY=gpu_carry
MODEL=colorgan/weights/colorgan-default.safetensors
EXCLUDE=$(git rev-parse --git-path info/exclude)
LIMIT=$(( 64 * 1048576 ))
say() { echo "gpu_carry.sh: $*"; }
die() { echo "gpu_carry.sh: error: $*" >&2; exit "${2:-2}"; }

restore() {
  if ! git ls-files --error-unmatch "$MODEL" > /dev/null 2>&1; then git reset -q -- "$MODEL"; fi
  if [[ -f $EXCLUDE ]]; then sed -i "\\#^/$MODEL\$#d" "$EXCLUDE"; fi
  git ls-files --error-unmatch "$MODEL" > /dev/null 2>&1 || die "could not put $MODEL back in git's index" 1
  say "restored: $MODEL is tracked again"
}

leave_model_behind() {
  if git ls-files --error-unmatch "$MODEL" > /dev/null 2>&1; then git rm -q --cached "$MODEL"; fi
  mkdir -p "$(dirname "$EXCLUDE")"
  grep -qxF "/$MODEL" "$EXCLUDE" 2>/dev/null || echo "/$MODEL" >> "$EXCLUDE"
}

sum_sizes() { xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

prepare() {
  local photos=${1:-}
  mkdir -p "$CARRY/wheels" "$CARRY/photos"
  git check-ignore -q "$CARRY" || die "$CARRY/ is not git-ignored; add /$CARRY/ to .gitignore"
  # 1. the wheels the GPU machine lacks, and a small photo set
  local wanted; wanted=$(sed 's/ *#.*//; /^$/d' tools/gpu_wheels.txt)
  if [[ -n ${GPU_CARRY_WHEELS:-} ]]; then
    cp "$GPU_CARRY_WHEELS"/*.whl "$CARRY/wheels/"
  else
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$CARRY/wheels" $wanted || die "pip could not download the wheels; give GPU_CARRY_WHEELS a folder that holds them"
  fi
  local missing=()
  for req in $wanted; do
    local stem; stem=$(echo "${req%%==*}" | tr '-' '_')
    compgen -G "$CARRY/wheels/${stem}-${req##*==}-*.whl" > /dev/null || missing+=("$req")
  done
  (( ${#missing[@]} == 0 )) || die "no wheel in $CARRY/wheels for: ${missing[*]}"
  "$PY" - "$CARRY/photos" "$photos" <<'EOF'
import sys
from pathlib import Path
from PIL import Image, ImageOps
from colorgan.images import find_images, open_image
from colorgan.sources import sample_photos
dest, src = Path(sys.argv[1]), Path(sys.argv[2]) if sys.argv[2] else sample_photos()
for f in find_images(src):
    out = dest/f.relative_to(src).with_suffix('.jpg')
    out.parent.mkdir(parents=True, exist_ok=True)
    img = open_image(f)
    scale = 288 / min(img.size)
    if scale < 1: img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    img.save(out, 'JPEG', quality=90)
print(f'gpu_carry.sh: {len(find_images(dest))} photos in {dest}')
EOF
  # 2. the weights stay here
  leave_model_behind
  # 3. what would travel
  local tracked untracked carried total
  tracked=$(git ls-files -z | sum_sizes)
  untracked=$(git ls-files -z --others --exclude-standard | sum_sizes)
  carried=$(find "$CARRY" -type f -print0 | sum_sizes)
  total=$(( tracked + untracked + carried ))
  say "would send $(mib $total) MiB of 64: tracked $(mib $tracked), untracked $(mib $untracked), $CARRY/ $(mib $carried)"
  if (( total > LIMIT )); then
    echo "The largest files that would travel:"
    { git ls-files -z; git ls-files -z --others --exclude-standard; find "$CARRY" -type f -print0; } |
      xargs -0 -r stat -c '%s %n' | sort -rn | head -5 | awk '{printf "  %6.1f MiB  %s\n", $1 / 1048576, $2}'
    restore
    die "over 64 MiB: leave the files above behind (commit or move them), or carry fewer photos" 1
  fi
  # 4. the call
  echo "Now call the device tool from $REPO:"
  echo "    run(command='bash tools/gpu_check.sh', carry=['$CARRY'], timeout_s=420)"
  echo "and right after it, before any commit:"
  echo "    bash tools/gpu_carry.sh restore"
}

case ${1:-} in
  prepare) shift; prepare "$@" ;;
  restore) restore ;;
  *) die "usage: bash tools/gpu_carry.sh prepare [PHOTOS] | restore" ;;
esac
