# SPDX-License-Identifier: GPL-3.0-or-later
"""What the end-to-end tests share: dogtail set up for GTK 4.8, waiting,
action clicks, and the TAP report."""

import os
import subprocess
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


def _tree():
    from dogtail import tree
    return tree


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


def walk(node, found, match):
    """Like findChildren, but a widget that vanished mid-walk (a streaming
    reply replaces its last block every frame) is skipped instead of
    ending the search."""
    try:
        if match(node):
            found.append(node)
        # By index, not .children, which can hand back a stale list.
        children = [node.getChildAtIndex(i) for i in range(node.childCount)]
    except Exception:
        return
    for child in children:
        if child is not None:
            walk(child, found, match)


def nodes(root, role=None, contains=None, name=None):
    def match(n):
        if role is not None and n.roleName != role:
            return False
        if name is not None and n.name != name:
            return False
        if contains is not None and contains not in (n.name or ""):
            return False
        return True

    # libatspi keeps children and names it was told about; clear that so
    # every look is fresh.
    try:
        root.clear_cache()
    except Exception:
        pass
    found = []
    walk(root, found, match)
    return found


def launch(app_path, data_home, *args, extra=None):
    """Starts the app; @extra: more environment variables."""
    env = dict(os.environ)
    env.pop("NO_AT_BRIDGE", None)
    env.pop("G_DEBUG", None)
    env["XDG_DATA_HOME"] = data_home
    env.update(extra or {})
    proc = subprocess.Popen([app_path, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # GTK 4.8 stops updating the accessibility tree of widgets that were
    # looked at before the window was first shown: give it time to appear.
    time.sleep(3)
    app = wait_for(lambda: [a for a in _tree().root.applications() if a.name == "ai-console"][-1], 30)
    return proc, app


def stop_app(proc):
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


def report():
    print("TAP version 13")
    print("1..%d" % len(results))
    for number, (name, ok, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", number, name))
        if not ok and detail:
            for line in str(detail).splitlines()[-30:]:
                print("# " + line)
    sys.exit(0 if results and all(ok for _, ok, _ in results) else 1)
