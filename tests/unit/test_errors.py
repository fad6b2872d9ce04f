"""One error hierarchy: every error class in reconciler/errors.py, each saying who must act, and the
command line reporting each by what it says of itself, not by its text."""

from __future__ import annotations

import errno
import importlib
import pkgutil

import pytest

import reconciler
from reconciler.cli.applying import result_of
from reconciler.cli.failure import failure_of
from reconciler.errors import (
    ApplyError,
    ConflictError,
    KernelError,
    KernelSupportError,
    Kind,
    Location,
    ManifestError,
    NetreconcileError,
    Problem,
    RefusedError,
    RolledBack,
)
from reconciler.watch.reconcile import Outcome, Result, recorded_result


def every_module() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(reconciler.__path__, "reconciler.") if not m.name.endswith(".__main__")]


def subclasses(cls: type) -> set[type]:
    return {cls, *(c for sub in cls.__subclasses__() for c in subclasses(sub))}


def test_every_error_class_lives_in_errors_and_says_who_must_act():
    for name in every_module():
        importlib.import_module(name)
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in subclasses(NetreconcileError)
                     if c.__module__ != "reconciler.errors")
    assert outside == []
    assert all(isinstance(c.kind, Kind) for c in subclasses(NetreconcileError))


def test_a_refusal_of_the_kernel_is_the_hosts_error_not_a_bug():
    failure = failure_of(KernelError(errno.EOPNOTSUPP, "Operation not supported"))
    assert (failure.type, failure.kind, failure.prefix) == ("error", Kind.HOST, "error: ")
    assert isinstance(KernelError(errno.ENODEV, "No such device"), OSError)


@pytest.mark.parametrize("err, shown", [
    (ManifestError([Problem(Location("a.yaml", 3, 5), "Network/n", "bad")]),
     ("invalid-manifests", ["a.yaml:3:5: Network/n: bad"], "1 problem(s) found; nothing was changed.", "")),
    (ConflictError(["one", "two"]), ("conflict", ["one", "two"], "Nothing was changed.", "error: ")),
    (KernelSupportError(["no vxlan"]), ("kernel-support", ["no vxlan"], "Nothing was changed.", "error: ")),
    (RefusedError("too much"), ("refused", ["too much"], "", "error: ")),
    (PermissionError(errno.EPERM, "Operation not permitted", "/run/netns"),
     ("permission-denied", ["permission denied: /run/netns (netreconcile must run as root)"], "", "error: ")),
    (ValueError("oops"), ("internal", ["ValueError: oops (run with --debug for a traceback)"], "", "internal error: ")),
])
def test_each_error_is_reported_as_it_says(err, shown):
    failure = failure_of(err)
    assert (failure.type, failure.messages, failure.footer, failure.prefix) == shown


def test_who_must_act():
    assert ManifestError([]).kind is RefusedError("x").kind is Kind.INPUT
    assert ConflictError([]).kind is ApplyError("x").kind is Kind.HOST
    assert failure_of(ValueError("x")).kind is Kind.BUG


def test_rolled_back_is_an_error_class_not_a_phrase():
    assert result_of(RolledBack("step 3 failed\nRolled back 2 step(s)")) == "rolled back"
    assert result_of(ApplyError("step 3 failed: Rolled back by hand")) == "failed"
    assert result_of(RefusedError("too much")) == "refused"
    assert recorded_result(Outcome(Result.FAILED, errors=("Rolled back 2 step(s)",), rolled_back=True)) == "rolled back"
    assert recorded_result(Outcome(Result.FAILED, errors=("link 'Rolled back' is gone",))) == "failed"
