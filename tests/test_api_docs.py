"""docs/api.md lists every public name of graphc and graphc.nn."""
import re
import types
from pathlib import Path

import graphc as gc

API = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
LISTED = set(re.findall(r"`(?:nn\.)?(\w+)", API))


def public_names(module):
    return [n for n in dir(module) if not n.startswith("_")]


def test_every_public_name_of_graphc_is_documented():
    names = [n for n in public_names(gc) if not isinstance(getattr(gc, n), types.ModuleType)]
    assert sorted(set(names) - LISTED) == []


def test_every_public_name_of_graphc_nn_is_documented():
    assert sorted(set(public_names(gc.nn)) - LISTED) == []
