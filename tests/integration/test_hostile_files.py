"""Hostile and careless files where netreconcile writes: symbolic links, foreign files, the lock.

Every path netreconcile writes or deletes (/etc/netns/<ns>/hosts, its temporary file, the folder,
/run/netreconcile/lock and state files) is reached without following a symbolic link; a symbolic link
or a file we did not write where ours should be is a conflict that names the path, before any change.
"""

from __future__ import annotations

import json
import shlex
import sys

from builders import (
    converge,
    endpoint,
    host_veth,
    network,
    out,
    run_fails_cleanly,
    write,
)
from test_watch import watching

PRECIOUS = "precious: not netreconcile's\n"
NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups"


def command(*args: str) -> str:
    """`netreconcile ARGS` as a shell command line."""
    return " ".join(shlex.quote(a) for a in (sys.executable, "-m", "reconciler", *args))


def one_endpoint(sandbox, *names: str):
    return write(sandbox, network("a", "172.20.0.0/24"), *(endpoint(n, "a") for n in names or ("ep1",)))


def precious(sandbox, name: str) -> str:
    """A file outside every folder netreconcile owns, which no run may change."""
    return str(sandbox.write(name, PRECIOUS))


def unchanged(sandbox, path: str) -> bool:
    return out(sandbox, f"cat {path}") == PRECIOUS


def is_symlink(sandbox, path: str) -> bool:
    return sandbox.sh(f"test -L {path}", check=False).returncode == 0


def test_a_symlinked_netns_folder_is_a_conflict_and_nothing_is_written_through_it(sandbox):
    elsewhere = sandbox.workdir / "elsewhere"
    elsewhere.mkdir()
    sandbox.sh(f"ln -s {elsewhere} /etc/netns/ep1")
    path = one_endpoint(sandbox)
    err = run_fails_cleanly(sandbox, "apply", str(path))
    assert "/etc/netns/ep1" in err and "symbolic link" in err and "Nothing was changed" in err, err
    assert list(elsewhere.iterdir()) == [] and out(sandbox, "ip netns list") == ""


def test_destroy_does_not_delete_through_a_netns_folder_replaced_by_a_symlink(sandbox):
    path = one_endpoint(sandbox)
    converge(sandbox, path)
    moved = sandbox.workdir / "moved"
    sandbox.sh(f"mv /etc/netns/ep1 {moved} && ln -s {moved} /etc/netns/ep1")
    err = run_fails_cleanly(sandbox, "plan", str(path))
    assert "/etc/netns/ep1 is a symbolic link" in err, err
    sandbox.nr("destroy", str(path))
    assert (moved / "hosts").is_file() and is_symlink(sandbox, "/etc/netns/ep1")
    assert out(sandbox, "ip netns list") == ""


def test_the_watch_sees_a_netns_folder_swapped_for_a_symlink_to_the_same_file(sandbox):
    path = one_endpoint(sandbox)
    veth = host_veth(converge(sandbox, path), "ep1")
    with watching(sandbox, path, "--resync", "0") as watch:
        # Within the same file system: the file keeps its inode, size and times.
        sandbox.sh("mv /etc/netns/ep1 /etc/netns/.moved && ln -s .moved /etc/netns/ep1")
        sandbox.sh(f"ip link set {veth} down")  # a kernel event: its reconcile reads the namespace's state again
        assert "failed" in watch.wait_for("reconcile after kernel event", timeout=10)
        watch.wait_for("/etc/netns/ep1 is a symbolic link")
    assert out(sandbox, "head -1 /etc/netns/.moved/hosts").startswith("# managed by netreconcile")


def test_a_symlinked_hosts_file_is_a_conflict_even_to_a_copy_of_ours(sandbox):
    path = one_endpoint(sandbox)
    converge(sandbox, path)
    copy = sandbox.workdir / "copy"
    sandbox.sh(f"cp /etc/netns/ep1/hosts {copy} && ln -sf {copy} /etc/netns/ep1/hosts")
    err = run_fails_cleanly(sandbox, "plan", str(path))
    assert "/etc/netns/ep1/hosts is a symbolic link" in err, err
    sandbox.nr("destroy", str(path))
    assert is_symlink(sandbox, "/etc/netns/ep1/hosts") and copy.is_file()


