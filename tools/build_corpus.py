"""Build a training corpus of freely licensed real colour photographs, offline, from Debian packages and Python samples.

    python tools/build_corpus.py [--out DIR] [--cache DIR] [--review DIR] [--max-side 1024] [--seed 0] [--jobs 2]
                                 [--sources a,b,c]

Each source package is fetched with `apt-get download` into the cache (reused when it is there) and unpacked with
`dpkg -x` (no root needed); GCompris's Qt resource files are unpacked too. Only photographs are kept: vector files,
images under 256 px and cut-outs (mostly transparent) go first; then `classify` drops grayscale images, drawings,
renders and screenshots by three measures (colourfulness, share of flat pixels, distinct colours per pixel); the few
that pass them anyway are listed by name in DEBIAN_SOURCES after review. Every run renders contact sheets of what each
source kept and rejected (with the reason and measures) under the review folder, to check them by eye. Near-duplicates
(one picture at several resolutions) are dropped by perceptual hash, keeping the largest. Tux Paint's photo cut-outs
are composited onto training photos. The split into train and valid is by source (see VALID_GROUPS). Each photo is
written upright, RGB, at most --max-side px on its longer side, as a quality-92 JPEG to
OUT/{train,valid}/<source>/<name>.jpg, with OUT/manifest.csv (file, split, source_package, package_version,
original_path, licence, width, height, background) and OUT/summary.txt. Writes are atomic and a rerun only writes what
changed; OUT always holds exactly the last run's photos.

Needs apt-get and dpkg-deb, Pillow, NumPy, ImageHash and tqdm; scikit-image, scikit-learn and matplotlib for their
sample photos. Exit status 0 when the corpus is built, 2 on a usage error or when it could not start.
"""
import argparse, csv, fnmatch, hashlib, io, json, math, os, random, re, shutil, struct, subprocess, sys, tempfile, zlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import metadata, resources
from multiprocessing import Pool
from pathlib import Path
import numpy as np, imagehash
from PIL import Image, ImageDraw, ImageOps
from tqdm import tqdm

# Reserved for independent evaluation: never downloaded, opened or used, not even for de-duplication.
RESERVED = {'lomiri-wallpapers', 'lomiri-wallpapers-16.04', 'lomiri-wallpapers-20.04', 'mate-backgrounds',
            'plasma-workspace-wallpapers',
            'lxqt-themes'}  # ships KDE Plasma wallpapers (kde-plasma.png, plasma_arch.png...): may hold reserved ones
# Any package that may carry copies of the reserved photos: Lomiri's, MATE's, Plasma's, and KDE's wallpaper packages.
RESERVED_PATTERNS = ('*lomiri*', '*mate-*', '*plasma*', 'kde*wallpaper*', 'kde*background*')

@dataclass(frozen=True)
class Source:
    "A Debian package, the globs of its files that may hold photos, and how its paths map to its debian/copyright's."
    package: str
    include: tuple
    not_photos: tuple = ()       # globs of what the heuristics keep but the contact sheets show is no photo
    upstream: tuple = ('^', '')  # regex and replacement: installed path -> path in the upstream tree, for `Files:`
    cutouts: bool = False        # photos cut out on a transparent background, composited onto training photos
    angles: str = ''             # a KPhotoAlbum index.xml whose angle= attributes turn its photos upright

