"""Template placeholders: extraction in body order, rendering, and the "exactly the template's
placeholders" check naming the first missing or extra variable; the two seeded templates."""

from __future__ import annotations

from typing import Any

import pytest

from hadar.domain.templates import (
    SEED_TEMPLATES,
    check_definition,
    check_variables,
    placeholders,
    positional,
    render,
    sample_values,
    status_from_meta,
)
from hadar.errors import ValidationError

BODY = "Hi {{agent_name}} here: {{property_name}} at {{viewing_time}}. {{agent_name}}"
NAMES = ["agent_name", "property_name", "viewing_time"]
VARS = {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Sat 11:00"}


def test_placeholders_in_order_of_first_appearance_each_once() -> None:
    assert placeholders(BODY) == NAMES
    assert placeholders("{{b}} {{a}} {{b}}") == ["b", "a"]
    assert placeholders("no placeholders") == []


def test_what_is_not_a_placeholder() -> None:
    assert placeholders("{agent_name} {{ agent_name }} {{Agent}} {{1x}} {{}}") == []
    assert placeholders("{{{agent_name}}}") == ["agent_name"]


def test_render_fills_every_occurrence() -> None:
    assert render(BODY, VARS) == "Hi Sara here: Marina Vista 2BR at Sat 11:00. Sara"


def test_render_does_not_expand_placeholders_inside_values() -> None:
    assert render("{{a}} {{b}}", {"a": "{{b}}", "b": "x"}) == "{{b}} x"


def check(variables: dict[str, Any]) -> str | None:
    try:
        check_variables(
            template="viewing_confirmation_en",
            names=NAMES,
            variables=variables,
            field="message.variables",
        )
    except ValidationError as exc:
        return exc.field
    return None


def test_exactly_the_placeholders_pass() -> None:
    assert check(VARS) is None
    assert check(dict(reversed(VARS.items()))) is None


def test_the_first_missing_variable_is_named_in_placeholder_order() -> None:
    assert check({"viewing_time": "x"}) == "message.variables.agent_name"
    assert check({"agent_name": "x", "viewing_time": "x"}) == "message.variables.property_name"
    assert check({}) == "message.variables.agent_name"


def test_an_extra_variable_is_named() -> None:
    assert check({**VARS, "price": "1M"}) == "message.variables.price"


def test_missing_is_reported_before_extra() -> None:
    assert check({"agent_name": "x", "property_name": "x", "typo": "x"}) == (
        "message.variables.viewing_time"
    )


@pytest.mark.parametrize("value", ["", "   ", 3, None, ["Sara"]])
def test_a_variable_must_be_non_empty_text(value: Any) -> None:
    assert check({**VARS, "agent_name": value}) == "message.variables.agent_name"


def test_the_message_names_the_variable_and_the_template() -> None:
    with pytest.raises(ValidationError) as info:
        check_variables(template="t1", names=["a"], variables={}, field="message.variables")
    assert "message.variables.a" in info.value.message and "t1" in info.value.message


def test_a_definition_lists_exactly_the_body_placeholders() -> None:
    check_definition(body=BODY, variables=NAMES, field="template")
    with pytest.raises(ValidationError) as info:
        check_definition(body=BODY, variables=NAMES[:2], field="template")
    assert info.value.field == "template.variables"
    with pytest.raises(ValidationError) as info:
        check_definition(body=BODY, variables=[*NAMES, "extra"], field="template")
    assert info.value.field == "template.variables[3]"


@pytest.mark.parametrize("seed", SEED_TEMPLATES, ids=lambda s: s.name)
def test_seeded_templates_are_approved_and_consistent(seed: Any) -> None:
    assert seed.status == "approved"
    assert placeholders(seed.body) == list(seed.variables) == NAMES
    check_definition(body=seed.body, variables=list(seed.variables), field="template")
    assert "{{" not in render(seed.body, VARS)


def test_the_seeds_are_the_english_and_arabic_viewing_confirmation() -> None:
    assert [(s.name, s.language) for s in SEED_TEMPLATES] == [
        ("viewing_confirmation_en", "en"),
        ("viewing_confirmation_ar", "ar"),
    ]
    arabic = SEED_TEMPLATES[1].body
    assert any("\u0600" <= ch <= "\u06ff" for ch in arabic)


def test_positional_numbers_by_first_appearance_whatever_variables_lists() -> None:
    assert positional(BODY) == (
        "Hi {{1}} here: {{2}} at {{3}}. {{1}}",
        ["agent_name", "property_name", "viewing_time"],
    )
    assert positional("{{b}} then {{a}}") == ("{{1}} then {{2}}", ["b", "a"])
    assert positional("{agent_name} stays {{ as }} is") == ("{agent_name} stays {{ as }} is", [])


def test_sample_values_name_what_goes_in_each_placeholder() -> None:
    assert sample_values(["agent_name", "price"]) == ["agent name", "price"]
    assert sample_values(["_"]) == ["_"]  # never an empty sample, which Meta refuses


@pytest.mark.parametrize(
    "meta,ours",
    [
        ("APPROVED", "approved"),
        ("approved", "approved"),
        ("REINSTATED", "approved"),
        ("PENDING", "pending"),
        ("IN_APPEAL", "pending"),
        ("REJECTED", "rejected"),
        ("PAUSED", "rejected"),
        ("DISABLED", "rejected"),
        ("PENDING_DELETION", "rejected"),
        ("FLAGGED", None),
        ("SOMETHING_NEW", None),
    ],
)
def test_metas_statuses_and_events_map_onto_ours(meta: str, ours: str | None) -> None:
    found = status_from_meta(meta)
    assert (found.value if found else None) == ours
