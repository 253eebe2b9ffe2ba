#!/usr/bin/python3
"""The README, docs/, the example settings and CI stay true to the
binary."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read(path):
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        return f.read()


def code_files():
    """(path, text) of every source, test and deploy file."""
    for top in ("app", "bench", "common", "gateway", "rooms", "notifier",
                "tests", "deploy"):
        for root, dirs, files in os.walk(os.path.join(TOP, top)):
            dirs[:] = [d for d in dirs if d != "corpus"]
            for name in files:
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    yield os.path.relpath(path, TOP), f.read()
    yield "CMakeLists.txt", read("CMakeLists.txt")


def help_options():
    """(flag, env, default) for every option --help lists."""
    out = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                         check=True).stdout
    rows = re.findall(r"^\s+(--[a-z0-9-]+)\s+([A-Z0-9_]+)\s+(\S+)", out, re.M)
    rows = [row for row in rows if row[0] != "--env-file"]
    assert len(rows) > 10, out
    return rows


class Docs(unittest.TestCase):
    def test_readme_starts_with_the_two_commands(self):
        first = read("README.md").splitlines()[:6]
        commands = [line for line in first if "deploy/setup.sh" in line]
        self.assertEqual(len(commands), 2)
        self.assertIn("setup.sh run", commands[0])
        self.assertIn("setup.sh test", commands[1])

    def test_ci_runs_the_readme_test_command(self):
        self.assertIn("deploy/setup.sh test", read(".ci/run"))

    def test_setup_script_parses(self):
        subprocess.run(["sh", "-n", os.path.join(TOP, "deploy/setup.sh")],
                       check=True)

    def test_every_option_is_documented_with_its_default(self):
        table = read("docs/configuration.md")
        example = read("deploy/homecall.env.example")
        for flag, env, default in help_options():
            with self.subTest(option=env):
                row = [line for line in table.splitlines()
                       if "`%s`" % flag in line and "`%s`" % env in line]
                self.assertEqual(len(row), 1,
                                 "docs/configuration.md row for " + env)
                if default != "(none)":
                    self.assertIn("`%s`" % default, row[0])
                    self.assertIn("%s=%s\n" % (env, default), example)
                else:
                    self.assertIn("%s=\n" % env, example)

    def test_readme_settings_are_real_with_their_defaults(self):
        defaults = {env: default for _, env, default in help_options()}
        rows = re.findall(r"^\| `([A-Z0-9_]+)` \| (\S+) \|",
                          read("README.md"), re.M)
        self.assertGreater(len(rows), 5)
        for env, default in rows:
            with self.subTest(option=env):
                self.assertIn(env, defaults)
                expected = defaults[env]
                if expected != "(none)":
                    expected = "`%s`" % expected
                self.assertEqual(default, expected)

    def test_example_settings_are_all_real_options(self):
        known = {env for _, env, _ in help_options()}
        for line in read("deploy/homecall.env.example").splitlines():
            if line and not line.startswith("#"):
                self.assertIn(line.split("=")[0], known, line)

    def test_cited_docs_exist_and_shared_notes_are_not_cited(self):
        cited = set()
        for path, text in code_files():
            for name in re.findall(r"\bdocs/([\w.-]+\.md)\b", text):
                cited.add(name)
                with self.subTest(cited=name, by=path):
                    self.assertTrue(os.path.isfile(
                        os.path.join(TOP, "docs", name)))
            with self.subTest(path=path):
                self.assertIsNone(re.search(
                    r"\b(PROTOCOL|P2P|GATEWAY-LOOP|ARCHITECTURE)\.md", text))
        self.assertIn("gateway-loop.md", cited)

    def test_readme_links_every_docs_file(self):
        linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)\)",
                                read("README.md")))
        files = {name for name in os.listdir(os.path.join(TOP, "docs"))
                 if name.endswith(".md")}
        self.assertGreaterEqual(len(files), 8)
        self.assertEqual(linked, files)

    def test_every_error_code_is_documented(self):
        readme = read("docs/signal.md")
        codes = re.findall(r'#define SIG_E_\w+ "(\w+)"',
                           read("common/sig_errors.h"))
        self.assertGreater(len(codes), 8)
        for code in codes:
            self.assertIn("`%s`" % code, readme)


if __name__ == "__main__":
    unittest.main(verbosity=2)