DEBIAN_SOURCES = (
    Source('opencv-doc', ('usr/share/doc/opencv-doc/examples/*',),  # its sample data; the HTML figures are diagrams
           not_photos=('*/starry_night.jpg', '*/input.png', '*/pic[1-6].png', '*/imageText?.png', '*/stanford.png'),
           upstream=('^usr/share/doc/opencv-doc/examples/', 'samples/')),
    Source('gnome-backgrounds', ('usr/share/backgrounds/*',),  # 3D renders of patterns
           not_photos=('*/grid-*', '*/licorice-*', '*/pixels-*', '*/truchet-*')),
    Source('ukui-wallpapers', ('usr/share/backgrounds/*',), not_photos=('*/string.jpg',)),  # a 3D render
    Source('sway-backgrounds', ('usr/share/backgrounds/*',)),
    # Landscape panoramas only: the rest is astronomy (nebulae, planet maps), sky-culture drawings and 3D textures.
    Source('stellarium-data', ('usr/share/stellarium/landscapes/*',)),
    Source('palapeli-data', ('usr/share/palapeli/*',)),
    Source('tuxpaint-data', ('usr/share/tuxpaint/templates/*', 'usr/share/tuxpaint/starters/*')),
    # Its "erase", "details" and "babyshapes" activities mix photos of monuments with paintings.
    Source('gcompris-qt-data', ('usr/share/gcompris-qt/rcc/*',),
           not_photos=('*Gogh*', '*Gauguin*', '*Bruegel*', '*unicorn*', '*Auvers*', '*Tanguy*', '*/babyshapes/*',
                       '*/paintings/*'),
           upstream=(r'^usr/share/gcompris-qt/rcc/[^/]+\.rcc\.d/gcompris/', '')),
    Source('kphotoalbum', ('usr/share/kphotoalbum/demo/*',), angles='usr/share/kphotoalbum/demo/index.xml'),
    Source('scribus-template', ('usr/share/scribus/templates/*',)),
    Source('tuxpaint-stamps-default', ('usr/share/tuxpaint/stamps/*',), cutouts=True,  # drawings and renders that pass:
           not_photos=('*/button.png', '*/dinosaurSings.png', '*/knight_helmet.png', '*/bunny-egg.png',
                       '*/fireworks*.png', '*/0_sun.png', '*/5_jupiter.png', '*/6_saturn.png', '*/plane.png',
                       '*/fishery.png')),
)
# Colour photos that ship inside Python packages: (module, file in it, licence as the package documents it).
PYTHON_SOURCES = {
    'scikit-image': (  # licences from the docstrings of skimage.data.<name>
        ('skimage', 'data/astronaut.png', 'public-domain'), ('skimage', 'data/chelsea.png', 'CC0-1.0'),
        ('skimage', 'data/coffee.png', 'CC0-1.0'), ('skimage', 'data/rocket.jpg', 'public-domain')),
    'scikit-learn': (  # sklearn/datasets/images/README.txt
        ('sklearn', 'datasets/images/china.jpg', 'CC-BY-2.0'), ('sklearn', 'datasets/images/flower.jpg', 'CC-BY-2.0')),
    'matplotlib': (  # no statement for the photo itself: the package's licence
        ('matplotlib', 'mpl-data/sample_data/grace_hopper.jpg', 'Matplotlib-License (package licence)'),),
}

# Validation holds out whole sources, and for GCompris whole activities, so that no validation photo is a crop or
# variant of a training photo (the composites' backgrounds are training photos, and the composites are training-only),
# and it looks like what the model is judged on: landscape, nature and still-life photography of the wallpaper kind.
# Tux Paint's templates are nature close-ups and landscapes, Palapeli's puzzles are still lifes, animals and
# buildings, the Scribus templates' photos are sunsets, the moon and food, and GCompris's farm and world animals are
# nature shots; together about 15% of the corpus.
VALID_GROUPS = {'tuxpaint-data': None, 'palapeli-data': None, 'scribus-template': None,  # None: the whole source
                'gcompris-qt-data': {'explore_farm_animals', 'explore_world_animals'}}

IMAGE_TYPES = {'.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff'}
VECTOR_TYPES = {'.svg', '.svgz'}
# Photo heuristics, measured on the image box-downscaled to at most ANALYSIS_SIDE px (see `measure`).
MIN_SIDE = 256          # shorter side of a photo, after cropping away transparent rows
MIN_CUTOUT_SIDE = 200   # longer side of a photo cut-out (never upscaled when composited)
MIN_COLOURFULNESS = 8   # Hasler-Suesstrunk colourfulness: below it, grayscale or nearly so
MAX_FLAT = 0.5          # share of pixels within 1 level of their right and lower neighbours: flat fills, gradients
MIN_UNIQUE = 0.05       # distinct colours per pixel: drawings, renders and palette images have few
MAX_CUTOUT_FLAT = 0.3   # the same for the opaque part of a cut-out, where drawings show less flat area
ANALYSIS_SIDE = 512
DUPLICATE_BITS = 10     # pHash Hamming distance up to which two photos are the same picture
JPEG_QUALITY = 92
ANALYSIS_VERSION = 2    # bump when `analyse` changes, to invalidate its cached results

def fail(message):
    "Print a one-line error and exit with status 2."
    print(f'build_corpus: error: {message}', file=sys.stderr)
    sys.exit(2)

def is_reserved(package):
    "Whether `package` is reserved for evaluation or may carry reserved photos."
    return package in RESERVED or any(fnmatch.fnmatchcase(package, p) for p in RESERVED_PATTERNS)

# ---------------------------------------------------------------- fetching

