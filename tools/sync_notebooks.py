#!/usr/bin/env python3
"""Keep the notebooks' Colab cells and README.md in step with pyproject.toml.

The repository URL lives in one place: `[project.urls] Repository` in pyproject.toml.
From it this script

1. gives every chapter notebook (nbs/*.ipynb except index.ipynb), right after its
   `# Title` markdown cell, the Open-in-Colab badge cell and the `#| hide` cell that
   installs colorgan in Colab (keeping Colab's own torch and torchvision, and with the
   `[onnx]` extra where the notebook runs the ONNX engines), inserting them if missing and
   rewriting them if they differ;
2. guards each notebook's closing `nbdev_export()` cell so that it runs only outside Colab,
   where the notebook sits in a clone of the repository;
3. puts the Open-in-Colab badge of the quick start notebook (nbs/quickstart.ipynb) right
   after the title of nbs/index.ipynb, so that it heads README.md;
4. renders nbs/index.ipynb into README.md, as nbdev-readme would without quarto:
   markdown cells verbatim, the `# Title` + `> description` opening as a plain README
   opening, code cells as ```python fences without their `#|` directive lines, text outputs
   as plain fences; `#| hide` cells and front matter are dropped, and relative links and
   image paths are rebased from nbs/ to the repository root.

Usage (from anywhere; paths are relative to the repository root):

    python tools/sync_notebooks.py           # write what is out of date
    python tools/sync_notebooks.py --check   # write nothing; list what would change, exit 1 if any

It needs only the standard library (Python 3.11+, or `tomli` on 3.10).
"""
import argparse, hashlib, json, posixpath, re, sys
from pathlib import Path

try: import tomllib
except ModuleNotFoundError: import tomli as tomllib  # Python 3.10

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
README_NB = 'index.ipynb'
QUICKSTART_NB = 'quickstart.ipynb'
BADGE_SVG = 'https://colab.research.google.com/assets/colab-badge.svg'
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')

def project_info(pyproject=ROOT/'pyproject.toml'):
    "The package name, GitHub `owner/repo`, repository URL and branch, read from `pyproject`."
    cfg = tomllib.loads(pyproject.read_text(encoding='utf-8'))
    url = cfg['project']['urls']['Repository'].rstrip('/').removesuffix('.git')
    m = re.fullmatch(r'https://github\.com/([^/]+/[^/]+)', url)
    if not m: sys.exit(f"pyproject.toml: [project.urls] Repository must be https://github.com/OWNER/REPO, not {url!r}")
    branch = cfg.get('tool', {}).get('nbdev', {}).get('branch', 'main')
    return dict(name=cfg['project']['name'], slug=m[1], url=url, branch=branch)

# ---------------------------------------------------------------- notebooks

EXPORT_CELL = ("#| hide\n"
               "# Export the package from the notebooks: in a clone of the repository, not in Colab, where it is pip-installed\n"
               "import sys\n"
               "if 'google.colab' not in sys.modules:\n"
               "    import nbdev; nbdev.nbdev_export()")
ONNX_USE = re.compile(r"OnnxColorizer\(|export_onnx\(|cached_onnx\(|'onnxruntime'|import onnx")  # code that needs the [onnx] extra

def colab_url(nb_name, info): return f"https://colab.research.google.com/github/{info['slug']}/blob/{info['branch']}/nbs/{nb_name}"

def colab_badge(nb_name, info): return f"[![Open In Colab]({BADGE_SVG})]({colab_url(nb_name, info)})"

def colab_cells(nb_name, info, extras=()):
    "The badge markdown and the `#| hide` install code that notebook `nb_name` should start with."
    package = f"{info['name']}[{','.join(extras)}]" if extras else info['name']
    install = ("#| hide\n"
               f"# In Colab, install {info['name']} first; everywhere else this cell does nothing.\n"
               "import sys\n"
               "if 'google.colab' in sys.modules:\n"
               "    import torch, torchvision  # Colab's own builds, made for its GPUs: pinned below, so that pip keeps them\n"
               f"    %pip install -q \"{package} @ git+{info['url']}\" \"torch=={{torch.__version__}}\" \"torchvision=={{torchvision.__version__}}\"")
    return colab_badge(nb_name, info), install

