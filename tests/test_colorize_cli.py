"The `colorgan-colorize` command, run for real in a subprocess, on good photos and bad files."
import numpy as np, pytest
from PIL import Image, ImageCms, ImageOps

from conftest import HOME, run

def colorize(*args, timeout=300):
    "Run the command with `args`; return the CompletedProcess (text stdout/stderr)."
    return run('colorgan-colorize', *args, timeout=timeout)

@pytest.fixture(scope='module')
def album(tmp_path_factory):
    "A folder with two good photos (one in a subfolder), a truncated JPEG and a text file named like an image."
    d = tmp_path_factory.mktemp('album')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 80), dtype=np.uint8)).convert('RGB').save(d/'street.jpg', quality=90)  # a gray scan in RGB
    (d/'1950s').mkdir()
    Image.fromarray(rng.integers(0, 256, (70, 40), dtype=np.uint8), 'L').save(d/'1950s'/'wedding.png')
    buf = (d/'street.jpg').read_bytes()
    (d/'truncated.jpg').write_bytes(buf[:len(buf)//2])
    (d/'letter.png').write_text('Dear grandma, this is not a picture.')
    (d/'notes.txt').write_text('a note next to the photos')
    return d

@pytest.fixture(scope='module')
def first_run(model, album, tmp_path_factory):
    out = tmp_path_factory.mktemp('out')/'colour'
    # notes.txt is named explicitly: a folder is searched for images only, but a file given by name is always tried
    return colorize(album, album/'notes.txt', '--model', model, '--out', out, '--render-size', 64, '--bs', 2), out

def test_good_written_bad_reported(first_run):
    r, out = first_run
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file() and p.name != '.colorgan-outputs.json')
    assert written == ['1950s/wedding.png', 'street.jpg']  # each in its input's format
    with Image.open(out/'street.jpg') as im: assert (im.format, im.mode, im.size) == ('JPEG', 'RGB', (80, 48))
    with Image.open(out/'1950s'/'wedding.png') as im: assert (im.format, im.mode, im.size) == ('PNG', 'RGB', (40, 70))
    failed = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(failed) == 3, r.stderr
    for name in ('truncated.jpg', 'letter.png', 'notes.txt'):
        assert any(name in line and ': ' in line for line in failed), (name, r.stderr)
    assert 'street' not in r.stderr and 'wedding' not in r.stderr

def test_second_run_does_not_overwrite(first_run, model, album):
    _, out = first_run
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob('*.*')}
    r = colorize(album, '--model', model, '--out', out, '--render-size', 64)
    assert r.returncode == 1  # the bad files still fail
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob('*.*')} == before
    assert r.stdout.count('skipped') >= 2 and 'street.jpg' in r.stdout, r.stdout
    r = colorize(album/'street.jpg', '--model', model, '--out', out, '--render-size', 64, '--overwrite')
    assert r.returncode == 0, r.stderr
    assert (out/'street.jpg').stat().st_mtime_ns != before[out/'street.jpg'][0]
    assert not list(out.rglob('.*.tmp'))  # no temporary files

def test_missing_model_is_one_clear_line(album, tmp_path):
    r = colorize(album, '--model', tmp_path/'no-such-model.safetensors', '--out', tmp_path/'out')
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f'colorgan-colorize: error: model file not found: {tmp_path}/no-such-model.safetensors']
    assert not (tmp_path/'out').exists()

def test_jpegs_keep_their_format_exif_and_profile(model, tmp_path):
    "A folder of JPEGs colorized with the default options gives JPEGs with the inputs' EXIF, colour profile, DPI and about their quality."
    photos, srgb = tmp_path/'jpegs', ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes()
    photos.mkdir()
    rng = np.random.default_rng(1)
    for k, orientation in enumerate((1, 6)):
        exif = Image.Exif(); exif[0x010F] = f'camera {k}'; exif[0x0112] = orientation
        Image.fromarray(rng.integers(0, 256, (60, 90), dtype=np.uint8)).convert('RGB').save(
            photos/f'{k}.jpg', quality=75, exif=exif, icc_profile=srgb, dpi=(300, 300))
    r = colorize(photos, '--model', model, '--out', tmp_path/'out', '--render-size', 64, '--device', 'cpu')
    assert (r.returncode, r.stderr) == (0, ''), r
    for k in range(2):
        with Image.open(tmp_path/'out'/f'{k}.jpg') as out, Image.open(photos/f'{k}.jpg') as src:
            assert out.format == 'JPEG' and out.info['icc_profile'] == srgb and out.info['dpi'] == (300, 300)
            assert out.getexif()[0x010F] == f'camera {k}' and out.getexif()[0x0112] == 1  # the pixels are upright already
            assert out.size == ImageOps.exif_transpose(src).size
            assert sum(out.quantization[0]) == pytest.approx(sum(src.quantization[0]), rel=0.05)  # the same quality, about

