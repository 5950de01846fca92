# SPDX-License-Identifier: GPL-3.0-or-later
"""What the end-to-end tests share: dogtail set up for GTK 4.8, waiting,
action clicks, and the TAP report."""

import sys
import time

from dogtail.config import config

config.checkForA11y = False
config.searchShowingOnly = False   # GTK 4.8 never sets "showing"
config.defaultDelay = 0.1
config.actionDelay = 0.1
config.searchCutoffCount = 20
config.logDebugToFile = False

# A call on a widget that has just gone away can wait for D-Bus's 25 s
# default before failing; fail fast instead and look again.
try:
    from gi.repository import Atspi
    Atspi.set_timeout(2000, 15000)
except Exception:  # an older libatspi: keep its default
    pass

results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))
    print("# %s: %s" % ("ok" if condition else "FAILED", name), flush=True)


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.2)
    return None


def click(node):
    """An action click: no pointer needed, and what assistive technology
    uses. A GtkMenuButton exposes its inner button, which has the action."""
    for candidate in [node] + list(node.children):
        for action in ("click", "activate", "press", "toggle"):
            if action in candidate.actions:
                candidate.doActionNamed(action)
                return True
    return False


def report():
    print("TAP version 13")
    print("1..%d" % len(results))
    for number, (name, ok, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", number, name))
        if not ok and detail:
            for line in str(detail).splitlines()[-30:]:
                print("# " + line)
    sys.exit(0 if results and all(ok for _, ok, _ in results) else 1)