def extras_for(nb):
    "The optional dependencies the code of `nb` needs: `onnx` where it runs the ONNX engines."
    code = [src(c) for c in nb['cells'] if c['cell_type'] == 'code' and 'google.colab' not in src(c)]
    return ('onnx',) if any(ONNX_USE.search(s) for s in code) else ()

def src(cell):
    "A cell's source as one string."
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s

def lines(text): return text.splitlines(keepends=True)

def new_cell(kind, text, nb_name, role):
    "A cell with a stable id, so that re-running the script changes nothing."
    cell = dict(cell_type=kind, id=hashlib.sha1(f'{nb_name}:{role}'.encode()).hexdigest()[:8], metadata={}, source=lines(text))
    if kind == 'code': cell.update(execution_count=None, outputs=[])
    return cell

def is_title(cell): return cell['cell_type'] == 'markdown' and src(cell).lstrip().startswith('# ')

def sync_colab(nb, nb_name, info):
    "Put the Colab badge and install cells right after the title of `nb`; return whether it changed."
    i = next((i for i,c in enumerate(nb['cells']) if is_title(c)), None)
    if i is None: raise ValueError("has no '# Title' markdown cell")
    changed = False
    for offset,(kind,text,mark,role) in enumerate(zip(('markdown','code'), colab_cells(nb_name, info, extras_for(nb)),
                                                      ('colab.research.google.com', 'google.colab'), ('colab-badge','colab-install'))):
        j, cells = i+1+offset, nb['cells']
        if j < len(cells) and cells[j]['cell_type'] == kind and mark in src(cells[j]):
            if src(cells[j]) != text: cells[j]['source'], changed = lines(text), True
        else: cells.insert(j, new_cell(kind, text, nb_name, role)); changed = True
    return changed

def sync_export(nb):
    "Guard the cells of `nb` that call `nbdev_export()` so that they run outside Colab only; return whether it changed."
    changed = False
    for cell in nb['cells']:
        if cell['cell_type'] == 'code' and 'nbdev_export()' in src(cell) and src(cell) != EXPORT_CELL:
            cell['source'], changed = lines(EXPORT_CELL), True
    return changed

def sync_quickstart_badge(nb, info):
    "Put the quick start's Colab badge right after the title of the index notebook `nb`; return whether it changed."
    i = next((i for i,c in enumerate(nb['cells']) if is_title(c)), None)
    if i is None: raise ValueError("has no '# Title' markdown cell")
    text = f"{colab_badge(QUICKSTART_NB, info)} Colorize a photo, start the app and train on a GPU in Colab: the quick start."
    cells, j = nb['cells'], i + 1
    if j < len(cells) and cells[j]['cell_type'] == 'markdown' and colab_url(QUICKSTART_NB, info) in src(cells[j]):
        if src(cells[j]) == text: return False
        cells[j]['source'] = lines(text)
    else: cells.insert(j, new_cell('markdown', text, README_NB, 'quickstart-badge'))
    return True

def nb_to_str(nb):
    "Serialise as nbdev does (fastcore.nbio.nb2str), so nbdev-clean leaves our output alone."
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n'

# ---------------------------------------------------------------- README

def split_directives(text):
    "`text`'s leading `#|` directives as {name: value}, and the code after them."
    ls, dirs = text.splitlines(), {}
    while ls and (m := DIRECTIVE.match(ls[0])):
        k, _, v = m[1].partition(':') if ':' in m[1] else m[1].partition(' ')
        dirs[k.strip()] = v.strip() or 'true'
        ls.pop(0)
    return dirs, '\n'.join(ls).strip('\n')

