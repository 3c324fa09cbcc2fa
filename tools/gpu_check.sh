#!/usr/bin/env bash
# colorgan's GPU check, made to fit one window of a lent GPU machine: one report line per step, in order of importance.
#
#   bash tools/gpu_carry.sh prepare [PHOTOS]          # here: the wheels and photos to carry, the weights left behind
#   run(command='bash tools/gpu_check.sh', carry=['gpu_carry'], timeout_s=420)   # the device call
#   bash tools/gpu_carry.sh restore                   # here, right after it
#
# The helper scripts are named gpu_check_*.py: a script named cuda.py would shadow the cuda package torch imports.
# Made for a bare machine with a CUDA build of torch and torchvision, Python 3.12 and no network. The wheels it lacks are
# listed in tools/gpu_wheels.txt; they are installed from gpu_carry/wheels (GPU_CHECK_WHEELS names another folder) with
# `pip install --no-index --no-deps --target`, into a folder of this run, not into the machine's Python.
#
# Steps, in order of importance, each under its own limit and all within GPU_CHECK_BUDGET seconds (default 360, which
# leaves room for a second call in a 15-minute window); a failing step never stops the rest:
#   install        the carried wheels, checked against tools/gpu_wheels.txt
#   cuda           the GPU, its compute capability and the precision colorgan picks
#   engines        every GPU path once, pass or fail: the bf16 and fp16 inference engines against fp32 (TF32 off),
#   t4_fp16          COLORGAN_PRECISION=fp16 training of both nets with loss scaling (a T4's path) and its engine,
#   train_resume     and a colorgan-train stopped after its first GAN epoch, as a killed run, then resumed on the GPU
#   bench          colorgan-bench, alone on the machine, with epochs of 30 steps (40 for the data path)
#   compile        colorgan-bench --compile: the seconds spent compiling, the recompiles and the speed after
#   train          the time left: tools/gpu_train.py on gpu_carry/photos (train/ and valid/), the generator in 15 MiB parts
# On a machine without a CUDA GPU every GPU step is skipped and the check exits 0. GPU_CHECK_DRY_RUN=1 runs every step on
# this CPU instead, at sizes that take seconds: a rehearsal of the script, not a measurement.
#
# Output in $OUT (default ./gpu_check_out), at most 8 files, as the device tool brings back: report.txt (printed at the end),
# log.txt (every step's output under its name), and from the train step losses.csv and generator.part0, part1, ...
# (`cat generator.part* > generator.safetensors`). Exit code: 0 when no step failed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
[[ -f pyproject.toml && -d nbs && -d colorgan ]] || { echo "gpu_check.sh: error: $REPO is not the colorgan repository" >&2; exit 2; }
OUT=${OUT:-$REPO/gpu_check_out}; mkdir -p "$OUT"
WHEELS=${GPU_CHECK_WHEELS:-$REPO/gpu_carry/wheels}
PHOTOS=${GPU_CHECK_PHOTOS:-$REPO/gpu_carry/photos}
BUDGET=${GPU_CHECK_BUDGET:-360}
DRY=${GPU_CHECK_DRY_RUN:-}
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/colorgan-gpu-check.XXXXXX")
REPORT=$OUT/report.txt LOG=$OUT/log.txt
START=$SECONDS FAILED=0
GPU=''                    # set by the cuda step: what the steps run on
NO_GPU_WHY='no CUDA GPU'

export PYTHONPATH="$REPO:$WORK/site${PYTHONPATH:+:$PYTHONPATH}" PATH="$WORK/site/bin:$PATH" WORK
export COLORGAN_HOME=$WORK/home TORCHINDUCTOR_CACHE_DIR=$WORK/inductor TRITON_CACHE_DIR=$WORK/triton MPLBACKEND=Agg
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
# No network: a download fails at once instead of waiting for a timeout
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
export no_proxy=localhost,127.0.0.1 NO_PROXY=localhost,127.0.0.1