def test_a_symlink_planted_at_the_temporary_file_name_is_never_followed(sandbox):
    target = precious(sandbox, "target")
    path = one_endpoint(sandbox)
    # The temporary file is named after the writer's pid: `exec` keeps the shell's.
    sandbox.sh(f"mkdir /etc/netns/ep1 && ln -s {target} /etc/netns/ep1/.hosts.$$ && exec {command('apply', str(path))}")
    assert unchanged(sandbox, target)
    assert not is_symlink(sandbox, "/etc/netns/ep1/hosts")
    assert out(sandbox, "head -1 /etc/netns/ep1/hosts").startswith("# managed by netreconcile")
    assert out(sandbox, "ls -A /etc/netns/ep1").split() == ["hosts", "resolv.conf"]


def test_a_foreign_hosts_file_before_the_namespace_exists_is_refused_and_kept(sandbox):
    sandbox.sh(f"mkdir /etc/netns/ep1 && printf %s {shlex.quote(PRECIOUS)} > /etc/netns/ep1/hosts")
    # Our first line does not make a file ours when another user owns it, or the folder it is in.
    sandbox.sh("mkdir /etc/netns/ep3 /etc/netns/ep4 && echo '# managed by netreconcile: the names this endpoint can "
               "reach' | tee /etc/netns/ep3/hosts > /etc/netns/ep4/hosts && chown 65534 /etc/netns/ep3/hosts /etc/netns/ep4")
    path = one_endpoint(sandbox, "ep1", "ep2", "ep3", "ep4")
    err = run_fails_cleanly(sandbox, "apply", str(path))
    assert "/etc/netns/ep1/hosts" in err and "not written by netreconcile" in err and "Nothing was changed" in err, err
    assert "/etc/netns/ep3/hosts is not owned by root" in err and "/etc/netns/ep4 is not owned by root" in err, err
    assert unchanged(sandbox, "/etc/netns/ep1/hosts") and out(sandbox, "ip netns list") == ""
    assert sandbox.nr("destroy", str(path)).stdout.strip() == "Nothing to destroy."
    assert unchanged(sandbox, "/etc/netns/ep1/hosts")


def test_a_symlinked_lock_is_refused_and_its_target_untouched(sandbox):
    target = precious(sandbox, "target")
    sandbox.sh(f"ln -s {target} /run/netreconcile/lock")
    path = one_endpoint(sandbox)
    err = run_fails_cleanly(sandbox, "apply", str(path))
    assert "/run/netreconcile/lock is a symbolic link" in err, err
    assert unchanged(sandbox, target) and out(sandbox, "ip netns list") == ""


def test_a_symlink_at_the_state_files_temporary_name_is_never_followed(sandbox):
    target = precious(sandbox, "target")
    path = one_endpoint(sandbox)
    # At the name an older netreconcile used, and at ours, named after the writer's pid (`exec` keeps it).
    sandbox.sh(f"ln -s {target} /run/netreconcile/last.tmp && ln -s {target} /run/netreconcile/.last.json.$$ && "
               f"exec {command('apply', str(path))}")
    assert unchanged(sandbox, target)
    assert not is_symlink(sandbox, "/run/netreconcile/last.json")
    assert json.loads(out(sandbox, "cat /run/netreconcile/last.json"))["result"] == "success"


