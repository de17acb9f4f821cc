"""``mapscope report``: a picture of a replay transcript, as a self-contained HTML page or SVG.

One lane per thread, time going down: each step is drawn in its thread's lane at the role or
probe it stopped at, with the map's state at that stop beside it (B, the bucket count, whether it
is growing and how far the evacuation is, the flags) and, when the scenario shows one, the bucket
slot by slot with its tophash states. A fatal error is marked in the lane of the thread that
detected it, with the threads that were inside the map then; a wrong result the program reports
(an exit status other than 0 without a fatal error, such as the ghost read) is marked on the
output line that says so.

The layout is deterministic (fixed sizes, no fonts measured), and the HTML page states it in a
``<script type="application/json" id="mapscope-layout">`` element: the lanes, each step's box
and the failure mark, in page pixels, so a test can render the page in a browser and check
colours at those places.
"""

import html
import json
import re
import sys
from pathlib import Path

from .errors import BadInput, MapscopeError

WIDTH = 1120
LEFT = 56  # room for step numbers
TOP = 96  # lane headers start here
HEADER = 34
LANE = 176
ROW = 70
SLOT = 20
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
FAILURE = "#d62728"
TOPHASH = {
    "live": "#2ca02c",
    "emptyRest": "#e8e8e8",
    "emptyOne": "#bdbdbd",
    "evacuatedX": "#6baed6",
    "evacuatedY": "#9e9ac8",
    "evacuatedEmpty": "#c6dbef",
}
_SHORT = {"live": "L", "emptyRest": "", "emptyOne": "1", "evacuatedX": "X", "evacuatedY": "Y", "evacuatedEmpty": "E"}
_SUMMARY = re.compile(
    r"count=(?P<count>\d+) B=(?P<B>\d+) buckets=(?P<buckets>\d+) flags=(?P<flags>\S+) "
    r"(?:not-growing|growing\((?P<kind>[\w-]+)\) evacuated=(?P<done>\d+)/(?P<old>\d+))"
)


