#!/usr/bin/python3
"""The walls between the source folders (docs/development.md): an actor
(gateway/, rooms/, notifier/) includes its own headers and common/'s only,
common/ includes no actor's, app/'s, bench/'s or a test's header, and no
two modules (a .c with its .h) include each other round a cycle. And no
file outside tests/ is longer than a reader takes in: 600 lines."""

import os
import re
import unittest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACTORS = ("gateway", "rooms", "notifier")
SOURCES = ACTORS + ("common", "app", "bench")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LINES_MAX = 600


def includes():
    """(file, header) for every quoted #include below SOURCES, both paths
    relative to the top; the header is looked up next to the file first,
    then from the top (the compiler's -I)."""
    for top in SOURCES:
        for root, _, files in os.walk(os.path.join(TOP, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for header in INCLUDE.findall(text):
                    near = os.path.normpath(os.path.join(root, header))
                    found = near if os.path.isfile(near) else \
                        os.path.normpath(os.path.join(TOP, header))
                    yield (os.path.relpath(path, TOP),
                           os.path.relpath(found, TOP))


def tree_files():
    """Every file of the tree outside tests/, builds and git's own."""
    for root, dirs, files in os.walk(TOP):
        if root == TOP:
            dirs[:] = [d for d in dirs if d not in ("tests", ".git")
                       and not d.startswith("build")]
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            yield os.path.relpath(os.path.join(root, name), TOP)


def folder(path):
    return path.split(os.sep)[0]


def module(path):
    return os.path.splitext(path)[0]


class Layout(unittest.TestCase):
    def test_every_included_header_exists(self):
        for source, header in includes():
            with self.subTest(source=source, header=header):
                self.assertTrue(os.path.isfile(os.path.join(TOP, header)))

    def test_actors_include_only_their_own_and_common_headers(self):
        seen = set()
        for source, header in includes():
            if folder(source) in ACTORS:
                seen.add(folder(source))
                with self.subTest(source=source):
                    self.assertIn(folder(header), (folder(source), "common"),
                                  header)
        self.assertEqual(seen, set(ACTORS))

    def test_common_includes_only_common(self):
        count = 0
        for source, header in includes():
            if folder(source) == "common":
                count += 1
                with self.subTest(source=source):
                    self.assertEqual(folder(header), "common", header)
        self.assertGreater(count, 30)

    def test_no_module_cycle(self):
        edges = {}
        for source, header in includes():
            if module(source) != module(header):
                edges.setdefault(module(source), set()).add(module(header))
        # Depth-first search; a module met again while still open is a cycle
        state = {}

        def visit(node, path):
            state[node] = "open"
            for nxt in sorted(edges.get(node, ())):
                if state.get(nxt) == "open":
                    cycle = path[path.index(nxt):] + [nxt]
                    self.fail("include cycle: " + " -> ".join(cycle))
                if nxt not in state:
                    visit(nxt, path + [nxt])
            state[node] = "done"
        for node in sorted(edges):
            if node not in state:
                visit(node, [node])


    def test_no_file_outside_tests_is_over_600_lines(self):
        count = 0
        for path in tree_files():
            with open(os.path.join(TOP, path), "rb") as f:
                lines = f.read().count(b"\n")
            count += 1
            with self.subTest(path=path):
                self.assertLessEqual(lines, LINES_MAX)
        self.assertGreater(count, 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
