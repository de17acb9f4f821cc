"""Regenerates python/tests/data/swiss-*.json.gz: memory images of a Swiss-table map (Go 1.26).

Run from the repository root, after building mapscope and the Swiss test program (the Swiss
tests build it into target/debug/swiss-go; or `go build -gcflags=all='-N -l'
crates/mapscope/tests/go/swiss/checkpoints.go`):

    gdb -nx -batch -x python/tests/tools/capture_swiss_images.py target/debug/swiss-go/checkpoints-go1.26.8

At the checkpoints chosen below it records every memory region the core's Swiss decoder reads
for the program's map `m` (header, small group or directory, tables, group arrays), with the
program's own printed truth (its shadow's contents and its view of its tables), so that the
decoding tests run on real memory without a debugger. Images are gzipped JSON, regions base64.
"""

import base64
import gzip
import json
import os
import sys

import gdb

REPO = os.getcwd()
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "gdb-scripts"))
sys.path.insert(0, os.path.join(REPO, "python", "tests"))

import mapscope_gdb as front_end  # noqa: E402  (importing it installs the gdb front-end)
from mapscope_core import recognize, swiss  # noqa: E402
from mapscope_core.profile import Profile  # noqa: E402
from swissgo import parse_truth  # noqa: E402

OUT = os.path.join(REPO, "python", "tests", "data")
TRUTH = "/tmp/mapscope-capture-swiss-truth.txt"
#: empty, small, shared directory entries, tombstones: the states a decoder must get right.
WANTED = (1, 2, 4, 5)


def main():
    gdb.execute("set pagination off")
    gdb.execute("set environment GODEBUG=asyncpreemptoff=1")
    commands = front_end.COMMANDS_OF_SESSION
    commands.run("profile", "")
    profile = commands.target.profile
    with open(profile.source, encoding="utf-8") as f:
        data = json.load(f)
    subset = {k: data[k] for k in ("schema_version", "family", "pointer_size", "constants", "layouts")}
    subset["types"] = data.get("types", {})
    subset["binary"] = {"path": "checkpoints", "build_id": None, "go_version": data["binary"].get("go_version")}
    subset["roles"], subset["probes"] = {}, {}
    Profile(subset)  # the subset must load on its own
    gdb.execute("break main.checkpoint")
    gdb.execute(f"run > {TRUTH}")
    images = []
    while gdb.selected_inferior().pid:
        frame = gdb.selected_frame()
        number = int(frame.read_var("id"))
        if number in WANTED:
            value = front_end.GdbValue(frame.read_var("m"))
            address, type_name = recognize.header_of(value, profile, "m")
            regions = {}

            def recording_read(addr, size, regions=regions):
                found = commands.adapter.read_memory(addr, size)
                if len(found) > len(regions.get(addr, b"")):
                    regions[addr] = found
                return found

            mt = profile.map_type(type_name)
            header = swiss.read_header(recording_read, address, mt)
            swiss.live_entries(recording_read, header)
            if header.dirLen:
                for table in swiss.read_directory(recording_read, header).tables:
                    swiss.table_slots(recording_read, table, mt)
            encoded = {str(a): base64.b64encode(b).decode() for a, b in regions.items()}
            images.append({"checkpoint": number, "type": type_name, "header": address, "regions": encoded})
        gdb.execute("continue")
    truth = parse_truth(TRUTH)
    for image in images:
        label, view, entries = truth[image["checkpoint"]]
        image.update(label=label, view=view, truth={str(k): v for k, v in entries.items()})
        image["profile"] = "swiss-profile.json"
        with gzip.open(os.path.join(OUT, f"swiss-{image['checkpoint']}.json.gz"), "wt") as f:
            json.dump(image, f, sort_keys=True)
    with open(os.path.join(OUT, "swiss-profile.json"), "w") as f:
        json.dump(subset, f, indent=1, sort_keys=True)
    print(f"captured {len(images)} images into {OUT}")


main()
gdb.execute("quit 0")
