"""The GPU tools on a machine without a GPU: tools/gpu_carry.sh prepares a fresh clone for a device call and puts it back,
and tools/gpu_check.sh rehearses every step on the CPU (GPU_CHECK_DRY_RUN=1) within its budget, in at most 8 files."""
import os, subprocess, sys, zipfile
from pathlib import Path

import numpy as np, pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WANTED = [l.split('#')[0].strip() for l in (ROOT/'tools'/'gpu_wheels.txt').read_text().splitlines() if l.split('#')[0].strip()]

def fake_wheel(folder:Path, name='gpu_check_fake', version='0.1') -> Path:
    "A tiny valid pure-Python wheel, standing in for a carried one."
    path = folder/f'{name}-{version}-py3-none-any.whl'
    dist = f'{name}-{version}.dist-info'
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(f'{name}/__init__.py', 'WHO = "a carried wheel"\n')
        z.writestr(f'{dist}/METADATA', f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
        z.writestr(f'{dist}/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
        z.writestr(f'{dist}/RECORD', '')
    return path

def test_gpu_carry_on_a_fresh_clone(tmp_path):
    clone = tmp_path/'clone'
    subprocess.run(['git', 'clone', '-q', str(ROOT), str(clone)], check=True)
    wheels = tmp_path/'wheels'; wheels.mkdir()
    for req in WANTED: fake_wheel(wheels, req.split('==')[0].replace('-', '_'), req.split('==')[1])
    env = {**os.environ, 'GPU_CARRY_WHEELS': str(wheels), 'PYTHON': sys.executable}
    r = subprocess.run(['bash', 'tools/gpu_carry.sh', 'prepare'], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    size = next(l for l in r.stdout.splitlines() if 'would send' in l)
    assert float(size.split('would send ')[1].split()[0]) < 64, size
    assert len(list((clone/'gpu_carry'/'wheels').glob('*.whl'))) == len(WANTED) and list((clone/'gpu_carry'/'photos').glob('*.jpg'))
    status = subprocess.run(['git', 'status', '--porcelain'], cwd=clone, capture_output=True, text=True).stdout
    assert status.strip() == 'D  colorgan/weights/colorgan-default.safetensors', status  # left behind, and nothing else travels
    assert (clone/'colorgan'/'weights'/'colorgan-default.safetensors').is_file()           # but still on disk
    r = subprocess.run(['bash', 'tools/gpu_carry.sh', 'restore'], cwd=clone, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert subprocess.run(['git', 'status', '--porcelain'], cwd=clone, capture_output=True, text=True).stdout == ''

@pytest.mark.alone
def test_gpu_check_dry_run_on_a_cpu(tmp_path):
    (tmp_path/'wheels').mkdir(); fake_wheel(tmp_path/'wheels')
    photos = tmp_path/'photos'
    rng = np.random.default_rng(0)
    for i in range(8): 
        (photos/('train' if i < 6 else 'valid')).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (72, 96, 3), dtype=np.uint8)).save(photos/('train' if i < 6 else 'valid')/f'{i}.jpg')
    budget = 200
    env = {**os.environ, 'GPU_CHECK_DRY_RUN': '1', 'OUT': str(tmp_path/'out'), 'GPU_CHECK_WHEELS': str(tmp_path/'wheels'),
           'GPU_CHECK_PHOTOS': str(photos), 'GPU_CHECK_BUDGET': str(budget), 'PYTHON': sys.executable}
    r = subprocess.run(['bash', str(ROOT/'tools'/'gpu_check.sh')], env=env, capture_output=True, text=True, timeout=budget + 60,
                       cwd=tmp_path)  # it finds the repository from its own path
    report = (tmp_path/'out'/'report.txt').read_text()
    assert r.returncode == 0, report + r.stderr
    assert r.stdout.strip() == report.strip()
    rows = {line.split()[0]: line.split()[1:] for line in report.splitlines()[2:]}
    assert all(rows[step][0] == 'ok' for step in rows), report  # every step, the install of the carried wheel included
    assert list(rows) == ['install', 'cuda', 'engines', 't4_fp16', 'train_killed', 'train_resume', 'bench', 'compile', 'train', 'total']
    assert int(rows['total'][1]) <= budget, report
    for req in WANTED: assert req in rows['install'][-1] or req in report, (req, report)  # the wheels it lacks, by name
    files = sorted(p.name for p in (tmp_path/'out').iterdir())
    assert len(files) <= 8 and {'report.txt', 'log.txt', 'losses.csv', 'generator.part0'} <= set(files), files
    generator = b''.join((tmp_path/'out'/f).read_bytes() for f in files if f.startswith('generator.part'))
    assert all((tmp_path/'out'/f).stat().st_size <= 15 * 2**20 for f in files)
    from colorgan.model import load_generator
    (tmp_path/'g.safetensors').write_bytes(generator)
    assert load_generator(tmp_path/'g.safetensors').in_channels == 4  # the parts join into the hint-taking generator

def test_gpu_check_without_a_gpu(tmp_path):
    "No dry run and no GPU: every GPU step says why it was skipped, and the check passes."
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'OUT': str(tmp_path/'out'), 'GPU_CHECK_WHEELS': str(tmp_path), 'PYTHON': sys.executable}
    env.pop('GPU_CHECK_DRY_RUN', None)
    r = subprocess.run(['bash', str(ROOT/'tools'/'gpu_check.sh')], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.strip().splitlines()[2:]}
    assert rows['install'][0] == 'skipped' and f'lists {len(WANTED)}' in ' '.join(rows['install']), r.stdout
    assert all(rows[s][0] == 'skipped' and 'no CUDA GPU' in ' '.join(rows[s]) for s in ('engines', 'bench', 'compile')), r.stdout