def fetch_package(package, cache):
    "The `.deb` of `package` in `cache`, downloaded with apt-get unless it is there already; deny-listed ones refused."
    if is_reserved(package): fail(f'{package} is deny-listed: reserved for evaluation, or may hold its photos')
    debs = sorted(cache.glob(f'{package}_*.deb'))
    if not debs:
        done = subprocess.run(['apt-get', 'download', package], cwd=cache, capture_output=True, text=True)
        debs = sorted(cache.glob(f'{package}_*.deb'))
        if done.returncode or not debs: fail(f'apt-get download {package} failed: {done.stderr.strip()[-300:]}')
    return debs[-1]

def rcc_files(data):
    "Yield (path, bytes) for each file in a Qt binary resource (`.rcc`, format versions 1-3, zlib or uncompressed)."
    magic, version, tree, payload, names = struct.unpack('>4sIIII', data[:20])
    if magic != b'qres': raise ValueError('not a Qt resource file')
    entry = 14 if version == 1 else 22
    def name(offset):
        length = struct.unpack_from('>H', data, names + offset)[0]
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode('utf-16-be')
    def walk(index, prefix):
        base = tree + index * entry
        name_offset, flags = struct.unpack_from('>IH', data, base)
        path = f'{prefix}/{name(name_offset)}' if index else ''
        if flags & 2:  # directory
            count, first = struct.unpack_from('>II', data, base + 6)
            for child in range(first, first + count): yield from walk(child, path)
            return
        offset = payload + struct.unpack_from('>I', data, base + 10)[0]
        blob = data[offset + 4:offset + 4 + struct.unpack_from('>I', data, offset)[0]]
        if flags & 4: raise ValueError(f'{path}: zstd-compressed resources are not supported')
        yield path.lstrip('/'), zlib.decompress(blob[4:]) if flags & 1 else blob
    yield from walk(0, '')

def unpack_rcc(rcc):
    "Write the images inside a Qt resource file `rcc` under `<rcc>.d/`."
    for path, blob in rcc_files(rcc.read_bytes()):
        if Path(path).suffix.lower() in IMAGE_TYPES | VECTOR_TYPES:
            target = rcc.with_name(rcc.name + '.d') / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)

def extract_package(deb, cache):
    "(version, root): `deb` unpacked with `dpkg -x` under `cache/extracted`, once; Qt resource files unpacked too."
    version = subprocess.run(['dpkg-deb', '-f', str(deb), 'Version'], capture_output=True, text=True, check=True)
    version = version.stdout.strip()
    root = cache / 'extracted' / f'{deb.name.split("_")[0]}_{version.replace(":", "%3a")}'
    if not root.is_dir():
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix='.tmp-'))
        subprocess.run(['dpkg', '-x', str(deb), str(tmp)], check=True)
        for rcc in tmp.rglob('*.rcc'): unpack_rcc(rcc)
        tmp.rename(root)
    return version, root

# ---------------------------------------------------------------- licences

