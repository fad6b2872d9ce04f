"""An etcd v3 client over etcd's own JSON gateway (/v3/kv/range, /v3/kv/txn, /v3/watch, /v3/lease/*,
served by every etcd >= 3.4), on urllib3: keys and values travel base64-encoded, 64-bit numbers as
strings. An `etcd://HOST:2379[,HOST2:2379]/prefix/` source names a cluster and a key prefix; TLS and
user/password come from the command line or from etcdctl's environment variables.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from reconciler.errors import EtcdError, EtcdUnavailable, UsageError, WatchIdle
from reconciler.input import etcdconf
from reconciler.input.etcdconf import SCHEME

STATUS = ".status/"   # under a prefix: the hosts' status keys, never manifests
PUSH = ".push"        # under a prefix: written by every push, compared by the next (they cannot interleave)
TIMEOUT = 3.0         # seconds for one request to one endpoint
UNAUTHENTICATED = 401  # the gateway's answer to a token etcd no longer knows (they expire: --auth-token-ttl)
IDLE = 10.0           # seconds a watch stream may stay silent before it is opened again (a peer gone
                      # without closing the connection says nothing; opening it again finds out)
is_url = etcdconf.is_url  # as the watch calls it


@dataclass(frozen=True)
class EtcdURL:
    """`etcd://h1:2379,h2:2379/prefix/`: the cluster's endpoints and the key prefix (ending in /)."""

    endpoints: tuple[str, ...]
    prefix: str

    @classmethod
    def parse(cls, text: str) -> EtcdURL:
        parts = urlsplit(text)
        hosts = tuple(h for h in parts.netloc.split(",") if h)
        if parts.scheme != "etcd" or not hosts or parts.query or parts.fragment:
            raise UsageError(f"{text}: not an etcd source (etcd://HOST:2379[,HOST2:2379]/prefix/)")
        path = parts.path or "/"
        return cls(hosts, path if path.endswith("/") else path + "/")

    def __str__(self) -> str:
        return f"{SCHEME}{','.join(self.endpoints)}{self.prefix}"

    def name(self, key: str) -> str:
        """Where a key's text is located in messages, as a file's path is."""
        return f"{SCHEME}{','.join(self.endpoints)}{key}"

    def manifest(self, key: str) -> bool:
        """Whether the key under the prefix holds a manifest (not a status key or the push marker)."""
        rest = key[len(self.prefix):]
        return key.startswith(self.prefix) and bool(rest) and not rest.startswith((STATUS, PUSH))


