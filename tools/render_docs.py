#!/usr/bin/env python3
"""Render the docs site offline, without Quarto: nbdev's own docs processors, then nbconvert's HTML exporter.

The real site is built by nbdev's GitHub action with Quarto, which cannot be installed here. This script runs the part
of that pipeline that can fail because of the notebooks themselves: `nbdev-proc-nbs` runs nbdev's processors on every
notebook (they execute every cell that exports or imports something, to render the API docs), and a notebook whose
cells cannot run that way stops the build. Each processed notebook is then written as one HTML page, its saved outputs
(figures, tables, printed values) included, so that the pages can be opened and checked in a browser; the figures that
the notebooks' markdown links to, in nbs/images/, are copied next to the pages. The pages work offline: links into the
published site (which the API docs carry) point to the pages beside them, and nbconvert's CDN scripts are left out.

    python tools/render_docs.py [--out _site] [NOTEBOOK ...]   # default: every notebook in nbs/

Exit status 0 when every notebook processed and rendered, 1 when one did not (the error names it), 2 on a usage error.
"""
import argparse, json, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

try: import tomllib
except ModuleNotFoundError: import tomli as tomllib  # Python 3.10

def site_url() -> str:
    "The published site's address, `[project.urls] Documentation` in pyproject.toml, which nbdev writes into the API docs' links."
    return tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Documentation'].rstrip('/') + '/'

def offline(html:str, site:str) -> str:
    "`html` made to read offline: links into the published `site` turned into links to the pages beside it, CDN scripts left out."
    html = html.replace(f'href="{site}', 'href="')  # the offline site has the same page names
    return re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', '', html)  # MathJax, require.js, jQuery: no page needs them

def process(notebooks, proc_dir):
    "Run nbdev's docs processors on `notebooks` (names in nbs/), writing the processed notebooks to `proc_dir`."
    pattern = '^(' + '|'.join(re.escape(nb) for nb in notebooks) + ')$'
    # nbdev-proc-nbs writes to the project's `_proc` folder, which git ignores, as nbdev-docs does
    res = subprocess.run([Path(sys.executable).parent/'nbdev-proc-nbs', '--force', '--n-workers', '1', '--file-re', pattern],
                         cwd=ROOT, capture_output=True, text=True)
    if res.returncode: sys.exit(f'render_docs: error: nbdev-proc-nbs failed:\n{res.stderr.strip()[-3000:]}')
    for nb in notebooks: (proc_dir/nb).write_bytes((ROOT/'_proc'/nb).read_bytes())

