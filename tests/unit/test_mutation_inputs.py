"""The shape issue 16 asks of the schema: every mutation takes one `input` object, named after
it; what it took before is deprecated and said so; a subscription named for half of what it
carries is a deprecated alias of one named for all of it."""

from graphql import GraphQLInputObjectType, get_named_type

from schema.schema import schema
from vendor_internals.strawberry import graphql_schema

SCHEMA = graphql_schema(schema)

# Inputs named before the rule, kept: a client's document names its variables' types, and a
# type's name cannot be deprecated (renaming it would break every such document at once).
NAMED_BEFORE = {
    "setTimerSettings": "TimerSettingsInput",
    "setMyNotificationPreferences": "MyNotificationPreferencesInput",
    "setNotificationDefaults": "NotificationDefaultsInput",
}

RENAMED_SUBSCRIPTIONS = {
    "handoffClaimed": "handoffClaimChanged",
    "assessmentReady": "assessmentSettled",
}


def test_every_mutation_takes_one_input_named_after_it():
    wrong = []
    for name, field in SCHEMA.mutation_type.fields.items():
        given = field.args.get("input")
        expected = NAMED_BEFORE.get(name, f"{name[0].upper()}{name[1:]}Input")
        if given is None or get_named_type(given.type).name != expected:
            wrong.append(f"{name}: input: {expected}")
    assert not wrong, wrong


def test_every_other_argument_is_deprecated_and_names_its_input_field():
    """A loose argument of before: optional (a required argument cannot be deprecated), its
    reason says which field of `input` to use instead, and that field takes the same type."""
    for name, field in SCHEMA.mutation_type.fields.items():
        input_type = get_named_type(field.args["input"].type)
        assert isinstance(input_type, GraphQLInputObjectType)
        for argument_name, argument in field.args.items():
            if argument_name == "input":
                continue
            where = f"{name}({argument_name})"
            assert argument.deprecation_reason, where
            assert f"input: {{ {argument_name} }}" in argument.deprecation_reason, where
            assert argument_name in input_type.fields, where
            same = input_type.fields[argument_name]
            assert get_named_type(same.type) == get_named_type(argument.type), where


def test_the_mutations_with_loose_arguments_left_take_input_optionally_for_now():
    """While the loose arguments last, `input` may be left out (old callers send none); once
    they go it is required, as it is where there never were any."""
    for name, field in SCHEMA.mutation_type.fields.items():
        loose = [a for a in field.args if a != "input"]
        required = str(field.args["input"].type).endswith("!")
        assert required == (not loose), name


def test_the_old_subscription_names_are_deprecated_aliases_of_the_new():
    fields = SCHEMA.subscription_type.fields
    for old, new in RENAMED_SUBSCRIPTIONS.items():
        assert fields[new].deprecation_reason is None
        assert f"use {new}" in fields[old].deprecation_reason
        assert list(fields[old].args) == list(fields[new].args)
        old_payload, new_payload = (
            get_named_type(fields[old].type),
            get_named_type(fields[new].type),
        )
        assert {n: str(f.type) for n, f in old_payload.fields.items()} == {
            n: str(f.type) for n, f in new_payload.fields.items()
        }
