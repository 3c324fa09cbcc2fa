#!/usr/bin/env python3
"""Run the notebooks as `nbdev-test` does and save their outputs, which the docs site shows.

    python tools/save_outputs.py [NOTEBOOK]     # default: every notebook in nbs/

This is `nbdev-test --save` (the CPU test run: `IN_TEST` is set, `slow` and `cuda` cells are skipped, `eval: false` cells
never run; a notebook whose cells fail keeps its old outputs, and the exit code is 1) with one change: figures are saved as
plain PNG at matplotlib's own resolution. nbdev-test's shell asks for 'retina' PNGs, four times the pixels, which would
make the notebooks several times larger for pictures the site shows at the same size. `nbdev-clean` then strips what
changes from run to run (execution counts, metadata).
"""
import subprocess, sys
import execnb.shell, nbdev.test

class PlainPNGShell(execnb.shell.CaptureShell):
    "nbdev-test's notebook shell, with figures as plain PNG instead of retina."
    def __init__(self, path=None, mpl_format='png', **kwargs): super().__init__(path, mpl_format=mpl_format, **kwargs)

if __name__ == '__main__':
    nbdev.test.CaptureShell = PlainPNGShell  # test_nb makes its shell from this name; the worker processes are forked
    try: nbdev.test.nbdev_test(path=sys.argv[1] if len(sys.argv) > 1 else None, n_workers=2, save=True, do_print=True)
    finally: subprocess.run(['nbdev-clean'], check=True)
