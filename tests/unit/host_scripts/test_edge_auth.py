"""The host script pinacle-edge-auth, run for real: its commands on a temporary state directory and
its daemon answering real HTTP on its real unix socket (what the edge's nginx asks)."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from tests.unit.host_scripts.conftest import EDGE_AUTH, EdgeAuth

WEEK = 7 * 24 * 3600


def sign(secret: str, message: str) -> str:
    """The contract's MAC, computed independently of the script: HMAC-SHA256 keyed by the secret's bytes."""
    digest = hmac.new(bytes.fromhex(secret), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def cookie_issued_at(secret: str, slug: str, issued: int) -> str:
    return f"pinacle_session=v1.{issued}.{sign(secret, f'session|{slug}|{issued}')}"


def token_url(secret: str, slug: str, expires: int, nonce: str = "ab" * 16) -> str:
    mac = sign(secret, f"login|{slug}|{expires}|{nonce}")
    return f"http://pod-{slug}.localhost/__pinacle/login?t=v1.{expires}.{nonce}.{mac}"


def test_script_is_executable_and_runs_by_its_shebang(tmp_path: Path) -> None:
    assert EDGE_AUTH.stat().st_mode & 0o111
    result = subprocess.run(
        [str(EDGE_AUTH), "ensure", "demo", "--state", str(tmp_path)], capture_output=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout) == (0, b"")


def test_ensure_creates_a_root_only_secret_of_64_hex_characters(edge_auth: EdgeAuth) -> None:
    edge_auth.command("ensure", "demo")
    secret = edge_auth.state / "secrets" / "demo"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    content = secret.read_text()
    assert len(content) == 65 and content.endswith("\n") and int(content, 16) >= 0


def test_ensure_keeps_an_existing_secret(edge_auth: EdgeAuth) -> None:
    first = edge_auth.secret("demo")
    edge_auth.command("ensure", "demo")
    assert edge_auth.secret("demo") == first


def test_rotate_prints_a_new_secret(edge_auth: EdgeAuth) -> None:
    first = edge_auth.secret("demo")
    rotated = edge_auth.command("token", "demo", "--rotate").stdout.strip()
    assert rotated != first and edge_auth.secret("demo") == rotated


def test_forget_deletes_the_secret_and_is_idempotent(edge_auth: EdgeAuth) -> None:
    edge_auth.command("ensure", "demo")
    edge_auth.command("forget", "demo")
    edge_auth.command("forget", "demo")
    assert not (edge_auth.state / "secrets" / "demo").exists()


@pytest.mark.parametrize("slug", ["../etc", "Demo", "-x", "a" * 43, "x.y", ""])
def test_commands_refuse_a_bad_slug(edge_auth: EdgeAuth, slug: str) -> None:
    result = edge_auth.command("ensure", slug, check=False)
    assert result.returncode != 0 and "slug" in result.stderr
    assert not (edge_auth.state / "secrets").exists() or not any((edge_auth.state / "secrets").iterdir())


@pytest.mark.parametrize(
    "base", ["ftp://pod-demo.localhost", "http://pod-demo.localhost/x", "http://a b", "http://h:0"]
)
def test_login_url_refuses_a_bad_base_url(edge_auth: EdgeAuth, base: str) -> None:
    result = edge_auth.command("login-url", "demo", base, check=False)
    assert result.returncode != 0 and result.stdout == ""


def test_login_url_is_the_base_url_with_the_login_path(edge_auth: EdgeAuth) -> None:
    url = edge_auth.login_url("demo", "https://localhost-3000.pod-demo.example.com:8443/")
    assert url.startswith("https://localhost-3000.pod-demo.example.com:8443/__pinacle/login?t=v1.")


def test_check_accepts_a_valid_cookie(edge_auth: EdgeAuth) -> None:
    assert edge_auth.check("demo", edge_auth.cookie_of("demo")) == 204


def test_check_accepts_the_cookie_among_others(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    assert edge_auth.check("demo", f"a=1; pinacle_session=junk; {cookie}; b=2") == 204


def test_check_refuses_a_missing_cookie(edge_auth: EdgeAuth) -> None:
    edge_auth.command("ensure", "demo")
    assert edge_auth.check("demo", None) == 401
    assert edge_auth.check("demo", "other=1") == 401


def test_check_refuses_a_forged_cookie(edge_auth: EdgeAuth) -> None:
    secret = edge_auth.secret("demo")
    now = int(time.time())
    forged = cookie_issued_at("00" * 32, "demo", now)
    assert edge_auth.check("demo", forged) == 401
    tampered = cookie_issued_at(secret, "demo", now).replace(f"v1.{now}.", f"v1.{now + 1}.")
    assert edge_auth.check("demo", tampered) == 401


def test_check_refuses_another_pods_cookie(edge_auth: EdgeAuth) -> None:
    edge_auth.command("ensure", "bob")
    assert edge_auth.check("bob", edge_auth.cookie_of("alice")) == 401


def test_check_refuses_a_cookie_older_than_seven_days(edge_auth: EdgeAuth) -> None:
    secret = edge_auth.secret("demo")
    now = int(time.time())
    assert edge_auth.check("demo", cookie_issued_at(secret, "demo", now - WEEK + 30)) == 204
    assert edge_auth.check("demo", cookie_issued_at(secret, "demo", now - WEEK - 1)) == 401


def test_check_refuses_a_cookie_issued_in_the_future(edge_auth: EdgeAuth) -> None:
    secret = edge_auth.secret("demo")
    assert edge_auth.check("demo", cookie_issued_at(secret, "demo", int(time.time()) + 3600)) == 401


def test_check_refuses_every_cookie_of_a_pod_without_secret(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    edge_auth.command("forget", "demo")
    assert edge_auth.check("demo", cookie) == 401


def test_login_sets_the_session_cookie_and_redirects(edge_auth: EdgeAuth) -> None:
    response = edge_auth.login("demo", edge_auth.login_url("demo"))
    assert response.status == 302 and response.headers["Location"] == "/"
    value = response.headers["Set-Cookie"].split(";")[0].removeprefix("pinacle_session=")
    assert response.headers["Set-Cookie"] == (
        f"pinacle_session={value}; Domain=pod-demo.localhost; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800"
    )
    assert response.headers.get_all("Set-Cookie") == [response.headers["Set-Cookie"]]
    assert response.headers["Cache-Control"] == "no-store"


def test_login_under_https_adds_secure(edge_auth: EdgeAuth) -> None:
    response = edge_auth.login("demo", edge_auth.login_url("demo"), scheme="https")
    assert response.status == 302
    attributes = response.headers["Set-Cookie"].split("; ")[1:]
    assert attributes == ["Domain=pod-demo.localhost", "Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=604800"]


def test_login_cookie_is_signed_as_the_contract_says(edge_auth: EdgeAuth) -> None:
    secret = edge_auth.secret("demo")
    _, issued, mac = edge_auth.cookie_of("demo").removeprefix("pinacle_session=").split(".")
    assert abs(int(issued) - time.time()) < 60 and mac == sign(secret, f"session|demo|{issued}")


def test_login_refuses_a_reused_token(edge_auth: EdgeAuth) -> None:
    url = edge_auth.login_url("demo")
    assert edge_auth.login("demo", url).status == 302
    refused = edge_auth.login("demo", url)
    assert refused.status == 403 and "Set-Cookie" not in refused.headers


def test_login_refuses_a_token_used_before_a_restart(edge_auth: EdgeAuth) -> None:
    url = edge_auth.login_url("demo")
    assert edge_auth.login("demo", url).status == 302
    edge_auth.stop()
    edge_auth.start()
    assert edge_auth.login("demo", url).status == 403


def test_login_refuses_an_expired_token(edge_auth: EdgeAuth) -> None:
    secret = edge_auth.secret("demo")
    assert edge_auth.login("demo", token_url(secret, "demo", int(time.time()) - 1)).status == 403


def test_login_refuses_a_token_that_expired_while_waiting(edge_auth: EdgeAuth) -> None:
    url = edge_auth.login_url("demo", ttl=1)
    time.sleep(2.1)
    assert edge_auth.login("demo", url).status == 403


def test_login_refuses_a_forged_token(edge_auth: EdgeAuth) -> None:
    edge_auth.command("ensure", "demo")
    assert edge_auth.login("demo", token_url("11" * 32, "demo", int(time.time()) + 60)).status == 403


def test_login_refuses_another_pods_token(edge_auth: EdgeAuth) -> None:
    edge_auth.command("ensure", "bob")
    assert edge_auth.login("bob", edge_auth.login_url("alice")).status == 403


def test_login_refusal_page_names_the_command_and_never_echoes_the_token(edge_auth: EdgeAuth) -> None:
    url = edge_auth.login_url("demo")
    edge_auth.login("demo", url)
    connection_response = edge_auth.raw(
        f"GET {url[url.index('/login') :]} HTTP/1.1\r\nX-Pinacle-Pod: demo\r\n"
        "X-Pinacle-Cookie-Domain: pod-demo.localhost\r\nX-Pinacle-Scheme: http\r\nConnection: close\r\n\r\n".encode()
    )
    assert connection_response.startswith(b"HTTP/1.1 403")
    assert b"pinacle open demo" in connection_response
    assert url.split("t=")[1].encode() not in connection_response


@pytest.mark.parametrize(
    ("domain", "scheme"),
    [("pod-other.localhost", "http"), ("evil.com", "http"), ("pod-demo.localhost", "gopher"), ("", "http")],
)
def test_login_refuses_bad_cookie_domain_or_scheme_without_using_the_token(
    edge_auth: EdgeAuth, domain: str, scheme: str
) -> None:
    url = edge_auth.login_url("demo")
    path = url[url.index("/login") :]
    headers = {"X-Pinacle-Pod": "demo", "X-Pinacle-Cookie-Domain": domain, "X-Pinacle-Scheme": scheme}
    assert edge_auth.request(path, headers).status == 400
    assert edge_auth.login("demo", url).status == 302


def test_rotation_invalidates_earlier_cookies_and_tokens_at_once(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    pending = edge_auth.login_url("demo")
    assert edge_auth.check("demo", cookie) == 204
    edge_auth.command("token", "demo", "--rotate")
    assert edge_auth.check("demo", cookie) == 401
    assert edge_auth.login("demo", pending).status == 403
    assert edge_auth.check("demo", edge_auth.cookie_of("demo")) == 204


def test_a_secret_rewritten_in_place_is_read_again(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    secret_file = edge_auth.state / "secrets" / "demo"
    secret_file.write_text("cd" * 32 + "\n")
    os.utime(secret_file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert edge_auth.check("demo", cookie) == 401
    assert edge_auth.check("demo", cookie_issued_at("cd" * 32, "demo", int(time.time()))) == 204


def test_a_malformed_secret_refuses_everything(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    (edge_auth.state / "secrets" / "demo").write_text("not hex\n")
    assert edge_auth.check("demo", cookie) == 401


@pytest.mark.parametrize("pod", ["../secrets/demo", "Demo", "demo.", "-demo", "a" * 43, "demo x", ""])
def test_check_refuses_a_bad_slug_header(edge_auth: EdgeAuth, pod: str) -> None:
    cookie = edge_auth.cookie_of("demo")
    assert edge_auth.request("/check", {"X-Pinacle-Pod": pod, "Cookie": cookie}).status == 400


def test_check_refuses_a_missing_or_repeated_slug_header(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    assert edge_auth.request("/check", {"Cookie": cookie}).status == 400
    repeated = [("X-Pinacle-Pod", "demo"), ("X-Pinacle-Pod", "demo"), ("Cookie", cookie)]
    assert edge_auth.request("/check", repeated).status == 400


def test_check_answers_any_method_of_the_original_request(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    for method in ("POST", "PUT", "DELETE", "HEAD", "OPTIONS"):
        assert edge_auth.request("/check", {"X-Pinacle-Pod": "demo", "Cookie": cookie}, method=method).status == 204


def test_unknown_paths_are_not_found(edge_auth: EdgeAuth) -> None:
    assert edge_auth.request("/secrets/demo", {"X-Pinacle-Pod": "demo"}).status == 404


def test_oversized_headers_are_refused_with_431(edge_auth: EdgeAuth) -> None:
    big = b"X-Pad: " + b"a" * 70_000 + b"\r\n"
    answer = edge_auth.raw(b"GET /check HTTP/1.1\r\nX-Pinacle-Pod: demo\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(80))
    assert edge_auth.raw(b"GET /check HTTP/1.1\r\nX-Pinacle-Pod: demo\r\n" + many + b"\r\n").startswith(b"HTTP/1.1 431")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /check\r\n\r\n",
        b"GET /check HTTP/9.9\r\n\r\n",
        b"GET /check HTTP/1.1\r\nno colon here\r\n\r\n",
        b"\r\n" * 5000,
        b"GET /check HTTP/1.1\r\nX-Pinacle-Pod: demo\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /check HTTP/1.1\r\nX-Pinacle-Pod: d\xe9mo\r\n\r\n",
        b"GET /check HTTP/1.1\r\nX-Pinacle-Pod: demo\r\nCookie: pinacle_session=\xff\xfe.\x00\r\n\r\n",
    ],
)
def test_garbage_gets_no_credit_and_the_daemon_keeps_serving(edge_auth: EdgeAuth, garbage: bytes) -> None:
    cookie = edge_auth.cookie_of("demo")
    answer = edge_auth.raw(garbage)
    assert b" 204 " not in answer.split(b"\r\n")[0]
    assert edge_auth.check("demo", cookie) == 204


def test_a_silent_client_is_dropped_after_the_request_timeout(tmp_path: Path) -> None:
    daemon = EdgeAuth(state=tmp_path / "state", socket_path=tmp_path / "auth.sock")
    daemon.start("--request-timeout", "1")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(daemon.socket_path))
            sock.sendall(b"GET /check HTTP/1.1\r\n")  # and never the rest
            started = time.monotonic()
            assert sock.recv(1024) == b""
            assert time.monotonic() - started < 5
    finally:
        daemon.stop()


def test_keep_alive_connection_serves_several_requests(edge_auth: EdgeAuth) -> None:
    cookie = edge_auth.cookie_of("demo")
    request = f"GET /check HTTP/1.1\r\nX-Pinacle-Pod: demo\r\nCookie: {cookie}\r\n\r\n".encode()
    answer = edge_auth.raw(request + request.replace(b"demo", b"other", 1))
    assert answer.count(b"HTTP/1.1 204") == 1 and answer.count(b"HTTP/1.1 401") == 1


def test_socket_mode_is_as_asked(tmp_path: Path) -> None:
    daemon = EdgeAuth(state=tmp_path / "state", socket_path=tmp_path / "auth.sock")
    daemon.start("--socket-mode", "0660")
    try:
        assert stat.S_IMODE(daemon.socket_path.stat().st_mode) == 0o660
    finally:
        daemon.stop()
    assert not daemon.socket_path.exists()


def test_a_second_daemon_on_the_same_socket_is_refused(edge_auth: EdgeAuth) -> None:
    result = subprocess.run(
        [str(EDGE_AUTH), "serve", "--socket", str(edge_auth.socket_path), "--state", str(edge_auth.state)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0 and "another daemon" in result.stderr


def test_used_logins_file_is_root_only(edge_auth: EdgeAuth) -> None:
    edge_auth.cookie_of("demo")
    assert stat.S_IMODE((edge_auth.state / "used-logins").stat().st_mode) == 0o600


def test_nothing_secret_reaches_the_logs(edge_auth: EdgeAuth) -> None:
    secret = edge_auth.secret("demo")
    url = edge_auth.login_url("demo")
    token = url.split("t=")[1]
    cookie = edge_auth.cookie_of("demo").removeprefix("pinacle_session=")
    edge_auth.login("demo", url)
    edge_auth.check("demo", f"pinacle_session={cookie}")
    edge_auth.raw(f"GET /login?t={token} HTTP/9\r\n\r\n".encode())
    edge_auth.raw(f"BAD{token} {cookie}\r\n\r\n".encode())
    logs = edge_auth.stop()
    assert b"GET /check 204 pod=demo" in logs and b"GET /login 302 pod=demo" in logs
    for value in (secret, token, cookie, token.split(".")[2], cookie.split(".")[2]):
        assert value.encode() not in logs
    assert all(secret.encode() not in out for out in edge_auth.outputs[1::2])  # the commands' stderr


def test_the_script_parses_as_python_3_9() -> None:
    """The contract's floor (Debian bullseye's python3): no newer syntax anywhere in the script."""
    ast.parse(EDGE_AUTH.read_text(), filename=str(EDGE_AUTH), feature_version=(3, 9))
