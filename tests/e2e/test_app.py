#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: start the real app under Xvfb and drive it the way a screen
reader or a person would, through the accessibility tree (AT-SPI, dogtail).

Run by scripts/test inside xvfb-run and dbus-run-session. TAP out."""

import os
import subprocess
import sys
import time

from aictest import check, click, report, wait_for  # sets dogtail up: import it first

from dogtail import tree  # noqa: E402  (must come after the config)
from dogtail.predicate import GenericPredicate  # noqa: E402

APP = sys.argv[1]


def find(root, role=None, name=None, timeout=10.0):
    def look():
        return root.findChild(GenericPredicate(name=name, roleName=role), retry=False, requireResult=False)
    return wait_for(look, timeout)


def find_labelled(root, role, text, timeout=10.0):
    """GTK 4.8 names a button by its label and its label widget together
    ("Connect a _Provider… Connect a Provider…"): match on the words."""
    def look():
        found = root.findChildren(lambda n: n.roleName == role and text in (n.name or "").replace("_", ""))
        return found[0] if found else None
    return wait_for(look, timeout)


def find_all(root, role, name=None):
    return root.findChildren(GenericPredicate(name=name, roleName=role))


def is_checked(node):
    states = node.getState()
    import pyatspi
    return any(states.contains(state) for state in
               (pyatspi.STATE_CHECKED, pyatspi.STATE_PRESSED, pyatspi.STATE_SELECTED))


# A stand-in web browser, the default for HTML: it writes down what it was
# asked to open. (Whatever the machine has installed, such as a text editor
# taking text/html as text, must not decide what the help test sees.)
import tempfile  # noqa: E402
homes = tempfile.TemporaryDirectory()
opened = os.path.join(homes.name, "browser-opened")
os.makedirs(os.path.join(homes.name, "data", "applications"))
os.makedirs(os.path.join(homes.name, "config"))
with open(os.path.join(homes.name, "data", "applications", "aic-test-browser.desktop"), "w") as f:
    f.write("[Desktop Entry]\nType=Application\nName=Test Browser\nMimeType=text/html;x-scheme-handler/http;\n"
            "Exec=sh -c 'echo \"$1\" >> %s' sh %%u\n" % opened)
with open(os.path.join(homes.name, "config", "mimeapps.list"), "w") as f:
    f.write("[Default Applications]\ntext/html=aic-test-browser.desktop\n")

env = dict(os.environ)
env["XDG_DATA_HOME"] = os.path.join(homes.name, "data")
env["XDG_CONFIG_HOME"] = os.path.join(homes.name, "config")
env.pop("NO_AT_BRIDGE", None)
env["GTK_A11Y"] = "atspi"
env["GSK_RENDERER"] = "cairo"
env.pop("G_DEBUG", None)   # accessibility warnings from GTK itself are not ours to fail on
app_proc = subprocess.Popen([APP], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

try:
    app = wait_for(lambda: tree.root.application("ai-console"), 30)
    check("the app appears on the accessibility bus", app is not None)
    if app is None:
        raise SystemExit

    frame = find(app, "frame", "AI Console", 20)
    check("its window is named AI Console", frame is not None)

    views = ["Chat", "Documents", "Voice", "Agent"]
    for view in views:
        # The header's switcher first; the bottom bar's twin serves narrow windows.
        buttons = wait_for(lambda: find_all(app, "page tab", view), 10) or []
        check("a switcher button for %s exists" % view, len(buttons) > 0)
        if not buttons:
            continue
        click(buttons[0])
        checked = wait_for(lambda: is_checked(buttons[0]), 5)
        check("switching to %s checks its button" % view, checked)
        others = [find_all(app, "page tab", name)[0] for name in views if name != view]
        check("switching to %s unchecks the others" % view, not any(is_checked(b) for b in others))

    banner = wait_for(lambda: find(app, "label", None, 1) and
                      [n for n in find_all(app, "label") if "demo engine" in (n.name or "")], 20)
    check("the window says the built-in backend runs the demo engine", bool(banner))
    connect = find_labelled(app, "push button", "Connect a Provider…", 5)
    check("it offers to connect a provider", connect is not None)

    # Help without Yelp (none is installed here): the page of the view in
    # use, as HTML, and where it is when no browser opens it either.
    menu = find(app, "toggle button", "Main Menu", 5) or find(app, "push button", "Main Menu", 5)
    if menu is not None:
        click(menu)
        help_item = wait_for(lambda: [n for n in app.findChildren(lambda n: (n.name or "").replace("_", "") == "Help"
                                                                      and n.roleName in ("menu item", "push button"))], 10)
        check("the primary menu offers Help", bool(help_item))
        if help_item:
            click(help_item[0])
            said = wait_for(lambda: [n.name for n in find_all(app, "label") if "opens in your web browser" in (n.name or "")], 20)
            check("Help without a help viewer falls back to the view's page as HTML, in words", bool(said))
            uri = wait_for(lambda: os.path.exists(opened) and open(opened).read().strip(), 10) or ""
            path = uri[len("file://"):] if uri.startswith("file://") else uri
            check("the browser is given the view's page, and that page exists",
                  path.endswith("/agents.html") and os.path.isfile(path) and "Agent" in open(path).read(), uri)

    check("the primary menu button is there", menu is not None)
    if menu is not None:
        click(menu)
        item = wait_for(lambda: [n for n in app.findChildren(lambda n: (n.name or "").replace("_", "") == "Preferences"
                                                                 and n.roleName in ("menu item", "push button", "check menu item"))], 10)
        check("the primary menu offers Preferences", bool(item))
        if item:
            click(item[0])

    preferences = find(app, "frame", "Preferences", 10) or find(app, "dialog", "Preferences", 5)
    check("Preferences opens", preferences is not None)
    if preferences is not None:
        builtin = find_labelled(preferences, "check box", "Use the built-in backend", 5)
        check("Preferences shows the built-in backend, in use", builtin is not None and is_checked(builtin))
        add = find_labelled(preferences, "push button", "Add", 5)
        check("Preferences can add a connection", add is not None)
        if add is not None:
            click(add)
            editor = find(app, "frame", "Add Connection", 10) or find(app, "dialog", "Add Connection", 5)
            check("Add Connection opens the editor", editor is not None)
            if editor is not None:
                test = find_labelled(editor, "push button", "Test", 5)
                check("the editor can test the connection", test is not None)
                if test is not None:
                    click(test)
                    # A new provider starts at Ollama's address, where nothing listens here.
                    said = wait_for(lambda: [n for n in editor.findChildren(lambda n: "Nothing is listening" in (n.name or "") or "Nothing is listening" in (n.description or ""))], 20)
                    check("Test reports an unreachable server in words", bool(said))
finally:
    app_proc.terminate()
    try:
        output, _ = app_proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        app_proc.kill()
        output, _ = app_proc.communicate()
    crashed = app_proc.returncode not in (0, -15)
    check("the app exits cleanly", not crashed, "exit %s\n%s" % (app_proc.returncode, output))

report()
