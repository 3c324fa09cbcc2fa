"""The five commands, each run for real in a subprocess: exit code 0 and nothing on stderr when they succeed, exit code 2 and
one `colorgan-x: error: ...` line for a usage error, `--version`, and a `--help` that prints without importing the library."""
import contextlib, socket, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path

import numpy as np, pytest
from PIL import Image

import colorgan
from conftest import SCRIPTS, command, command_env, run

def error_line(r:subprocess.CompletedProcess) -> str:
    "The `error:` line of a failed command (argparse prints its usage line before it)."
    errors = [line for line in r.stderr.splitlines() if ': error: ' in line]
    assert len(errors) == 1, r.stderr
    return errors[0]

@pytest.fixture(scope='module')
def photos(tmp_path_factory) -> Path:
    "A folder of two small colour photos."
    d = tmp_path_factory.mktemp('photos')
    rng = np.random.default_rng(0)
    for name in ('a.jpg', 'b.png'): Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(d/name)
    return d

@pytest.mark.parametrize('name', sorted(SCRIPTS))
def test_version_and_help(name):
    t0 = time.perf_counter()
    r = run(name, '--help')
    seconds = time.perf_counter() - t0
    assert (r.returncode, r.stderr) == (0, '') and r.stdout.startswith(f'usage: {name} '), r
    assert f'example: {name} ' in r.stdout, r.stdout
    codes = ' '.join(r.stdout.split('exit codes: ')[-1].split())  # argparse wraps it to the terminal's width
    assert codes.startswith('0 done, ') and codes.endswith('2 usage error or could not start'), codes
    assert (' 1 ' in codes) == (name not in ('colorgan-app', 'colorgan-bench')), codes  # those two never return 1
    print(f'{name} --help: {seconds:.2f}s')
    assert seconds < 10  # about 0.1 s on a quiet machine; importing torch first took 4-7 s
    r = run(name, '--version')
    assert (r.returncode, r.stdout, r.stderr) == (0, f'{name} {colorgan.__version__}\n', '')

# What a command has imported once it answered `--help`: the timing above can pass on a fast machine even with PyTorch loaded
_IMPORTED_BY_HELP = """
import contextlib, io, sys
from colorgan import commands
with contextlib.redirect_stdout(io.StringIO()): code = getattr(commands, sys.argv[1])(['--help'])
print(code, *sorted(m for m in ('torch', 'gradio', 'fastai', 'numpy') if m in sys.modules))
"""

@pytest.mark.parametrize('name', sorted(SCRIPTS))
def test_help_imports_nothing_heavy(name):
    main = name.removeprefix('colorgan-') + '_main'
    r = subprocess.run([sys.executable, '-c', _IMPORTED_BY_HELP, main], capture_output=True, text=True, env=command_env())
    assert (r.returncode, r.stdout.split()) == (0, ['0']), r

@pytest.mark.parametrize('name, args, message', [
    ('colorgan-train', ['--bs', '0'], 'colorgan-train: error: argument --bs: must be at least 1, got 0'),
    ('colorgan-colorize', ['in', '--out', 'o', '--model', 'm', '--render-size', '100'],
     'colorgan-colorize: error: argument --render-size: the render size must be a multiple of 32 (32, 64, ..., 1024), got 100'),
    ('colorgan-eval', ['photos', '--model', 'm', '--show', '-1'], 'colorgan-eval: error: argument --show: cannot be negative, got -1'),
    ('colorgan-app', ['--port', '70000'], 'colorgan-app: error: argument --port: must be from 1 to 65535, got 70000'),
    ('colorgan-bench', ['--tiny', '--repeats', 'two'], "colorgan-bench: error: argument --repeats: expected a whole number, got 'two'"),
])
def test_usage_error(name, args, message):
    r = run(name, *args)
    assert r.returncode == 2 and r.stdout == '', r
    assert error_line(r) == message

