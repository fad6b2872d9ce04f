"""Bad input, fuzzed: whatever the manifests hold, validation gives typed manifests (which then plan)
or a ManifestError whose every problem names a file and a line; never another exception."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.input.validate import load_manifests
from reconciler.planners import desired_state
from reconciler.planning.plan import Observed, diff

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=40), st.sampled_from(["../x", "/etc", "a\x00b", "é" * 20, "x" * 300, "-", ".", "eth0"]),
)
trees = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                     max_leaves=20)
octet = st.integers(0, 255)
ipv4 = st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", octet, octet, octet, octet)
cidr = st.builds(lambda ip, n: f"{ip}/{n}", ipv4, st.integers(0, 33))
names = st.sampled_from(["a", "b", "front", "back", "x" * 70, "Bad", "e-1", "../n"])


@st.composite
def near_valid(draw) -> list[dict]:
    """Manifests that mostly pass the schema, so the semantic layer and allocation are exercised."""
    networks = [{"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": draw(names)},
                 "spec": {"driver": draw(st.sampled_from(["bridge", "bridge", "macvlan"])),
                          "internal": draw(st.booleans()),
                          "ipam": {"subnet": draw(cidr), **draw(st.fixed_dictionaries({}, optional={
                              "gateway": ipv4, "ipRange": cidr, "auxAddresses": st.dictionaries(names, ipv4, max_size=2)}))}}}
                for _ in range(draw(st.integers(0, 3)))]
    endpoints = [{"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": draw(names)},
                  "spec": {"interfaces": [draw(st.fixed_dictionaries({"network": names}, optional={
                      "ipv4Address": ipv4, "name": st.sampled_from(["eth0", "eth1", "x" * 16, "a/b"])}))
                      for _ in range(draw(st.integers(0, 3)))],
                      **draw(st.fixed_dictionaries({}, optional={"netns": names}))}}
                 for _ in range(draw(st.integers(0, 4)))]
    return networks + endpoints


def check(tmp_path, text: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        m = load_manifests([str(path)])
    except ManifestError as err:
        assert err.problems
        for problem in err.problems:
            assert problem.where.file and problem.where.line >= 1 and problem.message, problem
        return
    diff(desired_state(m), Observed({}))


@FUZZ
@given(st.text(max_size=300))
def test_random_text(tmp_path, text):
    check(tmp_path, text)


@FUZZ
@given(st.lists(trees, max_size=3))
def test_random_data_as_yaml(tmp_path, docs):
    check(tmp_path, yaml.safe_dump_all(docs, allow_unicode=True))


@FUZZ
@given(near_valid())
def test_near_valid_manifests(tmp_path, docs):
    check(tmp_path, yaml.safe_dump_all(docs))


@FUZZ
@given(st.sampled_from([
    "!!python/object/apply:os.system ['true']", "a: !!binary aGVsbG8=", "a: !!timestamp 2001-12-14",
    "kind: !!python/name:os.system", "a: &x [*x]", "? [a, b]\n: c", "a: 1\na: 2", "--- 5\n--- [1]",
    "kind: Network\nmetadata: {name: &n a}\nspec: *n", "\ufeffkind: Endpoint", "kind: Network\nspec: {mtu: 1e999}",
]), st.text(max_size=20))
def test_tags_aliases_and_oddities(tmp_path, text, tail):
    check(tmp_path, text + "\n" + tail)


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},'
              f'*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]' for i in range(8)]
    check(tmp_path, "\n".join(lines))
