"""Hostile HTTP requests at the edge: raw bytes, and what must happen to each.

Every request aims at a *private* pod, the victim, from someone who holds only what an attacker
could: the credentials of another pod of the same host (their own, ``other``), stale or forged
credentials of the victim, and raw sockets. The edge test sends each one as bytes to the edge's
HTTP port, reads every response on the connection, and checks that

- every response's status is in the case's ``refused`` set (0: the edge closed the connection
  without a parseable status line), and
- no byte of it reached any service of the victim (the victim's services record what they see).

Every request but the WebSocket upgrade ends with ``Connection: close``; read each answer until
the edge closes or a short timeout passes after the last byte.

The table holds no secret: :class:`Target` is filled in by the test at run time (the secrets from
``pinacle token``), and each case builds its bytes from it, so tokens and cookies are fresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

SESSION_LIFETIME = 7 * 24 * 3600


@dataclass(frozen=True)
class Target:
    """The host under attack, as the edge test set it up.

    + domain: the pods' domain (``localhost`` in CI); port: the edge's HTTP port
    + victim: a private pod; victim_port: one of its routed in-pod ports (web-terminal's 7681)
    + victim_host_port: the victim's own router port on the host (loopback only behind an edge)
    + other: another pod on the host, the attacker's own; other_secret / victim_secret: their
      secrets (``pinacle token``), to sign the cookies and tokens an attacker could hold
    """

    domain: str
    port: int
    victim: str
    victim_port: int
    victim_host_port: int
    other: str
    other_secret: str
    victim_secret: str

    @property
    def victim_host(self) -> str:
        return f"pod-{self.victim}.{self.domain}"

    @property
    def victim_port_host(self) -> str:
        return f"localhost-{self.victim_port}.pod-{self.victim}.{self.domain}"

    @property
    def other_host(self) -> str:
        return f"pod-{self.other}.{self.domain}"


def _mac(secret: str, message: str) -> str:
    digest = hmac.new(bytes.fromhex(secret), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def session_cookie(secret: str, slug: str, issued: int | None = None) -> str:
    """``pinacle_session=...`` as the edge's daemon issues it (see pinacle-edge-auth)."""
    issued = int(time.time()) if issued is None else issued
    return f"pinacle_session=v1.{issued}.{_mac(secret, f'session|{slug}|{issued}')}"


def login_token(secret: str, slug: str, expires: int | None = None) -> str:
    expires = int(time.time()) + 120 if expires is None else expires
    nonce = secrets.token_hex(16)
    return f"v1.{expires}.{nonce}.{_mac(secret, f'login|{slug}|{expires}|{nonce}')}"


def statuses(answer: bytes) -> list[int]:
    """The status code of every response in what the edge sent back; [0] when there was none."""
    codes = [int(code) for code in re.findall(rb"(?:^|\r\n)HTTP/1\.[01] ([0-9]{3}) ", answer)]
    return codes or [0]


def _request(line: str, *headers: str, body: str = "") -> bytes:
    return ("\r\n".join([line, *headers, "Connection: close"]) + "\r\n\r\n" + body).encode("latin-1")


# What a refusal may look like. The edge sends private names without a credential to its login
# page (401); nginx itself refuses malformed requests (400, 405, 411, 414, 431/494 as 400, 501);
# a name that is no pod's gets the default server's refusal (any 4xx, or a closed connection).
PRIVATE = frozenset({401})
MALFORMED = frozenset({400})
NO_POD = frozenset({0, *range(400, 500)})
LOGIN_REFUSED = frozenset({403})


@dataclass(frozen=True)
class HostileRequest:
    id: str
    attack: str
    build: Callable[[Target], bytes]
    refused: frozenset[int]


def _cookie(value: str) -> str:
    return f"Cookie: {value}"


def _smuggle_cl_te(t: Target) -> bytes:
    hidden = f"GET / HTTP/1.1\r\nHost: {t.victim_host}\r\n\r\n"
    body = f"0\r\n\r\n{hidden}"
    return _request(
        "POST / HTTP/1.1",
        f"Host: {t.victim_host}",
        f"Content-Length: {len(body)}",
        "Transfer-Encoding: chunked",
        body=body,
    )


def _smuggle_te_cl(t: Target) -> bytes:
    hidden = f"GET / HTTP/1.1\r\nHost: {t.victim_host}\r\n\r\n"
    chunk = f"{len(hidden):x}\r\n{hidden}\r\n0\r\n\r\n"
    return _request(
        "POST / HTTP/1.1",
        f"Host: {t.victim_host}",
        "Content-Length: 4",
        "Transfer-Encoding: chunked",
        body=chunk,
    )


def _smuggle_through_own_pod(t: Target) -> bytes:
    # The attacker's own pod with their own cookie in front; the body is a request for the victim,
    # which the edge must never hand to the victim (it re-frames every request it proxies).
    hidden = f"GET / HTTP/1.1\r\nHost: {t.victim_host}\r\n\r\n"
    body = f"0\r\n\r\n{hidden}"
    return _request(
        "POST / HTTP/1.1",
        f"Host: {t.other_host}",
        _cookie(session_cookie(t.other_secret, t.other)),
        f"Content-Length: {len(body)}",
        "Transfer-Encoding: chunked",
        body=body,
    )


HOSTILE_REQUESTS: tuple[HostileRequest, ...] = (
    # --- Host header tricks -------------------------------------------------------------------
    HostileRequest(
        "host-uppercase",
        "the victim's name in capitals still is the victim (private), not some unchecked server",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host.upper()}"),
        PRIVATE,
    ),
    HostileRequest(
        "host-trailing-dot",
        "a fully qualified name with its trailing dot",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host}."),
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "host-other-port",
        "the victim's name with another port than the edge's",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host}:1"),
        PRIVATE,
    ),
    HostileRequest(
        "host-router-port",
        "the victim's name with its own router's host port (the edge must not skip the check)",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_port_host}:{t.victim_host_port}"),
        PRIVATE,
    ),
    HostileRequest(
        "host-port-garbage",
        "a port that is no number",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host}:80x"),
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "host-ipv4",
        "a raw IPv4 address instead of a pod name",
        lambda t: _request("GET / HTTP/1.1", f"Host: 127.0.0.1:{t.port}"),
        NO_POD,
    ),
    HostileRequest(
        "host-ipv6",
        "a raw IPv6 address instead of a pod name",
        lambda t: _request("GET / HTTP/1.1", "Host: [::1]"),
        NO_POD,
    ),
    HostileRequest(
        "host-suffix",
        "the victim's name as a prefix of a foreign domain",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host}.evil.test"),
        NO_POD,
    ),
    HostileRequest(
        "host-userinfo",
        "userinfo in Host (other@victim)",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.other}@{t.victim_host}"),
        NO_POD,
    ),
    HostileRequest(
        "host-empty",
        "an empty Host header",
        lambda t: _request("GET / HTTP/1.1", "Host: "),
        NO_POD,
    ),
    HostileRequest(
        "host-missing",
        "HTTP/1.1 without any Host header",
        lambda t: _request("GET / HTTP/1.1"),
        MALFORMED,
    ),
    HostileRequest(
        "host-duplicate",
        "two Host headers: the attacker's own pod first, then the victim",
        lambda t: _request(
            "GET / HTTP/1.1",
            f"Host: {t.other_host}",
            f"Host: {t.victim_host}",
            _cookie(session_cookie(t.other_secret, t.other)),
        ),
        MALFORMED,
    ),
    HostileRequest(
        "absolute-uri",
        "an absolute-URI request line naming the victim, Host and cookie of the attacker's own pod",
        lambda t: _request(
            f"GET http://{t.victim_host}/ HTTP/1.1",
            f"Host: {t.other_host}",
            _cookie(session_cookie(t.other_secret, t.other)),
        ),
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "x-forwarded-host",
        "X-Forwarded-Host naming the attacker's own pod, on the victim's name",
        lambda t: _request(
            "GET / HTTP/1.1",
            f"Host: {t.victim_host}",
            f"X-Forwarded-Host: {t.other_host}",
            _cookie(session_cookie(t.other_secret, t.other)),
        ),
        PRIVATE,
    ),
    HostileRequest(
        "x-pinacle-pod-injected",
        "the daemon's own X-Pinacle-Pod header sent by the client, naming the cookie's pod",
        lambda t: _request(
            "GET / HTTP/1.1",
            f"Host: {t.victim_host}",
            f"X-Pinacle-Pod: {t.other}",
            _cookie(session_cookie(t.other_secret, t.other)),
        ),
        PRIVATE,
    ),
    # --- credentials that are not the victim's ---------------------------------------------------
    HostileRequest(
        "cookie-of-other-pod",
        "a valid session cookie of another pod of the same host",
        lambda t: _request(
            "GET / HTTP/1.1", f"Host: {t.victim_port_host}", _cookie(session_cookie(t.other_secret, t.other))
        ),
        PRIVATE,
    ),
    HostileRequest(
        "cookie-other-pod-relabelled",
        "another pod's MAC presented as if issued for the victim",
        lambda t: _request(
            "GET / HTTP/1.1",
            f"Host: {t.victim_host}",
            _cookie(session_cookie(t.other_secret, t.victim)),
        ),
        PRIVATE,
    ),
    HostileRequest(
        "cookie-forged",
        "a session cookie signed with a made-up secret",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host}", _cookie(session_cookie("00" * 32, t.victim))),
        PRIVATE,
    ),
    HostileRequest(
        "cookie-expired",
        "the victim's own cookie, issued eight days ago",
        lambda t: _request(
            "GET / HTTP/1.1",
            f"Host: {t.victim_host}",
            _cookie(session_cookie(t.victim_secret, t.victim, int(time.time()) - SESSION_LIFETIME - 86400)),
        ),
        PRIVATE,
    ),
    HostileRequest(
        "websocket-without-cookie",
        "a WebSocket upgrade to the victim's terminal without a credential",
        lambda t: _request(
            "GET /ws HTTP/1.1",
            f"Host: {t.victim_port_host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            f"Origin: http://{t.victim_port_host}",
        ).replace(b"Connection: close\r\n", b""),
        PRIVATE,
    ),
    # --- login links that must not log in ---------------------------------------------------------
    HostileRequest(
        "token-forged",
        "a login link signed with a made-up secret",
        lambda t: _request(
            f"GET /__pinacle/login?t={login_token('11' * 32, t.victim)} HTTP/1.1", f"Host: {t.victim_host}"
        ),
        LOGIN_REFUSED,
    ),
    HostileRequest(
        "token-expired",
        "a correctly signed login link that expired a minute ago",
        lambda t: _request(
            f"GET /__pinacle/login?t={login_token(t.victim_secret, t.victim, int(time.time()) - 60)} HTTP/1.1",
            f"Host: {t.victim_host}",
        ),
        LOGIN_REFUSED,
    ),
    HostileRequest(
        "token-of-other-pod",
        "the attacker's own pod's valid login link, used on the victim's name",
        lambda t: _request(
            f"GET /__pinacle/login?t={login_token(t.other_secret, t.other)} HTTP/1.1", f"Host: {t.victim_host}"
        ),
        LOGIN_REFUSED,
    ),
    HostileRequest(
        "token-cookie-domain-injected",
        "a forged link with the daemon's own X-Pinacle-Cookie-Domain/X-Pinacle-Scheme headers from the client",
        lambda t: _request(
            f"GET /__pinacle/login?t={login_token('22' * 32, t.victim)} HTTP/1.1",
            f"Host: {t.victim_host}",
            f"X-Pinacle-Cookie-Domain: {t.domain}",
            "X-Pinacle-Scheme: https",
        ),
        LOGIN_REFUSED | MALFORMED,
    ),
    # --- methods ------------------------------------------------------------------------------------
    HostileRequest(
        "connect",
        "CONNECT to the victim's router port through the edge",
        lambda t: _request(f"CONNECT 127.0.0.1:{t.victim_host_port} HTTP/1.1", f"Host: 127.0.0.1:{t.victim_host_port}"),
        NO_POD,
    ),
    HostileRequest(
        "connect-pod-name",
        "CONNECT naming the victim",
        lambda t: _request(f"CONNECT {t.victim_host}:80 HTTP/1.1", f"Host: {t.victim_host}:80"),
        NO_POD,
    ),
    HostileRequest(
        "trace",
        "TRACE on the victim's name (would echo the request, cookies and all)",
        lambda t: _request("TRACE / HTTP/1.1", f"Host: {t.victim_host}"),
        PRIVATE | frozenset({405}),
    ),
    # --- request smuggling -----------------------------------------------------------------------
    HostileRequest(
        "smuggle-cl-te",
        "Content-Length and Transfer-Encoding both, a request for the victim hidden after the last chunk",
        _smuggle_cl_te,
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "smuggle-te-cl",
        "Transfer-Encoding chunked with a short Content-Length, the victim's request inside a chunk",
        _smuggle_te_cl,
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "smuggle-te-obfuscated",
        "Transfer-Encoding: xchunked beside a Content-Length",
        lambda t: _request(
            "POST / HTTP/1.1",
            f"Host: {t.victim_host}",
            "Content-Length: 5",
            "Transfer-Encoding: xchunked",
            body="0\r\n\r\n",
        ),
        PRIVATE | MALFORMED | frozenset({501}),
    ),
    HostileRequest(
        "smuggle-duplicate-content-length",
        "two different Content-Length headers",
        lambda t: _request(
            "POST / HTTP/1.1", f"Host: {t.victim_host}", "Content-Length: 0", "Content-Length: 40", body="x" * 40
        ),
        MALFORMED,
    ),
    HostileRequest(
        "smuggle-through-own-pod",
        "the attacker's own pod and cookie in front, a request for the victim smuggled after the chunks",
        _smuggle_through_own_pod,
        # The front request is the attacker's own pod: it may be answered; the hidden one is never
        # the victim's (the test checks that the victim's services saw nothing).
        frozenset({0, 200, 400, 401, 404, 405, 411, 421, 501}),
    ),
    # --- paths toward what the login location or another pod serves --------------------------------
    HostileRequest(
        "path-login-dotdot",
        "escaping the unauthenticated login location with ../",
        lambda t: _request("GET /__pinacle/login/../ HTTP/1.1", f"Host: {t.victim_host}"),
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "path-login-encoded-dotdot",
        "escaping the login location with %2e%2e and %2f",
        lambda t: _request("GET /__pinacle/login%2f%2e%2e%2f HTTP/1.1", f"Host: {t.victim_host}"),
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "path-check-direct",
        "asking the internal credential check directly",
        lambda t: _request("GET /__pinacle/check HTTP/1.1", f"Host: {t.victim_host}"),
        PRIVATE | frozenset({404}),
    ),
    HostileRequest(
        "path-above-root",
        "a path above the root, toward another pod's name",
        lambda t: _request(f"GET /../../{t.other_host}/ HTTP/1.1", f"Host: {t.victim_host}"),
        PRIVATE | MALFORMED,
    ),
    HostileRequest(
        "path-double-slash-host",
        "a path that looks like a network path to the victim, on the attacker's own name without cookie",
        lambda t: _request(f"GET //{t.victim_host}/ HTTP/1.1", f"Host: {t.other_host}"),
        PRIVATE,
    ),
    # --- oversized and malformed -----------------------------------------------------------------
    HostileRequest(
        "oversized-cookie",
        "a 40 KB Cookie header around another pod's valid cookie",
        lambda t: _request(
            "GET / HTTP/1.1",
            f"Host: {t.victim_host}",
            _cookie(f"pad={'a' * 40_000}; {session_cookie(t.other_secret, t.other)}"),
        ),
        MALFORMED | PRIVATE | frozenset({431, 494}),
    ),
    HostileRequest(
        "oversized-header-count",
        "2,000 headers",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.victim_host}", *(f"X-H{i}: {'b' * 30}" for i in range(2000))),
        MALFORMED | PRIVATE | frozenset({431, 494}),
    ),
    HostileRequest(
        "oversized-request-line",
        "a 100 KB request line",
        lambda t: _request(f"GET /{'c' * 100_000} HTTP/1.1", f"Host: {t.victim_host}"),
        MALFORMED | frozenset({414}),
    ),
    HostileRequest(
        "nul-in-host",
        "a NUL byte inside the Host header",
        lambda t: _request("GET / HTTP/1.1", f"Host: {t.other_host}\x00{t.victim_host}"),
        NO_POD,
    ),
    HostileRequest(
        "http-0.9",
        "an HTTP/0.9 request line (no headers at all)",
        lambda t: b"GET /\r\n",
        NO_POD,
    ),
)
"""Every case, each named for what it attacks; ids are unique (the edge test parametrizes on them)."""