def test_colorize_succeeds_quietly(photos, model, tmp_path):
    bw = tmp_path/'bw'; bw.mkdir()
    for p in photos.iterdir(): Image.open(p).convert('L').save(bw/p.name)  # black and white, as colorgan expects
    r = run('colorgan-colorize', bw, '--model', model, '--out', tmp_path/'out', '--render-size', 32, '--device', 'cpu')
    assert (r.returncode, r.stderr) == (0, ''), r
    assert r.stdout.strip().splitlines()[-1] == 'colorgan-colorize: 2 written, 0 skipped (already there), 0 failed'
    assert sorted(p.name for p in (tmp_path/'out').iterdir()) == ['.colorgan-outputs.json', 'a.jpg', 'b.png']

def test_colorize_warns_about_colour_photos(photos, model, tmp_path):
    "A photo that already has colour is colorized as asked, with one warning that its colours will be replaced."
    r = run('colorgan-colorize', photos, '--model', model, '--out', tmp_path/'out', '--render-size', 32, '--device', 'cpu')
    assert r.returncode == 0 and r.stderr == ('colorgan-colorize: warning: 2 of the photos already have colour (a.jpg, b.png): '
                                              'colorizing keeps only their lightness and paints new colours over it\n'), r.stderr

def test_colorize_with_the_default_model(tmp_path):
    "Right after install, with no --model: the shipped model colours a black-and-white photo, at the photo's size."
    import skimage
    from colorgan.metrics import colorfulness
    Image.fromarray(skimage.data.coffee()).convert('L').resize((300, 200)).save(tmp_path/'old.jpg')
    r = run('colorgan-colorize', tmp_path/'old.jpg', '--out', tmp_path/'out', '--device', 'cpu')
    assert (r.returncode, r.stderr) == (0, ''), r
    colour = Image.open(tmp_path/'out'/'old.jpg')
    assert (colour.size, colour.mode) == ((300, 200), 'RGB')
    cf = colorfulness(np.asarray(colour))
    print(f'colourfulness of the default model on coffee: {cf:.1f}')
    assert cf > 10, cf  # 0 is gray; an untrained generator gives about 1

def test_colorize_cannot_start(photos, tmp_path):
    r = run('colorgan-colorize', photos, '--model', tmp_path/'missing.safetensors', '--out', tmp_path/'out')
    assert r.returncode == 2 and r.stderr == f'colorgan-colorize: error: model file not found: {tmp_path}/missing.safetensors\n'

def test_train_cannot_start(tmp_path):
    r = run('colorgan-train', '--data', tmp_path/'nowhere', '--out', tmp_path/'run')
    assert r.returncode == 2 and r.stderr.startswith(f'colorgan-train: error: No such folder: {tmp_path}/nowhere.'), r
    assert len(r.stderr.splitlines()) == 1 and not (tmp_path/'run').exists()

def test_train_coco_sample_offline(tmp_path):
    "This machine has no network: the COCO sample cannot be downloaded, and the command says so in one line."
    r = subprocess.run(command('colorgan-train') + ['--data', 'coco_sample', '--out', tmp_path/'run'], capture_output=True, text=True,
                       env=command_env(FASTAI_HOME=str(tmp_path/'fastai')), timeout=300)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r
    assert r.stderr.startswith('colorgan-train: error: could not download the COCO sample from https://'), r.stderr
    assert not (tmp_path/'run').exists()

def test_eval_succeeds_quietly(photos, model, tmp_path):
    r = run('colorgan-eval', photos, '--model', model, '--out', tmp_path/'eval', '--render-size', 32, '--show', 1, '--device', 'cpu')
    assert (r.returncode, r.stderr) == (0, ''), r  # it used to exit with 1, and print the table again on stderr
    assert '| model |' in r.stdout and '| grayscale |' in r.stdout
    assert sorted(p.name for p in (tmp_path/'eval').iterdir()) == ['comparison.png', 'metrics.csv', 'metrics.md']

def test_eval_not_a_model(photos, tmp_path):
    r = run('colorgan-eval', photos, '--model', photos/'a.jpg', '--out', tmp_path/'eval')
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r
    assert r.stderr.startswith(f"colorgan-eval: error: cannot load the model {photos/'a.jpg'}: "), r.stderr

