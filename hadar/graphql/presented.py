"""Objects executed straight from their presented body.

A GraphQL object built from a presenter's dict (a lead of a list: hadar.graphql.leads) keeps
that dict under PRESENTED. When every selected field of it is plain (a leaf, or a non-null
object of plain fields, or a list of those: what the fast path would read with `getattr`),
the answer is computed from the dict in one compiled walk: no nested GraphQL objects are built
and no per-field execution machinery runs. The values are the very ones the object's fields
hold (derive.object_type converts leaves with the identity), coerced by the same
`coerce_output_value`; anything the walk cannot vouch for (a null where none is allowed, a
failed coercion, a missing key) sends the object to the general path, so answers and errors
are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLObjectType, GraphQLString
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Undefined

from hadar.graphql.scalars import UNCHANGED

_INT32 = 2**31 - 1
_SAME: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLInt: int, GraphQLBoolean: bool}
PRESENTED = "_presented"  # the attribute holding the presenter's dict
GENERAL = object()  # "the walk cannot answer this object"


@dataclass(frozen=True)
class Field:
    name: str  # the response key
    key: str  # the presented dict's key (the field's Python name)
    leaf: Any  # the leaf type, or None for an object
    non_null: bool
    is_list: bool
    items_non_null: bool
    sub: Compiled | None  # the object's own compiled selection
    same: type | None = None  # a Python type the leaf answers unchanged (built-in scalars)


@dataclass(frozen=True)
class Compiled:
    fields: tuple[Field, ...]
    run: Callable[[dict[str, Any]], Any]  # the generated walk (see _generate)


Shape = Any  # execution._Shape (attribute, type_, is_object, non_null, is_list, items_non_null)
ShapeOf = Callable[[GraphQLObjectType, str], Shape | None]
Subfields = Callable[[GraphQLObjectType, FieldDetailsList], GroupedFieldSet | None]


def compile_selection(
    parent: GraphQLObjectType, grouped: GroupedFieldSet, shape_of: ShapeOf, subfields: Subfields
) -> Compiled | None:
    """The selection as a walk over a presented dict, or None when any field is not plain."""
    fields: list[Field] = []
    for name, details in grouped.items():
        node = details[0].node
        shape = None if node.arguments else shape_of(parent, node.name.value)
        if shape is None:
            return None
        sub = None
        if shape.is_object:
            nested = subfields(shape.type_, details)
            sub = (
                None
                if nested is None
                else compile_selection(shape.type_, nested, shape_of, subfields)
            )
            if sub is None:
                return None
        leaf = None if shape.is_object else shape.type_
        fields.append(
            Field(
                name,
                shape.attribute,
                leaf,
                shape.non_null,
                shape.is_list,
                shape.items_non_null,
                sub,
                _same(leaf),
            )
        )
    return build(tuple(fields))


def _same(leaf: Any) -> type | None:
    """The Python type `leaf` answers unchanged: a built-in scalar's, or a custom scalar's
    whose serializer returns such a value as it is (hadar.graphql.scalars.UNCHANGED)."""
    if leaf is None:
        return None
    return _SAME.get(leaf) or UNCHANGED.get(getattr(leaf, "coerce_output_value", None))


def _one(field: Field, value: Any) -> Any:
    if field.sub is not None:
        return field.sub.run(value) if isinstance(value, dict) else GENERAL
    same = field.same
    # What the built-in scalars' serialize returns for a value already of their Python type:
    # the value itself (Int within 32 bits); anything else is coerced by graphql-core.
    kind: Any = type(value)  # compared by identity: a bool is not taken for an Int
    if same is not None and kind is same and (same is not int or -_INT32 - 1 <= value <= _INT32):
        return value
    try:
        coerced = field.leaf.coerce_output_value(value)
    except Exception:  # the general path raises it again, at the field's own path
        return GENERAL
    return GENERAL if coerced is Undefined or coerced is None else coerced


def _value(field: Field, value: Any) -> Any:
    """One field's answer for its presented `value`, or GENERAL."""
    if value is Undefined:
        return GENERAL
    if value is None:
        return GENERAL if field.non_null else None
    if not field.is_list:
        return _one(field, value)
    if not isinstance(value, list):
        return GENERAL
    items: list[Any] = []
    for item in value:
        if item is None:
            if field.items_non_null:
                return GENERAL
            items.append(None)
            continue
        one = _one(field, item)
        if one is GENERAL:
            return GENERAL
        items.append(one)
    return items