@dataclass(frozen=True)
class Settings:
    """TLS and authentication: CA bundle, client certificate and key, and "user:password"."""

    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    user: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """As etcdctl reads them: ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY, ETCDCTL_USER."""
        return cls(*(environ.get(f"ETCDCTL_{n}") or None for n in ("CACERT", "CERT", "KEY", "USER")))

    @classmethod
    def of_command(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The command line's options (etcdconf), over the environment's."""
        env = cls.from_env(environ)
        return cls(*(g or e for g, e in zip(etcdconf.given(), (env.cacert, env.cert, env.key, env.user), strict=True)))

    @property
    def scheme(self) -> str:
        return "https" if self.cacert or self.cert else "http"


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def range_end(prefix: str | bytes) -> str:
    """The key just past every key starting with `prefix`, base64-encoded (etcd's prefix query)."""
    raw = bytearray(prefix.encode() if isinstance(prefix, str) else prefix)
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b64(b"\0")
    raw[-1] += 1
    return b64(bytes(raw))


@dataclass(frozen=True)
class KV:
    """One key as read: its value and the revision that last changed it."""

    key: str
    value: bytes
    mod_revision: int = 0
    lease: int = 0


def kv_of(item: Mapping[str, Any]) -> KV:
    return KV(unb64(item["key"]).decode("utf-8", "surrogateescape"), unb64(item.get("value", "")),
              int(item.get("mod_revision", 0)), int(item.get("lease", 0)))


@dataclass(frozen=True)
class Snapshot:
    """Every key under a prefix at one revision."""

    revision: int
    kvs: tuple[KV, ...] = field(default=())

    def changed(self, url: EtcdURL) -> int:
        """The revision of the last change to the manifests: a key written, or a push (deletions included)."""
        return max((kv.mod_revision for kv in self.kvs if url.manifest(kv.key) or kv.key == url.prefix + PUSH),
                   default=0)


def put(key: str, value: bytes, lease: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {"key": b64(key), "value": b64(value)}
    return {"request_put": body | ({"lease": str(lease)} if lease else {})}


def delete(key: str) -> dict[str, Any]:
    return {"request_delete_range": {"key": b64(key)}}


def mod_equals(key: str, revision: int) -> dict[str, Any]:
    """A txn compare: the key was last changed at `revision` (0: it does not exist)."""
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


class Client:
    """Requests to one cluster: each endpoint tried in turn until one answers."""

    def __init__(self, url: EtcdURL, settings: Settings | None = None, timeout: float = TIMEOUT) -> None:
        import urllib3  # loaded with the first client: commands on files never need it (start-up, issue 23)

        self.url, self.settings = url, settings or Settings.of_command()
        s = self.settings
        tls: dict[str, Any] = {"ca_certs": s.cacert, "cert_file": s.cert, "key_file": s.key} if s.scheme == "https" else {}
        self.pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False, **tls)
        self.token: str | None = None

    def call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST `body` to the first endpoint that answers; EtcdUnavailable when none does."""
        import urllib3  # loaded already by __init__

        failures = []
        for endpoint in self.url.endpoints:
            try:
                response = self._post(endpoint, path, body)
                if response.status == UNAUTHENTICATED and self.token:  # the token expired: once more, with a new one
                    self.token = None
                    response = self._post(endpoint, path, body)
            except urllib3.exceptions.HTTPError as err:
                failures.append(f"{endpoint}: {_reason(err)}")
                continue
            return _answer(response, path)
        raise EtcdUnavailable(f"etcd unreachable ({'; '.join(failures)})")

    def _post(self, endpoint: str, path: str, body: Mapping[str, Any], stream: bool = False) -> Any:
        import urllib3  # loaded already by __init__

        headers = {"Content-Type": "application/json"}
        if self.settings.user and self.token is None:
            self.token = self._authenticate(endpoint)
        if self.token:
            headers["Authorization"] = self.token
        timeout = urllib3.Timeout(connect=TIMEOUT, read=IDLE if stream else TIMEOUT)
        return self.pool.request("POST", f"{self.settings.scheme}://{endpoint}{path}", body=json.dumps(body).encode(),
                                 headers=headers, preload_content=not stream, timeout=timeout)

    def _authenticate(self, endpoint: str) -> str:
        name, _, password = (self.settings.user or "").partition(":")
        response = self.pool.request("POST", f"{self.settings.scheme}://{endpoint}/v3/auth/authenticate",
                                     body=json.dumps({"name": name, "password": password}).encode())
        token = _answer(response, "/v3/auth/authenticate").get("token")
        if not isinstance(token, str):
            raise EtcdError(f"etcd at {endpoint} gave no token for user {name!r}")
        return token

    def range(self, prefix: str) -> Snapshot:
        """Every key under `prefix`, at one revision."""
        answer = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": range_end(prefix)})
        return Snapshot(revision(answer), tuple(sorted((kv_of(i) for i in answer.get("kvs", [])), key=lambda k: k.key)))

    def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]]) -> tuple[bool, int]:
        """One transaction: whether the comparisons held (then `success` was applied), and the revision after."""
        answer = self.call("/v3/kv/txn", {"compare": compare, "success": success, "failure": []})
        return bool(answer.get("succeeded", False)), revision(answer)

    def grant(self, ttl: int) -> int:
        return int(self.call("/v3/lease/grant", {"TTL": str(ttl)})["ID"])

    def keepalive(self, lease: int) -> bool:
        """Renew the lease; False when it is gone (expired, revoked)."""
        result = self.call("/v3/lease/keepalive", {"ID": str(lease)}).get("result", {})
        return int(result.get("TTL", 0)) > 0

    def revoke(self, lease: int) -> None:
        self.call("/v3/lease/revoke", {"ID": str(lease)})

    def watch(self, prefix: str, start: int) -> Iterator[dict[str, Any]]:
        """The watch responses for the keys under `prefix` from revision `start`, until the stream ends.
        Raises EtcdUnavailable when no endpoint takes the watch."""
        import urllib3  # loaded already by __init__

        body = {"create_request": {"key": b64(prefix), "range_end": range_end(prefix), "start_revision": str(start)}}
        failures = []
        for endpoint in self.url.endpoints:
            try:
                response = self._post(endpoint, "/v3/watch", body, stream=True)
                if response.status == UNAUTHENTICATED and self.token:
                    response.drain_conn()
                    self.token = None
                    response = self._post(endpoint, "/v3/watch", body, stream=True)
            except urllib3.exceptions.HTTPError as err:
                failures.append(f"{endpoint}: {_reason(err)}")
                continue
            if response.status != 200:
                _answer(response, "/v3/watch")
            yield from _lines(response)
            return
        raise EtcdUnavailable(f"etcd unreachable ({'; '.join(failures)})")


def _lines(response: Any) -> Iterator[dict[str, Any]]:
    """The gateway streams one JSON object per line: each one's `result` (an error ends the stream)."""
    import urllib3  # loaded already by Client.__init__

    buffered = b""
    try:
        for chunk in response.stream(4096):
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                if line.strip():
                    body = json.loads(line)
                    if "result" not in body:
                        raise EtcdError(f"etcd watch failed: {body.get('error', {}).get('message', body)}")
                    yield body["result"]
    except urllib3.exceptions.ReadTimeoutError as err:
        raise WatchIdle(f"etcd watch idle for {IDLE:g} s") from err
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise EtcdUnavailable(f"etcd watch lost: {_reason(err)}") from err
    finally:
        response.release_conn()


def revision(answer: Mapping[str, Any]) -> int:
    return int(answer.get("header", {}).get("revision", 0))


def _answer(response: Any, path: str) -> dict[str, Any]:
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        said = (response.data or b"").decode("utf-8", "replace").strip()[:120]
        raise EtcdError(f"etcd answered {path} with what is not JSON (HTTP {response.status}: {said!r})")
    if response.status != 200:
        raise EtcdError(f"etcd refused {path}: {body.get('message') or body.get('error') or response.status}")
    return body


def _reason(err: BaseException) -> str:
    """urllib3's errors name the connection object first: only the reason stays."""
    reason = getattr(err, "reason", None) or err
    args = getattr(reason, "args", ())
    text = args[-1] if args and isinstance(args[-1], str) else str(reason)
    return text.rpartition(": ")[2] or text
