"""Does the generator need to predict ab at full resolution, and does bf16 inference change its colours?

Trains `UnetGenerator(chroma_scale=1)` (ab at full size, the default) and the variants that predict ab at 1/2 and 1/4 of
the size (`chroma_scale=2, 4`) side by side: same photos, split, seed and epochs. Prints, per variant, forward GFLOPs at
256 px, training images/s, batch-1 inference latency at 256 px next to the full-size model's (eager fp32, in turns), and
PSNR, SSIM, colourfulness and ΔCF on held-out photos. Then colorizes the held-out photos with the full-size model in fp32
(onnxruntime) and in bf16 (PyTorch autocast) and prints how far apart their colours are.

    python tools/chroma_experiment.py TRAIN_FOLDER VALID_FOLDER [--size 128] [--pretrain-epochs 8] [--gan-epochs 4]
"""
import argparse, statistics, time, warnings
import numpy as np, pandas as pd, torch
from torch.utils.flop_counter import FlopCounterMode
from fastai.torch_core import set_seed
from colorgan.color import rgb_to_lab
from colorgan.images import find_images
from colorgan.data import get_dls
from colorgan.model import CHROMA_SCALES, build_generator
from colorgan.pretrain import pretrain_learner
from colorgan.gan import gan_learner
from colorgan.inference import colorize
from colorgan.engines import TorchColorizer, fast_generator
from colorgan.metrics import colour_photos, evaluate, grayscale, psnr

def gflops(generator, size=256):
    "Forward GFLOPs of one image of `size` pixels."
    with FlopCounterMode(display=False) as counter, torch.no_grad(): generator.eval()(torch.zeros(1, 1, size, size))
    return counter.get_total_flops() / 1e9

def train_variant(chroma_scale, a):
    "A generator with `chroma_scale` trained as `colorgan-train` would (L1 one-cycle, then GAN), and its training images/s."
    set_seed(a.seed)
    generator = build_generator(None, chroma_scale=chroma_scale)
    dls = get_dls(a.train, size=a.size, bs=a.bs, valid_pct=0.1, seed=a.seed, num_workers=2, device='cpu')
    start = time.perf_counter()
    learn = pretrain_learner(dls, generator)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.pretrain_epochs, a.lr)
    learn = gan_learner(dls, generator)
    with learn.no_bar(), learn.no_logging(): learn.fit(a.gan_epochs)
    n_images = len(dls.train) * a.bs * (a.pretrain_epochs + a.gan_epochs)
    return generator.eval(), n_images / (time.perf_counter() - start)

def latencies_ms(generators, size=256, rounds=10):
    "Median eager fp32 batch-1 latency of each generator, measured in turns after two warm-up rounds."
    x, times = torch.rand(1, 1, size, size) * 2 - 1, [[] for _ in generators]
    with torch.inference_mode():
        for r in range(rounds):
            for g, ts in zip(generators, times):
                t0 = time.perf_counter(); g(x)
                if r >= 2: ts.append(1e3 * (time.perf_counter() - t0))
    return [statistics.median(ts) for ts in times]

def bf16_vs_fp32(generator, valid):
    "Colour differences (Lab a/b units) and PSNRs of bf16 against fp32 colorizations of the held-out photos."
    exact, bf16 = fast_generator(generator, 'cpu', backend='onnxruntime'), TorchColorizer(generator, 'cpu', bf16=True)
    rows = []
    for _, truth in colour_photos(find_images(valid)):
        gray = grayscale(truth)
        a, b = colorize(gray, exact), colorize(gray, bf16)
        lab_a, lab_b = (rgb_to_lab(torch.from_numpy(np.asarray(im)).permute(2, 0, 1)[None]) for im in (a, b))
        dab = (lab_a[0, 1:] - lab_b[0, 1:]).norm(dim=0).numpy()
        rows.append(dict(psnr_fp32=psnr(a, truth), psnr_bf16=psnr(b, truth), psnr_bf16_vs_fp32=psnr(b, a),
                         dab_mean=dab.mean(), dab_p999=np.percentile(dab, 99.9), dab_max=dab.max()))
    df = pd.DataFrame(rows)
    return df.mean().to_dict() | dict(dab_max=df.dab_max.max(), photos=len(df))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('train', help='a folder of colour photos to train on'); p.add_argument('valid', help='held-out colour photos')
    p.add_argument('--size', type=int, default=128); p.add_argument('--bs', type=int, default=16)
    p.add_argument('--pretrain-epochs', type=int, default=8); p.add_argument('--gan-epochs', type=int, default=4)
    p.add_argument('--lr', type=float, default=1e-3); p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    warnings.simplefilter('ignore')
    rows, generators = [], []
    for scale in CHROMA_SCALES:
        generator, images_per_s = train_variant(scale, a)
        scores = evaluate(generator, a.valid, render_size=a.size).loc['model']
        generators.append(generator)
        rows.append(dict(chroma_scale=scale, gflops_256=gflops(generator), train_images_per_s=images_per_s, psnr=scores.psnr,
                         ssim=scores.ssim, colorfulness=scores.colorfulness, delta_colorfulness=scores.delta_colorfulness))
        print(f'trained chroma_scale={scale}', flush=True)
    df = pd.DataFrame(rows)
    df.insert(3, 'latency_ms_256', latencies_ms(generators))
    print(df.to_string(index=False, float_format='%.4g'))
    print('bf16 against fp32, full-size model:', {k: round(float(v), 4) for k, v in bf16_vs_fp32(generators[0], a.valid).items()})
