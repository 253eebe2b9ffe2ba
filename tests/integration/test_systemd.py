#!/usr/bin/python3
"""The shipped systemd units: systemd-analyze verify finds nothing to say
about any of them, their sandboxing scores as "OK" in systemd-analyze
security, and the split units' command lines, run as systemd would run
them (with split.env), make a working deployment: a /signal call through
a gateway instance, its records in the central log."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Server, ServerTest, offer_answer  # noqa: E402
from split import fixed_port  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(TOP, "deploy")
UNITS = sorted(name for name in os.listdir(DEPLOY)
               if name.endswith(".service"))
ANALYZE = shutil.which("systemd-analyze")
NO_SYSTEMD = ("systemd-analyze is not installed (Debian package systemd): "
              "the units are not verified")
INSTALLED = "/usr/local/bin/homecall"


def read(name):
    with open(os.path.join(DEPLOY, name), encoding="utf-8") as f:
        return f.read()


def exec_start(unit, instance):
    """ExecStart's arguments after the program, %i filled in."""
    text = read(unit).replace("\\\n", " ")
    line = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)
    words = shlex.split(line.replace("%i", instance))
    assert words[0] == INSTALLED, words
    return words[1:]


def env_file(name, replacements):
    """{NAME: value} of an example settings file, after replacements."""
    out = {}
    for line in read(name).splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key] = replacements.get(value, value)
    return out


class Units(unittest.TestCase):
    def test_there_are_units_for_both_shapes(self):
        self.assertEqual(UNITS, ["homecall-gateway@.service",
                                 "homecall-rooms.service",
                                 "homecall.service"])

    @unittest.skipUnless(ANALYZE, NO_SYSTEMD)
    def test_systemd_analyze_verify_finds_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            names = []
            for unit in UNITS:
                # The binary must exist where ExecStart says: this build's
                text = read(unit).replace(INSTALLED, BINARY)
                for name in ([unit, unit.replace("@", "@5555")]
                             if "@." in unit else [unit]):
                    with open(os.path.join(tmp, name), "w") as f:
                        f.write(text)
                    names.append(name)
            for name in names:
                with self.subTest(unit=name):
                    run = subprocess.run(
                        [ANALYZE, "verify", "--man=no", name], cwd=tmp,
                        capture_output=True, text=True, timeout=60)
                    self.assertEqual(run.returncode, 0, run.stderr)
                    self.assertEqual(run.stdout + run.stderr, "")
                    if "@." in name:
                        continue
                    run = subprocess.run(
                        [ANALYZE, "security", "--offline=yes", name],
                        cwd=tmp, capture_output=True, text=True, timeout=60)
                    score = re.search(r"Overall exposure level for \S+: "
                                      r"([0-9.]+) (\w+)", run.stdout)
                    self.assertIsNotNone(score, run.stdout + run.stderr)
                    self.assertLessEqual(float(score.group(1)), 2.0,
                                         run.stdout)

    def test_every_unit_is_sandboxed_and_may_write_its_directories(self):
        for unit in UNITS:
            text = read(unit)
            with self.subTest(unit=unit):
                for line in ("NoNewPrivileges=true", "ProtectSystem=strict",
                             "PrivateTmp=true", "CapabilityBoundingSet=\n",
                             "User=homecall", "StateDirectory=homecall",
                             "LogsDirectory=homecall",
                             "WorkingDirectory=/var/lib/homecall",
                             "EnvironmentFile=-/etc/homecall/homecall.env"):
                    self.assertIn(line, text)

    def test_split_settings_are_real_options(self):
        out = subprocess.run([BINARY, "--help"], capture_output=True,
                             text=True, check=True).stdout
        known = set(re.findall(r"^\s+--[a-z0-9-]+\s+([A-Z0-9_]+)", out, re.M))
        for key in env_file("homecall-split.env.example", {}):
            self.assertIn(key, known)


class SplitShape(ServerTest):
    """homecall-rooms.service and two homecall-gateway@ instances, by their
    own command lines and split.env (ports moved to free ones)."""

    def setUp(self):
        self.clients = []
        example = env_file("homecall-split.env.example", {})
        env = {key: fixed_port() for key in example}
        self.rooms = Server(*exec_start("homecall-rooms.service", "x"),
                            env=env, ready="rooms.ready")
        self.gateways = [
            Server(*exec_start("homecall-gateway@.service", str(port)),
                   env=env)
            for port in (int(fixed_port().rsplit(":", 1)[1]),
                         int(fixed_port().rsplit(":", 1)[1]))]
        self.server = self.gateways[0]

    def tearDown(self):
        for gateway in self.gateways:
            self.assertEqual(gateway.stop(), 0)
        self.assertEqual(self.rooms.stop(), 0)
        for process in self.gateways + [self.rooms]:
            self.assertEqual([e for e in process.events()
                              if e.get("level") == "error"], [])

    async def test_a_call_across_two_gateway_instances(self):
        alice = await self.joined("w1", "alice")
        self.server = self.gateways[1]
        bob = await self.joined("w1", "bob")
        await offer_answer(self, alice, bob)
        # The central log (rooms' notifier) has both gateways' records
        for gateway in self.gateways:
            instance = gateway.find("gateway.listening")[0]["instance"]
            self.rooms.wait_log("conn.open", gateway=instance)


if __name__ == "__main__":
    unittest.main(verbosity=2)
