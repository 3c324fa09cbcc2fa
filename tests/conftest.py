"""Helpers the tests share: run a colorgan command the way its installed console script runs it.

The command is started from the entry point that pyproject.toml declares (`colorgan.commands:colorize_main`, ...), in this
Python, so the tests check what `pip install` would install even where an older install of the console scripts is on PATH.
"""
import os, shutil, subprocess, sys, tempfile, tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['scripts']

def command(name:str) -> list:
    "The command line that runs the console script `name`: its declared entry point, called as the installed script calls it."
    module, function = SCRIPTS[name].split(':')
    return [sys.executable, '-c', f'import sys; from {module} import {function}; sys.exit({function}())']

# Where the commands keep their data (sample photos, ONNX exports): not the user's cache
HOME = Path(tempfile.mkdtemp(prefix='colorgan-test-home-'))

def command_env(**extra) -> dict:
    "The environment the commands run in: this one, with a throwaway COLORGAN_HOME and no gradio analytics."
    return {**os.environ, 'COLORGAN_HOME': str(HOME), 'GRADIO_ANALYTICS_ENABLED': 'False', **extra}

def run(name:str, *args, timeout:float=600, **kwargs) -> subprocess.CompletedProcess:
    "Run the command `name` with `args`; return the CompletedProcess, with stdout and stderr as text."
    return subprocess.run(command(name) + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=command_env(), **kwargs)

def pytest_sessionfinish(session, exitstatus): shutil.rmtree(HOME, ignore_errors=True)

@pytest.fixture(scope='session')
def model(tmp_path_factory) -> Path:
    "An untrained generator, saved as a trained one would be."
    import torch
    from colorgan.model import build_generator, save_generator
    torch.manual_seed(0)
    return save_generator(build_generator(pretrained=None), tmp_path_factory.mktemp('model')/'generator.safetensors', note='untrained')
