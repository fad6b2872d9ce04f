"""The one-shot commands' parse cache (/run/netreconcile/parsed) seen from the command line: a file
changed after a command read it is read as it is now (messages at its file and line), and the
cache folder is root's alone."""

from builders import endpoint, iface, network, text


def test_a_changed_file_is_read_as_it_is_now(sandbox):
    good = text(network("front", "172.20.0.0/24"), endpoint("e0", iface("front", "172.20.0.10")))
    path = sandbox.write("m/net.yaml", good)
    sandbox.apply(path.parent)
    assert sandbox.nr("plan", str(path.parent), "--detailed-exitcode", check=False).returncode == 0
    listing = sandbox.sh("stat -c '%a %U' /run/netreconcile/parsed && ls /run/netreconcile/parsed").stdout.split()
    assert listing[:2] == ["700", "root"] and len(listing) == 3 and listing[2].endswith(".json")
    path.write_text(good.replace("network: front", "network: frnt"))  # same length, same lines
    refused = sandbox.nr("plan", str(path.parent), check=False)
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if "frnt" in l)
    assert refused.returncode == 1 and f"{path}:{line}:" in refused.stderr and "frnt" in refused.stderr, refused.stderr
    path.write_text(good)
    assert sandbox.nr("plan", str(path.parent), "--detailed-exitcode", check=False).returncode == 0
