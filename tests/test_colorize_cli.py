"The `colorgan-colorize` command, run for real in a subprocess, on good photos and bad files."
import atexit, os, shutil, subprocess, sys, tempfile
from pathlib import Path
import numpy as np, pytest
from PIL import Image

def _command():
    "The installed `colorgan-colorize` console script, or the same entry point through this Python."
    script = Path(sys.executable).parent/'colorgan-colorize'
    if script.exists(): return [str(script)]
    return [sys.executable, '-c', 'import sys; from colorgan.inference import colorize_cli; sys.exit(colorize_cli())']

# The command caches ONNX exports under $COLORGAN_HOME/onnx: keep the tests' exports out of the user's cache.
HOME = Path(tempfile.mkdtemp(prefix='colorgan-test-home-'))
atexit.register(shutil.rmtree, HOME, ignore_errors=True)

def colorize(*args, timeout=120):
    "Run the command with `args`; return the CompletedProcess (text stdout/stderr)."
    return subprocess.run(_command() + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, COLORGAN_HOME=str(HOME)))

@pytest.fixture(scope='module')
def model(tmp_path_factory):
    "A tiny-effort, untrained generator saved as a trained one would be."
    import torch
    from colorgan.model import build_generator, save_generator
    torch.manual_seed(0)
    return save_generator(build_generator(pretrained=None), tmp_path_factory.mktemp('model')/'generator.safetensors', note='untrained')

@pytest.fixture(scope='module')
def album(tmp_path_factory):
    "A folder with two good photos (one in a subfolder), a truncated JPEG and a text file named like an image."
    d = tmp_path_factory.mktemp('album')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(d/'street.jpg', quality=90)
    (d/'1950s').mkdir()
    Image.fromarray(rng.integers(0, 256, (70, 40), dtype=np.uint8), 'L').save(d/'1950s'/'wedding.png')
    buf = (d/'street.jpg').read_bytes()
    (d/'truncated.jpg').write_bytes(buf[:len(buf)//2])
    (d/'letter.png').write_text('Dear grandma, this is not a picture.')
    (d/'notes.txt').write_text('a note next to the photos')
    return d

@pytest.fixture(scope='module')
def first_run(model, album, tmp_path_factory):
    out = tmp_path_factory.mktemp('out')/'colour'
    # notes.txt is named explicitly: a folder is searched for images only, but a file given by name is always tried
    return colorize(album, album/'notes.txt', '--model', model, '--out', out, '--size', 64, '--batch-size', 2), out

def test_good_written_bad_reported(first_run):
    r, out = first_run
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file())
    assert written == ['1950s/wedding.png', 'street.png']
    with Image.open(out/'street.png') as im: assert (im.format, im.mode, im.size) == ('PNG', 'RGB', (80, 48))
    with Image.open(out/'1950s'/'wedding.png') as im: assert (im.mode, im.size) == ('RGB', (40, 70))
    failed = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(failed) == 3, r.stderr
    for name in ('truncated.jpg', 'letter.png', 'notes.txt'):
        assert any(name in line and ': ' in line for line in failed), (name, r.stderr)
    assert 'street' not in r.stderr and 'wedding' not in r.stderr

def test_second_run_does_not_overwrite(first_run, model, album):
    _, out = first_run
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob('*.png')}
    r = colorize(album, '--model', model, '--out', out, '--size', 64)
    assert r.returncode == 1  # the bad files still fail
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob('*.png')} == before
    assert r.stdout.count('skipped') >= 2 and 'street.png' in r.stdout, r.stdout
    r = colorize(album/'street.jpg', '--model', model, '--out', out, '--size', 64, '--overwrite')
    assert r.returncode == 0, r.stderr
    assert (out/'street.png').stat().st_mtime_ns != before[out/'street.png'][0]
    assert not list(out.rglob('*.tmp'))

def test_missing_model_is_one_clear_line(album, tmp_path):
    r = colorize(album, '--model', tmp_path/'no-such-model.safetensors', '--out', tmp_path/'out')
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f'colorgan-colorize: error: model file not found: {tmp_path}/no-such-model.safetensors']
    assert not (tmp_path/'out').exists()

def test_backends_agree_and_the_export_is_cached(model, album, tmp_path):
    "--backend onnxruntime exports the model once into the cache and reuses it; it and --backend torch write the same picture."
    for run in range(2):
        r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path/f'onnxruntime{run}', '--size', 64, '--device', 'cpu',
                     '--backend', 'onnxruntime')
        assert r.returncode == 0, r.stderr
        exports = list((HOME/'onnx').glob('generator-*.onnx'))
        if run == 0: first_export, mtime = exports, exports[0].stat().st_mtime_ns
    assert len(exports) == 1 and exports == first_export  # reused, not exported again
    assert exports[0].stat().st_mtime_ns >= mtime
    r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path/'torch', '--size', 64, '--device', 'cpu', '--backend', 'torch')
    assert r.returncode == 0, r.stderr
    a, b = (np.asarray(Image.open(tmp_path/name/'street.png')).astype(int) for name in ('onnxruntime1', 'torch'))
    assert (np.abs(a - b) > 1).mean() < 1e-3  # equal up to rounding, but for a rare pixel on the gamut's edge

def test_unknown_backend_is_refused(album, model, tmp_path):
    r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path, '--backend', 'tensorrt')
    assert r.returncode == 2 and 'invalid choice' in r.stderr and not list(tmp_path.iterdir())
