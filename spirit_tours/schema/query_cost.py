"""Static cost of an operation, from the document and its variables, before it runs.

Each field costs 1. A field with a page size argument (``first``, or ``last``) multiplies what
is selected inside it by that size (the argument's default when absent): a list field directly,
a connection through its ``edges`` list. Any other list of objects counts as
``DEFAULT_LIST_SIZE`` items. Multipliers nest, so a list inside a page inside a page costs their
product. Introspection fields cost 1 each: graphql-core's MaxIntrospectionDepthRule already
bounds their fan-out. Each fragment is costed once per page context, so the computation is
linear in the document whatever its fragments.
"""

from __future__ import annotations

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
    is_list_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast

from spirit_tours.persistence.repositories.pagination import MAX_PAGE_SIZE

DEFAULT_LIST_SIZE = 10
# The page size arguments and the most any resolver serves for them (connections: pagination's
# MAX_PAGE_SIZE; chat messages: 200). A larger page is refused by its resolver with
# BAD_USER_INPUT, so it costs what could at most be fetched.
PAGE_ARGUMENTS = {"first": MAX_PAGE_SIZE, "last": 200}
PAGE_SIZE_CAP = max(PAGE_ARGUMENTS.values())


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
        self.plain_memo: dict[str, int] = {}

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
        if name.startswith("__"):
            return 1 + (self.plain(node.selection_set) if node.selection_set else 0)
        composite = isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        definition = parent.fields.get(name) if composite else None
        if definition is None or node.selection_set is None:
            return 1
        is_list = is_list_type(get_nullable_type(definition.type))
        own_page = self.page_size(definition, node)
        if own_page is not None:
            multiplier, inner_page = (own_page, None) if is_list else (1, own_page)
        elif is_list:
            multiplier, inner_page = (page if page is not None else DEFAULT_LIST_SIZE), None
        else:
            multiplier, inner_page = 1, None
        inner = self.selection_set(node.selection_set, get_named_type(definition.type), inner_page)
        return 1 + multiplier * inner

    def page_size(self, definition: Any, node: FieldNode) -> int | None:
        if not any(name in definition.args for name in PAGE_ARGUMENTS):
            return None
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return PAGE_SIZE_CAP
        for name, cap in PAGE_ARGUMENTS.items():
            value = arguments.get(name)
            if isinstance(value, int):
                return max(1, min(value, cap))
        return DEFAULT_LIST_SIZE

    def plain(self, node: SelectionSetNode) -> int:
        """Introspection: one point per field, fragments counted once each."""
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += 1 + (self.plain(selection.selection_set) if selection.selection_set else 0)
            elif isinstance(selection, InlineFragmentNode):
                total += self.plain(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self.plain_memo and name in self.fragments:
                    self.plain_memo[name] = 0  # a cycle counts as nothing
                    self.plain_memo[name] = self.plain(self.fragments[name].selection_set)
                total += self.plain_memo.get(name, 0)
        return total


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """The cost of the operation that will run; 1 when it cannot run (no such operation,
    variables that do not coerce: execution reports those before any resolver)."""
    operation: OperationDefinitionNode | None = get_operation_ast(document, operation_name)
    if operation is None:
        return 1
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if not isinstance(coerced, VariableValues):
        return 1
    root = schema.get_root_type(operation.operation)
    return max(
        1, _Coster(schema, document, coerced).selection_set(operation.selection_set, root, None)
    )
