import pytest
from channels.layers import BaseChannelLayer

from chat.room_names import ROOM_NAME_MAX_LENGTH, InvalidRoomName, group_name, normalize_room_name

ROOMS = ["general", "서울", "café", "🎉", "a b", "a/b", "General", "x" * ROOM_NAME_MAX_LENGTH]


@pytest.mark.parametrize("room", ROOMS)
def test_group_name_is_valid_for_channel_layers(room):
    assert BaseChannelLayer().require_valid_group_name(group_name(room))


def test_different_rooms_never_share_a_group():
    names = [*ROOMS, "x" * (ROOM_NAME_MAX_LENGTH - 1) + "y", "general ", "caf\u00e9 "]

    assert len({group_name(name) for name in names}) == len(set(names))


def test_same_text_typed_two_ways_is_the_same_room():
    composed = "caf\u00e9"
    decomposed = "cafe\u0301"

    assert normalize_room_name(decomposed) == composed
    assert group_name(normalize_room_name(decomposed)) == group_name(composed)


@pytest.mark.parametrize("room", ROOMS)
def test_typed_names_are_valid(room):
    assert normalize_room_name(room) == room


@pytest.mark.parametrize(
    "room",
    ["", "   ", "x" * (ROOM_NAME_MAX_LENGTH + 1), "tab\there", "nul\x00", ".", "..", "a/../b"],
)
def test_invalid_names_are_refused_with_a_reason(room):
    with pytest.raises(InvalidRoomName) as excinfo:
        normalize_room_name(room)
    assert str(excinfo.value)
