#!/usr/bin/python3
"""deploy/grafana-dashboard.json: every metric its expressions use is one
that a running server's /metrics really has."""

import asyncio
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServerTest, scrape_metrics  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
METRIC = re.compile(r"\bhomecall_[a-z0-9_]+")


def dashboard():
    with open(os.path.join(TOP, "deploy", "grafana-dashboard.json"),
              encoding="utf-8") as f:
        return json.load(f)


def expressions(board):
    """(where, PromQL) for every panel target and template query."""
    out = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    for variable in board["templating"]["list"]:
        query = variable["query"]
        out.append((variable["name"],
                    query["query"] if isinstance(query, dict) else query))
    return out


class Dashboard(ServerTest):
    def test_every_expression_is_on_homecall_metrics(self):
        board = dashboard()
        self.assertGreater(len(board["panels"]), 8)
        for where, expr in expressions(board):
            with self.subTest(panel=where):
                self.assertTrue(METRIC.search(expr), expr)
        for panel in board["panels"]:
            self.assertEqual(panel["datasource"]["uid"], "${DS_PROMETHEUS}")

    async def test_every_metric_it_uses_is_in_a_real_scrape(self):
        # Rooms' numbers appear once rooms has answered a heartbeat
        await self.joined("w1", "alice")
        await self.metrics(homecall_signal_rooms=1)
        status, samples = await asyncio.to_thread(scrape_metrics,
                                                  self.server)
        self.assertEqual(status, 200)
        scraped = {name.split("{")[0] for name in samples}
        used = {name for _, expr in expressions(dashboard())
                for name in METRIC.findall(expr)}
        self.assertGreater(len(used), 15)
        self.assertEqual(used - scraped, set())


if __name__ == "__main__":
    unittest.main(verbosity=2)