def rebase(md):
    "Rewrite relative link and image targets written from nbs/ so that they work from the repository root."
    def fix(path):
        if re.match(r'^([a-z][a-z0-9+.-]*:|/|#)', path, re.I): return path
        new = posixpath.normpath(posixpath.join('nbs', path))
        return path if new.startswith('..') else new
    md = re.sub(r'(\]\()([^)\s]+)', lambda m: m[1]+fix(m[2]), md)
    return re.sub(r'''(<img\s[^>]*src=["'])([^"']+)''', lambda m: m[1]+fix(m[2]), md)

def title_block(text):
    "The nbdev opening `# Title` / `> description` / front matter as a plain README opening."
    out, desc = [], []
    for l in text.splitlines():
        if l.startswith('> '): desc.append(l[2:])
        elif re.match(r'^- \w[\w-]*: ', l): continue  # nbdev front matter, e.g. `- skip_exec: true`
        else: out.append(l)
    head = '\n'.join(out).strip('\n')
    return head + '\n\n<!-- Generated from nbs/index.ipynb by tools/sync_notebooks.py: edit the notebook, not this file. -->' + \
           ('\n\n' + ' '.join(desc) if desc else '')

def output_text(out):
    "The plain text of one code-cell output, or None for outputs with no text."
    if out.get('output_type') == 'stream': return src(dict(source=out.get('text', '')))
    if out.get('output_type') == 'error': return '\n'.join(re.sub(r'\x1b\[[0-9;]*m', '', l) for l in out.get('traceback', []))
    data = out.get('data', {})
    if any(k.startswith('image/') for k in data): return None
    return src(dict(source=data['text/plain'])) if 'text/plain' in data else None

def render_readme(nb):
    "README.md text for the notebook `nb`."
    parts, titled = [], False
    for cell in nb['cells']:
        text = src(cell)
        if cell['cell_type'] == 'raw': continue  # quarto front matter
        dirs, body = split_directives(text)
        if 'hide' in dirs: continue
        if cell['cell_type'] == 'markdown':
            if not body.strip(): continue
            if not titled and body.lstrip().startswith('# '): body, titled = title_block(body.strip()), True
            parts.append(rebase(body))
        elif cell['cell_type'] == 'code':
            if body.strip() and dirs.get('echo') != 'false': parts.append(f'```python\n{body}\n```')
            if dirs.get('output') == 'false': continue
            for out in cell.get('outputs', []):
                if (t := output_text(out)) and t.strip(): parts.append(f'```\n{t.rstrip()}\n```')
    return '\n\n'.join(parts) + '\n'

# ---------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--check', action='store_true', help='write nothing; list files that would change and exit 1 if any')
    args = p.parse_args(argv)
    info, wanted, problems = project_info(), {}, []
    for path in sorted(NBS.glob('*.ipynb')):
        if path.name == README_NB: continue
        nb = json.loads(path.read_text(encoding='utf-8'))
        try:
            if sync_colab(nb, path.name, info) | sync_export(nb): wanted[path] = nb_to_str(nb)
        except ValueError as e: problems.append(f'{path.relative_to(ROOT)}: {e}')
    index = json.loads((NBS/README_NB).read_text(encoding='utf-8'))
    try:
        if (NBS/QUICKSTART_NB).exists() and sync_quickstart_badge(index, info): wanted[NBS/README_NB] = nb_to_str(index)
    except ValueError as e: problems.append(f'nbs/{README_NB}: {e}')
    readme = render_readme(index)
    readme_path = ROOT/'README.md'
    if not readme_path.exists() or readme_path.read_text(encoding='utf-8') != readme: wanted[readme_path] = readme
    for path, text in wanted.items():
        rel = path.relative_to(ROOT)
        if args.check: print(f'would change: {rel}')
        else:
            tmp = path.with_name(path.name + '.tmp')
            tmp.write_text(text, encoding='utf-8'); tmp.replace(path)
            print(f'updated: {rel}')
    for msg in problems: print(f'error: {msg}', file=sys.stderr)
    if args.check and wanted: print('Run `python tools/sync_notebooks.py` and commit the result.', file=sys.stderr)
    return 1 if problems or (args.check and wanted) else 0

if __name__ == '__main__': sys.exit(main())