line() { printf '%-13s %-8s %5s  %s\n' "$@" >> "$REPORT"; }
left() { echo $(( BUDGET - (SECONDS - START) )); }
# run_step NAME GPU|CPU MAX_SECONDS CMD...: CMD under a timeout, its output in log.txt, one line in the report
run_step() {
  local name=$1 kind=$2 max=$3; shift 3
  if [[ $kind == GPU && -z $GPU ]]; then line "$name" skipped 0 "$NO_GPU_WHY"; return; fi
  local t; t=$(left); (( t > max )) && t=$max
  if (( t < 10 )); then line "$name" skipped 0 "no time left in the ${BUDGET}s budget"; return; fi
  local t0=$SECONDS step_log=$WORK/$name.log
  timeout -k 5 "$t" "$@" > "$step_log" 2>&1; local rc=$?
  { echo "===== $name (exit $rc, $(( SECONDS - t0 ))s)"; cat "$step_log"; } >> "$LOG"
  local note; note=$(grep -h '^REPORT: ' "$step_log" | tail -1 | cut -c9-)
  if grep -q '^ratio =' "$step_log"; then  # colorgan-bench: the ratio column of its table, in its row order
    note="${note:+$note; }ratios $(awk '/^ +unit +reference/ {t=1; next} /^$/ {t=0} t {printf "%s%s", sep, $NF; sep=" "}' "$step_log")"
  fi
  if [[ ${TORCH_LOGS:-} == *recompiles* ]]; then note="${note:+$note; }$(grep -c 'Recompiling function' "$step_log") recompiles"; fi
  if (( rc == 0 )); then line "$name" ok $(( SECONDS - t0 )) "$note"; return; fi
  FAILED=1
  if (( rc == 124 || rc == 137 )); then note="timed out after ${t}s; $note"
  else note="exit $rc: $(grep -v '^\s*$' "$step_log" | tail -1 | cut -c1-160)"; fi
  line "$name" FAILED $(( SECONDS - t0 )) "$note"
}

{ echo "colorgan GPU check, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) CPUs, budget ${BUDGET}s${DRY:+, dry run on the CPU}"
  printf '%-13s %-8s %5s  %s\n' step status seconds note; } > "$REPORT"
: > "$LOG"
mkdir -p "$WORK/bin" "$WORK/site"

# ------------------------------------------------------------------ install: the wheels tools/gpu_wheels.txt lists
missing=()
for req in $(sed 's/ *#.*//; /^$/d' tools/gpu_wheels.txt); do
  stem=$(echo "${req%%==*}" | tr '-' '_')
  compgen -G "$WHEELS/${stem}-${req##*==}-*.whl" > /dev/null || missing+=("$req")