def copyright_fields(text):
    "The paragraphs of a debian/copyright file as dicts of field -> value (continuation lines joined)."
    paragraphs = []
    for block in re.split(r'\n\s*\n', text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (' ', '\t') and key: fields[key] += '\n' + line.strip()
            elif ':' in line and not line.startswith('#'):
                key, value = line.split(':', 1)
                key = key.strip().lower(); fields[key] = value.strip()
        paragraphs.append(fields)
    return paragraphs

def licence_phrase(text):
    "A short name for the first licence that free text states (for copyright files not in the DEP-5 format)."
    text = ' '.join(text.split())
    for pattern, name in ((r'Attribution-ShareAlike (\d\.\d)', r'CC-BY-SA-\1'), (r'Attribution (\d\.\d)', r'CC-BY-\1'),
                          (r'Lesser General Public License[^.]*?version (\d(?:\.\d)?)[^.]*?any later', r'LGPL-\1+'),
                          (r'General Public License[^.]*?version (\d)[^.]*?any later', r'GPL-\1+'),
                          (r'General Public License[^.]*?version (\d)', r'GPL-\1'),
                          (r'public domain', 'public-domain')):
        if m := re.search(pattern, text, re.I): return m.expand(name)
    return 'unknown (see debian/copyright)'

class Licences:
    "The licence of each file of a package, from its /usr/share/doc/<pkg>/copyright (DEP-5 stanzas where it has them)."
    def __init__(self, root, source):
        path = root / 'usr/share/doc' / source.package / 'copyright'
        text = path.read_text(errors='replace') if path.exists() else ''
        paragraphs = copyright_fields(text)
        self.stanzas = [(p['files'].split(), p.get('license', '').split('\n')[0].strip())
                        for p in paragraphs if 'files' in p and 'license' in p]
        self.main = next((lic for files, lic in self.stanzas if '*' in files), None) or licence_phrase(text)
        self.upstream = source.upstream

    def __call__(self, installed_path):
        "The licence of the file at `installed_path` (relative to the package root); for resources, also as .jpg/.png."
        path = re.sub(*self.upstream, installed_path)
        variants = {path} | {str(Path(path).with_suffix(s)) for s in ('.jpg', '.jpeg', '.png')}
        found = self.main
        for files, lic in self.stanzas:  # DEP-5: the last matching stanza wins
            if files != ['*'] and any(fnmatch.fnmatchcase(v, f) for v in variants for f in files): found = lic
        return found

# ---------------------------------------------------------------- candidates

@dataclass
class Candidate:
    "One file that may be a photograph."
    source: str
    version: str
    original_path: str  # inside the package; `x.rcc:inner/path` for a file inside a Qt resource
    file: str           # where it is on disk
    licence: str
    group: str          # validation hold-out unit
    cutout: bool = False
    angle: int = 0      # clockwise degrees that turn it upright, after its EXIF orientation
    reason: str = ''    # why it was rejected, or '' while it is kept

def group_of(source, installed_path):
    "The hold-out unit of a file: its GCompris activity, else its whole source."
    m = re.search(r'/activities/([^/]+)/', installed_path)
    return m.group(1) if source == 'gcompris-qt-data' and m else source

def kphotoalbum_angles(index):
    "The clockwise rotation of each photo (by path) that a KPhotoAlbum `index` file records."
    return {str(index.parent / e.get('file')): int(e.get('angle')) for e in ET.parse(index).iter('image')
            if e.get('angle')}

def debian_candidates(source, version, root):
    "The image files of an unpacked package that match the source's globs, with their licences."
    licences, found = Licences(root, source), []
    angles = kphotoalbum_angles(root / source.angles) if source.angles else {}
    for f in sorted(root.rglob('*')):
        rel = f.relative_to(root).as_posix()
        if not f.is_file() or f.suffix.lower() not in IMAGE_TYPES | VECTOR_TYPES: continue
        if not any(fnmatch.fnmatchcase(rel, g) for g in source.include): continue
        original = rel.replace('.rcc.d/', '.rcc:')
        c = Candidate(source.package, version, original, str(f), licences(rel), group_of(source.package, rel),
                      source.cutouts, angles.get(str(f), 0))
        if f.suffix.lower() in IMAGE_TYPES and any(fnmatch.fnmatchcase(rel, g) for g in source.not_photos):
            c.reason = 'by-name'
        found.append(c)
    return found

def python_candidates(name):
    "The sample photos that the Python distribution `name` ships."
    try: version = metadata.version(name)
    except metadata.PackageNotFoundError: fail(f'{name} is not installed (it ships sample photos)')
    return [Candidate(name, version, f'{module}/{rel}', str(resources.files(module) / rel), lic, name)
            for module, rel, lic in PYTHON_SOURCES[name]]

# ---------------------------------------------------------------- analysis

def opaque_band(im):
    "The box of the longest run of fully opaque rows of `im` (all of it when it has no alpha), or None."
    if 'A' not in im.getbands() and 'transparency' not in im.info: return (0, 0, *im.size)
    alpha = np.asarray(im.convert('RGBA').getchannel('A'))
    rows = np.r_[False, (alpha >= 250).mean(1) >= 0.995, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(rows))
    if not len(edges): return None
    starts, ends = edges[::2], edges[1::2]
    best = np.argmax(ends - starts)
    return (0, int(starts[best]), im.width, int(ends[best]))

def measure(rgb, mask=None):
    "Colourfulness, flat share and distinct colours per pixel of an RGB array (over `mask` where given)."
    x = rgb.astype(np.int16)
    dx = np.abs(np.diff(x, axis=1)).max(2)[:-1]
    dy = np.abs(np.diff(x, axis=0)).max(2)[:, :-1]
    flat = (dx <= 1) & (dy <= 1)
    pixels = x.reshape(-1, 3).astype(np.int32)
    if mask is not None: flat, pixels = flat[mask[:-1, :-1]], pixels[mask.reshape(-1)]
    r, g, b = pixels.T.astype(np.float64)
    rg, yb = r - g, (r + g) / 2 - b
    colourfulness = math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())
    unique = len(np.unique(pixels[:, 0] * 65536 + pixels[:, 1] * 256 + pixels[:, 2])) / max(len(pixels), 1)
    return dict(colourfulness=round(colourfulness, 2), flat=round(float(flat.mean()), 3), unique=round(unique, 3))

