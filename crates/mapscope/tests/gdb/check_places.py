# gdb harness for the integration tests: stops at given pcs of a running program and records,
# at each stop, what gdb itself reads (parameters by name, the CFA from `info frame`, goroutine
# registers) next to what the profile's places say. The Rust test compares the two.
#
# Input: the JSON file named by $MAPSCOPE_CHECK:
#   {"out": PATH, "max_hits": N, "stops": [{"pc": N, "cfa": {register, offset} | null,
#     "vars": [{"name": S, "size": N, "location": LOC | null}],
#     "reads": [{"label": S, "location": LOC, "size": N}]}]}
# Output: one JSON object per stop and line in "out".
import json
import os
import re

import gdb

SPEC = json.load(open(os.environ["MAPSCOPE_CHECK"]))
OUT = open(SPEC["out"], "w")


def reg(name):
    return int(gdb.selected_frame().read_register(name)) & (2**64 - 1)


def mem(addr, size):
    return int.from_bytes(bytes(gdb.selected_inferior().read_memory(addr, size)), "little")


def gdb_cfa():
    outer_frame().select()
    m = re.search(r"frame at (0x[0-9a-f]+)", gdb.execute("info frame", to_string=True))
    return int(m.group(1), 16) if m else None


def our_value(loc, size, cfa):
    """The value at a profile place (the closed set of docs/profile.md)."""
    if "cfa" in loc:
        if cfa is None:
            return None
        return mem(reg(cfa["register"]) + cfa["offset"] + loc["cfa"], size)
    if "offset" in loc:
        return mem(reg(loc["register"]) + loc["offset"], size)
    if "register" in loc:
        return reg(loc["register"]) & ((1 << (8 * size)) - 1)
    if "address" in loc:
        return mem(loc["address"], size)
    raise ValueError(loc)


def outer_frame():
    """The concrete function's frame: parameters are not visible from code inlined into it."""
    f = gdb.newest_frame()
    while f.type() == gdb.INLINE_FRAME and f.older() is not None:
        f = f.older()
    return f


def gdb_value(name):
    try:
        v = outer_frame().read_var(name)
        if v.is_optimized_out:
            return "optimized out"
        return int(v) & (2**64 - 1)
    except (gdb.error, ValueError) as e:
        return "error: " + str(e)


class Stop(gdb.Breakpoint):
    def __init__(self, spec):
        super().__init__("*%#x" % spec["pc"], internal=True)
        self.spec = spec
        self.hits = 0

    def stop(self):
        self.hits += 1
        if self.hits >= SPEC.get("max_hits", 2):
            self.enabled = False
        s = self.spec
        rec = {"pc": s["pc"], "gdb_cfa": gdb_cfa(), "our_cfa": None, "vars": [], "reads": {}}
        if s.get("cfa"):
            rec["our_cfa"] = reg(s["cfa"]["register"]) + s["cfa"]["offset"]
        for v in s["vars"]:
            ours = None if v["location"] is None else our_value(v["location"], v["size"], s.get("cfa"))
            rec["vars"].append({"name": v["name"], "gdb": gdb_value(v["name"]), "ours": ours})
        for r in s.get("reads", []):
            rec["reads"][r["label"]] = our_value(r["location"], r["size"], s.get("cfa"))
        for expr in s.get("gdb_exprs", []):
            try:
                rec["reads"]["gdb:" + expr] = int(gdb.parse_and_eval(expr)) & (2**64 - 1)
            except gdb.error as e:
                rec["reads"]["gdb:" + expr] = "error: " + str(e)
        OUT.write(json.dumps(rec) + "\n")
        OUT.flush()
        return False


gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("handle SIGURG nostop noprint pass")
for spec in SPEC["stops"]:
    Stop(spec)
gdb.execute("run")
OUT.close()
gdb.execute("quit 0")
