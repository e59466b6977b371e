"""``python -m nvc``: the same as the ``nvc`` command."""

from nvc.codec.cli import run

run()