def classify(m, cutout):
    "Why measurements `m` are not those of a colour photograph (or photo cut-out), or '' when they are."
    if m['colourfulness'] < MIN_COLOURFULNESS: return 'grayscale'
    if m['flat'] > (MAX_CUTOUT_FLAT if cutout else MAX_FLAT): return 'flat'
    if m['unique'] < MIN_UNIQUE: return 'few-colours'
    return ''

def analysis_image(im):
    "`im` box-downscaled by an integer factor so that its longer side is at most ANALYSIS_SIDE."
    return im.reduce(max(1, math.ceil(max(im.size) / ANALYSIS_SIDE)))

def save_thumbnail(im, path, side=160):
    "A `side`-px thumbnail of `im` at `path`, its transparent parts magenta so that the contact sheets show them."
    im = im.convert('RGBA'); im.thumbnail((side, side))
    shown = Image.new('RGB', im.size, (255, 0, 255)); shown.paste(im, mask=im.getchannel('A'))
    atomic_save(shown, path, quality=85)

def upright(file, angle=0):
    "The image in `file`, loaded, turned upright: its EXIF orientation applied, then `angle` degrees clockwise."
    with Image.open(file) as im:
        im = ImageOps.exif_transpose(im); im.load()
    return im.rotate(-angle, expand=True) if angle else im

def analyse(job):
    "Open one candidate: why it cannot be used (or ''), its usable box, measurements and pHash; saves a thumbnail."
    file, cutout, angle, thumb = job
    result = dict(reason='', box=None, phash=None)
    if Path(file).suffix.lower() in VECTOR_TYPES: return result | dict(reason='vector')
    try: im = upright(file, angle)
    except Exception: return result | dict(reason='unreadable')
    if not Path(thumb).exists(): save_thumbnail(im, Path(thumb))
    if cutout:
        im = im.convert('RGBA'); box = im.getchannel('A').getbbox()
        if box is None: return result | dict(reason='transparent')
        im = im.crop(box)
        if max(im.size) < MIN_CUTOUT_SIDE: return result | dict(reason='small')
        small = analysis_image(im)
        mask = np.asarray(small.getchannel('A')) >= 128
        if mask[:-1, :-1].sum() == 0: return result | dict(reason='transparent')
        return result | dict(box=box, **measure(np.asarray(small.convert('RGB')), mask))
    if min(im.size) < MIN_SIDE: return result | dict(reason='small')
    box = opaque_band(im)
    if box is None or box[3] - box[1] < MIN_SIDE: return result | dict(reason='transparent')
    im = im.crop(box).convert('RGB')
    return result | dict(box=box, phash=str(imagehash.phash(im)), **measure(np.asarray(analysis_image(im))))

def analyse_all(candidates, cache, jobs):
    "Analyse every candidate on `jobs` processes, reusing the results cached in `cache/analysis.json`."
    store = cache / 'analysis.json'
    known = json.loads(store.read_text()) if store.exists() else {}
    def key(c):
        st = os.stat(c.file)
        return f'{ANALYSIS_VERSION}:{c.file}:{st.st_size}:{st.st_mtime_ns}:{c.cutout}:{c.angle}'
    keys = [key(c) for c in candidates]
    thumbs = cache / 'thumbs'; thumbs.mkdir(parents=True, exist_ok=True)
    todo = [(k, (c.file, c.cutout, c.angle, str(thumbs / f'{hashlib.sha1(k.encode()).hexdigest()}.jpg')))
            for k, c in zip(keys, candidates) if k not in known]
    with Pool(jobs) as pool:
        results = pool.imap(analyse, [job for _, job in todo])
        for (k, job), result in zip(todo, tqdm(results, total=len(todo), desc='analyse', unit='file')):
            known[k] = result | dict(thumb=job[-1])
    atomic_write_text(store, json.dumps(known))
    return [known[k] for k in keys]

# ---------------------------------------------------------------- selection

def drop_duplicates(kept, results):
    "Mark as duplicates the kept candidates whose pHash is within DUPLICATE_BITS of a larger kept one."
    def area(c): b = results[id(c)]['box']; return (b[2] - b[0]) * (b[3] - b[1])
    chosen = []
    for c in sorted(kept, key=lambda c: (-area(c), c.source, c.original_path)):
        h = imagehash.hex_to_hash(results[id(c)]['phash'])
        twin = next((o for o, oh in chosen if h - oh <= DUPLICATE_BITS), None)
        if twin is None: chosen.append((c, h))
        else: c.reason = f'duplicate of {twin.source}:{twin.original_path}'

