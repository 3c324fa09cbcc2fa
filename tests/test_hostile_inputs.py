"""A red team's table of hostile inputs, run against the real commands in subprocesses.

For every case: no traceback, the documented exit code, one line that says what went wrong, and every file that was there
before (inputs, and files colorgan did not write) byte for byte as it was."""
import hashlib, os, resource, signal, socket, subprocess, time
from pathlib import Path

import numpy as np, pytest, torch
from PIL import Image
from safetensors.torch import save_file

from conftest import HOME, command, command_env, run

def photo(path:Path, size=(48, 32), seed=0, colour=False) -> Path:
    "A small black-and-white (or colour) JPEG or PNG at `path`."
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3) if colour else size[::-1], dtype=np.uint8)).save(path)
    return path

def checksums(folder:Path) -> dict:
    "SHA-256 of every regular file under `folder` but colorgan's own temporary files, by path."
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob('*')
            if p.is_file() and not p.is_symlink() and not (p.name.startswith('.') and p.suffix == '.tmp')}

class Evil:
    "A pickle that would leave a mark if anything unpickled it."
    def __init__(self, mark): self.mark = mark
    def __reduce__(self): return (Path.write_text, (Path(self.mark), 'pickle code ran'))

def full_after(n:int):
    "For `preexec_fn`: in the child, no file may grow beyond `n` bytes, as on a full disk (Python ignores SIGXFSZ: writes fail with EFBIG)."
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))

