"""The compiled walk over a presented body answers exactly what graphql-core would, and hands
anything it cannot vouch for back to the general path (which then reports the error)."""

from __future__ import annotations

from graphql import GraphQLInt, GraphQLString

from hadar.graphql.presented import GENERAL, Field, build, walk

INNER = build((Field("n", "n", GraphQLInt, True, False, False, None, int),))
OUTER = build(
    (
        Field("name", "name", GraphQLString, True, False, False, None, str),
        Field("nick", "nick", GraphQLString, False, False, False, None, str),
        Field("tags", "tags", GraphQLString, True, True, True, None, str),
        Field("parts", "parts", None, True, True, True, INNER, None),
    )
)


def test_a_plain_body_is_answered_in_response_names_and_order() -> None:
    body = {"name": "Aisha", "nick": None, "tags": ["a", "b"], "parts": [{"n": 1}, {"n": 2}]}
    assert walk(OUTER, body) == {
        "name": "Aisha",
        "nick": None,
        "tags": ["a", "b"],
        "parts": [{"n": 1}, {"n": 2}],
    }


def test_values_the_general_path_must_judge_are_handed_back() -> None:
    good = {"name": "A", "nick": None, "tags": [], "parts": []}
    assert walk(OUTER, {**good, "name": None}) is GENERAL  # null where none is allowed
    assert walk(OUTER, {**good, "tags": ["a", None]}) is GENERAL  # null list item
    assert walk(OUTER, {**good, "parts": [{"n": 2**31}]}) is GENERAL  # Int out of range
    assert walk(OUTER, {**good, "parts": [{"n": True}]}) == {**good, "parts": [{"n": 1}]}
    assert walk(OUTER, {k: v for k, v in good.items() if k != "tags"}) is GENERAL  # missing
    assert walk(OUTER, {**good, "parts": ["not an object"]}) is GENERAL


ONE = build(
    (
        Field("inner", "inner", None, True, False, False, INNER, None),
        Field("maybe", "maybe", GraphQLString, True, True, False, None, str),
    )
)


def test_objects_and_lists_with_null_items_walk_inline_as_the_general_path_would() -> None:
    assert walk(ONE, {"inner": {"n": 3}, "maybe": ["a", None]}) == {
        "inner": {"n": 3},
        "maybe": ["a", None],
    }
    assert walk(ONE, {"inner": None, "maybe": []}) is GENERAL  # a null non-null object
    assert walk(ONE, {"inner": {"n": 2**31}, "maybe": []}) is GENERAL  # its field's error
    assert walk(ONE, {"inner": {"n": 1}, "maybe": [1]}) == {"inner": {"n": 1}, "maybe": ["1"]}
    tags = ["a"]
    assert walk(ONE, {"inner": {"n": 1}, "maybe": tags})["maybe"] is not tags  # a copy


def test_custom_scalars_already_in_their_answered_form_pass_unchanged() -> None:
    from hadar.graphql.presented import _same
    from hadar.graphql.schema import schema

    types = schema._schema.type_map
    assert (_same(types["DateTime"]), _same(types["BigInt"]), _same(types["JSON"])) == (
        str,
        int,
        None,  # JSON answers anything as it is, but through its serializer
    )
    stamp = build(
        (
            Field("at", "at", types["DateTime"], True, False, False, None, str),
            Field("aed", "aed", types["BigInt"], False, False, False, None, int),
        )
    )
    assert walk(stamp, {"at": "2026-05-15T08:42:11.103Z", "aed": 2**40}) == {
        "at": "2026-05-15T08:42:11.103Z",
        "aed": 2**40,  # beyond Int's 32 bits: through BigInt's own serializer
    }