def split_of(c):
    "'valid' for the candidates of the held-out sources and groups (VALID_GROUPS), else 'train'."
    if c.cutout or c.source not in VALID_GROUPS: return 'train'
    groups = VALID_GROUPS[c.source]
    return 'valid' if groups is None or c.group in groups else 'train'

def slug(text):
    "A file-name-safe version of `text`."
    return re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('_') or 'image'

def unique_names(candidates):
    "A file name (no extension) for each candidate, unique within its source: its stem, with parent folders if needed."
    parts = {id(c): [slug(p) for p in re.split(r'[/:]', str(Path(c.original_path).with_suffix('')))] for c in candidates}
    depth = {id(c): 1 for c in candidates}
    while True:
        names = {id(c): '-'.join(parts[id(c)][-depth[id(c)]:]) for c in candidates}
        seen = {}
        for c in candidates: seen.setdefault((c.source, names[id(c)].lower()), []).append(c)
        clashes = [c for group in seen.values() if len(group) > 1 for c in group if depth[id(c)] < len(parts[id(c)])]
        if not clashes: return names
        for c in clashes: depth[id(c)] += 1

# ---------------------------------------------------------------- writing

def atomic_save(im, path, **kwargs):
    "Save `im` as a JPEG at `path` through a temporary file and a rename."
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    im.save(tmp, 'JPEG', **kwargs)
    os.replace(tmp, path)

def atomic_write_text(path, text):
    "Write `text` to `path` through a temporary file and a rename."
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    tmp.write_text(text)
    os.replace(tmp, path)

def fitted_size(size, max_side):
    "`size` scaled down so that its longer side is at most `max_side`."
    scale = min(1, max_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))

def load_photo(file, box, max_side, angle=0):
    "The photo in `file`, upright, cropped to `box`, RGB, downscaled to at most `max_side`."
    im = upright(file, angle).crop(box).convert('RGB')
    return im.resize(fitted_size(im.size, max_side), Image.LANCZOS) if max(im.size) > max_side else im

def written_size(path):
    "The size of the image at `path`, or None if there is none."
    try:
        with Image.open(path) as im: return im.size
    except (OSError, ValueError): return None

def box_size(box):
    "The (width, height) of a (left, top, right, bottom) box."
    return box[2] - box[0], box[3] - box[1]

def write_photo(job):
    "Write one kept photo (skipped when the file is there at the expected size); returns its size."
    file, box, angle, target, max_side = job
    size = fitted_size(box_size(box), max_side)
    if written_size(target) != size:
        atomic_save(load_photo(file, box, max_side, angle), Path(target), quality=JPEG_QUALITY)
    return size

def layout(cut_size, background_size, rng):
    """(canvas size, cut-out size, position) for a cut-out pasted on a background at a random scale and place: its longer
    side 35-70% of the background's shorter one; the background shrinks rather than the cut-out being upscaled."""
    side, target = max(cut_size), rng.uniform(0.35, 0.7) * min(background_size)
    if target > side:
        background_size = fitted_size(background_size, max(background_size) * side / target)
        target = side
    cut_size = fitted_size(cut_size, target)
    position = rng.randint(0, background_size[0] - cut_size[0]), rng.randint(0, background_size[1] - cut_size[1])
    return background_size, cut_size, position

def composite(cutout, background, plan):
    "The RGBA image `cutout` pasted on the RGB image `background` as `plan` (from `layout`) says."
    canvas, cut_size, position = plan
    canvas = background.resize(canvas, Image.LANCZOS) if background.size != canvas else background.copy()
    cut = cutout.resize(cut_size, Image.LANCZOS)
    canvas.paste(cut, position, cut)
    return canvas

# ---------------------------------------------------------------- review and summary

def contact_sheets(entries, path, columns=8, per_sheet=96, tile=160):
    "PNG grids of (image, label lines) as `path`-N.png, `per_sheet` thumbnails each."
    for old in path.parent.glob(f'{path.name}-*.png'): old.unlink()
    for page in range(math.ceil(len(entries) / per_sheet)):
        chunk = entries[page * per_sheet:(page + 1) * per_sheet]
        rows, cell = math.ceil(len(chunk) / columns), tile + 26
        sheet = Image.new('RGB', (columns * tile, rows * cell), 'white')
        draw = ImageDraw.Draw(sheet)
        for i, (thumb, lines) in enumerate(chunk):
            x, y = i % columns * tile, i // columns * cell
            if Path(thumb).exists():
                with Image.open(thumb) as im:
                    im = im.convert('RGB'); im.thumbnail((tile, tile)); sheet.paste(im, (x, y))
            for j, line in enumerate(lines): draw.text((x + 2, y + tile + 1 + 12 * j), line[:26], fill='black')
        path.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(path.with_name(f'{path.name}-{page + 1}.png'))

