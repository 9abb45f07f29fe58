"""Facts about a pod host: its init system, package manager, Docker daemon and gVisor runtime."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class InitSystem(FactBase[str]):
    """``systemd``, ``openrc`` or ``none`` (a container or VM whose PID 1 is not an init system)."""

    def command(self) -> str:
        return (
            "if [ -d /run/systemd/system ]; then echo systemd; "
            "elif command -v openrc-run >/dev/null 2>&1 || [ -d /run/openrc ]; then echo openrc; "
            "else echo none; fi"
        )

    def process(self, output: list[str]) -> str:
        return output[0].strip() if output else "none"


class HostPackageManager(FactBase[str | None]):
    """``apt`` or ``apk``; None on hosts pinacle does not provision."""

    def command(self) -> str:
        return (
            "if command -v apk >/dev/null 2>&1; then echo apk; "
            "elif command -v apt-get >/dev/null 2>&1; then echo apt; else echo unknown; fi"
        )

    def process(self, output: list[str]) -> str | None:
        value = output[0].strip() if output else ""
        return value if value in ("apt", "apk") else None


class FileText(FactBase[str | None]):
    """The whole text of a file, or None when it does not exist."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -f {quoted} ]; then echo present; cat {quoted}; else echo absent; fi"

    def process(self, output: list[str]) -> str | None:
        if not output or output[0] != "present":
            return None
        return "\n".join(output[1:]) + "\n"


class FileSha512(FactBase[str | None]):
    """SHA-512 of a file, or None when it does not exist."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -f {quoted} ]; then sha512sum {quoted}; else echo absent; fi"

    def process(self, output: list[str]) -> str | None:
        first = output[0].split() if output else []
        return first[0] if first and first[0] != "absent" else None


class RunscVersion(FactBase[str | None]):
    """The version a runsc binary reports (``release-20250715.0``, ``0.0~20221219.0``), or None."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -x {quoted} ]; then {quoted} --version 2>/dev/null | head -n 1; fi; true"

    def process(self, output: list[str]) -> str | None:
        for line in output:
            if line.startswith("runsc version "):
                return line.split(" ", 2)[2].strip()
        return None


class RunningProcesses(FactBase[set[str]]):
    """Which of the given daemons have a running process (``pidof``, busybox and procps alike)."""

    def command(self, names: tuple[str, ...] = ("containerd", "dockerd")) -> str:
        checks = " ".join(shlex.quote(n) for n in names)
        return f'for p in {checks}; do pidof "$p" >/dev/null 2>&1 && echo "$p"; done; true'

    def process(self, output: list[str]) -> set[str]:
        return {line.strip() for line in output if line.strip()}

    @staticmethod
    def default() -> set[str]:
        return set()


class DockerServer(FactBase[dict[str, object] | None]):
    """The Docker daemon as its API answers: version, runtimes, default runtime; None when down."""

    def command(self) -> str:
        return (
            "docker info --format "
            "'{{.ServerVersion}}|{{range $k, $v := .Runtimes}}{{$k}},{{end}}|{{.DefaultRuntime}}' "
            "2>/dev/null || echo down"
        )

    def process(self, output: list[str]) -> dict[str, object] | None:
        line = output[-1].strip() if output else "down"
        if line == "down" or line.count("|") != 2:
            return None
        version, runtimes, default = line.split("|")
        return {
            "version": version,
            "runtimes": sorted(r for r in runtimes.split(",") if r),
            "default_runtime": default,
        }


class DockerImageId(FactBase[str | None]):
    """The ID of a local image, or None."""

    def command(self, image: str) -> str:
        return f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(image)} 2>/dev/null || echo absent"

    def process(self, output: list[str]) -> str | None:
        value = output[-1].strip() if output else "absent"
        return None if value in ("absent", "") else value


class RuntimeProbe(FactBase[dict[str, object]]):
    """Start a throwaway container under a runtime and report what kernel answered.

    A fact, not an operation: proving the runtime works changes nothing on the host.
    """

    def command(self, runtime: str, image: str) -> str:
        return (
            f"out=$(docker run --rm --runtime={shlex.quote(runtime)} {shlex.quote(image)} "
            '/bin/busybox dmesg 2>&1); rc=$?; echo "rc=$rc"; printf \'%s\\n\' "$out"; true'
        )

    def process(self, output: list[str]) -> dict[str, object]:
        rc = int(output[0].removeprefix("rc=")) if output and output[0].startswith("rc=") else -1
        text = "\n".join(output[1:])
        return {"ok": rc == 0 and "gVisor" in text, "rc": rc, "output": text}
