"""tools/gpu_check.sh on a machine without a GPU: it installs the carried wheels, reports every GPU step as skipped, and exits 0."""
import os, subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GPU_STEPS = ['cuda', 'engines', 't4_fp16', 'train_compile', 'train_resume', 'bench', 'bench_decode', 'bench_compile', 'nbdev_cuda']

def fake_wheel(folder:Path) -> Path:
    "A tiny valid wheel, standing in for the carried ones."
    path = folder/'gpu_check_fake-0.1-py3-none-any.whl'
    dist = 'gpu_check_fake-0.1.dist-info'
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('gpu_check_fake/__init__.py', 'WHO = "a carried wheel"\n')
        z.writestr(f'{dist}/METADATA', 'Metadata-Version: 2.1\nName: gpu_check_fake\nVersion: 0.1\n')
        z.writestr(f'{dist}/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
        z.writestr(f'{dist}/RECORD', '')
    return path

def test_gpu_check_on_a_cpu(tmp_path):
    (tmp_path/'wheels').mkdir()
    fake_wheel(tmp_path/'wheels')
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'OUT': str(tmp_path/'out'), 'GPU_CHECK_WHEELS': str(tmp_path/'wheels'),
           'PYTHON': sys.executable}
    env.pop('GPU_CHECK_DRY_RUN', None)
    res = subprocess.run(['bash', str(ROOT/'tools'/'gpu_check.sh')], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)  # it finds the repository from its own path
    assert res.returncode == 0, res.stdout + res.stderr
    report = (tmp_path/'out'/'report.txt').read_text()
    assert res.stdout.strip() == report.strip()
    rows = {line.split()[0]: line.split()[1:] for line in report.splitlines()[2:]}
    assert rows['install'][:1] == ['ok'], report  # the wheel went in, with pip install --no-index --find-links
    for step in GPU_STEPS:
        assert rows[step][0] == 'skipped', (step, report)
        assert rows[step][1].isdigit(), (step, report)  # seconds
    assert 'no CUDA GPU' in report
    assert rows['total'][0] == 'ok'
    assert report.splitlines()[1].split() == ['step', 'status', 'seconds', 'note']
