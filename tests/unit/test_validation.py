"""Schema and semantic validation: each class of mistake is reported at the node that holds it.

Each file under tests/fixtures/invalid/ is one class of mistake; its `# error:` header lines are the
exact problems `load_manifests` must report for it, in order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.input.validate import load_manifests
from unit.helpers import FIXTURES, endpoint, network, problem_lines

INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))


def expected_errors(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line.removeprefix("# error: ") for line in lines if line.startswith("# error: ")]


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_manifest_is_reported_at_its_location(path):
    expected = expected_errors(path)
    assert expected, f"{path.name} has no '# error:' header"
    assert problem_lines(path, relative_to=path.parent) == expected


def test_every_problem_carries_file_line_and_column():
    with pytest.raises(ManifestError) as caught:
        load_manifests([str(FIXTURES / "invalid" / "address-is-gateway.yaml")])
    (problem,) = caught.value.problems
    assert (problem.where.file, problem.where.line, problem.where.column) == (
        str(FIXTURES / "invalid" / "address-is-gateway.yaml"), 17, 7)
    assert problem.subject == "Endpoint/a"
    assert problem.message == "ipv4Address 172.20.0.254 is reserved as the gateway of network 'front'"


def test_problems_of_several_files_are_reported_together_sorted_by_file_and_line(tmp_path):
    (tmp_path / "b.yaml").write_text(
        endpoint("x", "[{network: nowhere}]")                                # line 5
        + endpoint("y", "[{network: front, ipv4Address: 172.20.0.1}]"))      # line 11
    (tmp_path / "a.yaml").write_text(
        network("front", "{subnet: 172.20.0.0/24}")
        + network("back", "{subnet: 172.20.0.0/25}")                         # line 13, overlaps
        + "apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: Bad}\nspec: {driver: bridge}\n")
    assert problem_lines(tmp_path / "b.yaml", tmp_path / "a.yaml", relative_to=tmp_path) == [
        "a.yaml:13:10: Network/back: subnet 172.20.0.0/25 overlaps 172.20.0.0/24 of network 'front'",
        "a.yaml:17:12: Network/Bad: metadata.name: 'Bad' does not match '^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$'",
        "b.yaml:5:17: Endpoint/x: unknown network 'nowhere'",
        "b.yaml:11:33: Endpoint/y: ipv4Address 172.20.0.1 is reserved as the gateway of network 'front'",
    ]


def test_a_file_of_several_documents_loads(tmp_path):
    path = tmp_path / "all.yaml"
    path.write_text("---\n" + network("front", "{subnet: 172.20.0.0/24}")
                    + endpoint("a", "[{network: front}]") + endpoint("b", "[{network: front}]"))
    m = load_manifests([str(path)])
    assert [n.name for n in m.networks] == ["front"]
    assert [e.name for e in m.endpoints] == ["a", "b"]


def test_directories_are_searched_recursively_for_yaml_and_yml_in_sorted_order(tmp_path):
    files = {
        "20-back.yaml": network("back", "{subnet: 172.21.0.0/24}"),
        "10/front.yml": network("front", "{subnet: 172.20.0.0/24}"),
        "30/deeper/mid.yaml": network("mid", "{subnet: 172.22.0.0/24}"),
        "00-notes.txt": network("ignored", "{subnet: 172.23.0.0/24}"),
        "00-backup.yaml.bak": network("ignored2", "{subnet: 172.24.0.0/24}"),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    m = load_manifests([str(tmp_path)])
    assert [n.name for n in m.networks] == ["front", "back", "mid"]


def test_single_ipam_form_and_subnets_list_form_give_the_same_model(tmp_path):
    single = tmp_path / "single.yaml"
    single.write_text(network("front", "{subnet: 172.20.0.0/24, gateway: 172.20.0.254, ipRange: 172.20.0.128/25,"
                                       " auxAddresses: {printer: 172.20.0.7}}"))
    listed = tmp_path / "listed.yaml"
    listed.write_text(network("front", "{subnets: [{subnet: 172.20.0.0/24, gateway: 172.20.0.254,"
                                       " ipRange: 172.20.0.128/25, auxAddresses: {printer: 172.20.0.7}}]}"))
    from_single, from_list = load_manifests([str(single)]), load_manifests([str(listed)])
    assert from_single == from_list
    (subnet,) = from_single.networks[0].subnets
    assert (str(subnet.subnet), str(subnet.gateway), str(subnet.ip_range)) == ("172.20.0.0/24", "172.20.0.254", "172.20.0.128/25")
    assert [(k, str(v)) for k, v in subnet.aux_addresses] == [("printer", "172.20.0.7")]
