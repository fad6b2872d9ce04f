"""The manifest files' events, through watchdog: a change that concerns the manifests puts a trigger."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from reconciler.errors import UsageError
from reconciler.watch.triggers import Trigger, TriggerKind

FINAL_EVENTS = ("closed", "moved", "deleted")  # a file written and closed, renamed into place, or gone
IGNORED_EVENTS = ("opened", "closed_no_write")
MANIFEST_SUFFIXES = (".yaml", ".yml")


class FileEvents:
    """watchdog on the manifest paths (directories recursively); a relevant change puts a trigger.

    A path that is a symlink is watched where it points, and in its folder, to see it swapped for
    another (git-sync and Kubernetes volumes publish each new version so); `refresh` follows it.
    """

    def __init__(self, paths: list[str], put: Callable[[Trigger], None]) -> None:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise UsageError(f"cannot watch {', '.join(missing)}: no such file or directory")
        self.paths, self.put = [os.path.abspath(p) for p in paths], put
        self.real: dict[str, str] = {}
        self.dirs: set[str] = set()
        self.files: set[str] = set()
        self.links: set[str] = set()
        self.observer: BaseObserver | None = None
        logging.getLogger("watchdog").addHandler(_Overflow(put))

    def start(self) -> FileEvents:
        self.real = {p: os.path.realpath(p) for p in self.paths}
        self.dirs = {r for r in self.real.values() if os.path.isdir(r)}
        self.files = set(self.real.values()) - self.dirs
        self.links = {p for p, r in self.real.items() if p != r}
        handler = FileSystemEventHandler()
        handler.on_any_event = self._event  # type: ignore[method-assign]
        self.observer = Observer()
        for folder in self.dirs:
            self.observer.schedule(handler, folder, recursive=True)
        for parent in {os.path.dirname(p) for p in self.files | self.links}:
            self.observer.schedule(handler, parent, recursive=False)
        self.observer.start()
        return self

    def refresh(self) -> None:
        """Watch again where a symlinked path points now, if that changed."""
        now = {p: os.path.realpath(p) for p in self.paths}
        if now != self.real and all(map(os.path.exists, now.values())):
            self.stop()
            self.start()

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join()

    def _event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS or (event.is_directory and event.event_type == "modified"):
            return
        for path in filter(None, (os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or ""))):
            if self._concerns(path, event.is_directory):
                final = event.event_type in FINAL_EVENTS and not event.is_directory
                self.put(Trigger(TriggerKind.FILE, path, final=final))
                return

    def _concerns(self, path: str, is_dir: bool) -> bool:
        if path in self.files or path in self.links:
            return True
        inside = any(path.startswith(d + os.sep) for d in self.dirs)
        return inside and (is_dir or path.endswith(MANIFEST_SUFFIXES) or os.path.islink(path))


class _Overflow(logging.Handler):
    """watchdog tells of an inotify queue overflow only in its log (7.x; older versions say nothing)."""

    def __init__(self, put: Callable[[Trigger], None]) -> None:
        super().__init__(logging.WARNING)
        self.put = put

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.put(Trigger(TriggerKind.RESYNC, "file events were lost"))
