"""Does the generator need to predict ab at full resolution? Train the standard generator and variants that predict ab at
1/2 and 1/4 of the input's resolution (then upsample it bilinearly), side by side on the same photos with the same
budget, and print FLOPs, training speed, PSNR, SSIM and colourfulness on held-out photos.

    python tools/chroma_experiment.py TRAIN_FOLDER VALID_FOLDER [--size 128] [--pretrain-epochs 8] [--gan-epochs 4]

The variants live here, not in the package: issue 5 asks for them as an option only if they lose little quality."""
import argparse, time, warnings
import torch, torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from fastai.layers import ConvLayer, ResBlock
from fastai.torch_core import apply_init, set_seed
from colorgan.data import get_dls
from colorgan.model import UnetGenerator
from colorgan.pretrain import pretrain_learner
from colorgan.gan import gan_learner
from colorgan.metrics import evaluate

class LowResChromaGenerator(UnetGenerator):
    "`UnetGenerator` whose decoder stops at 1/`scale` of the input's size: ab is predicted there and upsampled bilinearly."
    def __init__(self, scale:int=2): # 2: after the last U-Net block; 4: one block earlier
        super().__init__()
        self.scale, self.blocks = scale, self.blocks[:4 if scale == 2 else 3]
        # as at full size: a residual block on 96 decoder channels and L, then a 1x1 conv to ab
        del self.shuf
        self.reduce = nn.Identity() if scale == 2 else ConvLayer(256, 96, ks=1, norm_type=None)  # 1/4: 256 channels there
        self.res = ResBlock(1, 97, 97, norm_type=None)
        apply_init(self.res, nn.init.kaiming_normal_)

    def forward(self, x):
        e = self.encoder
        s0 = e.relu(e.bn1(e.conv1(x)))
        s1 = e.layer1(e.maxpool(s0)); s2 = e.layer2(s1); s3 = e.layer3(s2)
        h = self.middle(self.relu(self.bn(e.layer4(s3))))
        for block, skip in zip(self.blocks, (s3, s2, s1, s0)): h = block(h, skip)
        ab = self.head(self.res(torch.cat([self.reduce(h), F.avg_pool2d(x, self.scale)], dim=1)))
        return F.interpolate(ab, x.shape[-2:], mode='bilinear', align_corners=False)

def gflops(model, size=256):
    "Forward GFLOPs of one image of `size` pixels."
    with FlopCounterMode(display=False) as counter: model.eval()(torch.zeros(1, 1, size, size))
    return counter.get_total_flops() / 1e9

def run(name, make, a):
    set_seed(a.seed)
    generator = make()
    dls = get_dls(a.train, size=a.size, bs=a.bs, valid_pct=0.1, seed=a.seed, num_workers=2, device='cpu')
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = pretrain_learner(dls, generator)
        with learn.no_bar(): learn.fit_one_cycle(a.pretrain_epochs, a.lr)
        pretrain_l1 = learn.recorder.values[-1][1]
        learn = gan_learner(dls, generator)
        with learn.no_bar(): learn.fit(a.gan_epochs)
    seconds = time.perf_counter() - start
    n_images = len(dls.train) * a.bs * (a.pretrain_epochs + a.gan_epochs)
    scores = evaluate(generator.eval(), a.valid, render_size=a.size).loc['model']
    torch.save(generator.state_dict(), f'{a.out}/{name}.pt')
    return dict(variant=name, gflops_256=gflops(generator), train_images_per_s=n_images / seconds, valid_l1_after_pretrain=pretrain_l1,
                psnr=scores.psnr, ssim=scores.ssim, colorfulness=scores.colorfulness, delta_colorfulness=scores.delta_colorfulness)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('train'); p.add_argument('valid')
    p.add_argument('--size', type=int, default=128); p.add_argument('--bs', type=int, default=16)
    p.add_argument('--pretrain-epochs', type=int, default=8); p.add_argument('--gan-epochs', type=int, default=4)
    p.add_argument('--lr', type=float, default=1e-3); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='.'); p.add_argument('--variants', default='1,2,4')
    a = p.parse_args()
    import pandas as pd
    makers = {1: UnetGenerator, 2: lambda: LowResChromaGenerator(2), 4: lambda: LowResChromaGenerator(4)}
    rows = []
    for scale in map(int, a.variants.split(',')):
        rows.append(run(f'ab_at_1_{scale}' if scale > 1 else 'ab_at_full', makers[scale], a))
        print(pd.DataFrame(rows).to_string(index=False, float_format='%.4g'), flush=True)
