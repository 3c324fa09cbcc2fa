"Checks on the package as a whole: it imports quietly, and its version is the one pyproject.toml builds."
import importlib.metadata, json, pkgutil, subprocess, sys, tomllib
from pathlib import Path

import colorgan

ROOT = Path(__file__).resolve().parent.parent

# Import each module in a fresh interpreter with warnings silenced (third-party deprecations are not
# ours), and capture what it writes: a library must not print at import time.
_IMPORT_ALL = '''
import contextlib, importlib, io, json, sys, warnings
warnings.simplefilter("ignore")
said = {}
for name in sys.argv[1:]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf): importlib.import_module(name)
    said[name] = buf.getvalue()
print(json.dumps(said))
'''

def test_modules_import_silently():
    names = ['colorgan'] + [f'colorgan.{m.name}' for m in pkgutil.iter_modules(colorgan.__path__) if m.name != '_modidx']
    res = subprocess.run([sys.executable, '-W', 'ignore', '-c', _IMPORT_ALL, *names],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    said = json.loads(res.stdout)
    assert {k: v for k, v in said.items() if v} == {}, 'modules printed at import time'
    assert res.stderr == ''

def test_version_matches_pyproject():
    cfg = tomllib.loads((ROOT/'pyproject.toml').read_text())
    assert cfg['tool']['setuptools']['dynamic']['version'] == {'attr': 'colorgan.__version__'}
    assert importlib.metadata.version('colorgan') == colorgan.__version__
