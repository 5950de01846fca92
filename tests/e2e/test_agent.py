#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end, through the accessibility tree: give the built-in backend's
agent (the demo engine) a goal; it asks before writing, the dialog
appears, Allow Once lets the run finish and the file is written. A second
run is denied: it completes, says so, and the file is left alone. TAP out."""

import os
import sys
import tempfile
import time

from aictest import check, click, launch, nodes, report, stop_app, wait_for  # sets dogtail up: import it first

APP = sys.argv[1]


def button(root, label):
    # GTK 4.8 names a button with a mnemonic "_Label Label".
    found = [n for n in nodes(root, "push button") if n.name == label or n.name.endswith(" " + label)]
    return found[0] if found else None


def labels(root):
    return [n.name for n in nodes(root, "label") if n.name]


def start_run(app, goal):
    entry = wait_for(lambda: nodes(app, "text", name="Goal")[0], 10)
    entry.text = goal
    start = wait_for(lambda: button(app, "Start"), 10)
    return wait_for(lambda: start.sensitive, 5) and click(start)


def settle():
    """GTK 4.8's accessibility bridge can be asked about the dialog while
    it is being destroyed (a GLib-CRITICAL in the app, then no answers):
    let it go before walking the tree again."""
    time.sleep(1.5)


def dialog_button(app, label):
    """The approval dialog is a window of its own; its buttons are found
    from the application."""
    return wait_for(lambda: button(app, label), 30)


with tempfile.TemporaryDirectory() as data_home:
    workspace = os.path.join(data_home, "ai-console", "builtin", "workspace")
    os.makedirs(workspace)
    with open(os.path.join(workspace, "README.md"), "w") as f:
        f.write("# Tide tables\nPredicts high water for the harbour.\n")
    notes = os.path.join(workspace, "NOTES.md")

    proc, app = launch(APP, data_home)
    try:
        check("the app starts", app is not None)
        view = wait_for(lambda: nodes(app, "page tab", name="Agent")[0], 10)
        check("the Agent view can be chosen", bool(view) and click(view))
        no_runs = wait_for(lambda: nodes(app, "label", name="No runs yet"), 10)
        check("with no runs yet, Past Runs says so (not a blank card)", bool(no_runs))

        check("a first run starts", start_run(app, "Take notes on this project"))
        allow = dialog_button(app, "Allow Once")
        check("it asks before writing: the dialog offers Allow Once", allow is not None)
        check("the request is announced: the run's live status says it waits for an answer",
              bool(wait_for(lambda: nodes(app, "status bar", name="Waiting for your answer"), 10)),
              [(n.roleName, n.name) for n in nodes(app, "status bar")])
        check("with Deny and Allow for This Run", button(app, "Deny") is not None
              and button(app, "Allow for This Run") is not None)
        check("and shows the change as a diff",
              bool(nodes(app, contains="+++ b/NOTES.md")) or
              any("+++ b/NOTES.md" in (n.text or "") for n in nodes(app, "text")),
              [n.name for n in nodes(app, "text")])
        check("Allow Once is pressed", allow is not None and click(allow))
        settle()
        done = wait_for(lambda: "Completed" in labels(app), 30)
        check("the run finishes", bool(done), labels(app)[-20:])
        check("the file is written", wait_for(lambda: os.path.exists(notes), 10))
        check("the timeline says it was allowed", "You allowed this once" in labels(app), labels(app)[-30:])
        check("tool calls read as words and fields, not JSON",
              "Read a file" in labels(app) and any(t.startswith("path: README.md") for t in labels(app)), labels(app)[-30:])
        with open(notes) as f:
            first = f.read() if os.path.exists(notes) else ""
        check("with the agent's notes", "Goal: Take notes on this project" in first, first)

        check("a second run starts", start_run(app, "Take different notes"))
        deny = dialog_button(app, "Deny")
        check("it asks again", deny is not None)
        check("the dialog names the tool in words", bool(wait_for(lambda: [t for t in labels(app) if t.startswith("Write a file.")], 10)),
              labels(app)[-10:])
        # Enter answers with the default, which is Deny.
        from dogtail import rawinput
        time.sleep(0.5)
        rawinput.pressKey("Return")
        settle()
        refused = wait_for(lambda: [t for t in labels(app) if "was refused" in t], 30)
        check("the run completes and reports the refusal", bool(refused), labels(app)[-20:])
        check("the timeline says it was denied", "You denied this" in labels(app), labels(app)[-30:])
        with open(notes) as f:
            check("the file is left as it was", f.read() == first)
        runs = wait_for(lambda: len([n for n in nodes(app, "list", name="Past runs")[0].children
                                     if n.roleName == "list item"]) >= 2, 10)
        check("both runs are listed as past runs", bool(runs))

        check("a run with a command starts", start_run(app, "Check the build\nrun: true"))
        deny = dialog_button(app, "Deny")
        scope = wait_for(lambda: [t for t in labels(app) if "lets the agent run “true” again" in t], 10)
        check("the dialog says Allow for This Run covers only that program", bool(scope), labels(app)[-20:])
        check("Deny is pressed", deny is not None and click(deny))
        settle()
    except Exception as error:
        check("the steps ran", False, repr(error))
    finally:
        code, output = stop_app(proc)
    check("the app quits cleanly", code in (0, -15), output[-2000:])
    if not all(ok for _, ok, _ in __import__("aictest").results):
        print("# app output:\n# " + output[-3000:].replace("\n", "\n# "))

report()