# Each case: (setup(tmp, model) -> (command, args, options)), expected exit code, text the stderr must hold
def zero_byte(t, m): (t/'in').mkdir(); (t/'in'/'empty.jpg').write_bytes(b''); return 'colorize', [t/'in', '--out', t/'out'], {}
def truncated(t, m): b = photo(t/'in'/'a.jpg').read_bytes(); (t/'in'/'a.jpg').write_bytes(b[:len(b)//2]); return 'colorize', [t/'in', '--out', t/'out'], {}
def text_as_image(t, m): (t/'in').mkdir(); (t/'in'/'letter.png').write_text('Dear grandma'); return 'colorize', [t/'in', '--out', t/'out'], {}
def bomb(t, m):
    (t/'in').mkdir(); Image.new('1', (12000, 12000)).save(t/'in'/'bomb.png')  # 144 MP in 20 kB
    return 'colorize', [t/'in', '--out', t/'out'], {}
def fifo_in_folder(t, m): photo(t/'in'/'good.jpg'); os.mkfifo(t/'in'/'pipe.jpg'); return 'colorize', [t/'in', '--out', t/'out'], {}
def fifo_named(t, m): (t/'in').mkdir(); os.mkfifo(t/'in'/'pipe.jpg'); return 'colorize', [t/'in'/'pipe.jpg', '--out', t/'out'], {}
def symlink_loop(t, m): (t/'in').mkdir(); (t/'in'/'loop.jpg').symlink_to('loop.jpg'); return 'colorize', [t/'in', '--out', t/'out'], {}
def out_below_a_file(t, m): photo(t/'in'/'a.jpg'); (t/'file').write_text('x'); return 'colorize', [t/'in', '--out', t/'file'/'out'], {}
def full_disk(t, m): photo(t/'in'/'a.png', size=(200, 200)); return 'colorize', [t/'in', '--out', t/'out'], dict(preexec_fn=full_after(2048))
def long_name(t, m): photo(t/'in'/('é' * 120 + '.png')); return 'colorize', [t/'in', '--out', t/'out'], {}
def stale_temp(t, m):
    photo(t/'in'/'a.jpg'); (t/'out').mkdir(); dead = subprocess.Popen(['true']); dead.wait()
    (t/'out'/f'.a.jpg.{dead.pid}-0123abcd.tmp').write_bytes(b'half a photo')  # what a killed run leaves
    return 'colorize', [t/'in', '--out', t/'out'], {}
def overwrite_other_format(t, m):  # photo.jpg as PNG into its own folder: photo.png is no input, and not colorgan's
    photo(t/'d'/'photo.jpg'); photo(t/'d'/'photo.png', seed=1)
    return 'colorize', [t/'d'/'photo.jpg', '--out', t/'d', '--format', 'png', '--overwrite'], {}
def overwrite_non_input(t, m):  # p/x.jpg is in --out but not an input of the run
    photo(t/'p'/'photos'/'x.jpg'); photo(t/'p'/'x.jpg', seed=1)
    return 'colorize', [t/'p'/'photos', '--out', t/'p', '--overwrite'], {}
def huge_render_size(t, m): photo(t/'in'/'a.jpg'); return 'colorize', [t/'in', '--out', t/'out', '--render-size', 16384], {}
def model_huge_size(t, m):
    from safetensors import safe_open
    with safe_open(m, 'pt') as f: meta, state = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    save_file(state, t/'huge.safetensors', {**meta, 'size': '32768'}); photo(t/'in'/'a.jpg')
    return 'colorize', [t/'in', '--out', t/'out', '--model', t/'huge.safetensors'], {}
def model_pickle(t, m):
    torch.save({'x': Evil(t/'pwned')}, t/'evil.safetensors'); photo(t/'in'/'a.jpg')
    return 'colorize', [t/'in', '--out', t/'out', '--model', t/'evil.safetensors'], {}
def model_text(t, m): (t/'notes.safetensors').write_text('not a model'); photo(t/'in'/'a.jpg'); return 'colorize', [t/'in', '--out', t/'out', '--model', t/'notes.safetensors'], {}
def bad_precision(t, m): photo(t/'in'/'a.jpg'); return 'colorize', [t/'in', '--out', t/'out'], dict(env=dict(COLORGAN_PRECISION='bogus'))
def eval_unwritable(t, m): photo(t/'in'/'a.jpg', colour=True); (t/'file').write_text('x'); return 'eval', [t/'in', '--out', t/'file'/'out'], {}
def eval_full_disk(t, m): photo(t/'in'/'a.jpg', colour=True); return 'eval', [t/'in', '--out', t/'out', '--show', 0], dict(preexec_fn=full_after(64))
def train_out_a_file(t, m):
    for i in range(3): photo(t/'in'/f'{i}.jpg', seed=i)
    (t/'file').write_text('x'); return 'train', ['--data', t/'in', '--out', t/'file', '--size', 32], {}
def bench_unreadable(t, m):
    (t/'in').mkdir()
    for i in range(3): (t/'in'/f'{i}.jpg').write_text('not a photo')
    return 'bench', ['--data', t/'in', '--tiny'], {}
def app_bad_port(t, m): return 'app', ['--port', 70000], {}

CASES = [  # (setup, exit code, what stderr says)
    (zero_byte, 1, 'empty.jpg: '), (truncated, 1, 'a.jpg: '), (text_as_image, 1, 'letter.png: not an image file'),
    (bomb, 1, 'decompression bombs'), (fifo_in_folder, 0, 'pipe.jpg is not a regular file'),
    (fifo_named, 1, 'pipe.jpg: not a regular file'), (symlink_loop, 1, 'leads back to itself'),
    (out_below_a_file, 2, 'error: cannot write to'), (full_disk, 1, 'cannot write to'), (long_name, 0, ''), (stale_temp, 0, ''),
    (overwrite_other_format, 1, 'colorgan did not write it'), (overwrite_non_input, 1, 'colorgan did not write it'),
    (huge_render_size, 2, '(32, 64, ..., 1024), got 16384'), (model_huge_size, 2, 'metadata is not believable'),
    (model_pickle, 2, 'cannot load the model'), (model_text, 2, 'cannot load the model'),
    (bad_precision, 2, "COLORGAN_PRECISION must be one of bf16, fp16, fp32, not 'bogus'"),
    (eval_unwritable, 2, 'error: cannot write to'), (eval_full_disk, 1, 'error: cannot write to'),
    (train_out_a_file, 2, 'error: cannot write to'), (bench_unreadable, 2, 'error: None of the images could be read'),
    (app_bad_port, 2, 'must be from 1 to 65535, got 70000'),
]

@pytest.mark.parametrize('setup, code, says', CASES, ids=[c[0].__name__ for c in CASES])
def test_hostile_input(setup, code, says, model, tmp_path):
    name, args, options = setup(tmp_path, model)
    if name in ('colorize', 'eval') and '--model' not in args: args += ['--model', model]
    if name == 'colorize': args += ['--render-size', 32]
    before = checksums(tmp_path)
    env = command_env(**options.pop('env', {}))
    r = subprocess.run(command(f'colorgan-{name}') + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, env=env, **options)
    assert 'Traceback' not in r.stderr and 'unexpected' not in r.stderr, r.stderr
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert says in r.stderr, r.stderr
    if code == 2: assert len([l for l in r.stderr.splitlines() if ': error: ' in l]) == 1, r.stderr
    after = checksums(tmp_path)
    assert {p: after.get(p) for p in before} == before  # every file that was there is as it was
    assert not (tmp_path/'pwned').exists()  # no pickled code ran
    assert not [p for p in tmp_path.rglob('.*.tmp')]  # no temporary file left, not even a killed run's

def test_damaged_onnx_cache_is_rebuilt(model, tmp_path):
    "A truncated file in the ONNX cache is exported again, instead of a traceback on every run."
    args = [photo(tmp_path/'a.jpg'), '--model', model, '--render-size', 32, '--backend', 'onnxruntime', '--device', 'cpu']
    assert run('colorgan-colorize', *args, '--out', tmp_path/'o1').returncode == 0
    onnx = max((HOME/'onnx').glob('generator-*.onnx'), key=lambda p: p.stat().st_mtime)
    with open(onnx, 'r+b') as f: f.truncate(onnx.stat().st_size // 2)
    r = run('colorgan-colorize', *args, '--out', tmp_path/'o2')
    assert (r.returncode, r.stderr) == (0, ''), r
    assert (tmp_path/'o2'/'a.jpg').is_file()

def test_app_stops_cleanly_on_sigterm(tmp_path):
    "SIGTERM (systemd, docker stop) stops the app as Ctrl-C does: exit code 0, and its results folder removed."
    env = command_env(TMPDIR=str(tmp_path))
    with subprocess.Popen(command('colorgan-app') + ['--port', str(free_port())], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL) as app:
        deadline = time.time() + 120
        while not list(tmp_path.glob('colorgan-app-*')) and time.time() < deadline and app.poll() is None: time.sleep(0.5)
        line = app.stdout.readline()
        assert 'serving on' in line, (line, app.stderr.read() if app.poll() is not None else '')
        app.send_signal(signal.SIGTERM)
        out, err = app.communicate(timeout=60)
    assert app.returncode == 0 and 'stopped' in out, (app.returncode, out, err)
    assert not list(tmp_path.glob('colorgan-app-*'))

def free_port() -> int:
    "A TCP port nobody listens on right now."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]
