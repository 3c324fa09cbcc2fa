#!/usr/bin/env python3
"""Peak memory per pixel of colorgan-colorize and of colorgan-app, on a 6000x4000 JPEG next to a 600x400 one, in one run.

    python tools/memory_per_pixel.py FOLDER     # FOLDER: where the test photos and outputs go

The command line is measured with /usr/bin/time -v (its maximum resident set size), the app through gradio_client and its
process's VmHWM. Run it from outside the repository with PYTHONPATH naming another checkout to measure that one instead.
"""
import re, shutil, socket, subprocess, sys, time
from pathlib import Path
import skimage
from PIL import Image
here = Path(sys.argv[1]); here.mkdir(parents=True, exist_ok=True)
big, small = here/'big.jpg', here/'small.jpg'
photo = Image.fromarray(skimage.data.astronaut()).convert('L')
photo.resize((6000, 4000)).save(big, quality=90); photo.resize((600, 400)).save(small, quality=90)
px = 6000*4000 - 600*400
def cli(img):
    out = here/f'out-{img.stem}'; shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run(['/usr/bin/time', '-v', sys.executable, '-c', 'import sys; from colorgan.commands import colorize_main; sys.exit(colorize_main())',
                        str(img), '--out', str(out), '--device', 'cpu'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', r.stderr)[1]) * 1024
c_small, c_big = cli(small), cli(big)
print(f'colorgan-colorize: peak RSS {c_small/2**20:.0f} MiB (600x400), {c_big/2**20:.0f} MiB (6000x4000): {(c_big-c_small)/px:.1f} B/px')
def hwm(pid): return int(re.search(r'VmHWM:\s+(\d+) kB', Path(f'/proc/{pid}/status').read_text())[1]) * 1024
with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
app = subprocess.Popen([sys.executable, '-c', 'import sys; from colorgan.commands import app_main; sys.exit(app_main())', '--port', str(port), '--device', 'cpu'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    assert 'serving' in app.stdout.readline()
    from gradio_client import Client, handle_file
    client = Client(f'http://127.0.0.1:{port}/', verbose=False)
    client.predict(handle_file(str(small)), 256, api_name='/colorize'); a_small = hwm(app.pid)
    t0 = time.time(); client.predict(handle_file(str(big)), 256, api_name='/colorize'); a_big = hwm(app.pid)
    print(f'colorgan-app: peak RSS {a_small/2**20:.0f} MiB after 600x400, {a_big/2**20:.0f} MiB after 6000x4000: {(a_big-a_small)/px:.1f} B/px ({time.time()-t0:.0f} s)')
finally: app.terminate(); app.wait(30)
