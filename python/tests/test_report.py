"""`mapscope report`: the picture of a transcript, checked in a real browser. Headless Chromium
renders the page to PNG; the page states its layout (lanes, steps, the failure mark) and the
test reads the pixels there: each lane's header in its thread's colour, the failure in red."""

import json
import os
import re
import shutil
import struct
import subprocess
import zlib

import pytest
from conftest import REPO, TARGET, missing
from mapscope_core import report
from mapscope_core.errors import BadInput

SCENARIOS = REPO / "fixtures" / "scenarios"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG, without a library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + a) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + b) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(row[x * channels : x * channels + 3]) for x in range(width)])
        previous = row
    return width, height, rows


def rgb(hex_colour):
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def close(a, b, tolerance=6):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def screenshot(page, png, width, height, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        missing("chromium is not installed (make deps)")
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert png.exists(), done.stdout + done.stderr
    return png_pixels(png)


def regions_are_drawn(rows, layout, colours):
    """Each lane header at its place in its thread's colour; the failure mark in red."""
    for lane in layout["lanes"]:
        x, y = lane["x"] + 4, lane["y"] + lane["h"] // 2  # left of the centred name
        assert close(rows[y][x], rgb(lane["color"])), (lane, rows[y][x])
        assert lane["color"] == colours[lane["thread"]]
    f = layout["failure"]
    assert f is not None
    x, y = f["x"] + 3, f["y"] + f["h"] // 2
    assert close(rows[y][x], rgb(report.FAILURE)), (f, rows[y][x])
    # And the page's background is white between them (the picture is not one big blot).
    assert close(rows[layout["lanes"][0]["y"] - 20][6], (255, 255, 255))


@pytest.mark.parametrize(
    "name, kind",
    [("ghost-read", "wrong"), ("evacuate-race", "fatal")],
)
def test_the_page_shows_lanes_and_the_failure_in_a_browser(tmp_path, name, kind):
    page = tmp_path / f"{name}.html"
    layout = report.render(SCENARIOS / f"{name}.expected.jsonl", page)
    text = page.read_text()
    stated = json.loads(re.search(r'<script type="application/json" id="mapscope-layout">(.*?)</script>', text)[1])
    assert stated == layout
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', ""), "the page fetches nothing"
    width, height, rows = screenshot(page, tmp_path / f"{name}.png", layout["width"], layout["height"], tmp_path)
    assert (width, height) == (layout["width"], layout["height"])
    events = report.load(SCENARIOS / f"{name}.expected.jsonl")
    threads = next(e for e in events if e["event"] == "start")["threads"]
    assert [lane["thread"] for lane in layout["lanes"]] == threads
    assert layout["failure"]["kind"] == kind
    regions_are_drawn(rows, layout, dict(zip(threads, report.PALETTE, strict=False)))
    # Each step box is outlined in its thread's colour.
    for step in layout["steps"]:
        lane = next(lane for lane in layout["lanes"] if lane["thread"] == step["thread"])
        assert close(rows[step["y"] + step["h"] // 2][step["x"]], rgb(lane["color"]), tolerance=40)


def test_the_svg_renders_alike(tmp_path):
    svg = tmp_path / "ghost-read.svg"
    layout = report.render(SCENARIOS / "ghost-read.expected.jsonl", svg)
    assert svg.read_text().startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    _, _, rows = screenshot(svg, tmp_path / "svg.png", layout["width"], layout["height"], tmp_path)
    regions_are_drawn(rows, layout, {"reader": report.PALETTE[0], "writer": report.PALETTE[1]})


def test_the_picture_holds_the_map_state_and_the_buckets(tmp_path):
    svg, layout = report.layout(report.load(SCENARIOS / "ghost-read.expected.jsonl"))
    assert "B=4 · 16 buckets · count 52 (52 readable)" in svg
    assert "growing (doubling) 0/8" in svg and "hashWriting" in svg
    assert "old bucket 0" in svg and svg.count(f'fill="{report.TOPHASH["live"]}"') >= 9
    assert "ghost read: key 50 is present" in svg
    assert [s["thread"] for s in layout["steps"]] == ["reader", "writer", "reader"]
    state = report.map_state("count=52 B=4 buckets=16 flags=hashWriting growing(doubling) evacuated=3/8")
    assert state == {"count": 52, "B": 4, "buckets": 16, "flags": ["hashWriting"], "growing": "doubling"} | {
        "evacuated": 3,
        "old": 8,
    }


def test_bad_transcripts_are_refused(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "start", "threads": ["a"]}\nnot json\n')
    with pytest.raises(BadInput, match="line 2: not JSON"):
        report.load(bad)
    bad.write_text('{"event": "step"}\n')
    with pytest.raises(BadInput, match="has no 'start' event"):
        report.load(bad)
    with pytest.raises(BadInput, match="must end in .html or .svg"):
        report.render(SCENARIOS / "ghost-read.expected.jsonl", tmp_path / "x.png")


def test_mapscope_report_front_door(tmp_path):
    mapscope = TARGET / "mapscope"
    if not mapscope.exists():
        missing(f"{mapscope} not built")

    def run(*args):
        done = subprocess.run([str(mapscope), "report", *args], capture_output=True, text=True, cwd=REPO, timeout=60)
        return done.returncode, done.stdout, done.stderr

    out = tmp_path / "ghost.html"
    status, stdout, stderr = run(str(SCENARIOS / "ghost-read.expected.jsonl"), "-o", str(out))
    assert status == 0 and out.exists() and f"wrote {out}" in stdout, stderr
    status, _, stderr = run(str(SCENARIOS / "ghost-read.toml"), "-o", str(out))
    assert status == 2 and stderr.count("\n") == 1 and "line 1: not JSON" in stderr, stderr
    status, _, stderr = run(str(tmp_path / "none.jsonl"), "-o", str(out))
    assert status == 2 and "no transcript file" in stderr, stderr
    status, _, stderr = run(str(SCENARIOS / "ghost-read.expected.jsonl"), "-o", str(tmp_path / "x.pdf"))
    assert status == 2 and "must end in .html or .svg" in stderr, stderr
    assert os.path.getsize(out) > 1000
