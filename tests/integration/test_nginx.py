#!/usr/bin/python3
"""Debian's nginx with the shipped deploy/nginx.conf in front of the real
server, on loopback: nginx -t passes, a /signal call goes through its TLS
port, the server logs the forwarded client address, the p2p port and the
http redirect work, and an idle call outlives proxy_read_timeout."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServerTest  # noqa: E402
from proxies import LE, Nginx, ProxyTests, free_port, shipped  # noqa: E402
from proxies import substitute, without_tls  # noqa: E402


class BehindNginx(ProxyTests, ServerTest):
    def proxy(self, server, timeout=None, tls=True, start=True):
        ports = {"http": free_port(), "https": free_port(),
                 "p2p": free_port()}
        site = shipped("nginx.conf")
        if not tls:
            site = without_tls(site)
        site = substitute(site, [
            ("listen 80;", "listen 127.0.0.1:%d;" % ports["http"]),
            ("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % ports["https"]),
            ("listen 5443 ssl;", "listen 127.0.0.1:%d ssl;" % ports["p2p"]),
            ("server 127.0.0.1:5555;", "server 127.0.0.1:%d;" % server.port),
            (LE + "fullchain.pem", self.cert),
            (LE + "privkey.pem", self.key),
        ] if tls else [
            ("listen 80;", "listen 127.0.0.1:%d;" % ports["https"]),
            ("listen 5443;", "listen 127.0.0.1:%d;" % ports["p2p"]),
            ("server 127.0.0.1:5555;", "server 127.0.0.1:%d;" % server.port),
        ])
        if timeout:
            site = substitute(site, [
                ("proxy_read_timeout 120s;",
                 "proxy_read_timeout %ds;" % timeout),
                ("proxy_send_timeout 120s;",
                 "proxy_send_timeout %ds;" % timeout)])
        proxy = Nginx(site)
        if not start:
            return proxy, ports
        return self.started(proxy, ports)


if __name__ == "__main__":
    unittest.main(verbosity=2)
