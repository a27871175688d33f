"""The scripted denial-of-help attack (PROTOCOL.md §11) as a test: see denial_attack.py."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import denial_attack  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("HELFERRUF_BIN", str(ROOT / ".build/debug/helferruf"))


def test_one_address_cannot_fill_the_calls_any_more():
    report = denial_attack.main(BINARY)
    assert denial_attack.check(report) == []
