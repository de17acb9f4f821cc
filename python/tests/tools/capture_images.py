"""Regenerates python/tests/data/grow-*.json: memory images of the `grow` fixture's map.

Run from the repository root (it builds nothing; `cargo build -p fixtures -p mapscope` first):

    gdb -nx -batch -x python/tests/tools/capture_images.py target/debug/grow

At every checkpoint it records each memory region the core's decoder reads (header, both bucket
arrays, overflow chains), together with the fixture's own printed truth for that checkpoint, so
the decoding tests run on real memory without a debugger. The truth comes from the fixture's
shadow BTreeMap, not from the decoder.
"""

import json
import os
import sys

import gdb

REPO = os.getcwd()
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "gdb-scripts"))

import mapscope_gdb as front_end  # noqa: E402  (the gdb front-end: importing it installs it)
from mapscope_core import decode, recognize  # noqa: E402
from mapscope_core.profile import Profile  # noqa: E402

OUT = os.path.join(REPO, "python", "tests", "data")
TRUTH = "/tmp/mapscope-capture-truth.txt"


def main():
    gdb.execute("set pagination off")
    commands = front_end.COMMANDS_OF_SESSION
    commands.run("profile", "")
    profile = commands.target.profile
    with open(profile.source, encoding="utf-8") as f:
        data = json.load(f)  # the raw profile: the images carry a subset of it
    subset = {k: data[k] for k in ("schema_version", "family", "pointer_size", "constants")}
    subset["layouts"] = data["layouts"]
    subset["types"] = data.get("types", {})
    subset["binary"] = {"path": "grow", "build_id": None}
    subset["roles"], subset["probes"] = {}, {}
    Profile(subset)  # the subset must load on its own
    gdb.execute("break grow::checkpoint")
    gdb.execute(f"run --print > {TRUTH}")
    images = []
    while gdb.selected_inferior().pid:
        frame = gdb.selected_frame()
        number = int(frame.read_var("id"))
        map_value = front_end.GdbValue(frame.read_var("map").dereference())
        address, type_name = recognize.header_of(map_value, profile, "map")
        regions = {}

        def recording_read(addr, size, regions=regions):
            data = commands.adapter.read_memory(addr, size)
            regions[addr] = data.hex()
            return data

        mt = profile.map_type(type_name)
        header = decode.read_header(recording_read, address, mt)
        decode.live_entries(recording_read, header)
        images.append({"checkpoint": number, "type": type_name, "header": address, "regions": regions})
        gdb.execute("continue")
    truth = _parse_truth(open(TRUTH).read())
    for image in images:
        image["label"], image["truth"] = truth[image["checkpoint"]]
        image["profile"] = "grow-profile.json"
        with open(os.path.join(OUT, f"grow-{image['checkpoint']}.json"), "w") as f:
            json.dump(image, f, indent=0, sort_keys=True)
    with open(os.path.join(OUT, "grow-profile.json"), "w") as f:
        json.dump(subset, f, indent=1, sort_keys=True)
    print(f"captured {len(images)} images into {OUT}")


def _parse_truth(text):
    """{checkpoint: (label, {key: value})} from `grow --print`."""
    result, lines = {}, text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("checkpoint "):
            number, label = line.split()[1], line.split()[2].rstrip(":")
            body = lines[i + 1].strip("{}")
            pairs = [p.split(": ") for p in body.split(", ")] if body else []
            result[int(number)] = (label, {int(k): int(v) for k, v in pairs})
    return result


main()
gdb.execute("quit 0")
