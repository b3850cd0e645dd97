#!/usr/bin/python3
# t/crash_check.py STATE_DIR MODE: what t/test_crash.sh asserts on the
# state folder. MODE "killed": right after a kill -9, the state file is
# never ahead of the spool. MODE "final": after a clean stop, every
# server's events form a chain, numbers rise, nothing is missing, no
# temporary is left. Prints one "ok - ..." or "FAIL - ..." line per
# assertion and "events N" last.
import json, os, sys

sdir, mode = sys.argv[1], sys.argv[2]
spool = os.path.join(sdir, "spool")
fails = 0


def say(ok, what):
    global fails
    if not ok:
        fails += 1
    print(("ok - " if ok else "FAIL - ") + what)


events = []
for name in sorted(os.listdir(spool)):
    if not name[:1].isdigit() or not name.endswith(".json"):
        continue
    with open(os.path.join(spool, name)) as f:
        ev = json.load(f)
    if ev["seq"] != int(name[:-5]):
        say(False, "%s holds seq %d" % (name, ev["seq"]))
    events.append(ev)
events.sort(key=lambda e: e["seq"])
by_id = {}
for ev in events:
    by_id.setdefault(ev["id"], []).append(ev)

state = None
try:
    with open(os.path.join(sdir, "state.json")) as f:
        state = json.load(f)
except FileNotFoundError:
    pass

# The state file is never ahead: a server's hard state is the new state of
# its last event the file claims (up to "spooled"), or of a later one on
# disk; with no event before, unknown or up (unknown -> up is no event).
if state is not None:
    spooled = state.get("spooled", 0)
    bad = []
    for sid, st in state["servers"].items():
        evs = by_id.get(sid, [])
        before = [e for e in evs if e["seq"] <= spooled]
        after = [e for e in evs if e["seq"] > spooled]
        allowed = {before[-1]["new"]} if before else {"unknown", "up"}
        allowed |= {e["new"] for e in after}
        if st["hard"] not in allowed:
            bad.append("%s hard %s, spool allows %s" %
                       (sid, st["hard"], sorted(allowed)))
    say(not bad, "%s: state file not ahead of the spool %s" %
        (mode, "; ".join(bad)))

if mode == "final":
    breaks = []
    for sid, evs in by_id.items():
        if evs[0]["old"] not in ("unknown", "up"):
            breaks.append("%s first event %d from %s" %
                          (sid, evs[0]["seq"], evs[0]["old"]))
        for a, b in zip(evs, evs[1:]):
            if b["old"] != a["new"]:
                breaks.append("%s: %d %s->%s then %d %s->%s" %
                              (sid, a["seq"], a["old"], a["new"], b["seq"],
                               b["old"], b["new"]))
    say(not breaks, "every server's events form a chain (%d events) %s" %
        (len(events), "; ".join(breaks[:10])))
    seqs = [e["seq"] for e in events]
    times = [e["time"] for e in events]
    say(all(a < b for a, b in zip(seqs, seqs[1:])) and
        all(a <= b for a, b in zip(times, times[1:])),
        "sequence numbers rise with time")
    say(state is not None, "state file written at exit")
    if state is not None:
        stale = [sid for sid, st in state["servers"].items()
                 if by_id.get(sid) and st["hard"] != by_id[sid][-1]["new"]]
        say(not stale, "state file at exit matches each last event %s" %
            stale)
    tmps = [n for n in os.listdir(spool) + os.listdir(sdir)
            if n.startswith(".tmp") or n.endswith(".tmp")]
    say(not tmps, "no temporary left %s" % tmps)
print("events %d" % len(events))
sys.exit(1 if fails else 0)
