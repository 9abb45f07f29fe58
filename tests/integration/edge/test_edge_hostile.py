"""Hostile requests at the edge, raw on its socket: none reaches a pod.

Each row is one request an attacker holding pod A's cookie (and nothing of pod B) might send to
get at pod B, or at any pod without a credential. Every request carries a fresh marker in its
path and its User-Agent; the proof that it reached nothing is that neither pod's own router (the
first thing inside a pod, which logs the request line and User-Agent of everything it is handed)
ever saw that marker. A control row with B's real cookie shows the marker does arrive when it may.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from tests.integration.edge.conftest import EDGE_ADDRESS, EdgePodInfo
from tests.integration.edge.hostile_requests import HOSTILE_REQUESTS, HostileRequest, Target
from tests.integration.edge.hostile_requests import statuses as hostile_statuses

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Attack:
    """What a row may use: the two pods, pod A's valid cookie, and signing with B's secret."""

    a: EdgePodInfo
    b: EdgePodInfo
    a_cookie: str
    b_secret: bytes

    def b_signed(self, message: str) -> str:
        digest = hmac.new(self.b_secret, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def b_cookie_issued(self, seconds_from_now: int) -> str:
        """A cookie for B signed with B's real secret, issued at now + ``seconds_from_now``."""
        issued = int(time.time()) + seconds_from_now
        return f"pinacle_session=v1.{issued}.{self.b_signed(f'session|{self.b.slug}|{issued}')}"

    def b_token_expired(self, nonce: str = "1" * 32) -> str:
        """A login token for B signed with B's real secret that expired ten minutes ago."""
        expires = int(time.time()) - 600
        return f"v1.{expires}.{nonce}.{self.b_signed(f'login|{self.b.slug}|{expires}|{nonce}')}"


Build = Callable[[Attack, str], bytes]


