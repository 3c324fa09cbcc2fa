"""End-to-end test of `colorgan-app` in a real browser.

Starts the app's command line as a subprocess with a tiny untrained generator, then drives Debian's
Chromium with Playwright: upload a photo, press Colorize, and check that the result image that comes
back has the photo's size. A screenshot is saved to $COLORGAN_TEST_ARTIFACTS (default:
<tmp>/colorgan-test-artifacts/app.png) and its path printed (`pytest -s` shows it).
"""
import contextlib, io, os, socket, subprocess, tempfile, time, urllib.request
from pathlib import Path

import pytest

from conftest import command

CHROMIUM = Path(os.environ.get('COLORGAN_CHROMIUM', '/usr/bin/chromium'))
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
ARTIFACTS = Path(os.environ.get('COLORGAN_TEST_ARTIFACTS', Path(tempfile.gettempdir())/'colorgan-test-artifacts'))
PHOTO_SIZE = (301, 187)  # an odd size, not a multiple of the render size

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f'Chromium not found at {CHROMIUM} '
                                '(install it with `apt-get install chromium`, or set COLORGAN_CHROMIUM)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90):
    "Poll `url` until it answers 200; fail with the server's log if it dies or takes too long."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f'colorgan-app exited with code {proc.returncode}:\n{log.read_text()[-3000:]}')
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f'colorgan-app did not answer at {url} within {timeout}s:\n{log.read_text()[-3000:]}')


@pytest.fixture(scope='module')
def workdir():
    with tempfile.TemporaryDirectory(prefix='colorgan-app-test-') as d:
        yield Path(d)


@pytest.fixture(scope='module')
def photo(workdir) -> Path:
    import skimage
    from PIL import Image
    path = workdir/'coffee.png'
    Image.fromarray(skimage.data.coffee()).resize(PHOTO_SIZE).save(path)
    return path


