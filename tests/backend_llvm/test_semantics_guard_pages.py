"""No kernel touches a byte outside its buffers: every buffer of a compiled program
(inputs, outputs, constants, intermediates, scratch) sits flush against an
inaccessible page, after its end and then before its start, in a child process
(an access past the edge is a segfault there, reported with the case)."""
import os
import subprocess
import sys

import pytest

from .bounds_harness import run_in_child

CASES = [
    ("getitem", {"shape": [5, 6, 3], "items": [[None, None, -2], None, [4, 0, -1], 1]}),
    ("getitem", {"shape": [7, 4], "items": [[-1, -9, -3], [3, None, -2]], "dtype": "float64"}),
    ("scatter", {"shape": [5, 6, 3], "items": [[None, None, -2], [4, 0, -1]]}),
    ("pad", {"shape": [3, 4], "widths": [[1, 2], [0, 3]], "value": 7.0}),
    ("flip", {"shape": [3, 4, 5], "axes": [0, 2]}),
    ("concatenate", {"shapes": [[3, 4], [3, 1], [3, 2]], "axis": 1}),
    ("pool", {"shape": [2, 3, 7, 9], "kernel": [3, 2], "stride": [2, 3], "padding": [1, 1], "kind": "max"}),
    ("pool", {"shape": [1, 2, 5, 4], "kernel": [4, 3], "stride": [1, 1], "padding": [2, 1], "kind": "avg"}),
    ("pool", {"shape": [2, 3, 11], "kernel": [3], "stride": [2], "padding": [1], "kind": "max", "dtype": "float64"}),
    ("pool", {"shape": [8, 16, 64, 65], "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1], "kind": "max",
              "threads": 2}),
    ("pool", {"shape": [2, 3, 9, 55], "kernel": [3, 3], "stride": [2, 2], "padding": [0, 0], "kind": "max"}),
    ("pool", {"shape": [1, 2, 9], "kernel": [1], "stride": [2], "padding": [0], "kind": "max", "dtype": "float64"}),
    ("pool", {"shape": [1, 2, 5, 19], "kernel": [3, 3], "stride": [1, 1], "padding": [0, 0], "kind": "max"}),
    ("conv", {"x": [2, 3, 9, 7], "w": [4, 3, 3, 2], "stride": [2, 1], "padding": [[1, 2], [0, 1]]}),
    ("conv", {"x": [1, 2, 5, 5], "w": [9, 2, 4, 4], "stride": [3, 3], "padding": [[3, 0], [2, 3]]}),
    ("conv", {"x": [2, 3, 13], "w": [5, 3, 3], "stride": [1], "padding": [[2, 1]], "dtype": "float64"}),
    ("conv", {"x": [2, 3, 8, 11], "w": [2, 3, 3, 3], "stride": [1, 1], "padding": [[1, 1], [2, 0]]}),
    ("conv", {"x": [1, 2, 7, 8], "w": [17, 2, 1, 2], "stride": [3, 3], "padding": [[0, 1], [2, 0]]}),
    ("matmul", {"a": [13, 67], "b": [67, 29]}),
    ("matmul", {"a": [1, 7], "b": [7, 33], "dtype": "float64"}),
    ("matmul", {"a": [2, 3, 17, 5], "b": [5, 9]}),
    ("matmul", {"a": [8, 37], "b": [11, 37], "bt": True}),
    ("matmul", {"a": [5, 37], "b": [37, 64]}),
    ("matmul", {"a": [8, 21], "b": [21, 32], "dtype": "float64"}),
    ("matmul", {"a": [3, 21], "b": [29, 21], "bt": True, "dtype": "float64"}),
    ("softmax", {"shape": [5, 7, 3], "axis": 1}),
    ("elementwise", {"shape": [1031, 1021], "threads": 2}),
    ("gather", {"shape": [5, 7], "axis": 1, "kind": "take", "index": [[6, -7, 0], [3, 3, -1]]}),
    ("gather", {"shape": [4, 3, 5], "axis": 2, "kind": "along", "index": [[[4, -5]], [[0, 0]], [[1, 2]], [[3, -1]]],
                "dtype": "float64", "index_dtype": "int32"}),
    ("gather", {"shape": [9, 3], "kind": "embedding", "index": [[8, 0, 8, -9]]}),
    ("gather", {"shape": [3, 6], "axis": 1, "kind": "index_add", "index": [5, 0, 5, -6]}),
    ("gather", {"shape": [5, 7], "axis": 1, "kind": "take", "index": [[0, 7]],
                "raises": "take: index 7 is out of range for axis 1 of size 7"}),
    ("gather", {"shape": [3, 6], "axis": 1, "kind": "index_add", "index": [1, -7],
                "raises": "index -7 is out of range for axis 1 of size 6"}),
    ("gather", {"shape": [2, 0, 3], "axis": 1, "kind": "take", "index": [[2]],
                "raises": "take: index 2 is out of range for axis 1 of size 0"}),
]


def test_compiled_programs_stay_inside_their_buffers():
    run_in_child(CASES, dict(os.environ))


@pytest.mark.parametrize("edge,offset", [("end", 24), ("start", -1)])
def test_a_guard_page_catches_an_access_one_byte_past_the_edge(edge, offset):
    """The harness itself: the byte just past a buffer's guarded edge is inaccessible."""
    code = (f"import sys, ctypes; sys.path[:0] = {sys.path!r}\n"
            f"from {run_in_child.__module__} import GuardPages\n"
            f"a = GuardPages({edge!r}).raw('x', 24)\n"
            "a[:] = 1\n"
            f"ctypes.c_char.from_address(a.ctypes.data + {offset}).value\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode < 0, f"no fault reading byte {offset} of a buffer guarded at its {edge}: {proc.stderr}"
