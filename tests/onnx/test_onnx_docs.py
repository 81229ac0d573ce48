"""docs/onnx.md runs as written and its table lists every operator the importer supports."""
from __future__ import annotations

import re
from pathlib import Path

import onnx_helpers  # noqa: F401 - skips without onnx and onnxruntime

import graphc as gc

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "onnx.md").read_text()


def test_code_blocks_run_in_order():
    namespace: dict = {}
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", PAGE, re.S), start=1):
        exec(compile(block, f"onnx.md block {number}", "exec"), namespace)
    assert number >= 3


def test_table_lists_every_supported_operator():
    table = PAGE[PAGE.index("## Supported operators"):PAGE.index("## onnx's node tests")]
    listed = {name for row in table.splitlines() if row.startswith("| ") for name in
              re.findall(r"\b([A-Z][A-Za-z]+)\b", row.split("|")[2])}
    assert sorted(set(gc.onnx.supported_ops()) - listed) == []