def test_a_run_folder_that_is_a_symlink_or_not_roots_is_refused(sandbox):
    path = one_endpoint(sandbox)
    sandbox.sh("mkdir -p /run/netreconcile/real && ln -s real /run/netreconcile/link && "
               "mkdir /run/netreconcile/users && chown 65534 /run/netreconcile/users")
    for folder, why in (("link", "is a symbolic link"), ("users", "is not owned by root")):
        err = sandbox.sh(f"NETRECONCILE_RUN_DIR=/run/netreconcile/{folder} {command('apply', str(path))}", check=False)
        assert err.returncode == 1 and f"/run/netreconcile/{folder} {why}" in err.stderr, err.stderr
        assert "Traceback" not in err.stderr
    assert out(sandbox, "ls -A /run/netreconcile/real /run/netreconcile/users") == \
        "/run/netreconcile/real:\n\n/run/netreconcile/users:\n"
    assert out(sandbox, "ip netns list") == ""


def test_lock_and_state_are_roots_alone_and_no_user_can_hold_the_lock(sandbox):
    # As an older netreconcile left them: a folder anyone may enter and a lock anyone may open.
    sandbox.sh("chmod 755 /run/netreconcile && touch /run/netreconcile/lock && chmod 644 /run/netreconcile/lock")
    path = one_endpoint(sandbox)
    sandbox.nr("apply", str(path))
    modes = out(sandbox, "stat -c '%n %a %u' /run/netreconcile /run/netreconcile/lock /run/netreconcile/last.json")
    assert modes.splitlines() == ["/run/netreconcile 700 0", "/run/netreconcile/lock 600 0",
                                  "/run/netreconcile/last.json 600 0"]
    held = sandbox.sh(f"{NOBODY} flock -n /run/netreconcile/lock true", check=False)
    assert held.returncode != 0 and "Permission denied" in held.stderr, held.stderr
    assert sandbox.sh(f"{NOBODY} cat /run/netreconcile/last.json", check=False).returncode != 0
    sandbox.nr("apply", str(path), "--no-wait")


def test_a_held_lock_names_the_process_that_holds_it(sandbox):
    path = one_endpoint(sandbox)
    sandbox.nr("apply", str(path), "--confirm-timeout", "3")  # a detached watcher holds the lock
    watcher = json.loads(out(sandbox, "for i in $(seq 50); do test -e $PENDING && break; sleep 0.1; done; cat $PENDING"
                             .replace("$PENDING", "/run/netreconcile/pending.json")))["pid"]
    err = run_fails_cleanly(sandbox, "apply", str(path), "--no-wait")
    assert f"pid {watcher} (" in err and "-m reconciler apply" in err, err
    sandbox.nr("confirm")
    # flock -o: its child (sleep) does not inherit the lock, so killing flock releases it.
    sandbox.sh("flock -o /run/netreconcile/lock sleep 60 >/dev/null 2>&1 & echo $! > /run/netreconcile/holder && sleep 0.3")
    holder = out(sandbox, "cat /run/netreconcile/holder").strip()
    err = run_fails_cleanly(sandbox, "apply", str(path), "--no-wait")
    assert f"pid {holder} (flock -o /run/netreconcile/lock sleep 60)" in err, err
    watched = sandbox.sh(f"timeout 6 {command('watch', str(path))}", check=False).stdout
    assert f"waiting for /run/netreconcile/lock, held by pid {holder} (flock" in watched, watched
    sandbox.sh(f"kill $(cat /proc/{holder}/task/{holder}/children) {holder}")


ESC_NAME = r"x\033[2Kq"  # printf: ESC, then "erase the line"


def test_control_characters_from_the_kernel_are_escaped_in_every_output(sandbox):
    path = one_endpoint(sandbox)
    converge(sandbox, path)
    # A link with our mark and a hosts line, made by hand, with an escape sequence in their names.
    sandbox.sh(f'name="$(printf "{ESC_NAME}")" && ip link add "$name" type bridge && ip link set "$name" group 20050 && '
               f'printf "10.9.9.9\\t{ESC_NAME}\\n" >> /etc/netns/ep1/hosts')
    outputs = {"plan": sandbox.nr("plan", str(path)), "status": sandbox.nr("status", str(path)),
               "apply": sandbox.nr("apply", str(path), "--max-delete", "1")}
    for command, result in outputs.items():
        said = result.stdout + result.stderr
        assert "\x1b" not in said and "x\\x1b[2Kq" in said, (command, said)
