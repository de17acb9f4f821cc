# lldb harness for the integration tests (lldb has no Go support: everything is read at the
# profile's places). Run as: lldb -b -o "command script import check_places.py" with
# $MAPSCOPE_CHECK naming a JSON spec:
#   {"binary": PATH, "out": PATH, "max_hits": N, "g": RUNTIME | null,
#    "stops": [{"pc": N, "cfa": {register, offset} | null,
#               "reads": [{"label": S, "location": LOC, "size": N, "then": [OFFSET, SIZE] | absent}]}]}
# Output: one JSON object per recorded stop and line in "out": the profile's reads, lldb's
# own CFA (SBFrame.GetCFA), and goroutine facts.
import json
import os

import lldb


def run(debugger):
    spec = json.load(open(os.environ["MAPSCOPE_CHECK"]))
    out = open(spec["out"], "w")
    debugger.SetAsync(False)
    target = debugger.CreateTarget(spec["binary"])
    info = lldb.SBLaunchInfo([])
    info.SetEnvironmentEntries(["GODEBUG=asyncpreemptoff=1"], True)
    # Breakpoints by address made before launch do not resolve in a static Go executable:
    # stop at the entry, then set them.
    info.SetLaunchFlags(lldb.eLaunchFlagStopAtEntry)
    error = lldb.SBError()
    process = target.Launch(info, error)
    if not error.Success():
        raise RuntimeError(error.GetCString())
    by_id = {}
    for s in spec["stops"]:
        bp = target.BreakpointCreateByAddress(s["pc"])
        by_id[bp.GetID()] = (bp, s, [0])
    process.Continue()
    err = lldb.SBError()

    def reg(frame, name):
        return frame.FindRegister(name).GetValueAsUnsigned()

    def mem(addr, size):
        data = process.ReadMemory(addr, size, err)
        if not err.Success():
            raise RuntimeError(f"cannot read {addr:#x}")
        return int.from_bytes(data, "little")

    def place(frame, loc, size, cfa):
        if "cfa" in loc:
            return mem(reg(frame, cfa["register"]) + cfa["offset"] + loc["cfa"], size)
        if "offset" in loc:
            return mem(reg(frame, loc["register"]) + loc["offset"], size)
        if "register" in loc:
            return reg(frame, loc["register"]) & ((1 << (8 * size)) - 1)
        return mem(loc["address"], size)

    while process.GetState() == lldb.eStateStopped:
        for thread in process:
            if thread.GetStopReason() != lldb.eStopReasonBreakpoint:
                continue
            entry = by_id.get(thread.GetStopReasonDataAtIndex(0))
            if entry is None:
                continue
            bp, s, hits = entry
            hits[0] += 1
            if hits[0] >= spec.get("max_hits", 2):
                bp.SetEnabled(False)
            frame = thread.GetFrameAtIndex(0)
            rec = {"pc": s["pc"], "lldb_cfa": frame.GetCFA(), "our_cfa": None, "reads": {}}
            if s.get("cfa"):
                rec["our_cfa"] = reg(frame, s["cfa"]["register"]) + s["cfa"]["offset"]
            for r in s.get("reads", []):
                try:
                    v = place(frame, r["location"], r["size"], s.get("cfa"))
                    if "then" in r:
                        v = mem(v + r["then"][0], r["then"][1])
                    rec["reads"][r["label"]] = v
                except RuntimeError as e:
                    rec["reads"][r["label"]] = f"error: {e}"
            rt = spec.get("g")
            if rt:
                tls = rt["g_tls"]
                # lldb 16 has no fs_base register on Linux: then only g_register can be used.
                tp = frame.FindRegister(tls["register"])
                tls_g = mem(tp.GetValueAsUnsigned() + tls["offset"], 8) if tp.IsValid() else None
                reg_g = reg(frame, rt["g_register"])
                g = reg_g if tls_g is None else tls_g
                gf, mf = rt["g"]["fields"], rt["m"]["fields"]
                m = mem(g + gf["m"]["offset"], 8) if g else 0
                rec["g"] = {
                    "tls_g": tls_g,
                    "reg_g": reg_g,
                    "tid": thread.GetThreadID(),
                    "goid": mem(g + gf["goid"]["offset"], gf["goid"]["size"]) if g else None,
                    "procid": mem(m + mf["procid"]["offset"], mf["procid"]["size"]) if m else None,
                }
            out.write(json.dumps(rec) + "\n")
            out.flush()
        process.Continue()
    out.close()


def __lldb_init_module(debugger, internal_dict):
    run(debugger)
