#!/usr/bin/env bash
# colorgan's GPU check: every GPU-only path of colorgan once, in under 8 minutes, with a one-line-per-step report.
#
#   bash tools/gpu_check.sh          # from anywhere; it works in the repository root
#
# Made for a bare machine with a CUDA build of torch and torchvision, Python 3.12 and no network. colorgan's other
# dependencies are installed from the wheels carried in wheels/ (git-ignored; GPU_CHECK_WHEELS names another folder)
# with `pip install --no-index --find-links`, into a folder of this run, not into the machine's Python.
# Carry the Python 3.12 wheels of colorgan's dependencies (pyproject.toml, with the [onnx] extra) and of nbdev, less what
# the machine has already (torch, torchvision, often numpy and Pillow); they are installed with --no-deps, as they are.
#
# Steps, each under its own timeout, all within GPU_CHECK_BUDGET seconds (default 450); a failing step never stops the rest:
#   install        the carried wheels
#   cuda           the GPU, its compute capability and the precision colorgan picks; 72 JPEGs for the steps below
#   nbdev_cuda     nbdev-test --flags cuda on the notebooks with #| cuda cells (whole notebooks: nbdev runs all their cells),
#                  in the background beside the steps below
#   engines        the bf16 and fp16 inference engines against fp32 (TF32 off), and what fast_generator picks
#   t4_fp16        an imitation of a T4: COLORGAN_PRECISION=fp16, a 1+1-epoch colorgan-train (fp16 loss scaling on both
#                  nets) and the fp16 inference engine
#   train_compile  colorgan-train --compile, 256 px: 1 pretraining epoch and the first of 2 GAN epochs, then stopped as a
#                  killed run would be; the seconds spent compiling, and the recompiles (TORCH_LOGS=recompiles)
#   train_resume   the same command again: it resumes the GAN stage on the GPU (D's optimizer state included) and ends
#   bench          colorgan-bench on cuda
#   bench_decode   colorgan-bench on cuda --decode-on-device, on the JPEGs
#   bench_compile  colorgan-bench on cuda --compile
# On a machine without a CUDA GPU every GPU step is reported as skipped, and the check exits 0.
#
# Output: $OUT/report.txt (printed at the end too) and a log per step in $OUT (default: ./gpu_check_out).
# Exit code: 0 when no step failed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
[[ -f pyproject.toml && -d nbs && -d colorgan ]] || { echo "gpu_check.sh: error: $REPO is not the colorgan repository" >&2; exit 2; }
OUT=${OUT:-$REPO/gpu_check_out}; mkdir -p "$OUT"
WHEELS=${GPU_CHECK_WHEELS:-$REPO/wheels}
BUDGET=${GPU_CHECK_BUDGET:-450}
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/colorgan-gpu-check.XXXXXX")
REPORT=$OUT/report.txt
START=$SECONDS
FAILED=0
GPU=''          # set by the cuda step: the GPU's name
NO_GPU_WHY='no CUDA GPU'
NB_PID=''       # nbdev-test of the #| cuda cells, in the background

export PYTHONPATH="$REPO:$WORK/site${PYTHONPATH:+:$PYTHONPATH}" PATH="$WORK/site/bin:$PATH"
export COLORGAN_HOME=$WORK/home TORCHINDUCTOR_CACHE_DIR=$WORK/inductor TRITON_CACHE_DIR=$WORK/triton MPLBACKEND=Agg
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
# No network: a download fails at once instead of waiting for a timeout
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
export no_proxy=localhost,127.0.0.1 NO_PROXY=localhost,127.0.0.1

