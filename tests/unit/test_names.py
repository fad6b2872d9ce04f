"""Names from the kernel are bytes: decoded exactly (a round trip gives the same bytes back), shown with
the bytes that are not UTF-8 as \\xNN, and text only when every byte decoded."""

from __future__ import annotations

from reconciler.kernel.names import decode, encode, is_text, shown

ODD = [b"a\xffb", b"e\x1bc", b"\xc3\xa9t\xc3\xa9", b"q\xfe\xfdz", b"x\xc3"]


def test_every_name_round_trips_to_its_own_bytes():
    assert [encode(decode(raw)) for raw in ODD] == ODD


def test_only_names_of_utf8_bytes_are_text_and_shown_as_they_are():
    assert [is_text(decode(raw)) for raw in ODD] == [False, True, True, False, False]
    assert [shown(decode(raw)) for raw in ODD] == ["a\\xffb", "e\x1bc", "été", "q\\xfe\\xfdz", "x\\xc3"]
    assert all(shown(decode(raw)).encode("utf-8") for raw in ODD)  # printable and JSON-safe: no lone surrogate
