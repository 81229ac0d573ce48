"""The code in the tutorial and the training guide runs as written, top to bottom."""
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("page", ["tutorial.md", "training.md"])
def test_code_blocks_run_in_order(page):
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{page} has no python blocks"
    namespace: dict = {}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{page} block {number}", "exec"), namespace)
