"""`netreconcile push DIR etcd://…/prefix`: the manifests of DIR, validated, replace the prefix's keys in
one etcd transaction that holds only if no other push wrote since this one read the prefix."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import NetreconcileError, PushConflict
from reconciler.input import etcd
from reconciler.input.manifest import manifest_files, read
from reconciler.input.validate import load_manifests


@dataclass(frozen=True)
class Changes:
    """The keys a push adds, changes and deletes (full keys, in order), and the revision it read at."""

    add: tuple[str, ...]
    change: tuple[str, ...]
    delete: tuple[str, ...]
    read_at: int
    marker: int  # the push marker's mod revision as read (0: none yet)

    def __bool__(self) -> bool:
        return bool(self.add or self.change or self.delete)


def wanted(folder: str, url: etcd.EtcdURL) -> dict[str, bytes]:
    """The key and text of every manifest file of `folder` (its path below the folder), under the prefix."""
    root = Path(folder)
    out: dict[str, bytes] = {}
    for path in manifest_files([folder]):
        content = read(path)
        if isinstance(content, OSError):
            raise NetreconcileError(f"cannot read {path}: {content.strerror or content}")
        relative = path.name if root.is_file() else path.relative_to(root).as_posix()
        out[url.prefix + relative] = content
    return out


def diff(files: dict[str, bytes], snapshot: etcd.Snapshot, url: etcd.EtcdURL) -> Changes:
    current = {kv.key: kv.value for kv in snapshot.kvs if url.manifest(kv.key)}
    marker = next((kv.mod_revision for kv in snapshot.kvs if kv.key == url.prefix + etcd.PUSH), 0)
    return Changes(tuple(sorted(files.keys() - current.keys())),
                   tuple(sorted(k for k in files.keys() & current.keys() if files[k] != current[k])),
                   tuple(sorted(current.keys() - files.keys())), snapshot.revision, marker)


def plan(folder: str, url: etcd.EtcdURL, client: etcd.Client) -> tuple[dict[str, bytes], Changes]:
    """Validate the folder (ManifestError: nothing is written), then what pushing it would change."""
    load_manifests([folder])
    files = wanted(folder, url)
    return files, diff(files, client.range(url.prefix), url)


def push(files: dict[str, bytes], changes: Changes, url: etcd.EtcdURL, client: etcd.Client) -> int:
    """Write the changes in one transaction; the new revision. PushConflict when another push came between."""
    marker = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "keys": len(files)}).encode()
    ops = [etcd.put(k, files[k]) for k in changes.add + changes.change] + [etcd.delete(k) for k in changes.delete]
    ok, revision = client.txn([etcd.mod_equals(url.prefix + etcd.PUSH, changes.marker)],
                              [*ops, etcd.put(url.prefix + etcd.PUSH, marker)])
    if not ok:
        raise PushConflict(f"another push wrote {url} after revision {changes.read_at}, which this push read: "
                           "nothing written; push again")
    return revision
