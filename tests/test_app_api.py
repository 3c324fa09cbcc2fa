"""The app served over HTTP, as a script reaches it: gradio_client gets a colorized photo and its download name, a file
that is not a photo is a clear error, and a request that names a file on the server instead of uploading one is refused
(the chapter, nbs/14_app.ipynb, tests the app's functions in-process)."""
import json, socket, urllib.request
from pathlib import Path

import pytest, skimage
from PIL import Image
from gradio_client import Client, handle_file

from colorgan.app import build_app
from colorgan.model import build_generator

def free_port() -> int:
    "A TCP port nobody is listening on right now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def served(tmp_path_factory):
    "(address, a colour photo, a text file) with the app of an untrained generator served on this machine."
    folder = tmp_path_factory.mktemp('app')
    coffee = folder/'coffee.jpg'; Image.fromarray(skimage.data.coffee()).resize((301, 187)).save(coffee)
    notes = folder/'notes.txt'; notes.write_text('this is not a photo')
    demo = build_app(build_generator(pretrained=None).eval(), examples=[str(coffee)], render_size=64)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name='127.0.0.1', server_port=port, quiet=True)
    try: yield f'http://127.0.0.1:{port}', coffee, notes
    finally: demo.close()

def test_a_script_colorizes_a_photo(served):
    address, coffee, notes = served
    client = Client(f'{address}/', verbose=False)
    result_file, (before_file, after_file), no_hints = client.predict(handle_file(str(coffee)), 64, api_name='/colorize')
    assert no_hints is None  # automatic: no hints file
    assert Path(result_file).name == 'coffee_colorized.jpg'  # what the download is called
    assert (Image.open(result_file).size, Image.open(result_file).format) == ((301, 187), 'JPEG')
    assert Image.open(after_file['path'] if isinstance(after_file, dict) else after_file).size == (301, 187)
    with pytest.raises(Exception, match='notes.txt cannot be colorized'): client.predict(handle_file(str(notes)), 64, api_name='/colorize')

def test_a_path_on_the_server_is_refused(served):
    "A request that names a file on the server instead of uploading one, as `curl` could send it: the same answer whether it exists or not."
    address, coffee, _ = served
    def raw_call(path):
        "Call the colorize API with a bare path, without gradio's file marker; return the event stream's text."
        post = urllib.request.Request(f'{address}/gradio_api/call/colorize', method='POST', headers={'Content-Type': 'application/json'},
                                      data=json.dumps({'data': [{'path': str(path)}, 64, 1, None]}).encode())
        event = json.load(urllib.request.urlopen(post, timeout=30))['event_id']
        return urllib.request.urlopen(f'{address}/gradio_api/call/colorize/{event}', timeout=120).read().decode()
    for path in (coffee, '/no/such/file.png'):
        answer = raw_call(path)
        assert 'event: error' in answer and 'Upload a photo first' in answer, answer
