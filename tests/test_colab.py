"""The notebooks' Colab cells: install next to Colab's torch, the [onnx] extra where needed, a guarded export, the quick start."""
import json, re, subprocess, sys, types
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'

def cells(name): return json.loads((NBS/name).read_text())['cells']
def src(cell): return ''.join(cell['source'])
def body(text): return '\n'.join(l for l in text.splitlines() if not l.lstrip().startswith('#|'))

def test_sync_check_passes():
    "README.md and the notebooks' Colab cells are what tools/sync_notebooks.py makes of them (CI runs the same check)."
    res = subprocess.run([sys.executable, 'tools/sync_notebooks.py', '--check'], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr

def install_cell(name): return next(src(c) for c in cells(name) if 'google.colab' in src(c) and '%pip' in src(c))

def test_install_cells_keep_colab_torch_and_add_onnx_where_used():
    for name in ['00_color.ipynb', '11_engines.ipynb', 'quickstart.ipynb']:
        cell = install_cell(name)
        assert '"torch=={torch.__version__}"' in cell and '"torchvision=={torchvision.__version__}"' in cell, name
    assert 'colorgan[onnx] @ git+' in install_cell('11_engines.ipynb')
    assert 'colorgan[onnx] @ git+' in install_cell('12_folders.ipynb')
    assert 'colorgan @ git+' in install_cell('00_color.ipynb')  # no onnx code there: no onnx to install

def test_export_cells_do_nothing_in_colab():
    "The closing nbdev_export() cell of every chapter runs in a clone of the repository, and does nothing in Colab."
    calls = []
    fake_nbdev = types.SimpleNamespace(nbdev_export=lambda: calls.append(1))
    exports = [(p.name, src(c)) for p in sorted(NBS.glob('*.ipynb')) for c in json.loads(p.read_text())['cells']
               if c['cell_type'] == 'code' and 'nbdev_export()' in src(c)]
    assert len(exports) >= 15
    for name, code in exports:
        with mock.patch.dict(sys.modules, {'google.colab': types.ModuleType('google.colab'), 'nbdev': fake_nbdev}): exec(body(code), {})
        assert not calls, name
        with mock.patch.dict(sys.modules, {'nbdev': fake_nbdev}):
            sys.modules.pop('google.colab', None)
            exec(body(code), {})
        assert calls.pop() == 1, name

def test_quickstart():
    qs = cells('quickstart.ipynb')
    code = [src(c) for c in qs if c['cell_type'] == 'code']
    long_running = [c for c in code if re.search(r'^!colorgan-(app|train)', c, re.M)]
    assert len(long_running) == 2 and all(c.startswith('#| eval: false') for c in long_running)  # never run by nbdev-test
    assert any('--share' in c for c in long_running)
    train = next(c for c in long_running if 'colorgan-train' in c)
    assert train.index('kaggle_secrets_from_colab()') < train.index('!colorgan-train')  # the secrets reach the command
    assert any('load_generator(MODEL' in c and 'files.download' in c for c in code)  # the default model, or one of yours; the result downloaded
    readme = (ROOT/'README.md').read_text()
    assert readme.index('nbs/quickstart.ipynb') < readme.index('## ')  # the badge heads the README


def test_shell_lines_expand_and_parse():
    "Every `!colorgan-…` line of every notebook, expanded as IPython expands it, is a command line that colorgan's parser accepts."
    import shlex
    from IPython.core.interactiveshell import InteractiveShell
    from colorgan import commands
    shell, checked = InteractiveShell.instance(), 0
    unsafe = ('google', 'drive.', 'kaggle', 'files.', 'load_generator', 'colorize(')  # settings that need Colab, a download or a model
    for nb in sorted(NBS.glob('*.ipynb')):
        for cell in cells(nb.name):
            text = body(src(cell))
            for line in (l.strip() for l in text.splitlines() if l.strip().startswith('!colorgan-')):
                for model in (None, 'runs/demo/generator.safetensors'):
                    shell.user_ns.update(MODEL=model, DATA='sample', OUT='/content/drive/MyDrive/colorgan-run')
                    settings = [l for l in text.splitlines() if re.match(r'[A-Z][A-Z_]* = ', l) and not any(u in l for u in unsafe)]
                    exec('\n'.join(settings), shell.user_ns)  # the cell's own settings, e.g. the app's arguments
                    argv = shlex.split(shell.var_expand(line[1:]))
                    assert '{' not in ' '.join(argv), f'{nb.name}: IPython left {line!r} unexpanded: {argv}'
                    parser = getattr(commands, argv[0].removeprefix('colorgan-') + '_parser')()
                    try: parser.parse_args(argv[1:])
                    except SystemExit: raise AssertionError(f'{nb.name}: {argv[0]} refuses {argv[1:]} (from {line!r})') from None
                    checked += 1
    assert checked >= 4, checked  # the quick start's app and training lines, each with and without a model


def test_readme_installs_before_it_colorizes():
    "A newcomer reads the README from the top: the install commands come before the first command that needs them, the CPU build its own line."
    readme = (ROOT/'README.md').read_text()
    assert readme.index('### Install') < readme.index('colorgan-colorize photo.jpg') < readme.index('### Run the tests')
    cpu = [l for l in readme.splitlines() if 'download.pytorch.org/whl/cpu' in l]
    assert len(cpu) == 1 and cpu[0].startswith('python3 -m venv .venv && '), cpu  # a whole command to paste, not an edit to make