def request(line: str, *headers: str, body: bytes = b"") -> bytes:
    return (line + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


def ua(mark: str) -> str:
    return f"User-Agent: hostile-{mark}"


def b_app(x: Attack) -> str:
    return x.b.name(3000)


# (id, request builder, statuses the edge may answer with)
ROWS: list[tuple[str, Build, set[int]]] = [
    ("no cookie", lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}", ua(m)), {401}),
    ("host in capitals", lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x).upper()}", ua(m)), {401}),
    ("host with a trailing dot", lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}.", ua(m)), {401}),
    ("host with the edge's port", lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}:80", ua(m)), {401}),
    (
        "host with the pod's own port",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}:{x.b.host_port}", ua(m)),
        {401},
    ),
    (
        "host with a junk port",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}:99999x", ua(m)),
        {400, 401},
    ),
    ("host is the loopback address", lambda x, m: request(f"GET /{m} HTTP/1.1", "Host: 127.0.0.1", ua(m)), {421}),
    (
        "host is the pod's own address:port",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: 127.0.0.1:{x.b.host_port}", ua(m)),
        {421},
    ),
    (
        "host of another suffix",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}.evil.example", ua(m)),
        {421},
    ),
    (
        "host that only ends like the pod's",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: x{b_app(x)}", ua(m)),
        {421},
    ),
    ("empty host", lambda x, m: request(f"GET /{m} HTTP/1.1", "Host:", ua(m)), {400}),
    ("no host at all", lambda x, m: request(f"GET /{m} HTTP/1.1", ua(m)), {400}),
    ("HTTP/1.0 without host", lambda x, m: request(f"GET /{m} HTTP/1.0", ua(m)), {421}),
    (
        "duplicate host: A's then B's",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1", f"Host: {x.a.name(3000)}", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}", ua(m)
        ),
        {400},
    ),
    (
        "absolute URI of B, Host and cookie of A",
        lambda x, m: request(
            f"GET http://{b_app(x)}/{m} HTTP/1.1", f"Host: {x.a.name(3000)}", f"Cookie: {x.a_cookie}", ua(m)
        ),
        {401},
    ),
    (
        "absolute URI of the pod's own port",
        lambda x, m: request(f"GET http://127.0.0.1:{x.b.host_port}/{m} HTTP/1.1", f"Host: {b_app(x)}", ua(m)),
        {421},
    ),
    (
        "X-Forwarded-Host of B from an unknown host",
        lambda x, m: request(f"GET /{m} HTTP/1.1", "Host: evil.example", f"X-Forwarded-Host: {b_app(x)}", ua(m)),
        {421},
    ),
    (
        "X-Forwarded-Host of A on B with A's cookie",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            f"X-Forwarded-Host: {x.a.name(3000)}",
            f"Cookie: {x.a_cookie}",
            ua(m),
        ),
        {401},
    ),
    (
        "A's cookie on B",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}", ua(m)),
        {401},
    ),
    (
        "A's cookie on B with X-Pinacle-Pod of A",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}", f"X-Pinacle-Pod: {x.a.slug}", ua(m)
        ),
        {401},
    ),
    (
        "A's cookie renamed and doubled",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}; {x.a_cookie}; pinacle_session=", ua(m)
        ),
        {401},
    ),
    (
        "forged cookie",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            f"Cookie: pinacle_session=v1.{int(time.time())}.{'A' * 43}",
            ua(m),
        ),
        {401},
    ),
    (
        "B's cookie expired 8 days ago, validly signed",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            f"Cookie: {x.b_cookie_issued(-8 * 86400)}",
            ua(m),
        ),
        {401},
    ),
    (
        "B's cookie issued in the future",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            f"Cookie: {x.b_cookie_issued(86400)}",
            ua(m),
        ),
        {401},
    ),
    (
        "forged login token",
        lambda x, m: request(
            f"GET /__pinacle/login?t=v1.{int(time.time()) + 60}.{'0' * 32}.{'A' * 43}&{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            ua(m),
        ),
        {403},
    ),
    (
        "expired login token, validly signed",
        lambda x, m: request(
            f"GET /__pinacle/login?t={x.b_token_expired()}&{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            ua(m),
        ),
        {403},
    ),
    (
        "A's login link used on B",
        lambda x, m: request(
            f"GET {x.a.login_url('web-terminal').split(x.a.name(7681), 1)[1]}&{m} HTTP/1.1",
            f"Host: {b_app(x)}",
            ua(m),
        ),
        {403},
    ),
    (
        "the internal check location",
        lambda x, m: request(f"GET /__pinacle/check?{m} HTTP/1.1", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}", ua(m)),
        {401, 404},
    ),
    (
        "CONNECT to B",
        lambda x, m: request(f"CONNECT {b_app(x)}:80 HTTP/1.1", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}", ua(m)),
        {400, 405},
    ),
    ("TRACE to B", lambda x, m: request(f"TRACE /{m} HTTP/1.1", f"Host: {b_app(x)}", ua(m)), {401, 405}),
    (
        "WebSocket upgrade with A's cookie",
        lambda x, m: request(
            f"GET /ws?{m} HTTP/1.1",
            f"Host: {x.b.name(7681)}",
            f"Cookie: {x.a_cookie}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            f"Origin: http://{x.b.name(7681)}",
            ua(m),
        ),
        {401},
    ),
    (
        "CL.TE smuggling",
        lambda x, m: request(
            "POST / HTTP/1.1",
            f"Host: {x.a.name(3000)}",
            "Content-Length: 6",
            "Transfer-Encoding: chunked",
            ua(m),
            body=f"0\r\n\r\nGET /{m} HTTP/1.1\r\nHost: {b_app(x)}\r\n{ua(m)}\r\n\r\n".encode(),
        ),
        {400},
    ),
    (
        "TE.CL smuggling",
        lambda x, m: request(
            "POST / HTTP/1.1",
            f"Host: {x.a.name(3000)}",
            "Content-Length: 4",
            "Transfer-Encoding: chunked",
            ua(m),
            body=f"5c\r\nGET /{m} HTTP/1.1\r\nHost: {b_app(x)}\r\n{ua(m)}\r\n\r\n0\r\n\r\n".encode(),
        ),
        {400},
    ),
    (
        "obfuscated Transfer-Encoding",
        lambda x, m: request(
            "POST / HTTP/1.1",
            f"Host: {x.a.name(3000)}",
            "Transfer-Encoding: chunked, identity",
            ua(m),
            body=f"0\r\n\r\nGET /{m} HTTP/1.1\r\nHost: {b_app(x)}\r\n\r\n".encode(),
        ),
        {400, 501},
    ),
    (
        "pipelined request for B behind a public one",
        lambda x, m: (
            request(f"GET /pub-{m} HTTP/1.1", f"Host: {x.a.name(3000)}", ua("public-" + m))
            + request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}", ua(m))
        ),
        {200, 404},
    ),
    (
        "path up and over to B",
        lambda x, m: request(f"GET /../../../{b_app(x)}/{m} HTTP/1.1", f"Host: {b_app(x)}", ua(m)),
        {400, 401},
    ),
    (
        "encoded path tricks",
        lambda x, m: request(f"GET /%2e%2e/%2f{b_app(x)}/{m} HTTP/1.1", f"Host: {b_app(x)}", ua(m)),
        {400, 401},
    ),
    (
        "double slash path to B on A's public port",
        lambda x, m: request(f"GET //{b_app(x)}/{m} HTTP/1.1", f"Host: {x.a.name(3000)}", ua("public-" + m)),
        {404},
    ),
    (
        "oversized cookie",
        lambda x, m: request(
            f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}", f"Cookie: {x.a_cookie}; pad={'x' * 20000}", ua(m)
        ),
        {400, 494},
    ),
    (
        "oversized request line",
        lambda x, m: request(f"GET /{m}{'x' * 20000} HTTP/1.1", f"Host: {b_app(x)}", ua(m)),
        {414},
    ),
    (
        "header with a line break inside",
        lambda x, m: request(f"GET /{m} HTTP/1.1", f"Host: {b_app(x)}\rX: y", ua(m)),
        {400},
    ),
]


