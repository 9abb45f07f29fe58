"""A read is a command, a parser and a default: its result, and output split as pyinfra splits it."""

from __future__ import annotations

from pinacle.readers import Read, split_output


def test_a_read_parses_output_and_falls_back_to_its_default_on_silence() -> None:
    read = Read("echo hi", lambda lines: ",".join(lines), lambda: "nothing")
    assert read.result(["a", "b"]) == "a,b"
    assert read.result([]) == "nothing"


def test_output_is_split_into_lines_without_their_newlines() -> None:
    assert split_output(b"") == []
    assert split_output(b"one\n") == ["one"]
    assert split_output(b"one\n\ntwo") == ["one", "", "two"]
    assert split_output(b"a\r\nb\n") == ["a\r", "b"]  # as pyinfra: only the newline goes


def test_output_that_is_not_utf8_is_replaced_not_refused() -> None:
    assert split_output(b"caf\xe9\n") == ["caf\ufffd"]