CELL_KEYS = {'code': {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count'},
             'markdown': {'cell_type', 'id', 'metadata', 'source', 'attachments'}, 'raw': {'cell_type', 'id', 'metadata', 'source'}}

def front_matter(nb):
    "The YAML front matter that nbdev's processors put in a notebook's first cell, as a dict of its top-level strings."
    first = nb['cells'][0] if nb['cells'] else {}
    if first.get('cell_type') != 'raw': return {}
    text = ''.join(first['source']).strip().strip('-')
    return {k.strip(): ' '.join(v.split()).strip('\'"') for k, v in re.findall(r'^(\w[\w-]*):(.*(?:\n  .*)*)', text, re.M)}

def page_name(nb_path) -> str:
    "The page a processed notebook becomes: its front matter's output-file (nbdev names chapter pages after their module)."
    return front_matter(json.loads(Path(nb_path).read_text())).get('output-file') or Path(nb_path).with_suffix('.html').name

def html_links(text:str, pages:dict) -> str:
    "Markdown links to notebooks (`05_data.ipynb`, `05_data.ipynb#a-batch`) turned into links to their pages, as Quarto turns them."
    return re.sub(r'\]\(([\w.-]+)\.ipynb(#[^)]*)?\)', lambda m: f"]({pages.get(m[1] + '.ipynb', m[1] + '.html')}{m[2] or ''})", text)

def sidebar(pages:dict, titles:dict, current:str) -> str:
    "An HTML list of every page, the current one in bold: the navigation Quarto's sidebar gives the real site."
    items = ''.join(f'<li>{"<b>" if page == current else ""}<a href="{page}">{titles[nb]}</a>{"</b>" if page == current else ""}</li>'
                    for nb, page in pages.items())
    return (f'<nav id="sidebar" style="position:fixed;left:0;top:0;width:210px;height:100%;overflow:auto;padding:8px;'
            f'font-size:13px;border-right:1px solid #ddd;background:#fafafa"><ul style="padding-left:14px">{items}</ul></nav>')

def as_page(nb, pages:dict=None):
    "A processed notebook as nbconvert wants it: front matter as a heading, nbdev's cell keys dropped, `#|` directives obeyed, links to pages."
    fm = front_matter(nb)
    if fm:  # Quarto turns the front matter into the page's title; here a markdown heading does
        nb['cells'][0] = dict(cell_type='markdown', id='title', metadata={}, source=f"# {fm.get('title', '')}\n\n> {fm.get('description', '')}")
    for cell in nb['cells']:
        for k in set(cell) - CELL_KEYS[cell['cell_type']]: del cell[k]
        cell['metadata'] = {}  # the processors' execution timings do not validate
        if cell['cell_type'] == 'code':
            for out in cell.get('outputs', []):  # show_doc's markdown carries Quarto link attributes, which plain markdown shows as text
                if 'text/markdown' in out.get('data', {}):
                    out['data']['text/markdown'] = re.sub(r'\{target="_blank"[^}]*\}', '', ''.join(out['data']['text/markdown']))
        if cell['cell_type'] == 'markdown': cell['source'] = html_links(''.join(cell['source']), pages or {})
        if cell['cell_type'] != 'code': continue
        lines = ''.join(cell['source']).splitlines(keepends=True)
        directives = [l for l in lines if l.startswith('#|')]
        cell['source'] = ''.join(l for l in lines if not l.startswith('#|')).strip('\n')
        if any('echo: false' in d for d in directives): cell['metadata']['transient'] = {'remove_source': True}
    return nb

def render(nb_path, out, pages:dict, titles:dict):
    "Write one processed notebook as an HTML page in `out`, titled and with the sidebar; return the page's path."
    import nbformat
    from nbconvert import HTMLExporter
    nb, page = json.loads(Path(nb_path).read_text()), out/pages[Path(nb_path).name]
    nb = nbformat.reads(json.dumps(as_page(nb, pages)), as_version=4)
    html, _ = HTMLExporter(template_name='classic', exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(
        nb, resources={'metadata': {'name': f"{titles[Path(nb_path).name]} – colorgan"}})
    html = offline(html, site_url()).replace('<body', '<body style="margin-left:230px"', 1)
    html = re.sub(r'(<body[^>]*>)', lambda m: m[1] + sidebar(pages, titles, page.name), html, count=1)
    page.write_text(html, encoding='utf-8')
    return page

def main(argv=None):
    p = argparse.ArgumentParser(prog='render_docs', description=__doc__.split('\n\n')[0])
    p.add_argument('notebooks', nargs='*', help='notebook names in nbs/ (default: all)')
    p.add_argument('--out', default=str(ROOT/'_site'), help='folder for the HTML pages (default: _site)')
    a = p.parse_args(argv)
    # the home page first, then the quick start, then the chapters in book order, as the real site's sidebar lists them
    notebooks = sorted(a.notebooks or [f.name for f in (ROOT/'nbs').glob('*.ipynb')], key=lambda n: (n != 'index.ipynb', n != 'quickstart.ipynb', n))
    missing = [nb for nb in notebooks if not (ROOT/'nbs'/nb).is_file()]
    if missing: p.error(f'no such notebook in nbs/: {", ".join(missing)}')
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        process(notebooks, Path(tmp))
        pages = {nb: page_name(Path(tmp)/nb) for nb in notebooks}
        titles = {nb: front_matter(json.loads((Path(tmp)/nb).read_text())).get('title') or Path(nb).stem for nb in notebooks}
        for nb in notebooks: print(render(Path(tmp)/nb, out, pages, titles))
    shutil.copytree(ROOT/'nbs'/'images', out/'images', dirs_exist_ok=True)  # the figures the pages link to, as Quarto copies them
    return 0

if __name__ == '__main__': sys.exit(main())
