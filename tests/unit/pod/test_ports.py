"""pinacle.pod.ports: which host ports are taken, and the one a pod gets. Plain asserts."""

from __future__ import annotations

from pinacle.pod.ports import choose_port, listening_ports, lowest_free_port

# /proc/net/tcp and /proc/net/tcp6 as Linux prints them: a header, then one socket per line.
PROC_NET_TCP = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:7530 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41187 1 0",
    "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20123 1 0",
    "   2: 0100007F:7531 0100007F:D6A2 01 00000000:00000000 00:00000000 00000000     0        0 41999 1 0",
]
PROC_NET_TCP6 = [
    "  sl  local_address                         remote_address                        st tx_queue rx_queue",
    "   0: 00000000000000000000000000000000:7532 00000000000000000000000000000000:0000 0A 00000000:00000000",
]

RANGE = (30000, 30010)


def test_listening_ports_reads_ipv4_sockets_in_listen_state() -> None:
    assert listening_ports(PROC_NET_TCP) == {30000, 22}


def test_listening_ports_skips_established_connections() -> None:
    assert 30001 not in listening_ports(PROC_NET_TCP)


def test_listening_ports_reads_ipv6_sockets() -> None:
    assert listening_ports(PROC_NET_TCP6) == {30002}


def test_listening_ports_ignores_lines_that_are_not_sockets() -> None:
    assert listening_ports(["", "garbage", "0: nohex:ZZZZ 00000000:0000 0A"]) == set()


def test_lowest_free_port_is_the_bottom_of_an_empty_range() -> None:
    assert lowest_free_port(RANGE, set()) == 30000


def test_lowest_free_port_skips_taken_ports() -> None:
    assert lowest_free_port(RANGE, {30000, 30001, 30003}) == 30002


def test_lowest_free_port_includes_the_top_of_the_range() -> None:
    assert lowest_free_port((30000, 30001), {30000}) == 30001


def test_full_range_has_no_free_port() -> None:
    assert lowest_free_port((30000, 30001), {30000, 30001}) is None


def test_a_pinned_port_is_used_as_given() -> None:
    assert choose_port("demo", RANGE, {31000: "other"}, pinned=31000, held=30004) == 31000


def test_the_port_a_pod_holds_is_kept() -> None:
    assert choose_port("demo", RANGE, {30000: "other", 30004: "demo"}, held=30004) == 30004


def test_a_held_port_nothing_else_claims_is_kept() -> None:
    # An interrupted replacement: the record says 30004, no container holds it right now.
    assert choose_port("demo", RANGE, {}, held=30004) == 30004


def test_a_held_port_another_pod_took_is_not_kept() -> None:
    assert choose_port("demo", RANGE, {30004: "other"}, held=30004) == 30000


def test_a_held_port_another_process_listens_on_is_not_kept() -> None:
    assert choose_port("demo", RANGE, {30004: ""}, held=30004) == 30000


def test_without_a_held_port_the_lowest_free_one_skips_other_pods_and_listeners() -> None:
    assert choose_port("demo", RANGE, {30000: "other", 30001: ""}) == 30002


def test_the_pods_own_ports_do_not_count_as_taken() -> None:
    assert choose_port("demo", RANGE, {30000: "demo", 30001: "other"}) == 30000


def test_a_full_range_gives_no_port() -> None:
    assert choose_port("demo", (30000, 30001), {30000: "other", 30001: ""}) is None