def send(raw: bytes, timeout: float = 10, quiet: float = 0.7) -> bytes:
    """Send ``raw`` to the edge and read until it closes or falls silent for ``quiet`` seconds.

    The connection stays open for writing: nginx takes a client's half-close as an aborted request.
    """
    with socket.create_connection(EDGE_ADDRESS, timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                sock.settimeout(quiet)
        except TimeoutError:
            pass
    return received


def statuses(response: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"^HTTP/1\.[01] (\d{3})", response, re.MULTILINE)]


@pytest.fixture(scope="module")
def attack(edge_pods: tuple[EdgePodInfo, EdgePodInfo]) -> Iterator[Attack]:
    a, b = edge_pods
    yield Attack(a, b, a.cookie("web-terminal"), bytes.fromhex(b.secret()))


@pytest.fixture(scope="module")
def results() -> dict[str, bool]:
    return {}


def test_the_table_has_at_least_25_rows() -> None:
    assert len(ROWS) >= 25


@pytest.mark.parametrize(("row", "build", "allowed"), ROWS, ids=[r[0] for r in ROWS])
def test_a_hostile_request_reaches_no_pod(attack: Attack, row: str, build: Build, allowed: set[int]) -> None:
    mark = uuid.uuid4().hex
    response = send(build(attack, mark))
    answered = statuses(response)
    assert answered, f"no HTTP answer: {response[:200]!r}"
    assert answered[0] in allowed, response[:400]
    assert mark.encode() not in response.split(b"\r\n\r\n", 1)[-1] or answered[0] in (400, 414), response[:400]
    for pod in (attack.a, attack.b):
        seen = [line for line in pod.router_log().splitlines() if f"hostile-{mark}" in line]
        assert not seen, f"pod {pod.slug}'s router saw it: {seen}"


def test_the_marker_does_arrive_with_the_right_cookie(attack: Attack) -> None:
    mark = uuid.uuid4().hex
    cookie = attack.b.cookie("app")
    response = send(request(f"GET /{mark} HTTP/1.1", f"Host: {b_app(attack)}", f"Cookie: {cookie}", ua(mark)))
    assert statuses(response)[0] == 404  # the app's own "no such file"
    assert f"hostile-{mark}" in attack.b.router_log()


@pytest.fixture(scope="module")
def target(attack: Attack) -> Target:
    """The other table's view of the same two pods: B the victim, A the attacker's own pod."""
    return Target(
        domain=attack.b.domain,
        port=EDGE_ADDRESS[1],
        victim=attack.b.slug,
        victim_port=7681,
        victim_host_port=attack.b.host_port,
        other=attack.a.slug,
        other_secret=attack.a.secret(),
        victim_secret=attack.b.secret(),
    )


@pytest.mark.parametrize("case", HOSTILE_REQUESTS, ids=[case.id for case in HOSTILE_REQUESTS])
def test_a_request_of_the_hostile_table_never_reaches_the_victim(
    attack: Attack, target: Target, case: HostileRequest
) -> None:
    # tests/integration/edge/hostile_requests.py (auth's table): no marker in these requests, so the
    # proof is that the victim's router log gains no line at all while the request is answered.
    before = attack.b.router_log()
    raw = case.build(target)
    answer = send(raw)
    # That table takes the attacker's own pod to be private; here A's main name is public (its app
    # port is), so what A's own name answers is A's business: only the victim's side is checked.
    if f"Host: {target.other_host}".encode() not in raw:
        assert set(hostile_statuses(answer)) <= case.refused, (case.attack, answer[:300])
    assert attack.b.router_log() == before, f"pod {attack.b.slug}'s router saw: {case.attack}"
