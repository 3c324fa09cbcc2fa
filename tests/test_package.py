"Checks on the package as a whole: it imports quietly, its version is the one pyproject.toml builds, and every package it imports is declared."
import ast, importlib.metadata, json, pkgutil, re, subprocess, sys, tomllib
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

# Imported only where they may be missing, behind a check: Colab's own module, the Kaggle SDK that newer `kaggle` releases bring,
# onnxruntime (the `onnx` extra; without it the commands run the model in PyTorch), and what `python -m colorgan.corpus` needs
OPTIONAL_IMPORTS = {'google': None, 'kagglesdk': 'kaggle', 'onnxruntime': 'onnx', 'onnx': 'onnx', 'onnxscript': 'onnx',
                    'imagehash': 'corpus', 'tqdm': 'corpus'}

def _third_party_imports() -> dict:
    "Each top-level package that colorgan's modules import, with the modules that import it."
    found = {}
    for path in sorted((ROOT/'colorgan').glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import): names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module: names = [node.module]
            else: continue
            for top in {n.split('.')[0] for n in names} - set(sys.stdlib_module_names) - {'colorgan'}:
                found.setdefault(top, set()).add(path.name)
    return found

def _names(requirements): return {re.split(r'[<>=!~ \[;]', r)[0].lower().replace('_', '-') for r in requirements}

def test_every_import_is_declared():
    "Every package the library imports comes from a distribution that pyproject.toml declares (the optional ones in an extra)."
    project = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']
    declared, extras = _names(project['dependencies']), project['optional-dependencies']
    distributions = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    for top, where in sorted(imports.items()):
        if top in OPTIONAL_IMPORTS:
            extra = OPTIONAL_IMPORTS[top]
            assert extra is None or extra in declared or extra in extras, (top, extra)
            continue
        names = {d.lower().replace('_', '-') for d in distributions.get(top, [])}
        assert names & declared, f'{top} (imported by {sorted(where)}) comes from {names or "no installed distribution"}, not declared'
    assert {'torch', 'fastai', 'PIL', 'numpy', 'fastprogress', 'fasttransform', 'gradio'} <= set(imports)


def test_no_saved_output_points_at_a_local_server():
    "The docs site shows the notebooks' saved outputs: an app's iframe or link to 127.0.0.1 would be an empty box there."
    local = re.compile(r'<iframe|https?://(127\.0\.0\.1|localhost|0\.0\.0\.0)[:/]')
    found = [(nb.name, cell.get('id')) for nb in sorted((ROOT/'nbs').glob('*.ipynb'))
             for cell in json.loads(nb.read_text())['cells'] if local.search(json.dumps(cell.get('outputs', [])))]
    assert found == [], f'saved outputs that point at a server on this machine (clear them): {found}'


def test_hostile_input_checks_are_hidden_on_the_site():
    "Cells that only check hostile inputs (symlink loops, unreadable folders, decompression bombs, NaN weights, damaged JPEGs) show a reader nothing: `#| hide`."
    hostile = re.compile(r"symlink_to\(|raise PermissionError\(|MAX_IMAGE_PIXELS = |fill_\(float\('nan'\)\)|def pillow_drops|warn_explicit\(")
    shown = [(nb.name, cell.get('id')) for nb in sorted((ROOT/'nbs').glob('*.ipynb')) for cell in json.loads(nb.read_text())['cells']
             if cell['cell_type'] == 'code' and not cell.get('outputs') and hostile.search(''.join(cell['source']))
             and not re.search(r'^#\|\s*(hide|export)', ''.join(cell['source']), re.M)]
    assert shown == [], f'regression checks that the docs site would show, empty: {shown}'


def _book() -> dict:
    "Each chapter notebook, by name, with its place in the book (the order of the file names)."
    return {p.name: i for i, p in enumerate(sorted((ROOT/'nbs').glob('[0-9]*.ipynb')))}

def _cells(path:Path) -> list:
    "A module's exported cells: (notebook, source) per `# %% ../nbs/NAME.ipynb` marker."
    parts = re.split(r'^# %% \.\./nbs/(\S+\.ipynb).*$', path.read_text(), flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))

