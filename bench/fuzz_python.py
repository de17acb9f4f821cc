"""The long run of the Python fuzzing: N damaged profiles and N damaged scenarios (and N random
texts read as scenarios), each checked as in python/tests/test_fuzz.py: loading and using it may
raise MapscopeError with one line, nothing else. Prints one line per loader with the count, the
inputs refused and accepted, the uncaught exceptions (with the first few), and the time.

    python3 bench/fuzz_python.py [N]        (default 100000)

Run from the repository root; docs/RELIABILITY.md reports the numbers.
"""

import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "python"), str(REPO / "python" / "tests")]

import fuzzing  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from mutants import mutated  # noqa: E402


def run(name, strategy, use, count):
    tally = {"inputs": 0, "refused": 0, "accepted": 0, "uncaught": []}

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(value):
        tally["inputs"] += 1
        try:
            tally["accepted" if use(value) else "refused"] += 1
        except Exception:  # noqa: BLE001 - counted and shown: this is what the run looks for
            tally["uncaught"].append(traceback.format_exc(limit=3))

    start = time.monotonic()
    check()
    seconds = time.monotonic() - start
    print(
        f"{name}: {tally['inputs']} inputs ({tally['refused']} refused with one line, "
        f"{tally['accepted']} accepted), {len(tally['uncaught'])} uncaught exceptions, {seconds:.0f} s",
        flush=True,
    )
    for text in tally["uncaught"][:3]:
        print(text)
    return not tally["uncaught"]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    profiles = st.one_of(mutated(fuzzing.GOMAP_PROFILE), mutated(fuzzing.GO_PROFILE), mutated(fuzzing.IMAGE_PROFILE))
    ok = run("profile loader", profiles, fuzzing.use_profile, count)
    ok &= run("scenario loader", st.sampled_from(fuzzing.SCENARIOS).flatmap(mutated), fuzzing.use_scenario, count)
    ok &= run("scenario text", st.text(max_size=300), fuzzing.use_scenario_text, count)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