_INLINE = {  # a leaf answered unchanged, tested inline: the common case, no call at all
    str: "type({v}) is str",
    bool: "type({v}) is bool",
    int: "type({v}) is int and -2147483648 <= {v} <= 2147483647",
}


def _generate(fields: tuple[Field, ...]) -> Callable[[dict[str, Any]], Any]:
    """A function answering a presented dict for these fields (or GENERAL), generated once per
    distinct selection: one dict lookup and one type test per plain leaf, a loop per list of
    plain leaves or objects, a direct call per object; every other value goes through _value.
    Names and keys enter the source only as repr() literals."""
    env: dict[str, Any] = {"GENERAL": GENERAL, "Undefined": Undefined, "slow": _value}
    src = ["def run(body):", "    get = body.get"]
    answer = []
    for i, field in enumerate(fields):
        v = f"v{i}"
        env[f"f{i}"] = field
        src.append(f"    {v} = get({field.key!r}, Undefined)")
        branches = [] if field.non_null else [(f"{v} is None", ["pass"])]
        fast = _fast(field, i, v, env, src)
        if fast is not None:
            branches.append(fast)
        for n, (test, body) in enumerate(branches):
            src.append(f"    {'if' if n == 0 else 'elif'} {test}:")
            src.extend(f"        {line}" for line in body)
        fallback = [f"{v} = slow(f{i}, {v})", f"if {v} is GENERAL:", "    return GENERAL"]
        if branches:
            src.append("    else:")
        src.extend(f"    {'    ' if branches else ''}{line}" for line in fallback)
        answer.append(f"{field.name!r}: {v}")
    src.append("    return {" + ", ".join(answer) + "}")
    exec("\n".join(src), env)  # noqa: S102 - source built above from literals only
    run: Callable[[dict[str, Any]], Any] = env["run"]
    return run


def _fast(
    field: Field, i: int, v: str, env: dict[str, Any], src: list[str]
) -> tuple[str, list[str]] | None:
    """The test and body answering `field`'s common case inline, or None (always _value).
    The body may return GENERAL; anything the test rejects goes through _value."""
    inline = _INLINE.get(field.same) if field.same is not None else None
    if field.sub is not None:
        env[f"s{i}"] = field.sub.run
        if not field.is_list:  # an object: its own walk, straight on its dict
            return f"type({v}) is dict", [
                f"{v} = s{i}({v})",
                f"if {v} is GENERAL:",
                "    return GENERAL",
            ]
        item = "None if x is None else " if not field.items_non_null else ""
        return f"type({v}) is list", [
            f"r{i} = []",
            f"for x in {v}:",
            f"    y = {item}(s{i}(x) if type(x) is dict else GENERAL)",
            "    if y is GENERAL:",
            "        return GENERAL",
            f"    r{i}.append(y)",
            f"{v} = r{i}",
        ]
    if inline is None:
        return None
    if not field.is_list:
        return inline.format(v=v), ["pass"]
    # A list of plain leaves: every item tested by a generated helper, the list copied.
    test = inline.format(v="x")
    if not field.items_non_null:
        test = f"x is None or ({test})"
    src[0:0] = [
        f"def every{i}(items):",
        "    for x in items:",
        f"        if not ({test}):",
        "            return False",
        "    return True",
    ]
    return f"type({v}) is list and every{i}({v})", [f"{v} = list({v})"]


_built: dict[tuple[Field, ...], Compiled] = {}
_MAX_BUILT = 1024  # distinct selections kept; beyond that, built afresh (no unbounded growth)


def build(fields: tuple[Field, ...]) -> Compiled:
    """The compiled selection of `fields`, its walk generated once per distinct selection
    for the life of the process (equal selections of later requests reuse it)."""
    compiled = _built.get(fields)
    if compiled is None:
        compiled = Compiled(fields, _generate(fields))
        if len(_built) < _MAX_BUILT:
            _built[fields] = compiled
    return compiled


def walk(compiled: Compiled, body: dict[str, Any]) -> Any:
    """The answer for `body` under `compiled`, or GENERAL."""
    return compiled.run(body)
