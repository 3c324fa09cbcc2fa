"""Train a hint-taking generator within a wall-clock budget on one GPU, and write it in parts small enough to come back.

    python tools/gpu_train.py PHOTOS OUT [--seconds 360] [--size 256] [--bs 64] [--repeat 8] [--device cuda]

PHOTOS holds train/ and valid/ (e.g. the corpus of `python -m colorgan.corpus`, shrunk to a 288 px shorter side so that it
travels to a GPU machine). The recipe: a hint-taking generator (`build_generator(None, chroma_scale=4, hints=True)`) trained
with simulated hints (`SimulateHints`) in colorgan's two stages: L1 pretraining with one-cycle for about 60% of the time
left after a timing epoch, then GAN + 100 L1 with DiffAugment until the budget is spent. Each epoch shows every
training photo `--repeat` times (random crops and flips), so that a fast GPU spends its time on steps, not on starting
DataLoader workers. OUT gets losses.csv, and generator.safetensors in parts of at most 15 MiB (generator.part0, ...):
`cat generator.part* > generator.safetensors` joins them. A CPU dry run: --device cpu --size 64 --bs 4 --seconds 60.
"""
import argparse, json, math, os, shutil, sys, tempfile, time
from pathlib import Path
import pandas as pd, torch
from fastai.callback.core import Callback, CancelFitException
from colorgan.data import get_dls
from colorgan.gan import LossHistory, gan_learner
from colorgan.images import find_images
from colorgan.model import build_generator, save_generator
from colorgan.pretrain import pretrain_learner

class Until(Callback):
    "Stop the fit once the wall clock passes `end` (looked at after each batch)."
    def __init__(self, end): self.end = end
    def after_batch(self):
        if time.perf_counter() > self.end: raise CancelFitException()

def repeated(photos:Path, folder:Path, repeat:int) -> Path:
    "A train/valid folder whose train/ holds every training photo `repeat` times (hard links where possible)."
    for f in find_images(photos/'train'):
        for k in range(repeat):
            dest = folder/'train'/f'{k}'/f.relative_to(photos/'train')
            dest.parent.mkdir(parents=True, exist_ok=True)
            try: os.link(f, dest)
            except OSError: shutil.copy(f, dest)
    shutil.copytree(photos/'valid', folder/'valid')
    return folder

def quiet(learn):
    "`learn` without its progress bars, which a log file cannot show."
    if hasattr(learn, 'progress'): learn.remove_cb(learn.progress)
    return learn

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('photos', type=Path); p.add_argument('out', type=Path)
    p.add_argument('--seconds', type=float, default=360); p.add_argument('--size', type=int, default=256)
    p.add_argument('--bs', type=int, default=64); p.add_argument('--repeat', type=int, default=8)
    p.add_argument('--device', default='cuda'); p.add_argument('--min-crop', type=float, default=0.7)
    p.add_argument('--pretrain-share', type=float, default=0.6)
    a = p.parse_args()
    start = time.perf_counter(); end = start + a.seconds
    left = lambda: end - time.perf_counter()
    a.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(42)
    folder = repeated(a.photos, Path(tempfile.mkdtemp()), a.repeat)
    dls = get_dls(folder, size=a.size, bs=a.bs, device=a.device, min_crop=a.min_crop)
    G = build_generator(None, chroma_scale=4, hints=True)
    history = []
    print(f'{len(dls.train_ds)} training items ({a.repeat} x {len(dls.train_ds) // a.repeat} photos), {len(dls.valid_ds)} valid, '
          f'{a.size} px, batch {a.bs}, {a.seconds:.0f}s on {a.device}', flush=True)
    pre = quiet(pretrain_learner(dls, G))
    t0 = time.perf_counter()
    with pre.no_logging(): pre.fit(1, 1e-4)  # warms up cuDNN's autotuner, and times an epoch
    per_epoch = time.perf_counter() - t0
    epochs = max(1, int(a.pretrain_share * (left() - 20) / per_epoch))
    print(f'pretrain: an epoch takes {per_epoch:.1f}s ({len(dls.train) * a.bs / per_epoch:.0f} images/s); {epochs} epochs of one-cycle', flush=True)
    pre.add_cb(LossHistory(history, 'pretrain'))
    stop_pretrain = time.perf_counter() + a.pretrain_share * (left() - 20) * 1.1
    with pre.no_logging(): pre.fit_one_cycle(epochs, 1e-3, cbs=Until(stop_pretrain))
    gan = quiet(gan_learner(dls, G, augment=True))
    gan.add_cb(LossHistory(history, 'gan'))
    t0 = time.perf_counter()
    with gan.no_logging(): gan.fit(100_000, cbs=Until(end - 15))
    g = [r for r in history if r['stage'] == 'gan']
    print(f'gan: {len(g)} epochs in {time.perf_counter() - t0:.0f}s', flush=True)
    pd.DataFrame(history).to_csv(a.out/'losses.csv', index=False)
    for r in history[-3:]: print(r)
    recipe = dict(size=a.size, bs=a.bs, chroma_scale=4, with_hints=True, min_crop=a.min_crop, repeat=a.repeat, seconds=a.seconds,
                  pretrain_epochs=sum(r['stage'] == 'pretrain' for r in history), gan_epochs=len(g), d_augment=True, pretrained=None)
    path = save_generator(G, Path(tempfile.mkdtemp())/'generator.safetensors', half=True, size=str(a.size), recipe=json.dumps(recipe),
                          data='corpus', device=torch.cuda.get_device_name() if a.device == 'cuda' else a.device,
                          valid_l1=f"{history[-1]['valid_l1']:.5f}")
    data, part = path.read_bytes(), 15 * 2**20
    for i in range(0, len(data), part): (a.out/f'generator.part{i // part}').write_bytes(data[i:i + part])
    print(f"REPORT: {recipe['pretrain_epochs']} pretraining and {len(g)} GAN epochs, valid L1 {history[-1]['valid_l1']:.4f}; "
          f'generator {len(data) / 2**20:.1f} MiB in {math.ceil(len(data) / part)} parts after {time.perf_counter() - start:.0f}s', flush=True)

if __name__ == '__main__': sys.exit(main())