def review(candidates, results, composites, review_dir):
    "Contact sheets of what each source kept and rejected (with reason and measurements), and of the composites."
    def label(c):
        r = results[id(c)]
        stats = f"c{r.get('colourfulness', 0):.0f} f{r.get('flat', 0):.2f} u{r.get('unique', 0):.2f}"
        return [Path(c.original_path).name, f'{(c.reason or "kept")[:10]} {stats}']
    for source in sorted({c.source for c in candidates}):
        mine = [c for c in candidates if c.source == source and Path(c.file).suffix.lower() not in VECTOR_TYPES]
        for name, chosen in (('kept', [c for c in mine if not c.reason]), ('rejected', [c for c in mine if c.reason])):
            chosen.sort(key=lambda c: (c.reason, c.original_path))
            contact_sheets([(results[id(c)].get('thumb', ''), label(c)) for c in chosen], review_dir / f'{source}-{name}')
    contact_sheets([(f, [f.name]) for f in composites], review_dir / 'composites')

def summary_table(candidates, rows):
    "Per source: files scanned, kept, rejected by reason, train/valid counts; and the total."
    reasons = sorted({c.reason.split(' ')[0] for c in candidates if c.reason})
    header = ['source', 'scanned', 'kept', *reasons, 'train', 'valid']
    table = []
    for source in sorted({c.source for c in candidates}):
        mine = [c for c in candidates if c.source == source]
        written = [r for r in rows if r['source_package'] == source]
        table.append([source, len(mine), len(written),
                      *[sum(c.reason.split(' ')[0] == r for c in mine) for r in reasons],
                      sum(r['split'] == 'train' for r in written), sum(r['split'] == 'valid' for r in written)])
    table.append(['total', *[sum(row[i] for row in table) for i in range(1, len(header))]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    lines = ['  '.join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(row, widths)))
             for row in [header, *table]]
    note = ('kept = photos written (for tuxpaint-stamps-default: composites); duplicate = same picture as a larger kept '
            'one;\nby-name = a painting, drawing or render that the heuristics keep, excluded by name after review')
    return '\n'.join(lines + ['', note]) + '\n'

# ---------------------------------------------------------------- main

def parse_args(argv):
    "The command line, checked."
    home = Path.home() / '.cache/colorgan'
    names = [s.package for s in DEBIAN_SOURCES] + list(PYTHON_SOURCES)
    p = argparse.ArgumentParser(prog='build_corpus', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='sources: ' + ', '.join(names))
    p.add_argument('--out', type=Path, default=home / 'corpus', help='corpus folder (default: %(default)s)')
    p.add_argument('--cache', type=Path, default=home / 'corpus-debs',
                   help='downloaded and unpacked packages, cached verdicts (default: %(default)s)')
    p.add_argument('--review', type=Path, default=home / 'corpus-review',
                   help='contact sheets of kept and rejected files (default: %(default)s)')
    p.add_argument('--max-side', type=int, default=1024, help='longest side of a written photo (default: 1024)')
    p.add_argument('--seed', type=int, default=0, help='seed of the composites (default: 0)')
    p.add_argument('--jobs', type=int, default=2, help='worker processes (default: 2)')
    p.add_argument('--sources', help='comma-separated sources to use (default: all)')
    a = p.parse_args(argv)
    if a.max_side < MIN_SIDE: p.error(f'--max-side must be at least {MIN_SIDE}')
    if a.jobs < 1: p.error('--jobs must be at least 1')
    chosen = a.sources.split(',') if a.sources else names
    for name in chosen:
        if is_reserved(name): p.error(f'{name} is deny-listed: reserved for evaluation, or may hold its photos')
        if name not in names: p.error(f'unknown source {name!r} (choose from {", ".join(names)})')
    a.sources = chosen
    return a