done
shopt -s nullglob; wheels=("$WHEELS"/*.whl); shopt -u nullglob
if (( ${#wheels[@]} )); then
  run_step install CPU 30 "$PY" -m pip install --no-index --find-links "$WHEELS" --no-deps --target "$WORK/site" --disable-pip-version-check -q "${wheels[@]}"
  (( ${#missing[@]} )) && sed -i "\$s/\$/; not carried: ${missing[*]}/" "$REPORT"
else line install skipped 0 "no wheels in $WHEELS; tools/gpu_wheels.txt lists ${#missing[@]}: bash tools/gpu_carry.sh prepare"; fi

# ------------------------------------------------------------------ cuda: the GPU, and the photos for the steps below
cat > "$WORK/bin/gpu_check_cuda.py" <<'EOF'
import os, sys, torch
dry = os.environ.get('GPU_CHECK_DRY_RUN')
if not dry and not torch.cuda.is_available(): print(f'REPORT: no CUDA GPU (torch {torch.__version__})'); sys.exit(3)
from pathlib import Path
from PIL import Image
from colorgan.devices import fast_precision
from colorgan.images import find_images
from colorgan.sources import sample_photos
photos, dest = Path(os.environ['PHOTOS']), Path(os.environ['JPEGS'])
found = find_images(photos) if photos.is_dir() else find_images(sample_photos())
for i, f in enumerate(found[:8 if dry else 64]):  # flat, for the data, training and bench rows
    dest.mkdir(parents=True, exist_ok=True); Image.open(f).convert('RGB').save(dest/f'{i:03d}.jpg', quality=90)
if dry: print(f'REPORT: dry run on the CPU, torch {torch.__version__}, {len(find_images(dest))} JPEGs'); sys.exit(0)
name, (major, minor) = torch.cuda.get_device_name(), torch.cuda.get_device_capability()
print(f'REPORT: {name}, sm{major}{minor}, trains in {fast_precision("cuda") or "fp32"}, torch {torch.__version__}, {len(find_images(dest))} JPEGs')
EOF
export JPEGS=$WORK/jpegs PHOTOS
t0=$SECONDS; timeout -k 5 30 "$PY" "$WORK/bin/gpu_check_cuda.py" > "$WORK/cuda.log" 2>&1; rc=$?
{ echo "===== cuda (exit $rc)"; cat "$WORK/cuda.log"; } >> "$LOG"
note=$(grep -h '^REPORT: ' "$WORK/cuda.log" | tail -1 | cut -c9-)
case $rc in
  0) GPU=$note; line cuda ok $(( SECONDS - t0 )) "$note" ;;
  3) NO_GPU_WHY=$note; line cuda skipped $(( SECONDS - t0 )) "$note" ;;
  *) FAILED=1; NO_GPU_WHY='the cuda step failed'; line cuda FAILED $(( SECONDS - t0 )) "exit $rc: $(tail -1 "$WORK/cuda.log" | cut -c1-160)" ;;
esac
# What the steps run on: a GPU at the recipe's 256 px, or (dry run) this CPU at sizes that take seconds
# (uncompiled: inductor's C++ compile alone takes minutes on a CPU)
if [[ -n $DRY ]]; then export DEV=cpu SIZE=64 BS=4; BENCH=(--tiny); COMPILE=(); TRAIN_SIZE=(--device cpu --size 64 --bs 4 --repeat 1)
else export DEV=cuda SIZE=256 BS=16; BENCH=(--size 256 --bs 16 --steps 30 --data-steps 40 --repeats 3)
  COMPILE=(--compile --steps 10 --data-steps 5 --repeats 2); TRAIN_SIZE=(); fi

# ------------------------------------------------------------------ every GPU path once
cat > "$WORK/bin/gpu_check_engines.py" <<'EOF'
# fp32, bf16 and fp16 inference against eager fp32 (TF32 off), relative to the largest output: an untrained generator's
# outputs reach several units, so an absolute threshold would say little
import os, torch
from colorgan.devices import fast_precision, no_tf32
from colorgan.engines import TorchColorizer, fast_generator
from colorgan.model import build_generator
device, size = os.environ['DEV'], int(os.environ['SIZE'])
torch.manual_seed(0)
G = build_generator(None).to(device).eval()
x = torch.rand(8 if device == 'cuda' else 2, 1, size, size, device=device) * 2 - 1
with torch.inference_mode(), no_tf32(): ref = G(x)
diffs = {}
for dtype in (None, torch.bfloat16, torch.float16):
    with no_tf32(): diffs[str(dtype or 'fp32').replace('torch.', '')] = ((TorchColorizer(G, dtype=dtype)(x) - ref).abs().max() / ref.abs().max()).item()
print(diffs)
assert diffs['fp32'] < 1e-4 and diffs['bfloat16'] < 0.05 and diffs['float16'] < 0.05, diffs
auto = fast_generator(G, device, backend='torch' if device == 'cpu' and not fast_precision(device, training=False) else 'auto')
assert getattr(auto, 'dtype', None) == fast_precision(device, training=False), auto
print(f"REPORT: fast_generator picks {auto.extra_repr()}; max |ab - fp32| / max |ab|: " + ', '.join(f'{k} {v:.1e}' for k, v in diffs.items()))
EOF
run_step engines GPU 25 "$PY" "$WORK/bin/gpu_check_engines.py"
cat > "$WORK/bin/gpu_check_train.py" <<'EOF'
# colorgan-train, reporting the epochs its checkpoint holds. STOP_AFTER_GAN_EPOCH=1: stop right after the first GAN
# checkpoint is written, as a killed run would; EXPECT_GAN_EPOCHS=n: fail unless n are done.
import atexit, os, sys
from colorgan import commands, train
if os.environ.get('STOP_AFTER_GAN_EPOCH'):
    write = train.Checkpointer.after_epoch
    def write_then_stop(self):
        write(self)
        if self.stage == 'gan': print('stopped after the first GAN epoch, as a killed run would be', flush=True); raise SystemExit(0)
    train.Checkpointer.after_epoch = write_then_stop
@atexit.register
def report():
    try: done = train.load_checkpoint(train.Path(sys.argv[sys.argv.index('--out') + 1])/'checkpoint.pt')['done']
    except Exception as e: done = f'no checkpoint ({type(e).__name__})'
    print(f"REPORT: done {done}", flush=True)
    if os.environ.get('EXPECT_GAN_EPOCHS') and (not isinstance(done, dict) or done['gan'] != int(os.environ['EXPECT_GAN_EPOCHS'])):
        os._exit(1)
if __name__ == '__main__': sys.exit(commands.train_main())
EOF
cat > "$WORK/bin/gpu_check_t4.py" <<'EOF'
# A T4's path on any GPU: COLORGAN_PRECISION=fp16 training (loss scaling on both nets) and the fp16 inference engine
import math, os, sys, subprocess, torch
import pandas as pd
from colorgan.engines import fast_generator
from colorgan.model import load_generator
device, size, out = os.environ['DEV'], int(os.environ['SIZE']) // 2, os.path.join(os.environ['WORK'], 't4_run')
subprocess.run([sys.executable, os.path.join(os.environ['WORK'], 'bin', 'gpu_check_train.py'), '--data', os.environ['JPEGS'], '--out', out,
                '--size', str(size), '--bs', os.environ['BS'], '--pretrain-epochs', '1', '--gan-epochs', '1', '--pretrained', 'none',
                '--device', device], check=True)
engine = fast_generator(load_generator(os.path.join(out, 'generator.safetensors'), device=device))
assert engine.dtype == torch.float16, engine.extra_repr()
assert torch.isfinite(engine(torch.rand(4, 1, size, size, device=device) * 2 - 1)).all()
losses = pd.read_csv(os.path.join(out, 'losses.csv'))
gan = losses.iloc[-1]
assert pd.concat([losses[['train_loss', 'valid_l1', 'g_l1']].stack(), gan[['d_real', 'd_fake', 'g_gan']]]).astype(float).map(math.isfinite).all(), losses
print(f"REPORT: fp16 training with finite losses (GAN epoch: g_l1 {gan.g_l1:.3f}, d_real {gan.d_real:.3f}, d_fake {gan.d_fake:.3f}); fp16 engine")
EOF
COLORGAN_PRECISION=fp16 run_step t4_fp16 GPU 45 "$PY" "$WORK/bin/gpu_check_t4.py"
RUN=("$PY" "$WORK/bin/gpu_check_train.py" --data "$JPEGS" --out "$WORK/run" --size "$SIZE" --bs "$BS" --pretrain-epochs 1 --gan-epochs 2
     --pretrained none --device "$DEV" --decode-on-device)
STOP_AFTER_GAN_EPOCH=1 EXPECT_GAN_EPOCHS=1 run_step train_killed GPU 35 "${RUN[@]}"
EXPECT_GAN_EPOCHS=2 run_step train_resume GPU 25 "${RUN[@]}"

# ------------------------------------------------------------------ the benchmark, then compile
printf 'import sys\nfrom colorgan.commands import bench_main\nif __name__ == "__main__": sys.exit(bench_main())\n' > "$WORK/bin/gpu_check_bench.py"
run_step bench GPU 80 "$PY" "$WORK/bin/gpu_check_bench.py" --device "$DEV" "${BENCH[@]}" --data "$JPEGS"
TORCH_LOGS=recompiles run_step compile GPU 50 "$PY" "$WORK/bin/gpu_check_bench.py" --device "$DEV" "${BENCH[@]}" --data "$JPEGS" "${COMPILE[@]}"

# ------------------------------------------------------------------ training with the time left
if [[ -d $PHOTOS/train && -d $PHOTOS/valid ]]; then
  secs=$(( $(left) - 30 )); if [[ -n $DRY ]] && (( secs > 20 )); then secs=20; fi
  if (( secs < 20 )); then line train skipped 0 "no time left in the ${BUDGET}s budget"
  else run_step train GPU $(( secs + 25 )) "$PY" tools/gpu_train.py "$PHOTOS" "$OUT" --seconds "$secs" "${TRAIN_SIZE[@]}"; fi
else line train skipped 0 "$PHOTOS has no train/ and valid/: bash tools/gpu_carry.sh prepare ~/.cache/colorgan/corpus"; fi

printf '%-13s %-8s %5s\n' total $([[ $FAILED == 0 ]] && echo ok || echo FAILED) $(( SECONDS - START )) >> "$REPORT"
cat "$REPORT"
rm -rf "$WORK"
exit $FAILED