def test_format_and_quality(model, album, tmp_path):
    r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path, '--render-size', 64, '--format', 'webp', '--quality', 50)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path/'street.webp') as im: assert (im.format, im.size) == ('WEBP', (80, 48))
    r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path, '--quality', 0)
    assert r.returncode == 2 and 'argument --quality: must be from 1 to 100, got 0' in r.stderr

def test_inputs_are_never_replaced(model, album, tmp_path):
    "--out the input folder, --overwrite and --format png: photo.jpg's result must not replace photo.png (it did)."
    folder = tmp_path/'mixed'; folder.mkdir()
    Image.open(album/'street.jpg').save(folder/'photo.jpg'); Image.open(album/'street.jpg').save(folder/'photo.png')
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    r = colorize(folder, '--model', model, '--out', folder, '--overwrite', '--format', 'png', '--render-size', 64)
    assert r.returncode == 1 and 'would replace an input photo' in r.stderr, r
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name in before} == before
    assert sorted(p.name for p in folder.iterdir()) == ['.colorgan-outputs.json', 'photo.jpg', 'photo.jpg.png', 'photo.png']

def test_same_names_from_two_folders_fail_loudly(model, album, tmp_path):
    for d in ('e1', 'e2'): (tmp_path/d).mkdir(); Image.open(album/'street.jpg').save(tmp_path/d/'x.png')
    r = colorize(tmp_path/'e1', tmp_path/'e2', '--model', model, '--out', tmp_path/'out', '--render-size', 64)
    assert r.returncode == 1 and r.stdout.strip().endswith('1 written, 0 skipped (already there), 1 failed'), r
    assert f"{tmp_path/'e2'/'x.png'}: its output {tmp_path/'out'/'x.png'} is already the output of {tmp_path/'e1'/'x.png'}" in r.stderr

def test_symlink_loop_is_one_failure(model, album, tmp_path):
    folder = tmp_path/'in'; folder.mkdir()
    Image.open(album/'street.jpg').save(folder/'good.jpg'); (folder/'loop.jpg').symlink_to('loop.jpg')
    r = colorize(folder, '--model', model, '--out', tmp_path/'out', '--render-size', 64)
    assert r.returncode == 1 and r.stderr == f"colorgan-colorize: error: {folder/'loop.jpg'}: a symbolic link that leads back to itself\n", r
    assert (tmp_path/'out'/'good.jpg').exists()

def test_backends_agree_and_the_export_is_cached(model, album, tmp_path):
    "--backend onnxruntime exports the model once into the cache and reuses it; it and --backend torch write the same picture."
    for run_ in range(2):
        r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path/f'onnxruntime{run_}', '--render-size', 64, '--device', 'cpu',
                     '--backend', 'onnxruntime', '--format', 'png')
        assert r.returncode == 0, r.stderr
        exports = list((HOME/'onnx').glob('generator-*.onnx'))
        if run_ == 0: first_export, mtime = exports, exports[0].stat().st_mtime_ns
    assert len(exports) == 1 and exports == first_export  # reused, not exported again
    assert exports[0].stat().st_mtime_ns >= mtime
    r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path/'torch', '--render-size', 64, '--device', 'cpu', '--backend', 'torch',
                 '--format', 'png')
    assert r.returncode == 0, r.stderr
    a, b = (np.asarray(Image.open(tmp_path/name/'street.png')).astype(int) for name in ('onnxruntime1', 'torch'))
    assert (np.abs(a - b) > 1).mean() < 1e-3  # equal up to rounding, but for a rare pixel on the gamut's edge

def test_unknown_backend_is_refused(album, model, tmp_path):
    r = colorize(album/'street.jpg', '--model', model, '--out', tmp_path, '--backend', 'tensorrt')
    assert r.returncode == 2 and 'invalid choice' in r.stderr and not list(tmp_path.iterdir())

def test_without_out_the_outputs_go_beside_the_photos(model, album, tmp_path):
    "`colorgan-colorize photo.jpg`: photo_colorized.jpg beside it, as the app names its download; one line says where."
    Image.open(album/'street.jpg').save(tmp_path/'photo.jpg')
    r = colorize(tmp_path/'photo.jpg', '--model', model, '--render-size', 64)
    assert (r.returncode, r.stderr) == (0, ''), r
    assert 'the colorized photos are beside their originals, as NAME_colorized.EXT' in r.stdout, r.stdout
    with Image.open(tmp_path/'photo_colorized.jpg') as im: assert (im.format, im.size) == ('JPEG', (80, 48))
    r = colorize(tmp_path, '--model', model, '--render-size', 64)  # the folder: its earlier output is not a photo to colorize
    assert r.returncode == 0 and r.stdout.strip().endswith('0 written, 1 skipped (already there), 0 failed'), r
    assert sorted(p.name for p in tmp_path.iterdir()) == ['.colorgan-outputs.json', 'photo.jpg', 'photo_colorized.jpg']