def test_bench_succeeds_quietly(photos):
    r = run('colorgan-bench', '--data', photos, '--tiny', '--device', 'cpu')
    assert (r.returncode, r.stderr) == (0, ''), r
    assert r.stdout.startswith('measuring: data path\n') and 'inference batch 2 (throughput)' in r.stdout

def test_bench_kaggle_without_credentials(tmp_path):
    env = {k: v for k, v in command_env(KAGGLE_CONFIG_DIR=str(tmp_path), COLORGAN_HOME=str(tmp_path)).items() if k not in
           ('KAGGLE_USERNAME', 'KAGGLE_KEY', 'KAGGLE_API_TOKEN')}
    r = subprocess.run(command('colorgan-bench') + ['--data', 'kaggle:someone/photos', '--tiny'], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 2 and r.stderr.splitlines()[0] == 'colorgan-bench: error: No Kaggle credentials found.', r

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

@contextlib.contextmanager
def _app(*args, log:Path):
    "Start colorgan-app with `args` on a free port; yield (its URL, the process), and stop it afterwards."
    port = _free_port()
    out, err = open(log.with_suffix('.out'), 'w'), open(log.with_suffix('.err'), 'w')
    proc = subprocess.Popen(command('colorgan-app') + ['--port', str(port), *map(str, args)], stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL, env=command_env(NO_PROXY='127.0.0.1', no_proxy='127.0.0.1'))
    url = f'http://127.0.0.1:{port}/'
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200: break
            time.sleep(0.5)
        assert proc.poll() is None, f'colorgan-app exited with {proc.returncode}: {log.with_suffix(".err").read_text()}'
        yield url, proc
    finally:
        proc.terminate()
        try: proc.wait(timeout=15)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        out.close(); err.close()

def _upload(url:str, size:int) -> int:
    "POST a file of `size` bytes to gradio's upload route; the HTTP status."
    boundary = 'colorgan-test-boundary'
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
            + b'\0' * size + f'\r\n--{boundary}--\r\n'.encode())
    req = urllib.request.Request(url + 'gradio_api/upload', data=body, method='POST',
                                 headers={'Content-Type': f'multipart/form-data; boundary={boundary}'})
    try:
        with urllib.request.urlopen(req, timeout=60) as r: return r.status
    except urllib.error.HTTPError as e: return e.code

def test_app_uses_the_default_model(tmp_path):
    "With no --model the app serves the shipped model, and its page names it."
    with _app('--device', 'cpu', log=tmp_path/'app') as (url, proc):
        with urllib.request.urlopen(url + 'config', timeout=10) as r: config = r.read().decode()
    assert 'colorgan-default.safetensors' in config and 'missing' not in config
    assert (tmp_path/'app.err').read_text() == ''

@pytest.mark.parametrize('what', ['missing.safetensors', 'empty-folder', 'notes.txt'])
def test_app_cannot_start(what, tmp_path):
    "A --model that names nothing loadable stops the app with one line and exit 2, as colorgan-colorize does; it used to serve a page that could not colorize."
    (tmp_path/'empty-folder').mkdir(); (tmp_path/'notes.txt').write_text('not a model')
    r = run('colorgan-app', '--model', tmp_path/what, '--port', _free_port(), '--device', 'cpu', timeout=120)  # before the fix: served until killed
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and r.stdout == '', r
    assert r.stderr.startswith('colorgan-app: error: ') and str(tmp_path/what) in r.stderr, r.stderr

def test_app_starts_quietly_and_limits_uploads(model, tmp_path):
    with _app('--model', model, '--render-size', 64, '--device', 'cpu', '--max-upload-mb', 1, log=tmp_path/'app') as (url, proc):
        assert _upload(url, 200_000) == 200
        assert _upload(url, 1_500_000) == 413  # over --max-upload-mb: refused before the app sees it
    said, errors = (tmp_path/'app.out').read_text(), (tmp_path/'app.err').read_text()
    assert said.splitlines()[0] == f'colorgan-app: serving on {url.rstrip("/")} (Ctrl-C stops it)', said
    assert errors == '', errors
