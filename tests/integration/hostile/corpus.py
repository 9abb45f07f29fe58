"""A corpus of hostile pod files, generated: each names what it attacks and whether it must be refused.

``refuse`` cases must make ``pinacle-deploy`` exit 65 naming the file, before any host is contacted.
``accept`` cases are valid pod files whose strings are hostile: they must resolve, and everything
rendered from them (router config, supervisor programs, docker arguments) must keep those strings
inert. Every slug starts with ``hostile-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

_URL_PATH = re.compile(r"[A-Za-z0-9._~!&()*+,=:@/?%-]*")


@dataclass(frozen=True)
class Case:
    id: str
    content: bytes
    expect: str  # "refuse" or "accept"
    slug: str = ""


SHELL = ["$(touch /tmp/pinacle-pwned)", "`touch /tmp/pinacle-pwned`", "a;touch /tmp/pinacle-pwned", "a|id", "a&&id",
         "'\"'\"'", "\"; id; \"", "${IFS}id", "a\nb", "a\rb", "a\x00b", "\u202etxt.exe", "\U0001f600"]  # fmt: skip
NGINX = ["x; } server { listen 81; }", 'x" ; return 200 "owned', "x}", "x{", "$host", "x;include /etc/passwd;"]


def _pod(slug: str, **fields: object) -> dict[str, object]:
    return {"name": f"hostile {slug}", "slug": slug, "services": ["web-terminal"], **fields}


def _dump(data: object) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


def _refuse(case_id: str, data: object) -> Case:
    return Case(case_id, data if isinstance(data, bytes) else _dump(data), "refuse")


def cases() -> list[Case]:
    found: list[Case] = []
    # Shell and Nginx metacharacters in every string field that has a grammar.
    for index, bad in enumerate(SHELL + NGINX):
        found.append(_refuse(f"slug-{index}", _pod(f"hostile-{bad}")))
        found.append(_refuse(f"image-{index}", _pod("hostile-image", image=f"pinacle/base:{bad}")))
        if not _URL_PATH.fullmatch(bad):  # '&' and the like are fine in a URL path (and quoted for curl)
            port = {"name": "app", "port": 3000, "health_path": f"/{bad}"}
            found.append(_refuse(f"health-path-{index}", _pod("hostile-hp", ports=[port])))
        found.append(_refuse(f"app-name-{index}", _pod("hostile-app", ports=[{"name": f"app{bad}", "port": 3000}])))
    for index, bad in enumerate(["runc", "crun", "runsc;id", "runsc\n", "$(id)", "r" * 65]):
        found.append(_refuse(f"runtime-{index}", _pod("hostile-runtime", runtime=bad)))
    for index, bad in enumerate(["../../etc/passwd", "/etc/passwd", "..", "web-terminal/../python-app", "django",
                                 "web-terminal\n", "x" * 100]):  # fmt: skip
        found.append(_refuse(f"template-{index}", _pod("hostile-template", template=bad)))
    for index, bad in enumerate(["A;B", "A B", "PINACLE_DOMAIN", "1A", "A\n", "K" * 129]):
        found.append(_refuse(f"env-key-{index}", _pod("hostile-env", env={bad: "x"})))
    found += [
        _refuse("name-newline", _pod("hostile-name", name="a\nb")),
        _refuse("name-nul", _pod("hostile-name", name="a\x00b")),
        _refuse("name-bidi", _pod("hostile-name", name="\u202eevil")),
        _refuse("name-long", _pod("hostile-name", name="n" * 101)),
        _refuse(
            "command-newline", _pod("hostile-cmd", ports=[{"name": "app", "port": 3000, "command": "a\n[program:x]"}])
        ),
        _refuse("command-nul", _pod("hostile-cmd", ports=[{"name": "app", "port": 3000, "command": "a\x00b"}])),
        _refuse("command-u2028", _pod("hostile-cmd", ports=[{"name": "app", "port": 3000, "command": "a\u2028b"}])),
        _refuse("command-100k", _pod("hostile-cmd", ports=[{"name": "app", "port": 3000, "command": "x" * 60_000}])),
        _refuse(
            "ports-2000",
            b"name: x\nslug: hostile-ports\nports:\n"
            + b"".join(b"- {name: a%d, port: %d}\n" % (i, 3000 + i) for i in range(2000)),
        ),
        _refuse("ports-40", _pod("hostile-ports", ports=[{"name": f"a{i}", "port": 3000 + i} for i in range(40)])),
        _refuse("env-200kb", _pod("hostile-env", env={f"K{i}": "v" * 8000 for i in range(7)})),
        _refuse("env-200-entries", _pod("hostile-env", env={f"K{i}": "v" for i in range(200)})),
        _refuse("env-value-nul", _pod("hostile-env", env={"A": "x\x00y"})),
        _refuse("env-value-number", b"name: x\nslug: hostile-env\nservices: [web-terminal]\nenv: {PIN: 1234}\n"),
        _refuse("host-port-privileged", _pod("hostile-hostport", host_port=80)),
        _refuse("port-80", _pod("hostile-port", ports=[{"name": "app", "port": 80}])),
        _refuse("port-string", _pod("hostile-port", ports=[{"name": "app", "port": "3000; id"}])),
        _refuse("memory-injection", _pod("hostile-mem", resources={"memory": "512m --privileged"})),
        _refuse("cpus-nan", b"name: x\nslug: hostile-cpu\nservices: [web-terminal]\nresources: {cpus: .nan}\n"),
        _refuse("unknown-service", _pod("hostile-svc", services=["web-terminal;id"])),
        _refuse("unknown-key", _pod("hostile-key", privileged=True)),
        _refuse("wrong-type-top", b"- name: x\n- slug: y\n"),
        _refuse("wrong-type-ports", b"name: x\nslug: hostile-x\nports: {a: 1}\n"),
        _refuse("duplicate-key", b"name: x\nslug: hostile-dup\nslug: hostile-dup2\nservices: [web-terminal]\n"),
        _refuse("boolean-key", b"name: x\nslug: hostile-bool\nservices: [web-terminal]\non: 1\n"),
        _refuse(
            "billion-laughs",
            b"".join(
                b"%s: &%s [%s]\n" % (n.encode(), n.encode(), b", ".join([b"*" + p.encode() if p else b"lol"] * 9))
                for p, n in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
            ),
        ),
        _refuse(
            "doubling-bomb",
            b"l0: &l0 [x, x]\n" + b"".join(b"l%d: &l%d [*l%d, *l%d]\n" % (i, i, i - 1, i - 1) for i in range(1, 30)),
        ),
        _refuse("recursive-alias", b"name: x\nslug: hostile-rec\nservices: &a [*a]\n"),
        _refuse("deep-flow", b"name: x\nslug: hostile-deep\nenv: " + b"[" * 30_000 + b"\n"),
        _refuse("deep-block", b"- " * 30_000 + b"x\n"),
        _refuse("huge-file", b"name: x\nslug: hostile-huge\n#" + b"x" * (10 * 1024 * 1024) + b"\n"),
        _refuse("many-values", b"services: [" + b", ".join([b"a"] * 30_000) + b"]\n"),
        _refuse("huge-int", b"name: x\nslug: hostile-int\nhost_port: " + b"9" * 50_000 + b"\n"),
        _refuse("python-tag", b"name: !!python/object/apply:os.system ['id']\nslug: hostile-tag\n"),
        _refuse("timestamp", b"name: 2001-13-45\nslug: hostile-date\nservices: [web-terminal]\n"),
        _refuse("binary-file", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4),
        _refuse("nul-in-text", b"name: x\x00\nslug: hostile-nul\n"),
        _refuse("secret-file", b"sk-live-4f9c2b7e1a8d60354f9c2b7e1a8d6035\n"),
        _refuse(
            "private-key",
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n"
            b"-----END OPENSSH PRIVATE KEY-----\n",
        ),
        _refuse("two-documents", b"name: x\nslug: hostile-two\nservices: [web-terminal]\n---\nname: y\n"),
        _refuse("empty", b""),
        _refuse("syntax-error", b"name: [x\nslug: hostile-syntax\n"),
        _refuse("default-port-undeclared", _pod("hostile-default", default_port=22)),
        _refuse("domain-in-name-field", _pod("hostile-x.evil.com")),
    ]
    # Valid pod files whose free-text strings are hostile: accepted, and must stay inert downstream.
    for index, bad in enumerate([s for s in SHELL + NGINX if s.isprintable()]):
        slug = f"hostile-ok-{index}"
        data = _pod(slug, name=f"n{bad}"[:100], env={"HOSTILE": bad},
                    ports=[{"name": "app", "port": 3000, "command": f"sh -c 'echo {bad}' %(ENV_HOME)s"}])  # fmt: skip
        found.append(Case(f"valid-hostile-strings-{index}", _dump(data), "accept", slug))
    return found
