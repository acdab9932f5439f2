"""Every element of the public schema carries a description, so GraphiQL documents it all.

Partners learn the API from GraphiQL's docs: a type, field, argument, input field or enum value
without a description leaves them guessing units, formats and who may see a value. The count
is taken from the running schema, so an element added later without a description fails here.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
)
from graphql import build_schema as build_sdl

from spirit_tours.config import Settings
from spirit_tours.schema.build import build_schema

# Described by the GraphQL specification itself, not by us.
BUILT_IN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})


def _described(description: str | None) -> bool:
    return bool(description and description.strip())


def _own_types(schema: GraphQLSchema) -> list[GraphQLNamedType]:
    return [
        named
        for name, named in sorted(schema.type_map.items())
        if not name.startswith("__") and name not in BUILT_IN_SCALARS
    ]


def undocumented(schema: GraphQLSchema) -> list[str]:
    """Every named type, field, argument, input field and enum value without a description."""
    missing: list[str] = []
    for named in _own_types(schema):
        if not _described(named.description):
            missing.append(f"type {named.name}")
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if not _described(field.description):
                    missing.append(f"field {named.name}.{field_name}")
                for arg_name, arg in field.args.items():
                    if not _described(arg.description):
                        missing.append(f"argument {named.name}.{field_name}({arg_name})")
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                if not _described(input_field.description):
                    missing.append(f"input field {named.name}.{field_name}")
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                if not _described(value.description):
                    missing.append(f"enum value {named.name}.{value_name}")
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    missing = undocumented(build_schema(Settings())._schema)
    assert not missing, f"{len(missing)} schema elements lack a description:\n" + "\n".join(missing)


def test_the_check_sees_each_kind_of_element() -> None:
    """The counting itself: a schema with one undescribed element of each kind names them all."""
    schema = build_sdl(
        '''
        type Query { a(x: Int): E, b: I }
        enum E { ONE }
        input I2 { f: Int }
        """Described."""
        type I { g(y: I2): Int }
        '''
    )
    assert undocumented(schema) == [
        "type E",
        "enum value E.ONE",
        "field I.g",
        "argument I.g(y)",
        "type I2",
        "input field I2.f",
        "type Query",
        "field Query.a",
        "argument Query.a(x)",
        "field Query.b",
    ]
