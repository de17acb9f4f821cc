"""Memory images captured from real fixture runs (see tools/capture_images.py)."""

import json

from conftest import DATA
from mapscope_core.errors import MapscopeError
from mapscope_core.profile import Profile


class Image:
    """A map's memory at one checkpoint, readable like a live process."""

    def __init__(self, name):
        with open(DATA / name) as f:
            raw = json.load(f)
        self.checkpoint = raw["checkpoint"]
        self.label = raw["label"]
        self.header = raw["header"]
        self.type_name = raw["type"]
        self.truth = {int(k): v for k, v in raw["truth"].items()}
        self.regions = {int(a): bytes.fromhex(h) for a, h in raw["regions"].items()}
        with open(DATA / raw["profile"]) as f:
            self.profile = Profile(json.load(f), raw["profile"])
        self.map_type = self.profile.map_type(self.type_name)

    def read(self, address, size):
        for start, data in self.regions.items():
            if start <= address and address + size <= start + len(data):
                return data[address - start : address - start + size]
        raise MapscopeError(f"address 0x{address:x}+{size} is not in the image")

    def write(self, address, data):
        """Changes bytes inside a captured region (for constructed states)."""
        for start, region in self.regions.items():
            if start <= address and address + len(data) <= start + len(region):
                off = address - start
                self.regions[start] = region[:off] + data + region[off + len(data) :]
                return
        raise MapscopeError(f"address 0x{address:x} is not in the image")


def grow_images():
    return sorted(p.name for p in DATA.glob("grow-[0-9]*.json"))