def gather(args):
    "Fetch and unpack the chosen Debian sources and list every candidate file."
    if not (shutil.which('apt-get') and shutil.which('dpkg-deb')): fail('apt-get and dpkg-deb are needed')
    args.cache.mkdir(parents=True, exist_ok=True)
    candidates = []
    for source in tqdm([s for s in DEBIAN_SOURCES if s.package in args.sources], desc='fetch', unit='package'):
        version, root = extract_package(fetch_package(source.package, args.cache), args.cache)
        candidates += debian_candidates(source, version, root)
    for name in PYTHON_SOURCES:
        if name in args.sources: candidates += python_candidates(name)
    return candidates

def make_composites(cutouts, backgrounds, results, names, args):
    "Composite each photo cut-out onto a training photo chosen at random (seeded per cut-out): rows and review entries."
    rows, shown = [], []
    pool = sorted(backgrounds, key=lambda b: (b.source, b.original_path))
    for c in tqdm(cutouts, desc='composite', unit='file'):
        rng = random.Random(f'{args.seed}:{c.original_path}')
        bg = rng.choice(pool)
        cut_box, bg_box = results[id(c)]['box'], results[id(bg)]['box']
        plan = layout(box_size(cut_box), fitted_size(box_size(bg_box), args.max_side), rng)
        target = args.out / 'train' / c.source / f'{names[id(c)]}--{names[id(bg)]}.jpg'
        if written_size(target) != plan[0]:
            cutout = upright(c.file).convert('RGBA').crop(cut_box)
            background = load_photo(bg.file, bg_box, args.max_side, bg.angle)
            atomic_save(composite(cutout, background, plan), target, quality=JPEG_QUALITY)
        rows.append(dict(file=target.relative_to(args.out).as_posix(), split='train', source_package=c.source,
                         package_version=c.version, original_path=c.original_path,
                         licence=f'{c.licence} (cut-out) + {bg.licence} (background)', width=plan[0][0],
                         height=plan[0][1], background=f'{bg.source}:{bg.original_path}'))
        shown.append(target)
    return rows, shown

def remove_stale(out, rows):
    "Delete the photos and temporary files under OUT/train and OUT/valid that this run did not write."
    keep = {out / r['file'] for r in rows}
    for split in ('train', 'valid'):
        for f in sorted((out / split).rglob('*'), reverse=True):
            if f.is_file() and f not in keep: f.unlink()
            elif f.is_dir() and not any(f.iterdir()): f.rmdir()

def main(argv=None):
    "Build the corpus."
    args = parse_args(argv)
    candidates = gather(args)
    results = dict(zip(map(id, candidates), analyse_all(candidates, args.cache, args.jobs)))
    for c in candidates:  # 'by-name' only for what the heuristics would keep
        r = results[id(c)]
        c.reason = r['reason'] or classify(r, c.cutout) or c.reason
        if not c.reason and not c.cutout and min(fitted_size(box_size(r['box']), args.max_side)) < MIN_SIDE:
            c.reason = 'too-wide'  # a panorama that --max-side would shrink below MIN_SIDE
    photos = [c for c in candidates if not c.reason and not c.cutout]
    drop_duplicates(photos, results)
    photos = [c for c in photos if not c.reason]
    cutouts = [c for c in candidates if not c.reason and c.cutout]
    names = unique_names(photos + cutouts)
    jobs = [(c.file, results[id(c)]['box'], c.angle, str(args.out / split_of(c) / c.source / f'{names[id(c)]}.jpg'),
             args.max_side) for c in photos]
    with Pool(args.jobs) as pool:
        sizes = list(tqdm(pool.imap(write_photo, jobs), total=len(jobs), desc='write', unit='photo'))
    rows = [dict(file=Path(job[3]).relative_to(args.out).as_posix(), split=split_of(c), source_package=c.source,
                 package_version=c.version, original_path=c.original_path, licence=c.licence, width=w, height=h,
                 background='') for c, job, (w, h) in zip(photos, jobs, sizes)]
    backgrounds = [c for c in photos if split_of(c) == 'train']
    shown = []
    if cutouts and not backgrounds: print('build_corpus: warning: no training photos to composite the cut-outs on')
    elif cutouts:
        composite_rows, shown = make_composites(cutouts, backgrounds, results, names, args)
        rows += composite_rows
    rows.sort(key=lambda r: r['file'])
    remove_stale(args.out, rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ['file'], lineterminator='\n')
    writer.writeheader(); writer.writerows(rows)
    atomic_write_text(args.out / 'manifest.csv', buffer.getvalue())
    review(candidates, results, shown, args.review)
    table = summary_table(candidates, rows)
    atomic_write_text(args.out / 'summary.txt', table)
    print(table, end='')
    print(f'corpus: {args.out}  review sheets: {args.review}')

if __name__ == '__main__':
    main()
