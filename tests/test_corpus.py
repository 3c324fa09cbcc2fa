"The offline corpus builder (colorgan.corpus): the packages reserved for evaluation are refused, and its photo tests."
import subprocess, sys
import numpy as np
from colorgan import corpus

def test_reserved_packages_are_refused():
    for package in ['lomiri-wallpapers', 'lomiri-wallpapers-16.04', 'lomiri-wallpapers-20.04', 'mate-backgrounds',
                    'plasma-workspace-wallpapers', 'kde-wallpapers', 'ubuntu-mate-wallpapers']:
        assert corpus.is_reserved(package), package
    assert not corpus.is_reserved('opencv-doc')
    assert not any(corpus.is_reserved(s.package) for s in corpus.DEBIAN_SOURCES)
    res = subprocess.run([sys.executable, '-m', 'colorgan.corpus', '--sources', 'mate-backgrounds'], capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == ''
    assert res.stderr.strip().splitlines()[-1] == 'python -m colorgan.corpus: error: mate-backgrounds is deny-listed: reserved for evaluation, or may hold its photos'

def test_photo_measures_tell_photos_from_drawings():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:256] / 256
    photo = np.stack([120 + 80 * x, 100 + 60 * y, 90 + 40 * x * y], -1) + rng.normal(0, 12, (256, 256, 3))  # shading and noise
    photo = photo.clip(0, 255).astype(np.uint8)
    drawing = np.zeros((256, 256, 3), np.uint8); drawing[:128] = (220, 40, 40); drawing[128:] = (40, 40, 220)  # flat fills
    gray = photo.mean(-1, keepdims=True).repeat(3, -1).astype(np.uint8)
    verdicts = [corpus.classify(corpus.measure(im), cutout=False) for im in (photo, drawing, gray)]
    assert verdicts == ['', 'flat', 'grayscale'], verdicts