def _definitions() -> dict:
    "Where each module-level name of colorgan is defined: (module, name) -> notebook."
    found = {}
    for path in (ROOT/'colorgan').glob('*.py'):
        for nb, source in _cells(path):
            for node in ast.parse(source).body:
                targets = ([node.name] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else
                           [t.id for n in ([node] if isinstance(node, ast.Assign) else []) for t in n.targets if isinstance(t, ast.Name)])
                for name in targets: found[(path.stem, name)] = nb
    return found

def _colorgan_imports(source:str):
    "Each import of colorgan's own modules in `source`, at any depth: (module, names)."
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('colorgan')):
            module = (node.module or '').removeprefix('colorgan').lstrip('.')
            if module: yield module, [a.name for a in node.names]
            else: yield from ((a.name, []) for a in node.names)  # `from . import engines`, `from colorgan import x`
        elif isinstance(node, ast.Import):
            yield from ((a.name.removeprefix('colorgan.'), []) for a in node.names if a.name.startswith('colorgan.'))

def test_no_chapter_imports_a_later_one():
    "Read in order, the book never uses a name before its chapter: no module or notebook imports from a later chapter."
    book, defined, late = _book(), _definitions(), []
    def check(where, nb, source):
        for module, names in _colorgan_imports(source):
            for name in names:
                home = defined.get((module, name))
                if home and book[home] > book[nb]: late.append(f'{where} ({nb}) imports {module}.{name} from {home}')
    for path in sorted((ROOT/'colorgan').glob('*.py')):
        for nb, source in _cells(path): check(path.name, nb, source)
    for nb in book:
        cells = json.loads((ROOT/'nbs'/nb).read_text())['cells']
        check(nb, nb, '\n'.join(re.sub(r'^\s*[!%].*$', '', ''.join(c['source']), flags=re.M) for c in cells if c['cell_type'] == 'code'))
    assert late == []

def test_import_graph_has_no_cycles_and_cli_stands_alone():
    "colorgan's modules import each other without a cycle, counting imports inside functions, and `colorgan.cli` imports none of them."
    graph = {p.stem: {m.split('.')[0] for m, _ in _colorgan_imports(p.read_text())} - {p.stem}
             for p in (ROOT/'colorgan').glob('*.py') if p.stem not in ('_modidx', '__init__')}
    assert graph['cli'] == set()
    state = {}
    def visit(m, path):
        if state.get(m) == 'done': return
        assert state.get(m) != 'open', f"import cycle: {' -> '.join(path + [m])}"
        state[m] = 'open'
        for n in sorted(graph.get(m, ())): visit(n, path + [m])
        state[m] = 'done'
    for m in sorted(graph): visit(m, [])

# A call that colorizes with the default model: `load_generator()`, `load_generator(None)`, the quick start's `load_generator(MODEL`
_DEFAULT_MODEL_CALL = re.compile(r'(?<!lambda: )load_generator\((\)|None|MODEL)')

def test_saved_outputs_come_from_the_shipped_model():
    "A notebook whose saved outputs the default model made says which weights made them, and they are the ones that ship."
    from colorgan.test_utils import shipped_model_mark
    shipped, checked = shipped_model_mark(), []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        cells = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        uses = any(_DEFAULT_MODEL_CALL.search(''.join(c['source'])) and c.get('outputs') for c in cells
                   if not re.search(r'^#\|\s*eval:\s*false', ''.join(c['source']), re.M))
        said = {line.strip() for c in cells for o in c.get('outputs', []) for line in o.get('text', [])
                if line.startswith('made with the default model')}
        if uses: assert said, f'{nb.name} shows the default model at work but prints no shipped_model_mark()'
        assert said <= {shipped}, f'{nb.name}: its saved outputs were made with other weights ({said}), not the shipped {shipped}; run tools/save_outputs.py'
        if said: checked.append(nb.name)
    assert len(checked) >= 4, checked
