"""The docs site, rendered offline by tools/render_docs.py (nbdev's processors, then nbconvert), opened in Chromium.

Two chapters and the index are rendered. Each chapter must show at least one figure from the notebook's saved outputs,
a PNG that the browser decoded to a real size, and every local image a page links to (the index's figures in
nbs/images/) must load. A page with no saved outputs, a broken figure link, or a notebook that the docs processors cannot
run fails here as it would fail the site's build.
"""
import os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get('COLORGAN_CHROMIUM', '/usr/bin/chromium'))
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
PAGES = {'00_color.ipynb': 'color.html', '05_data.ipynb': 'data.html', 'index.ipynb': 'index.html'}
LINKED_FIGURES = {'index.html': 3}  # the cameraman, the architecture and the results

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f'Chromium not found at {CHROMIUM} '
                                '(install it with `apt-get install chromium`, or set COLORGAN_CHROMIUM)')

def test_rendered_pages_show_figures(tmp_path):
    from playwright.sync_api import sync_playwright
    res = subprocess.run([sys.executable, ROOT/'tools'/'render_docs.py', '--out', tmp_path, *PAGES], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for page_name in PAGES.values():
                page = browser.new_page()
                page.goto((tmp_path/page_name).as_uri())
                title = page.locator('h1').first.inner_text()
                sizes = page.eval_on_selector_all('.output_png img', 'imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])')
                linked = page.eval_on_selector_all('.text_cell_render img:not([src^="http"])', 'imgs => imgs.map(i => [i.src, i.naturalWidth])')
                assert title and all(w > 0 for _, w in linked), (page_name, title, linked)
                # navigation as on the real site: a sidebar of the pages, titles from the front matter, links to pages
                assert page.title().endswith(' – colorgan') and page.title() != 'Notebook – colorgan', page.title()
                hrefs = page.eval_on_selector_all('#sidebar a', 'as => as.map(a => a.getAttribute("href"))')
                assert sorted(hrefs) == sorted(PAGES.values()) and hrefs[0] == 'index.html', hrefs  # the home page first
                assert page.eval_on_selector_all('a[href*=".ipynb"]:not([href^="http"])', 'as => as.length') == 0, page_name
                # offline as a whole: the API docs' links stay on these pages, and no script comes from a CDN
                assert page.eval_on_selector_all('a[href*="github.io"]', 'as => as.length') == 0, page_name
                assert page.eval_on_selector_all('script[src^="http"]', 's => s.length') == 0, page_name
                assert not page.locator('blockquote').first.inner_text().startswith(("'", '"')) if page.locator('blockquote').count() else True
                page.screenshot(path=str(tmp_path/f'{page_name}.png'))
                n_linked = LINKED_FIGURES.get(page_name)
                if n_linked: assert len(linked) == n_linked, (page_name, linked)
                else: assert sizes and all(w > 100 and h > 50 for w, h in sizes), (page_name, title, sizes)
                page.close()
        finally: browser.close()
