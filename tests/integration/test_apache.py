#!/usr/bin/python3
"""Debian's apache2 with the shipped deploy/apache.conf in front of the
real server, on loopback: apache2 -t passes, a /signal call goes through
its TLS port, the server logs the forwarded client address, the p2p
dialect and the http redirect work, and an idle call outlives the proxy's
timeout."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServerTest  # noqa: E402
from proxies import Apache, LE, ProxyTests, free_port, shipped  # noqa: E402
from proxies import substitute, without_tls  # noqa: E402


class BehindApache(ProxyTests, ServerTest):
    def proxy(self, server, timeout=None, tls=True, start=True):
        ports = {"http": free_port(), "https": free_port()}
        ports["p2p"] = ports["https"]   # every path, one port
        site = shipped("apache.conf")
        upstream = "http://127.0.0.1:%d/" % server.port
        if tls:
            site = substitute(site, [
                ("<VirtualHost *:80>", "<VirtualHost *:%d>" % ports["http"]),
                ("<VirtualHost *:443>",
                 "<VirtualHost *:%d>" % ports["https"]),
                (LE + "fullchain.pem", self.cert),
                (LE + "privkey.pem", self.key)])
        else:
            site = substitute(without_tls(site), [
                ("<VirtualHost *:80>", "<VirtualHost *:%d>" % ports["https"])])
            del ports["http"]
        site = substitute(site, [("http://127.0.0.1:5555/", upstream)])
        if timeout:
            site = substitute(site, [("timeout=120", "timeout=%d" % timeout)])
        proxy = Apache(site, ports.values(), timeout)
        if not start:
            return proxy, ports
        return self.started(proxy, ports)


if __name__ == "__main__":
    unittest.main(verbosity=2)
