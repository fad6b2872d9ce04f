"""Names that come from the kernel or the file system (links, namespaces, process names) are bytes,
not text: a link made by hand may be called b"a\\xffb". Each is decoded exactly, bytes that are not
UTF-8 kept as lone surrogates (as Python's os module decodes file names), so a name compared or sent
back to the kernel is the kernel's own; `shown` is its printable form, those bytes as \\xNN.
"""

from __future__ import annotations


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def is_text(name: str) -> bool:
    """Whether every byte of the name decoded as UTF-8 (ours always do: manifests are text)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """The name with each byte that is not UTF-8 written \\xNN: safe to print, to log and to put in JSON."""
    return encode(name).decode("utf-8", "backslashreplace")
