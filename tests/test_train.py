"""`colorgan-train` as a process: usage errors before anything is written, a run killed with SIGKILL that resumes, and two
processes training data-parallel under torchrun (the chapter, nbs/09_train.ipynb, tests `train` in-process)."""
import re, signal, subprocess, sys, time
from pathlib import Path

import pandas as pd, pytest

from colorgan.train import load_checkpoint
from conftest import command, command_env

def train_process(*args, **kwargs) -> subprocess.CompletedProcess:
    "Run colorgan-train with `args`; return the CompletedProcess."
    return subprocess.run(command('colorgan-train') + [str(a) for a in args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=command_env(), timeout=900, **kwargs)

@pytest.mark.parametrize('args, message', [
    (['--size', '100'], 'colorgan-train: error: argument --size: the training size must be a multiple of 32'),
    (['--valid-pct', '1.5'], 'colorgan-train: error: argument --valid-pct: must be between 0 and 1'),
    (['--valid-pct', '0'], 'colorgan-train: error: argument --valid-pct: must be between 0 and 1'),
    (['--data', 'EMPTY'], 'colorgan-train: error: No images'),
])
def test_usage_errors_write_nothing(args, message, tmp_path):
    out = tmp_path/'never-created'
    (tmp_path/'empty').mkdir()
    r = train_process(*[str(tmp_path/'empty') if a == 'EMPTY' else a for a in args], '--out', out)
    assert r.returncode == 2, r
    assert r.stderr.splitlines()[-1].startswith(message), r.stderr
    assert not out.exists()

SMALL_RUN = ['--data', 'sample', '--size', '64', '--pretrained', 'none', '--workers', '0']

def test_a_killed_run_resumes(tmp_path):
    "Killed with SIGKILL at its first checkpoint and started again, a run resumes, and logs each epoch once, in one plain line."
    cmd = command('colorgan-train') + SMALL_RUN + ['--bs', '4', '--pretrain-epochs', '2', '--gan-epochs', '1', '--out', str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=command_env())
    while not (tmp_path/'checkpoint.pt').exists() and proc.poll() is None: time.sleep(0.2)
    proc.send_signal(signal.SIGKILL); proc.wait()
    done_when_killed = load_checkpoint(tmp_path/'checkpoint.pt')['done']
    r = subprocess.run(cmd, capture_output=True, text=True, env=command_env(), timeout=900)
    assert r.returncode == 0, r
    assert 'Resuming' in r.stdout, r.stdout
    print(f'killed after {done_when_killed}; then:', *r.stdout.splitlines(), sep='\n')
    assert ('\r' in r.stdout, r.stderr) == (False, '')  # its output is a pipe: one plain line per epoch, no progress bar
    number = r'\b\d[\d.]*(?:e[-+]?\d+)?\b|\bnan\b'
    shapes = [re.sub(number, 'X', line) for line in r.stdout.splitlines()[1:-1]]  # between 'Resuming ...' and 'Saved ...'
    assert set(shapes) <= {'pretrain epoch X/X: train_loss X, valid_loss X, time X:X',
                           'gan epoch X/X: train_loss X, valid_loss X, d_real X, d_fake X, g_gan X, g_l1 X, time X:X'}, shapes
    assert shapes[-1].startswith('gan epoch') and r.stdout.splitlines()[-1] == f'Saved {tmp_path}/generator.safetensors', r.stdout
    assert [(row.stage, row.epoch) for row in pd.read_csv(tmp_path/'losses.csv').itertuples()] == [('pretrain', 1), ('pretrain', 2), ('gan', 1)]
    assert (tmp_path/'generator.safetensors').exists()

def test_two_processes_train_data_parallel(tmp_path):
    "Under torchrun, two CPU processes (gloo) train one run; only the first writes its files."
    torchrun = Path(sys.executable).parent/'torchrun'
    r = subprocess.run([torchrun, '--nproc-per-node', '2', '--no-python', *command('colorgan-train'), *SMALL_RUN, '--bs', '2',
                        '--pretrain-epochs', '1', '--gan-epochs', '1', '--out', tmp_path], capture_output=True, text=True,
                       env=command_env(), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['checkpoint.pt', 'generator.safetensors', 'losses.csv', 'losses.png', 'samples']
    assert load_checkpoint(tmp_path/'checkpoint.pt')['done'] == dict(pretrain=1, gan=1)
