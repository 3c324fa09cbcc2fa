#!/usr/bin/env python3
"""Evaluate training runs side by side on held-out photos: the table and the figure of the results chapter.

    python tools/ablation.py RUNS HELDOUT [--out results] [--render-size PX] [--figure nbs/images/ablation.png] [--show 6]

RUNS is a folder of `colorgan-train` output folders (each with its generator.safetensors), and of their logs,
RUNS/<run>.log, which `/usr/bin/time -v colorgan-train ... >> RUNS/<run>.log 2>&1` wrote, so that the table can say
how long each run trained (wall clock and CPU time, summed over its resumes). HELDOUT is a folder of colour photos none
of the runs trained on, such as the offline corpus's valid/ folder. Every run is evaluated with `colorgan.metrics.evaluate`
on the same photos, at the size it was trained at unless --render-size says otherwise; the grayscale baseline is the
same for all, and is listed once.

Writes OUT/ablation.csv and OUT/ablation.md, and, with --figure, a grid of held-out photos: grayscale, each run, truth.
"""
import argparse, json, re, sys
from pathlib import Path

def run_times(log:Path) -> dict:
    "Wall-clock and CPU minutes of a run, summed over the `/usr/bin/time -v` reports in its log (one per start or resume)."
    text = log.read_text(errors='replace') if log.is_file() else ''
    def minutes(h, m, s): return (int(h or 0) * 3600 + int(m) * 60 + float(s)) / 60
    wall = sum(minutes(*t) for t in re.findall(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)', text))
    cpu = sum(float(s) for s in re.findall(r'(?:User|System) time \(seconds\): ([\d.]+)', text)) / 60
    return dict(train_wall_min=round(wall, 1), train_cpu_min=round(cpu, 1))

RECIPE = dict(size=None, pretrain_epochs=None, gan_epochs=None, chroma_scale=1, rebalance=False, d_augment=False, min_crop=1.,
              lambda_l1=100.)  # the settings compared, with the defaults of runs whose files predate a setting

def recipe(generator) -> dict:
    "The training settings a generator's file records (`colorgan-train` saves them in its facts)."
    run = json.loads(generator.facts.get('recipe', '{}'))
    return {k: run.get(k, default) for k, default in RECIPE.items()}

def main(argv=None):
    p = argparse.ArgumentParser(prog='ablation', description=__doc__.split('\n\n')[0])
    p.add_argument('runs', type=Path, help='folder of colorgan-train output folders and their logs')
    p.add_argument('heldout', type=Path, help='folder of held-out colour photos')
    p.add_argument('--out', type=Path, default=Path('results'), help='where ablation.csv and ablation.md go (default: results)')
    p.add_argument('--render-size', type=int, default=None, help="render size of the evaluation (default: each model's training size)")
    p.add_argument('--figure', type=Path, help='write a grid of held-out photos here (PNG)')
    p.add_argument('--show', type=int, default=6, help='photos in the figure (default: 6)')
    p.add_argument('--order', help='comma-separated run names: which runs, in which order (default: all, by name)')
    a = p.parse_args(argv)
    import pandas as pd, matplotlib.pyplot as plt
    from colorgan.images import find_images, write_atomically
    from colorgan.model import load_generator
    from colorgan.metrics import comparison_figure, evaluate, markdown_table
    names = a.order.split(',') if a.order else sorted(d.name for d in a.runs.iterdir() if (d/'generator.safetensors').is_file())
    if not names: p.error(f'{a.runs}: no run folders with a generator.safetensors')
    generators, rows, gray = {}, [], None
    for name in names:
        generators[name] = g = load_generator(a.runs/name/'generator.safetensors')
        df = evaluate(g, a.heldout, render_size=a.render_size)
        rows.append(dict(model=name, **recipe(g), **run_times(a.runs/f'{name}.log'), render_size=df.attrs['render_size'],
                         **df.loc['model'].drop('images_per_s')))
        gray = df.loc['grayscale'].drop('images_per_s')
        print(f"{name}: PSNR {rows[-1]['psnr']:.2f} dB, ΔCF {rows[-1]['delta_colorfulness']:.1f}", file=sys.stderr)
    table = pd.DataFrame(rows + [dict(model='grayscale', **gray)]).set_index('model')
    a.out.mkdir(parents=True, exist_ok=True)
    write_atomically(a.out/'ablation.csv', lambda tmp: table.to_csv(tmp))
    metrics = table[['psnr', 'ssim', 'colorfulness', 'delta_colorfulness']]
    note = f"{df.attrs['n_images']} held-out photos from {a.heldout.name}/"
    write_atomically(a.out/'ablation.md', lambda tmp: tmp.write_text(f'{note}\n\n{markdown_table(metrics)}\n'))
    print(table.to_string())
    if a.figure:
        files = find_images(a.heldout)
        spread = files[::max(1, len(files) // a.show)]  # photos from across the folder, not the first few of one source
        fig = comparison_figure(generators, spread, n=a.show, render_size=a.render_size)
        write_atomically(a.figure, lambda tmp: fig.savefig(tmp, format='png', dpi=72))
        plt.close(fig)
    return 0

if __name__ == '__main__': sys.exit(main())