@contextlib.contextmanager
def _serve(model: Path | None, log: Path, render_size: int = 64):
    "Start `colorgan-app --model model` (None: the default model) on a free port; yields its URL, and stops it afterwards."
    port = _free_port()
    cmd = command('colorgan-app') + (['--model', str(model)] if model else []) + ['--port', str(port), '--device', 'cpu']
    if render_size: cmd += ['--render-size', str(render_size)]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False', NO_PROXY='127.0.0.1,localhost', no_proxy='127.0.0.1,localhost',
               COLORGAN_HOME=str(log.parent/'colorgan-home'))  # the app's ONNX export goes here, not into the user's cache
    with open(log, 'w') as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}/'
    try:
        _wait_until_up(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try: proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill(); proc.wait()


@pytest.fixture(scope='module')
def server(workdir):
    "The real `colorgan-app` with a saved untrained generator; yields its URL."
    import torch
    from colorgan.model import build_generator, save_generator
    torch.manual_seed(0)
    model = save_generator(build_generator(pretrained=None), workdir/'generator.safetensors')
    with _serve(model, workdir/'server.log') as url:
        yield url


def test_upload_colorize_download(server, photo):
    from PIL import Image
    from playwright.sync_api import sync_playwright, expect
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS/'app.png'
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            page.set_default_timeout(30_000)
            page.goto(server)
            expect(page.locator('#model-status')).to_contain_text('The model learned colours')
            page.set_viewport_size({'width': 1280, 'height': 800})  # a laptop's first screen: what to do is in view
            for first in ('#input-image', '#colorize-button', '#examples'): expect(page.locator(first)).to_be_in_viewport()
            expect(page.locator('#hints-table')).to_be_hidden()  # the hints panel waits for the first hint
            page.set_viewport_size({'width': 1280, 'height': 900})
            page.locator('#input-image input[type=file]').set_input_files(str(photo))
            expect(page.locator('#input-image img')).to_be_visible()
            page.locator('#colorize-button').click()

            result = page.locator('#result-image img')
            expect(result).to_be_visible()
            expect(page.locator('#before-after img')).to_have_count(2)
            src = result.get_attribute('src')
            assert src, 'the result image has no src'
            data = page.request.get(src if src.startswith('http') else server.rstrip('/') + '/' + src.lstrip('/')).body()
            image = Image.open(io.BytesIO(data))
            assert image.format == 'PNG', image.format
            assert image.size == PHOTO_SIZE, f'result is {image.size}, the upload was {PHOTO_SIZE}'
            assert image.mode == 'RGB'
            # the download button saves the photo under its own name, not as image.png
            test_download = page.locator('#result-image a[download]')
            assert test_download.get_attribute('download') == 'coffee_colorized.png', test_download.get_attribute('download')
            # a colour photo: the page says that its colours will be replaced
            expect(page.get_by_text('This photo already has colours of its own')).to_be_visible()
            # one full-resolution download: the before/after slider (a preview) offers none
            expect(page.locator('#before-after a[download], #before-after button[aria-label*="ownload"]')).to_have_count(0)
            page.wait_for_timeout(300)  # let the slider's images paint before the screenshot
            page.screenshot(path=str(shot), full_page=True)
            print(f'\nscreenshot: {shot}')
            # a new photo clears the old one's result, which would otherwise stay on screen beside it
            page.locator('#input-image button[aria-label="Remove Image"]').click()
            expect(page.locator('#result-image img')).to_have_count(0)
            expect(page.locator('#before-after img')).to_have_count(0)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def _fetch(page, server: str, src: str):
    "The image at `src`, as the browser would get it."
    from PIL import Image
    return Image.open(io.BytesIO(page.request.get(src if src.startswith('http') else server.rstrip('/') + '/' + src.lstrip('/')).body()))


def _ab_near(image, x: int, y: int, r: int = 4):
    "The mean a*b* of `image` in the (2r+1)-pixel square around (x, y)."
    import numpy as np, skimage
    patch = np.asarray(image.convert('RGB'))[y - r:y + r + 1, x - r:x + r + 1] / 255
    return skimage.color.rgb2lab(patch)[..., 1:].reshape(-1, 2).mean(0)


def test_a_hint_steers_the_colour(workdir):
    "With the default model: one click with a colour moves the result's colour near the click toward that colour, and the hints can be downloaded."
    import numpy as np, skimage
    from PIL import Image
    from playwright.sync_api import sync_playwright, expect
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot, photo = ARTIFACTS/'app-hints.png', workdir/'astronaut_bw.png'
    Image.fromarray(skimage.data.astronaut()).convert('L').resize((320, 320)).save(photo)
    hint, (x, y) = '#2e86c1', (250, 60)  # blue, on the flat background right of the helmet
    target = skimage.color.rgb2lab(np.array([[[0x2e, 0x86, 0xc1]]]) / 255)[0, 0, 1:]
    with _serve(None, workdir/'hints.log', render_size=None) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 1400})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.locator('#input-image input[type=file]').set_input_files(str(photo))
            expect(page.locator('#input-image img')).to_be_visible()
            page.locator('#colorize-button').click()
            result = page.locator('#result-image img')
            expect(result).to_be_visible()
            before = _fetch(page, url, result.get_attribute('src'))
            page.locator('#hint-colour button.dialog-button').click()  # gradio's own picker: a dialog with a hex field
            page.locator('#hint-colour input[type=text]').fill(hint)
            page.locator('#hint-colour input[type=text]').press('Enter')
            page.keyboard.press('Escape')
            expect(page.locator('#hint-colour button.dialog-button')).to_have_attribute('style', 'background: rgb(46, 134, 193);')
            box = result.bounding_box()
            natural = result.evaluate('img => [img.naturalWidth, img.naturalHeight]')
            assert natural == [320, 320], natural
            scale = min(box['width'] / natural[0], box['height'] / natural[1])  # object-fit: contain
            left, top = (box['width'] - natural[0] * scale) / 2, (box['height'] - natural[1] * scale) / 2
            old_src = result.get_attribute('src')
            expect(page.locator('#hints-table')).to_be_hidden()
            result.click(position={'x': left + (x + 0.5) * scale, 'y': top + (y + 0.5) * scale})
            expect(page.locator('#hints-table')).to_contain_text(hint)  # the first hint opens the panel that lists them
            expect(result).not_to_have_attribute('src', old_src)
            after = _fetch(page, url, result.get_attribute('src'))
            expect(page.locator('#hints-file a').first).to_be_visible()
            page.wait_for_timeout(300)
            page.screenshot(path=str(shot), full_page=True)
            print(f'\nscreenshot: {shot}')
        finally:
            browser.close()
    old, new = np.linalg.norm(_ab_near(before, x, y) - target), np.linalg.norm(_ab_near(after, x, y) - target)
    print(f'a*b* distance to the hint near the click: {old:.1f} before, {new:.1f} after')
    assert new < old - 5, (old, new)
    L = lambda im: skimage.color.rgb2lab(np.asarray(im.convert('RGB')) / 255)[..., 0]
    assert np.abs(L(after) - L(before)).mean() < 1.5  # the lightness is the photo's own
