"""Shared test setup: the core on sys.path, paths to the checkout and its build."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug"
DATA = Path(__file__).resolve().parent / "data"
