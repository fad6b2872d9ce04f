"""The preflight's read of the sockets bound on this host: every file it opens is closed, and
/proc/net's tables are read as the kernel writes them (addresses in host byte order)."""

from __future__ import annotations

import gc
import warnings

from reconciler import preflight

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 10 0
   1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 10 0
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_reading_the_sockets_leaves_no_file_open():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        preflight.listening()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


def test_tcp_keeps_the_listening_sockets_only():
    assert preflight.sockets("tcp", TCP, listen_only=True) == {("tcp", 8080, "127.0.0.1")}


def test_udp_keeps_every_bound_socket():
    assert preflight.sockets("udp", TCP, listen_only=False) == {("udp", 8080, "127.0.0.1"), ("udp", 41668, "127.0.0.1")}


def test_ipv6_addresses_are_read_word_by_word():
    assert preflight.sockets("tcp", TCP6, listen_only=True) == {("tcp", 53, "::1")}