line() { printf '%-14s %-8s %5s  %s\n' "$@" >> "$REPORT"; }
left() { echo $(( BUDGET - (SECONDS - START) )); }
# run_step NAME GPU|CPU MAX_SECONDS CMD...: run CMD under a timeout, log to $OUT/NAME.log, one line in the report
run_step() {
  local name=$1 kind=$2 max=$3; shift 3
  if [[ $kind == GPU && -z $GPU ]]; then line "$name" skipped 0 "$NO_GPU_WHY"; return; fi
  [[ -n ${GPU_CHECK_DRY_RUN:-} ]] && max=$(( 3 * max ))  # a CPU is slower
  local t; t=$(left); (( t > max )) && t=$max
  if (( t < 15 )); then line "$name" skipped 0 "no time left in the ${BUDGET}s budget"; return; fi
  local t0=$SECONDS
  timeout -k 5 "$t" "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  local note; note=$(grep -h '^REPORT: ' "$OUT/$name.log" | tail -1 | cut -c9-)
  if [[ $name == bench* && -n $NB_PID ]] && kill -0 "$NB_PID" 2>/dev/null; then note="beside nbdev_cuda, so slower than alone${note:+; $note}"; fi
  if [[ $name == bench* ]] && grep -q '^ratio =' "$OUT/$name.log"; then  # the ratio column of colorgan-bench's table, in its row order
    note="${note:+$note; }ratios $(awk '/^ +unit +reference/ {t=1; next} /^$/ {t=0} t {printf "%s%s", sep, $NF; sep=" "}' "$OUT/$name.log")"
  fi
  if [[ ${TORCH_LOGS:-} == *recompiles* ]]; then note="${note:+$note; }$(grep -c 'Recompiling function' "$OUT/$name.log") recompiles"; fi
  if (( rc == 0 )); then line "$name" ok $(( SECONDS - t0 )) "$note"
  else
    FAILED=1
    (( rc == 124 || rc == 137 )) && note="timed out after ${t}s; $note" || note="exit $rc: $(grep -v '^\s*$' "$OUT/$name.log" | tail -1 | cut -c1-160)"
    line "$name" FAILED $(( SECONDS - t0 )) "$note"
  fi
}
# The commands as scripts: fastcore's call_parse (colorgan-train, nbdev-test) reads sys.argv only in a script's __main__
mkdir -p "$WORK/bin" "$WORK/site"
printf 'import sys\nfrom nbdev.test import nbdev_test\nif __name__ == "__main__": sys.exit(nbdev_test())\n' > "$WORK/bin/gpu_check_nbdev_test.py"
printf 'import sys\nfrom colorgan.bench import bench_cli\nif __name__ == "__main__": sys.exit(bench_cli())\n' > "$WORK/bin/gpu_check_bench.py"
cat > "$WORK/bin/gpu_check_train.py" <<'EOF'
# colorgan-train, which reports the epochs its checkpoint holds and its compile time. With STOP_AFTER_GAN_EPOCH=1 it stops
# right after writing its first GAN checkpoint, as a killed run would; with EXPECT_GAN_EPOCHS=n it fails unless n are done.
import atexit, os, sys
from colorgan import train
if os.environ.get('STOP_AFTER_GAN_EPOCH'):
    write = train.Checkpointer.after_epoch
    def write_then_stop(self):
        write(self)
        if self.stage == 'gan': print('stopped after the first GAN epoch, as a killed run would be', flush=True); raise SystemExit(0)
    train.Checkpointer.after_epoch = write_then_stop
@atexit.register
def report():
    from torch._dynamo.utils import compilation_time_metrics
    try: done = train.load_checkpoint(train.Path(sys.argv[sys.argv.index('--out') + 1])/'checkpoint.pt')['done']
    except Exception as e: done = f'no checkpoint ({type(e).__name__})'
    compiled = compilation_time_metrics.get('_compile.compile_inner', [])
    print(f"REPORT: done {done}" + (f"; compiled {len(compiled)} graphs in {sum(compiled):.0f}s" if compiled else ''), flush=True)
    if os.environ.get('EXPECT_GAN_EPOCHS') and (not isinstance(done, dict) or done['gan'] != int(os.environ['EXPECT_GAN_EPOCHS'])):
        os._exit(1)
if __name__ == '__main__': train.train_cli()
EOF

{ echo "colorgan GPU check, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) CPUs"
  printf '%-14s %-8s %5s  %s\n' step status seconds note; } > "$REPORT"

