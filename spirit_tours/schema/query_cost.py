"""Static cost of an operation, from the document and its variables, before it runs.

Each field costs 1. A field with a page size argument (``first``, or ``last``) multiplies what
is selected inside it by that size (the argument's default when absent): a list field directly,
a connection through its ``edges`` list. Any other list of objects counts as
``DEFAULT_LIST_SIZE`` items. Multipliers nest, so a list inside a page inside a page costs their
product. Introspection is costed by its real sizes: a list of the introspection types
(``__Schema.types``, ``__Type.fields``, ``__Field.args``…) multiplies what is selected inside it
by its average length in this schema (``introspection_sizes``, computed once per schema), so
``__schema { types { fields { args … } } }`` costs about what it produces; and an operation may
select ``__schema`` only once (GraphiQL's introspection query does). Each fragment is costed
once per page context, so the computation is linear in the document whatever its fragments.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_input_object_type,
    is_interface_type,
    is_list_type,
    is_object_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.utilities import get_operation_ast

from spirit_tours.persistence.repositories.pagination import MAX_PAGE_SIZE, UNSET_PAGE_SIZE

DEFAULT_LIST_SIZE = 10
# The page size arguments and the most any resolver serves for them (pagination's
# MAX_PAGE_SIZE, forwards or backwards). A larger page is refused by its resolver with
# BAD_USER_INPUT, so it costs what could at most be fetched; a page whose size is left unset
# (a chat thread's latest messages) costs the UNSET_PAGE_SIZE its resolver serves.
PAGE_ARGUMENTS = {"first": MAX_PAGE_SIZE, "last": MAX_PAGE_SIZE}
PAGE_SIZE_CAP = max(PAGE_ARGUMENTS.values())
# A list of objects fetched by a list of ids (``nodes(ids:)``) costs one item per id given.
ID_LIST_ARGUMENT = "ids"


def _wrapper_depth(kind: Any) -> int:
    depth = 0
    while hasattr(kind, "of_type"):
        kind, depth = kind.of_type, depth + 1
    return depth


@cache
def introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], float]:
    """The average length of each introspection list in this schema, by (introspection type,
    field): what one item of the enclosing list expands to, on average."""
    types = list(schema.type_map.values())
    fields = [
        f for t in types if is_object_type(t) or is_interface_type(t) for f in t.fields.values()
    ]
    input_fields = sum(len(t.fields) for t in types if is_input_object_type(t))
    enum_values = sum(len(getattr(t, "values", {}) or {}) for t in types)
    interfaces = sum(len(getattr(t, "interfaces", ()) or ()) for t in types)
    possible = sum(len(schema.get_possible_types(t)) for t in types if is_interface_type(t))
    possible += sum(len(getattr(t, "types", ()) or ()) for t in types)
    directives = list(schema.directives)
    # Type references (of fields, arguments, input fields): how deep their ofType chains go.
    references = [f.type for f in fields]
    references += [a.type for f in fields for a in f.args.values()]
    references += [f.type for t in types if is_input_object_type(t) for f in t.fields.values()]
    wrappers = sum(_wrapper_depth(r) for r in references)
    directive_args = sum(len(d.args) for d in directives)

    def per(total: int, items: int) -> float:
        return total / max(1, items)

    return {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(directives),
        ("__Type", "fields"): per(len(fields), len(types)),
        ("__Type", "inputFields"): per(input_fields, len(types)),
        ("__Type", "enumValues"): per(enum_values, len(types)),
        ("__Type", "interfaces"): per(interfaces, len(types)),
        ("__Type", "possibleTypes"): per(possible, len(types)),
        ("__Field", "args"): per(sum(len(f.args) for f in fields), len(fields)),
        ("__Directive", "args"): per(directive_args, len(directives)),
        # ``ofType`` is null past a reference's wrappers: with an average depth d, each level
        # of ``ofType { ofType { … } }`` is there with a chance of about d / (1 + d).
        ("__Type", "ofType"): per(wrappers, len(references) + wrappers),
    }


class _Coster:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[tuple[str, int | None], int] = {}
        self.in_progress: set[tuple[str, int | None]] = set()
        self.read_arguments = False  # whether the cost depends on argument values
        self.sizes = introspection_sizes(schema)

    def selection_set(self, node: SelectionSetNode, parent: Any, page: int | None) -> int:
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, kind, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        if definition is None or key in self.in_progress:
            return 0
        self.in_progress.add(key)
        kind = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection_set(definition.selection_set, kind, page)
        self.in_progress.discard(key)
        self.memo[key] = cost
        return cost

    def field(self, node: FieldNode, parent: Any, page: int | None) -> int:
        name = node.name.value
        composite = isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        definition = parent.fields.get(name) if composite else None
        if name == "__schema":
            definition = SchemaMetaFieldDef
        elif name == "__type":
            definition = TypeMetaFieldDef
        if definition is None or node.selection_set is None:
            return 1
        is_list = is_list_type(get_nullable_type(definition.type))
        introspected = getattr(parent, "name", "").startswith("__")
        own_page = None if introspected else self.page_size(definition, node)
        multiplier: float
        if introspected and (is_list or (parent.name, name) in self.sizes):
            multiplier, inner_page = self.sizes.get((parent.name, name), DEFAULT_LIST_SIZE), None
        elif own_page is not None:
            multiplier, inner_page = (own_page, None) if is_list else (1, own_page)
        elif is_list:
            multiplier, inner_page = (page if page is not None else DEFAULT_LIST_SIZE), None
        else:
            multiplier, inner_page = 1, None
        inner = self.selection_set(node.selection_set, get_named_type(definition.type), inner_page)
        return 1 + math.ceil(multiplier * inner)

    def page_size(self, definition: Any, node: FieldNode) -> int | None:
        if ID_LIST_ARGUMENT in definition.args and is_list_type(get_nullable_type(definition.type)):
            return self.id_count(definition, node)
        if not any(name in definition.args for name in PAGE_ARGUMENTS):
            return None
        self.read_arguments = True
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return PAGE_SIZE_CAP
        sizes = [
            max(1, min(value, cap))
            for name, cap in PAGE_ARGUMENTS.items()
            if isinstance(value := arguments.get(name), int)
        ]
        return max(sizes) if sizes else UNSET_PAGE_SIZE  # the larger: a default first, a last

    def id_count(self, definition: Any, node: FieldNode) -> int:
        """How many ids the field is given (its resolver refuses more than a page's worth)."""
        self.read_arguments = True
        try:
            ids = get_argument_values(definition, node, self.variables).get(ID_LIST_ARGUMENT)
        except GraphQLError:
            return PAGE_SIZE_CAP
        return max(1, min(len(ids) if isinstance(ids, list) else 1, PAGE_SIZE_CAP))


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """The cost of the operation that will run; 1 when it cannot run (no such operation,
    variables that do not coerce: execution reports those before any resolver)."""
    return _cost(schema, document, operation_name, variables)[0]


def _cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> tuple[int, bool]:
    """:func:`operation_cost`, and whether another request's variables could change it: when
    they did not coerce, or when a page size or an id list was read from the arguments."""
    operation: OperationDefinitionNode | None = get_operation_ast(document, operation_name)
    if operation is None:
        return 1, False
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if not isinstance(coerced, VariableValues):
        return 1, True
    root = schema.get_root_type(operation.operation)
    coster = _Coster(schema, document, coerced)
    cost = max(1, coster.selection_set(operation.selection_set, root, None))
    return cost, coster.read_arguments


class OperationCosts:
    """:func:`operation_cost` remembered per document text and operation name when no
    argument value decides it (a mutation's input, a lookup by id: the common case, whose
    variables differ on every request), else per text, name and variables too: a client
    polling the same page pays for walking its document once, not on every request. (Variables
    that do not coerce are then charged the document's cost, not 1: execution refuses them.)

    Keyed by SHA-256 digests only: a request's text and variables (any client's, up to the
    body limit, variables the operation never declares included) are not kept, so each cache
    holds ``maxsize`` small entries whatever clients send."""

    def __init__(self, maxsize: int = 1024) -> None:
        self._maxsize = maxsize
        self._by_document: dict[bytes, int | None] = {}  # None: the variables decide
        self._by_variables: dict[bytes, int] = {}

    def cost(
        self,
        schema: GraphQLSchema,
        text: str,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> int:
        shape = _digest([text, operation_name])
        cost = self._by_document.get(shape)
        if cost is not None:
            return cost
        key = _digest([shape.hex(), variables])  # the document's digest, not its text again
        cost = self._by_variables.get(key)
        if cost is not None:
            return cost
        cost, varies = _cost(schema, document, operation_name, variables)
        if varies:
            _remember(self._by_variables, key, cost, self._maxsize)
        _remember(self._by_document, shape, None if varies else cost, self._maxsize)
        return cost


def _digest(material: list[Any]) -> bytes:
    text = json.dumps(material, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _remember(cache: dict[bytes, Any], key: bytes, value: Any, maxsize: int) -> None:
    if key not in cache and len(cache) >= maxsize:
        del cache[next(iter(cache))]  # the oldest entry
    cache[key] = value