def load(path):
    """The events of a transcript file (JSON Lines), checked enough to draw."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot read transcript {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"transcript {path} is not UTF-8 text") from None
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as e:
            raise BadInput(f"transcript {path}, line {number}: not JSON ({e.msg})") from None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise BadInput(f"transcript {path}, line {number}: not a transcript event (no 'event' key)")
        events.append(event)
    start = next((e for e in events if e["event"] == "start"), None)
    if start is None:
        raise BadInput(f"transcript {path} has no 'start' event: is it a mapscope replay transcript?")
    if not isinstance(start.get("threads"), list) or not all(isinstance(t, str) for t in start["threads"]):
        raise BadInput(f"transcript {path}: the 'start' event names no threads")
    return events


def map_state(summary):
    """The header summary of a step (decode.Header.summary) as numbers, or None."""
    m = _SUMMARY.search(summary or "")
    if not m:
        return None
    state = {
        "count": int(m["count"]),
        "B": int(m["B"]),
        "buckets": int(m["buckets"]),
        "flags": [] if m["flags"] == "0" else m["flags"].split("|"),
        "growing": m["kind"],
    }
    if m["kind"]:
        state["evacuated"], state["old"] = int(m["done"]), int(m["old"])
    return state


class _Canvas:
    def __init__(self):
        self.parts = []

    def rect(self, x, y, w, h, fill, stroke=None, rx=0, extra=""):
        s = f' stroke="{stroke}" stroke-width="2"' if stroke else ""
        self.parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}"{s}{extra}/>')

    def text(self, x, y, content, size=13, fill="#222", weight="normal", anchor="start", family="sans-serif"):
        self.parts.append(
            f'<text x="{x}" y="{y}" font-family="{family}" font-size="{size}" fill="{fill}" '
            f'font-weight="{weight}" text-anchor="{anchor}">{html.escape(str(content))}</text>'
        )

    def line(self, x1, y1, x2, y2, stroke="#999", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{stroke}" stroke-width="{width}"{d}/>'
        )


def _clip(text, chars):
    text = str(text)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def layout(events, title=""):
    """Draws the transcript: ``(svg text, layout dict, height)``."""
    start = next(e for e in events if e["event"] == "start")
    threads = list(start["threads"])
    color = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(threads)}
    lane_x = {t: LEFT + i * LANE for i, t in enumerate(threads)}
    panel = LEFT + len(threads) * LANE + 24
    c = _Canvas()
    fatal = next((e for e in events if e["event"] == "fatal"), None)
    exits = [e for e in events if e["event"] == "exit"]
    status = exits[-1]["status"] if exits else None
    outputs = [e["line"] for e in events if e["event"] == "output"]
    wrong = fatal is None and status not in (0, None)
    failure = None

    # Title and the verdict of the run.
    program = " ".join([start.get("fixture", "?"), *map(str, start.get("args", []))])
    c.text(16, 30, title or f"mapscope replay: {program}", size=18, weight="bold")
    if fatal:
        verdict = f"fatal error: {fatal.get('message', '?')} (detected by {fatal.get('thread')})"
    elif wrong:
        verdict = f"wrong result: exit status {status}"
    else:
        verdict = f"exit status {status}" if status is not None else "the program did not end"
    c.text(16, 56, verdict, size=14, fill=FAILURE if (fatal or wrong) else "#222", weight="bold")
    c.text(panel, TOP + 22, "the map at each stop", size=13, weight="bold", fill="#555")

    lanes = []
    for t in threads:
        x = lane_x[t]
        c.rect(x + 4, TOP, LANE - 8, HEADER, color[t], rx=4)
        c.text(x + LANE / 2, TOP + 22, _clip(t, 20), size=14, fill="#fff", weight="bold", anchor="middle")
        lanes.append({"thread": t, "color": color[t], "x": x + 4, "y": TOP, "w": LANE - 8, "h": HEADER})

    y = TOP + HEADER + 16
    steps = []
    body_top = y
    rows = [e for e in events if e["event"] in ("gathered", "step", "snapshot", "watch", "fatal")]
    for e in rows:
        kind = e["event"]
        if kind == "gathered":
            c.text(LEFT - 8, y + 18, "0", size=12, fill="#888", anchor="end")
            for t in threads:
                c.text(lane_x[t] + 12, y + 18, "at its start line", size=12, fill="#777")
            y += 34
            continue
        if kind == "step":
            t = e.get("thread", "?")
            x = lane_x.get(t, LEFT)
            where = e.get("wanted", "")
            reached = e.get("reached", "")
            box_h = ROW - 14
            c.text(LEFT - 8, y + 22, e.get("step", ""), size=12, fill="#888", anchor="end")
            c.rect(x + 6, y, LANE - 12, box_h, "#fff", stroke=color.get(t, "#555"), rx=6)
            kind_word, _, name = where.partition(" ")
            if not name:
                kind_word, name = "until", kind_word
            c.text(x + 14, y + 15, kind_word, size=10, fill="#777")
            c.text(x + 14, y + 31, _clip(name, 22), size=12, weight="bold")
            detail = f"in {e['function']}" if "function" in e else (f"→ {reached}" if reached else "")
            c.text(x + 14, y + 47, _clip(detail, 24), size=10, fill="#555", family="monospace")
            steps.append({"step": e.get("step"), "thread": t, "x": x + 6, "y": y, "w": LANE - 12, "h": box_h})
            height = ROW
            state = map_state(e.get("map"))
            if state:
                height = max(height, _draw_state(c, panel, y, state, e.get("entries")))
            bucket = e.get("bucket")
            if isinstance(bucket, dict) and isinstance(bucket.get("tophash"), list):
                height = max(height, _draw_bucket(c, panel, y + 44, bucket) - y)
            y += height
            continue
        if kind == "snapshot":
            for entry in e.get("threads", []):
                t = entry.get("thread")
                if t in lane_x:
                    role = entry.get("role") or "no map role"
                    c.text(lane_x[t] + 12, y + 14, f"▸ {_clip(role, 22)}", size=11, fill="#666")
            y += 24
            continue
        if kind == "watch":
            t = e.get("thread")
            x = lane_x.get(t, LEFT)
            c.text(x + 12, y + 14, f"oldbuckets {e.get('change')} by {e.get('role')}", size=11, fill="#8c564b")
            y += 24
            continue
        if kind == "fatal":
            t = e.get("thread")
            x = lane_x.get(t, LEFT)
            h = 58
            c.rect(LEFT, y, len(threads) * LANE, h, "#fdecea", rx=4)
            c.rect(x + 6, y + 4, LANE - 12, h - 8, FAILURE, rx=6)
            c.text(x + 14, y + 24, "fatal error", size=13, fill="#fff", weight="bold")
            c.text(x + 14, y + 42, _clip(e.get("message", ""), 24), size=11, fill="#fff")
            failure = {"kind": "fatal", "x": x + 6, "y": y + 4, "w": LANE - 12, "h": h - 8}
            for other in e.get("others", []):
                ot = other.get("thread")
                if ot in lane_x:
                    c.text(lane_x[ot] + 12, y + 34, f"inside {other.get('role')}", size=12, fill=FAILURE, weight="bold")
            y += h + 10
            continue
    body_bottom = y
    lifelines = _Canvas()
    for t in threads:
        lifelines.line(
            lane_x[t] + LANE / 2, body_top - 8, lane_x[t] + LANE / 2, body_bottom, stroke=color[t], dash="3 5"
        )
    c.parts[:0] = lifelines.parts  # under the boxes

    # The program's output, the failing line marked.
    y += 10
    c.text(16, y + 16, "program output", size=13, weight="bold", fill="#555")
    y += 26
    for i, line in enumerate(outputs):
        marked = wrong and i == len(outputs) - 1
        if marked:
            c.rect(12, y, WIDTH - 24, 24, FAILURE, rx=4)
            failure = {"kind": "wrong", "x": 12, "y": y, "w": WIDTH - 24, "h": 24}
        c.text(20, y + 17, _clip(line, 140), size=12, fill="#fff" if marked else "#222", family="monospace")
        y += 28
    c.text(20, y + 18, f"exit status: {status}", size=12, fill="#555", family="monospace")
    y += 40
    _legend(c, y)
    height = y + 40
    data = {"width": WIDTH, "height": height, "lanes": lanes, "steps": steps, "failure": failure}
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">\n<rect width="{WIDTH}" height="{height}" fill="#fff"/>\n'
        + "\n".join(c.parts)
        + "\n</svg>\n"
    )
    return svg, data


def _draw_state(c, x, y, state, entries):
    growing = state["growing"]
    text = f"B={state['B']} · {state['buckets']} buckets · count {state['count']}"
    if entries is not None:
        text += f" ({entries} readable)"
    c.text(x, y + 14, text, size=12)
    flags = state["flags"]
    fx = x
    for flag in flags or ["no flags"]:
        w = 8 + 7 * len(flag)
        hot = flag == "hashWriting"
        c.rect(fx, y + 20, w, 18, FAILURE if hot else "#eee", rx=3)
        c.text(fx + 4, y + 33, flag, size=11, fill="#fff" if hot else "#444")
        fx += w + 6
    gx = max(fx + 8, x + 140)
    if growing:
        done, old = state["evacuated"], max(state["old"], 1)
        c.text(gx, y + 33, f"growing ({growing}) {state['evacuated']}/{state['old']}", size=11, fill="#555")
        bx = gx + 170
        c.rect(bx, y + 24, 120, 10, "#eee", rx=3)
        c.rect(bx, y + 24, round(120 * done / old), 10, "#6baed6", rx=3)
    else:
        c.text(gx, y + 33, "not growing", size=11, fill="#555")
    return 48


def _draw_bucket(c, x, y, bucket):
    label = f"{bucket.get('array', '?')} bucket {bucket.get('index', '?')}"
    c.text(x, y + 14, label, size=11, fill="#555")
    sx = x + 92
    for i, state in enumerate(bucket["tophash"]):
        fill = TOPHASH.get(state, "#fff")
        cx = sx + i * (SLOT + 2) + (8 if i >= 8 else 0)  # a gap before the overflow bucket
        c.rect(cx, y, SLOT, SLOT, fill, stroke="#999" if state == "emptyRest" else None, rx=2)
        short = _SHORT.get(state, "?")
        if short:
            c.text(
                cx + SLOT / 2, y + 14, short, size=10, fill="#fff" if state != "emptyRest" else "#888", anchor="middle"
            )
    return y + SLOT + 12


def _legend(c, y):
    x = 16
    c.text(x, y, "tophash:", size=11, fill="#555")
    x += 60
    for state, fill in TOPHASH.items():
        c.rect(x, y - 11, 14, 14, fill, rx=2)
        c.text(x + 18, y, state, size=11, fill="#555")
        x += 30 + 7 * len(state)


def html_page(svg, data, title):
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>html,body{margin:0;padding:0;background:#fff}svg{display:block}</style>\n"
        f'<script type="application/json" id="mapscope-layout">{json.dumps(data)}</script>\n'
        f"</head><body>\n{svg}</body></html>\n"
    )


def render(transcript_path, output_path):
    """Writes the picture of ``transcript_path`` to ``output_path`` (.html, .htm or .svg)."""
    out = Path(output_path)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".svg"):
        raise BadInput(f"the output file must end in .html or .svg, not {out.name!r}")
    events = load(transcript_path)
    start = next(e for e in events if e["event"] == "start")
    title = f"mapscope replay: {' '.join([start.get('fixture', '?'), *map(str, start.get('args', []))])}"
    svg, data = layout(events, title)
    text = svg if suffix == ".svg" else html_page(svg, data, title)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise MapscopeError(f"cannot write {out}: {e.strerror}") from None
    return data


def main(argv):
    """``report TRANSCRIPT OUTPUT``: 0 written, 2 bad input or an unwritable output."""
    if len(argv) != 2:
        print("report: usage: report TRANSCRIPT OUTPUT.html|.svg", file=sys.stderr)
        return 2
    try:
        render(argv[0], argv[1])
    except MapscopeError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    print(argv[1])
    return 0
