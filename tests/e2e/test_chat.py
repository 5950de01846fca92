#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end, through the accessibility tree: type a message, send it, see
the reply stream in; stop a second reply midway; quit, start again, and
find both, the stopped one marked as such. TAP out."""

import sys
import tempfile
import time

from aictest import check, click, launch, nodes, report, stop_app, wait_for  # sets dogtail up: import it first

APP = sys.argv[1]


def visible(node):
    import pyatspi
    node.clear_cache()
    return node.getState().contains(pyatspi.STATE_VISIBLE)


def send(app, text):
    box = wait_for(lambda: nodes(app, name="Message")[0], 10)
    box.text = text
    button = wait_for(lambda: nodes(app, "push button", name="Send")[0], 10)
    click(button)


with tempfile.TemporaryDirectory() as data_home:
    proc, app = launch(APP, data_home)
    try:
        check("the app starts", app is not None)
        # The built-in backend has to be up before the first message.
        ready = wait_for(lambda: nodes(app, "label", contains="demo engine"), 30)
        check("the built-in backend is ready", bool(ready))

        # The composer's buttons are found once; waiting on them needs no
        # walk through a reply that is still changing.
        send_button = wait_for(lambda: nodes(app, "push button", name="Send")[0], 10)
        stop_button = wait_for(lambda: nodes(app, "push button", name="Stop")[0], 10)

        def enabled(node):
            import pyatspi
            # libatspi caches states and may miss an update: ask afresh.
            node.clear_cache()
            return node.getState().contains(pyatspi.STATE_SENSITIVE)

        # While a reply streams, its widgets come and go every frame, and
        # AT-SPI calls on a widget that just went away can hang for the
        # D-Bus timeout: so the test does not look while a reply is being
        # written. The demo engine takes about 2 s per reply.
        # Walks stay inside the message list (the sidebar's rows are rebuilt
        # when a conversation is named, and a vanished row can stall a walk).
        messages = wait_for(lambda: nodes(app, "list", name="Messages")[0], 10)
        send(app, "Hello from the test")
        time.sleep(2)
        # Until the reply is done, look at one button only: walking the
        # tree keeps the app's main loop busy answering.
        check("Send is enabled again when the reply is done", bool(wait_for(lambda: enabled(send_button), 60)))
        reply = wait_for(lambda: nodes(messages, "label", contains="You wrote: “Hello from the test”"), 20)
        check("the reply appeared, rendered from Markdown", bool(reply))
        check("a finished reply shows its speed", bool(nodes(messages, "label", contains="tokens/s")))
        check("its code block has a copy button", len(nodes(messages, "push button", name="Copy Code")) == 1)
        check("and Stop is not", not enabled(stop_button))
        announced = wait_for(lambda: nodes(app, "status bar", name="Reply finished"), 10)
        check("the end of the reply is announced through a live status", bool(announced),
              [(n.roleName, n.name) for n in nodes(app, "status bar")])
        # A list view's rows are unnamed: the title is a label in the row.
        listed = wait_for(lambda: nodes(nodes(app, "list", name="Conversations")[0], "label", contains="Hello from the test"), 10)
        check("the conversation is listed by its first message", bool(listed))

        # The end of the reply is in view, not below the scroll range.
        def end_in_view():
            import pyatspi
            pane = [n for n in nodes(app, "scroll pane") if nodes(n, "list", name="Messages")][0]
            copies = nodes(messages, "push button", name="Copy Message")
            px, py, pw, ph = pane.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
            bx, by, bw, bh = copies[-1].queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
            return (by + bh <= py + ph + 1) and by >= py, (py, ph, by, bh)
        time.sleep(1.5)
        in_view = end_in_view()
        check("after a reply, its end (the copy button) is in view", in_view[0], in_view[1])

        # Text in a reply is selected with the pointer and copied with
        # Ctrl+C, as anywhere: a triple click selects the paragraph.
        import subprocess
        from dogtail import rawinput
        import pyatspi
        said = nodes(messages, "label", contains="You wrote: “Hello from the test”")[-1]
        sx, sy, sw, sh = said.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
        subprocess.run(["xdotool", "mousemove", str(sx + 10), str(sy + sh // 2),
                        "click", "--repeat", "3", "--delay", "80", "1"], check=True)
        time.sleep(0.5)
        rawinput.keyCombo("<Control>c")
        time.sleep(0.5)
        box = nodes(app, name="Message")[0]
        bx, by, bw, bh = box.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
        subprocess.run(["xdotool", "mousemove", str(bx + bw // 2), str(by + bh // 2), "click", "1"], check=True)
        time.sleep(0.3)
        rawinput.keyCombo("<Control>v")
        pasted = wait_for(lambda: "You wrote" in (box.text or "") and box.text, 5)
        check("a reply's paragraph, selected with the pointer, is copied with Ctrl+C", bool(pasted),
              (box.text, said.name))
        box.text = ""

        # Ctrl+F goes to the conversation search.
        rawinput.keyCombo("<Control>f")

        def search_focused():
            for n in nodes(app, name="Search conversations"):
                n.clear_cache()
                if n.getState().contains(pyatspi.STATE_FOCUSED):
                    return True
            return False
        check("Ctrl+F puts the focus in the conversation search", bool(wait_for(search_focused, 5)),
              [(n.roleName, n.name) for n in nodes(app, name="Search conversations")])

        # Forward from the search, Tab reaches the model picker, by name.
        def focused():
            for n in nodes(app):
                try:
                    if n.getState().contains(pyatspi.STATE_FOCUSED):
                        return (n.name or "").replace("_", "")
                except Exception:
                    pass
            return None
        reached = []
        for _ in range(8):
            rawinput.pressKey("Tab")
            time.sleep(0.15)
            reached.append(focused())
            if reached[-1] == "Model":
                break
        check("Tab from the search reaches the model picker, which says what it is", "Model" in reached, reached)

        # On forward: into the reply's buttons, out of the message list to
        # Regenerate, Edit and the composer; and back again to the picker.
        def tab_until(key, goal, limit=14):
            seen = []
            for _ in range(limit):
                rawinput.pressKey(key)
                time.sleep(0.15)
                seen.append(focused())
                if seen[-1] == goal:
                    break
            return seen
        forward = tab_until("Tab", "Send")
        check("Tab goes on through the reply's buttons and out of the list to the composer and Send",
              forward[-1:] == ["Send"] and "Regenerate" in forward and "Edit Last Message" in forward
              and any(name and name.startswith("Copy") for name in forward)
              and forward.index("Regenerate") > min(i for i, n in enumerate(forward) if n and n.startswith("Copy")),
              forward)
        backward = tab_until("ISO_Left_Tab", "Model")
        check("Shift+Tab walks back through the reply's buttons and out of the list to the model picker",
              backward[-1:] == ["Model"] and "Regenerate" in backward
              and any(name and name.startswith("Copy") for name in backward), backward)

        send(app, "A second question")
        time.sleep(0.8)   # about a third of the demo reply
        check("during the second reply Stop is enabled", enabled(stop_button))
        click(stop_button)
        check("Stop brings Send back", bool(wait_for(lambda: enabled(send_button), 30)))
        check("Stop ends the reply midway, and says so quietly",
              bool(wait_for(lambda: nodes(messages, "label", name="Stopped before the end"), 20)))
        # Four messages are more than the view holds: the end of the newest
        # is still in view (GTK 4.8's list view went back to the first
        # message once a reply ended).
        def in_view(node):
            import pyatspi
            pane = [n for n in nodes(app, "scroll pane") if nodes(n, "list", name="Messages")][0]
            px, py, pw, ph = pane.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
            bx, by, bw, bh = node.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
            return by >= py and by + bh <= py + ph + 1, (py, ph, by, bh)
        time.sleep(1.5)
        stopped = nodes(messages, "label", name="Stopped before the end")
        shown = in_view(stopped[-1]) if stopped else (False, "no label")
        check("with more messages than fit, the end of the newest stays in view", shown[0], shown[1])
        retry = [n for n in nodes(messages, "push button") if (n.name or "").replace("_", "").endswith("Retry")]
        check("a stopped reply is not offered as a failure to retry (Regenerate redoes it)",
              not [n for n in retry if visible(n)], [n.name for n in retry])
        check("the stopped reply did not run to its end", len(nodes(messages, "push button", name="Copy Code")) == 1)

        # Editing the last message shows that it is being edited, with Cancel.
        edit = wait_for(lambda: [n for n in nodes(app, "push button")
                                 if (n.name or "").replace("_", "").endswith("Edit Last Message")][0], 10)
        click(edit)
        editing = wait_for(lambda: nodes(app, "label", contains="Editing your last message"), 10)
        cancel = wait_for(lambda: [n for n in nodes(app, "push button")
                                   if (n.name or "").replace("_", "").endswith("Cancel") and visible(n)][0], 10)
        check("Edit Last Message shows an editing state with Cancel", bool(editing) and cancel is not None)
        click(cancel)
        composer = nodes(app, name="Message")[0]
        check("Cancel leaves the editing state and empties the composer",
              bool(wait_for(lambda: not cancel.sensitive and (composer.text or "") == "", 10)),
              (cancel.sensitive, composer.text))
    except Exception as error:
        check("the first run's steps ran", False, repr(error))
    finally:
        code, output = stop_app(proc)
    check("the app quits cleanly", code in (0, -15), output[-2000:])
    if not all(ok for _, ok, _ in __import__("aictest").results):
        print("# app output:\n# " + output[-3000:].replace("\n", "\n# "))

    # Start again: the last conversation opens, with both replies as they
    # were, the stopped one still marked.
    proc, app = launch(APP, data_home)
    try:
        first = wait_for(lambda: nodes(app, "label", contains="You wrote: “Hello from the test”"), 20)
        check("after a restart the first reply is there", bool(first))
        check("so is its speed", bool(nodes(app, "label", contains="tokens/s")))
        check("the stopped reply is kept, marked as stopped",
              bool(nodes(app, "label", name="Stopped before the end")))
        check("and still ends where it was stopped", len(nodes(app, "push button", name="Copy Code")) == 1)
    except Exception as error:  # a broken step must still print the report
        check("the restart steps ran", False, repr(error))
    finally:
        code, output = stop_app(proc)

report()
