"""What needs a fresh Python of its own: a disk that fills up mid-write, the peak memory of colorizing a big photo, and
the environment a command started from a Colab notebook inherits."""
import os, subprocess, sys, types
from unittest import mock

def python(code:str, **kwargs) -> str:
    "Run `code` in a fresh Python; return what it printed."
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, timeout=300, **kwargs).stdout.strip()

def test_a_full_disk_leaves_no_partial_file(tmp_path):
    "A size limit stands in for a full disk: one line that names the file, and neither the file nor a temporary one left."
    said = python(f"""
import resource, torch
from colorgan.images import write_atomically
resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))  # no file above 10 kB: as if the disk were full
try: write_atomically({str(tmp_path/'big.pt')!r}, lambda tmp: torch.save(torch.zeros(100_000), tmp))
except OSError as e: print(e)
""")
    assert said.startswith(f"cannot write to {tmp_path/'big.pt'}: "), said
    assert os.listdir(tmp_path) == []

def test_colorizing_a_big_photo_needs_little_memory():
    "Colorizing an 8-megapixel photo, its full-resolution steps in bands: a few bytes per pixel above what was there before."
    per_pixel = float(python("""
import resource, torch
from PIL import Image
from colorgan.inference import colorize
torch.set_num_threads(1)
class Saturated(torch.nn.Module):
    def forward(self, L): return torch.cat([torch.sin(L * 7), torch.cos(L * 5)], 1)
photo = Image.linear_gradient('L').resize((4000, 2000))
colorize(photo.resize((400, 200)), Saturated(), render_size=64)  # warm up the allocator and the thread pool
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = colorize(photo, Saturated(), render_size=64)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 / (photo.width * photo.height))
"""))
    print(f'peak memory of colorizing an 8-megapixel photo: {per_pixel:.1f} bytes per pixel above what was there before')
    assert per_pixel < 40, per_pixel

def test_colab_secrets_reach_a_command():
    "Colab's secrets reach only the notebook's process; `kaggle_secrets_from_colab` puts them where `!colorgan-train` finds them."
    from colorgan.sources import kaggle_secrets_from_colab
    from colorgan.test_utils import no_kaggle_credentials
    colab = types.ModuleType('google.colab')
    colab.userdata = types.SimpleNamespace(get=lambda name: {'KAGGLE_USERNAME': 'ada', 'KAGGLE_KEY': 'not-a-real-key'}[name])
    with no_kaggle_credentials(), mock.patch.dict(sys.modules, {'google': sys.modules.get('google') or types.ModuleType('google'),
                                                              'google.colab': colab}):
        assert kaggle_secrets_from_colab()
        assert python('import os; print(os.environ["KAGGLE_USERNAME"], os.environ["KAGGLE_KEY"])').split() == ['ada', 'not-a-real-key']