# ------------------------------------------------------------------ install
shopt -s nullglob; wheels=("$WHEELS"/*.whl); shopt -u nullglob
if (( ${#wheels[@]} )); then
  run_step install CPU 90 "$PY" -m pip install --no-index --find-links "$WHEELS" --no-deps --target "$WORK/site" --disable-pip-version-check -q "${wheels[@]}"
else line install skipped 0 "no wheels in $WHEELS"; fi

# ------------------------------------------------------------------ the GPU, and photos for the steps below
cat > "$WORK/bin/gpu_check_cuda.py" <<'EOF'
import os, sys, torch
dry = os.environ.get('GPU_CHECK_DRY_RUN')
if not dry and not torch.cuda.is_available(): print(f'REPORT: no CUDA GPU (torch {torch.__version__})'); sys.exit(3)
from pathlib import Path
from PIL import Image
from colorgan.devices import fast_precision
from colorgan.images import find_images
from colorgan.sources import sample_photos
dest = Path(os.environ['JPEGS']); dest.mkdir(parents=True, exist_ok=True)
for f in find_images(sample_photos()):
    img = Image.open(f).convert('RGB')
    for k in range(2 if dry else 8): img.save(dest/f'{f.stem}_{k}.jpg', quality=90)
if dry: print(f'REPORT: dry run on the CPU (GPU_CHECK_DRY_RUN=1): tries the script, checks no GPU; torch {torch.__version__}'); sys.exit(0)
name, (major, minor) = torch.cuda.get_device_name(), torch.cuda.get_device_capability()
print(f'REPORT: {name}, sm{major}{minor}, trains in {fast_precision("cuda") or "fp32"}, torch {torch.__version__}, {len(find_images(dest))} JPEGs')
EOF
export JPEGS=$WORK/jpegs WORK
t0=$SECONDS; timeout -k 5 60 "$PY" "$WORK/bin/gpu_check_cuda.py" > "$OUT/cuda.log" 2>&1; rc=$?
note=$(grep -h '^REPORT: ' "$OUT/cuda.log" | tail -1 | cut -c9-)
case $rc in
  0) GPU=$note; line cuda ok $(( SECONDS - t0 )) "$note" ;;
  3) NO_GPU_WHY=$note; line cuda skipped $(( SECONDS - t0 )) "$note" ;;
  *) FAILED=1; NO_GPU_WHY='the cuda step failed'; line cuda FAILED $(( SECONDS - t0 )) "exit $rc: $(tail -1 "$OUT/cuda.log" | cut -c1-160)" ;;
esac
# What the steps below run on: a GPU at the recipe's 256 px, or (dry run) this CPU at sizes that take seconds, uncompiled
if [[ -n ${GPU_CHECK_DRY_RUN:-} ]]; then export DEV=cpu SIZE=64 BS=4; COMPILE=(); BENCH_SIZE=(--tiny)
else export DEV=cuda SIZE=256 BS=16; COMPILE=(--compile); BENCH_SIZE=(--size 256 --bs 16 --infer-bs 16 --steps 5 --data-steps 5 --repeats 2); fi

# ------------------------------------------------------------------ nbdev-test of the #| cuda cells, in the background
if [[ -n $GPU && -z ${GPU_CHECK_DRY_RUN:-} ]]; then
  cuda_nbs=$(grep -l '"#| cuda' nbs/*.ipynb | xargs -n1 basename | sed 's/\.ipynb$//' | paste -sd'|')
  NB_T0=$SECONDS
  nb_t=$(( $(left) - 10 )); (( nb_t < 30 )) && nb_t=30
  ( timeout -k 5 $nb_t "$PY" "$WORK/bin/gpu_check_nbdev_test.py" --flags cuda --n-workers 4 --do-print --timing \
        --file-re "^($cuda_nbs)\.ipynb\$" > "$OUT/nbdev_cuda.log" 2>&1; echo $? > "$WORK/nbdev_rc" ) &
  NB_PID=$!
fi

# ------------------------------------------------------------------ inference engines, a T4's fp16, compiled training and its resume, benchmarks
cat > "$WORK/bin/gpu_check_engines.py" <<'EOF'
# fp32, bf16 and fp16 inference against eager fp32 (TF32 off, so that fp32 is exact), and what fast_generator picks
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
    with no_tf32(): diffs[str(dtype or 'fp32').replace('torch.', '')] = (TorchColorizer(G, dtype=dtype)(x) - ref).abs().max().item()
print(diffs)
assert diffs['fp32'] < 1e-3 and diffs['bfloat16'] < 0.5 and diffs['float16'] < 0.5, diffs
auto = fast_generator(G, device, backend='torch' if device == 'cpu' and not fast_precision(device, training=False) else 'auto')
assert getattr(auto, 'dtype', None) == fast_precision(device, training=False), auto
print(f"REPORT: fast_generator picks {auto.extra_repr()}; max |ab - fp32| (scaled): " + ', '.join(f'{k} {v:.1e}' for k, v in diffs.items()))
EOF
run_step engines GPU 45 "$PY" "$WORK/bin/gpu_check_engines.py"
cat > "$WORK/bin/gpu_check_t4.py" <<'EOF'
# A T4 imitation on any GPU: what COLORGAN_PRECISION=fp16 gives training (loss scaling on both nets) and inference
import math, os, sys, subprocess, torch
import pandas as pd
from colorgan.engines import fast_generator
from colorgan.model import load_generator
assert os.environ['COLORGAN_PRECISION'] == 'fp16'
device, size, out = os.environ['DEV'], int(os.environ['SIZE']) // 2, os.path.join(os.environ['WORK'], 't4_run')
subprocess.run([sys.executable, os.path.join(os.environ['WORK'], 'bin', 'gpu_check_train.py'), '--data', os.environ['JPEGS'], '--out', out,
                '--size', str(size), '--bs', os.environ['BS'], '--pretrain-epochs', '1', '--gan-epochs', '1', '--pretrained', 'none', '--device', device], check=True)
engine = fast_generator(load_generator(os.path.join(out, 'generator.safetensors'), device=device))
assert engine.dtype == torch.float16, engine.extra_repr()
assert torch.isfinite(engine(torch.rand(4, 1, size, size, device=device) * 2 - 1)).all()
losses = pd.read_csv(os.path.join(out, 'losses.csv'))
gan = losses.iloc[-1]
assert pd.concat([losses[['train_loss', 'valid_l1', 'g_l1']].stack(), gan[['d_real', 'd_fake', 'g_gan']]]).astype(float).map(math.isfinite).all(), losses
print(f"REPORT: fp16 training with finite losses (GAN epoch: g_l1 {gan.g_l1:.3f}, d_real {gan.d_real:.3f}, d_fake {gan.d_fake:.3f}); fp16 engine")
EOF
COLORGAN_PRECISION=fp16 run_step t4_fp16 GPU 75 "$PY" "$WORK/bin/gpu_check_t4.py"
TRAIN=("$PY" "$WORK/bin/gpu_check_train.py" --data "$JPEGS" --out "$WORK/run" --size "$SIZE" --bs "$BS" --pretrain-epochs 1 --gan-epochs 2
       --pretrained none --device "$DEV" "${COMPILE[@]}" --decode-on-device)
STOP_AFTER_GAN_EPOCH=1 EXPECT_GAN_EPOCHS=1 TORCH_LOGS=recompiles run_step train_compile GPU 150 "${TRAIN[@]}"
EXPECT_GAN_EPOCHS=2 TORCH_LOGS=recompiles run_step train_resume GPU 90 "${TRAIN[@]}"
BENCH=("$PY" "$WORK/bin/gpu_check_bench.py" --device "$DEV" "${BENCH_SIZE[@]}")
run_step bench GPU 75 "${BENCH[@]}"
run_step bench_decode GPU 60 "${BENCH[@]}" --data "$JPEGS" --decode-on-device
TORCH_LOGS=recompiles run_step bench_compile GPU 150 "${BENCH[@]}" "${COMPILE[@]}"

# ------------------------------------------------------------------ wait for nbdev-test, then the report
if [[ -n $NB_PID ]]; then
  wait "$NB_PID"; rc=$(cat "$WORK/nbdev_rc" 2>/dev/null || echo 1)
  summary=$(grep -hE '^(Success\.|nbdev Tests Failed)' "$OUT/nbdev_cuda.log" | head -1)
  if [[ $rc == 0 ]]; then line nbdev_cuda ok $(( SECONDS - NB_T0 )) "$cuda_nbs: $summary"
  else FAILED=1; line nbdev_cuda FAILED $(( SECONDS - NB_T0 )) "exit $rc ($cuda_nbs) $(grep -hA3 'Tests Failed' "$OUT/nbdev_cuda.log" | tr '\n\t' '  ' | cut -c1-120)"; fi
elif [[ -n ${GPU_CHECK_DRY_RUN:-} ]]; then line nbdev_cuda skipped 0 "a dry run: #| cuda cells need a GPU"
else line nbdev_cuda skipped 0 "$NO_GPU_WHY"; fi
printf '%-14s %-8s %5s\n' total $([[ $FAILED == 0 ]] && echo ok || echo FAILED) $(( SECONDS - START )) >> "$REPORT"
cat "$REPORT"
rm -rf "$WORK"
exit $FAILED
