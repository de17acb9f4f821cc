# gdb harness for the integration tests: stops at given pcs of a running program and records,
# at each stop, what gdb itself reads (parameters by name, the CFA from `info frame`, goroutine
# registers) next to what the profile's places say. The Rust test compares the two.
#
# Input: the JSON file named by $MAPSCOPE_CHECK:
#   {"out": PATH, "max_hits": N, "stops": [{"pc": N, "cfa": {register, offset} | null,
#     "vars": [{"name": S, "size": N, "location": LOC | null}],
#     "reads": [{"label": S, "location": LOC, "size": N}],
#     "frames": [{"function": S, "vars": [{"name", "size", "location"}]}]  (innermost first),
#     "gdb_exprs": [S]  (evaluated by gdb in the stopped frame),
#     "commands": [S], "silent": bool, "max_hits": N  (gdb commands run first; no record)}],
#   "g": {profile "runtime" section} | absent}
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
        return mem(BASE + loc["address"], size)
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


def symbol_value(sym, frame):
    try:
        v = sym.value(frame)
        if v.is_optimized_out:
            return "optimized out"
        if v.type.sizeof > 8 or v.type.strip_typedefs().code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_ARRAY):
            return "aggregate"
        return int(v) & (2**64 - 1)
    except (gdb.error, ValueError, TypeError) as e:
        return "error: " + str(e)


def gdb_frames():
    """gdb's inline chain at the stop, innermost first, from its blocks at the pc (gdb hides
    inline frames whose entry is the breakpoint address, so frames would not show them): each
    function block and the lexical blocks inside it, with their symbols."""
    frame = gdb.newest_frame()
    out = []
    syms = {}
    b = gdb.block_for_pc(frame.pc())
    while b is not None and not b.is_static and not b.is_global:
        for sym in b:
            if (sym.is_argument or sym.is_variable) and sym.name not in syms:
                syms[sym.name] = symbol_value(sym, frame)
        if b.function is not None:
            out.append({"function": b.function.name, "vars": syms})
            syms = {}
        b = b.superblock
    return out


def load_base():
    """0 for fixed-address executables (Go); the load address of a PIE (gomap fixtures), whose
    profile addresses are link-time addresses."""
    path = gdb.current_progspace().filename
    with open(path, "rb") as f:
        if int.from_bytes(f.read(18)[16:18], "little") != 3:  # ET_DYN
            return 0
    real = os.path.realpath(path)
    for line in gdb.execute("info proc mappings", to_string=True).splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1] == real and int(parts[3], 16) == 0:
            return int(parts[0], 16)
    raise RuntimeError("no mapping of " + real)


def goroutine(rt):
    """The current g found the profile's ways, the fields read at the profile's offsets, and
    gdb's own view of the thread."""
    tls = rt["g_tls"]
    g = mem(reg(tls["register"]) + tls["offset"], 8)
    out = {"tls_g": g, "lwp": gdb.selected_thread().ptid[1]}
    if rt.get("g_register"):
        out["reg_g"] = reg(rt["g_register"])
    gf, mf = rt["g"]["fields"], rt["m"]["fields"]
    if g:
        out["goid"] = mem(g + gf["goid"]["offset"], gf["goid"]["size"])
        m = mem(g + gf["m"]["offset"], 8)
        out["m"] = m
        if m:
            out["procid"] = mem(m + mf["procid"]["offset"], mf["procid"]["size"])
            out["curg"] = mem(m + mf["curg"]["offset"], 8)
            out["mid"] = mem(m + mf["id"]["offset"], mf["id"]["size"])
    return out


class Stop(gdb.Breakpoint):
    def __init__(self, spec):
        super().__init__("*%#x" % (BASE + spec["pc"]), internal=True)
        self.spec = spec
        self.hits = 0

    def stop(self):
        self.hits += 1
        s = self.spec
        if self.hits >= s.get("max_hits", SPEC.get("max_hits", 2)):
            self.enabled = False
        for cmd in s.get("commands", []):
            try:
                gdb.execute(cmd, to_string=True)
            except gdb.error:
                pass
        if s.get("silent"):
            return False
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
        if SPEC.get("g"):
            rec["g"] = goroutine(SPEC["g"])
        if "frames" in s:
            rec["gdb_frames"] = gdb_frames()
            rec["our_frames"] = []
            for fr in s["frames"]:
                vals = {}
                for v in fr["vars"]:
                    loc = v["location"]
                    if loc is None or v["size"] is None or v["size"] > 8:
                        vals[v["name"]] = None
                        continue
                    try:
                        vals[v["name"]] = our_value(loc, v["size"], s.get("cfa"))
                    except gdb.error as e:
                        vals[v["name"]] = "error: " + str(e)
                rec["our_frames"].append({"function": fr["function"], "vars": vals})
        OUT.write(json.dumps(rec) + "\n")
        OUT.flush()
        return False


gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("handle SIGURG nostop noprint pass")
gdb.execute("starti")
BASE = load_base()
for spec in SPEC["stops"]:
    Stop(spec)
gdb.execute("continue")
OUT.close()
gdb.execute("quit 0")
