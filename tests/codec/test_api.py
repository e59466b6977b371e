"""The library's face: typed nvc.encode, streams and bytes, progress events, silence, slices, lazy import."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import inspect
import io
import subprocess
import sys

import numpy as np
import pytest

import nvc
from nvc.codec.progress import FitProgress
from nvc.codec.rate import Tuning

from ..conftest import TINY

ONE_GROUP = {**TINY, "group_size": 4}


@pytest.fixture(scope="module")
def small_clip():
    from nvc.datasets import synthetic_clip

    return synthetic_clip(24, 16, 2, seed=9)


def test_encode_has_explicit_typed_keywords_and_names_a_misspelled_one(small_clip):
    parameters = inspect.signature(nvc.encode).parameters
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    assert parameters["quality"].annotation == "int" and parameters["preset"].default == "medium"
    with pytest.raises(TypeError, match="qualty"):
        nvc.encode(small_clip, qualty=20)  # type: ignore[call-arg]
    with pytest.raises(nvc.UsageError, match="quality 99"):
        nvc.encode(small_clip, quality=99)
    with pytest.raises(nvc.UsageError, match="optimizer"):  # an inter-group override is checked before fitting
        nvc.encode(small_clip, tuning=Tuning.parse(["inter.optimizer=sgd"]))


def test_path_stream_and_bytes_give_the_same_file_and_print_nothing(small_clip, tmp_path, capfd):
    report = nvc.encode(small_clip, tmp_path / "a.nvc", fps=25, **ONE_GROUP)
    stream = io.BytesIO()
    nvc.encode(small_clip, stream, fps=25, **ONE_GROUP)
    returned = nvc.encode(small_clip, fps=25, **ONE_GROUP)
    assert capfd.readouterr() == ("", "")  # no bars, no logs unless asked
    assert (tmp_path / "a.nvc").read_bytes() == stream.getvalue() == returned.data
    assert report.data is None and returned.bytes == len(returned.data)


def test_resume_needs_a_path(small_clip):
    with pytest.raises(nvc.UsageError, match="resume"):
        nvc.encode(small_clip, io.BytesIO(), fps=25, resume=True, **ONE_GROUP)


def test_on_progress_hears_every_evaluation_then_each_group(tiny_clip, capfd):
    events: list = []
    report = nvc.encode(tiny_clip, fps=25, on_progress=events.append, progress=True, **TINY)
    groups = [e for e in events if isinstance(e, nvc.GroupStats)]
    assert groups == report.groups
    for group in groups:  # the fit's evaluations come before the group's stats, the last at the end
        position = events.index(group)
        fits = [e for e in events[:position] if isinstance(e, FitProgress) and e.group == group.index]
        assert fits and fits[-1].iteration == fits[-1].iterations == group.iterations
    assert "group 1" in capfd.readouterr().err  # progress=True draws tqdm bars on stderr


def test_slices_follow_python(tiny_encoded):
    path, _ = tiny_encoded
    frames = list(nvc.decode(path))
    with nvc.open(path) as video:
        assert len(video) == 5 and [f.tobytes() for f in video] == [f.tobytes() for f in frames]
        for index in (slice(4, 2), slice(3, 3), slice(1, 4), slice(None, None, 2), slice(None, None, -2),
                      slice(-2, None), slice(4, 0, -3), slice(10, 20)):
            got = video[index]
            expected = frames[index]
            assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))
        assert video[4:2] == []


def test_decode_range_honours_its_step(tiny_encoded):
    path, _ = tiny_encoded
    frames = list(nvc.decode(path))
    stepped = list(nvc.decode(path, frames=range(0, 5, 2)))
    assert len(stepped) == 3 and all(np.array_equal(a, frames[i]) for a, i in zip(stepped, (0, 2, 4)))
    assert list(nvc.decode(path, frames=range(3, 1))) == []
    with pytest.raises(nvc.InputError, match="outside"):
        nvc.decode(path, frames=range(0, 8, 2))


def test_import_nvc_loads_neither_torch_nor_scikit_image():
    code = ("import sys, nvc; print('torch' in sys.modules, 'skimage' in sys.modules); "
            "nvc.encode; print('torch' in sys.modules, 'skimage' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "False"]


def test_typed_package_with_one_version():
    assert importlib.resources.files("nvc").joinpath("py.typed").is_file()
    assert nvc.__version__ == importlib.metadata.version("nvc")
