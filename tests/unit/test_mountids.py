"""The mount points that say which entries of the netns folder to look at again (kernel.mountids)."""

from reconciler.kernel.mountids import _entries


def test_mounts_on_entries_name_those_entries_and_others_none():
    points = {b"/run/netns/a", b"/run/netns/b c", b"/run/other", b"/run/netnsx/d"}
    assert _entries(points, b"/run/netns") == {"a", "b c"}


def test_a_mount_on_the_folder_or_above_it_means_the_whole_folder_again():
    for point in (b"/run/netns", b"/run", b"/", b"/run/"):
        assert _entries({b"/run/netns/a", point}, b"/run/netns") is None
