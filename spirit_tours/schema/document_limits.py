"""Limits on the shape of a GraphQL document, checked in time linear in the document.

strawberry's depth and alias limiters walk every path through the fragments, so a chain of
fragments that each spread the next twice costs 2**N steps (issue 12); graphql-core's
OverlappingFieldsCanBeMerged compares fields with the same response name pairwise. These rules
run first, on their own, and only a document that passes them reaches the standard rules:

- at most ``max_fragment_spreads`` spreads in the whole document;
- the depth of each operation (introspection fields exempt, for GraphiQL), its aliases and its
  size with every fragment expanded (``max_expanded_selections``) — each fragment is analysed
  once and its result reused wherever it is spread, and a fragment spread inside itself counts
  as empty (graphql-core's NoFragmentCycles reports the cycle);
- then, on an operation known to be small once expanded, how many fields merge at each
  response path (``viewer`` twenty times with ``company`` nineteen times in each merge into
  380 ``viewer.company`` fields): the field-merging rule's work grows with their square.
- no control character or lone surrogate in a string literal, no list literal longer than
  ``max_list_items`` (see ``input_text``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    validate,
)
from graphql.language import ArgumentNode, ObjectFieldNode

from spirit_tours.core.errors import ErrorCode
from spirit_tours.core.text import forbidden_character
from spirit_tours.schema.input_text import list_too_long


@dataclass
class _Shape:
    """What a selection set contributes where it is used: its depth, its aliases and its
    selections (fields and spreads) once every fragment is expanded."""

    depth: int = 0
    aliases: int = 0
    selections: int = 0


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int
    max_aliases: int
    max_fragment_spreads: int
    max_expanded_selections: int
    max_same_name_fields: int
    max_list_items: int


class _Analysis:
    def __init__(self, document: DocumentNode, limits: DocumentLimits) -> None:
        self.limits = limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.done: dict[str, _Shape] = {}
        self.in_progress: set[str] = set()

    def fragment(self, name: str) -> _Shape:
        if name in self.done:
            return self.done[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return _Shape()  # unknown fragment or cycle: reported by the standard rules
        self.in_progress.add(name)
        shape = self.selection_set(definition.selection_set)
        self.in_progress.discard(name)
        self.done[name] = shape
        return shape

    def selection_set(self, selection_set: SelectionSetNode) -> _Shape:
        """Memoised per fragment: linear in the document (the counts may be huge)."""
        shape = _Shape()
        for selection in selection_set.selections:
            shape.selections += 1
            if isinstance(selection, FieldNode):
                shape.aliases += selection.alias is not None
                if selection.selection_set is None:
                    continue
                inner = self.selection_set(selection.selection_set)
                shape.aliases += inner.aliases
                shape.selections += inner.selections
                if not selection.name.value.startswith("__"):  # introspection: no depth
                    shape.depth = max(shape.depth, 1 + inner.depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:  # pragma: no cover - the three kinds of selection
                continue
            shape.depth = max(shape.depth, inner.depth)
            shape.aliases += inner.aliases
            shape.selections += inner.selections
        return shape

    def merged_fields(
        self,
        selection_set: SelectionSetNode,
        path: tuple[str, ...] = (),
        counts: Counter[tuple[str, ...]] | None = None,
        active: frozenset[str] = frozenset(),
    ) -> Counter[tuple[str, ...]]:
        """How many fields merge at each response path (fields of one response name merge,
        and so do their selections). Expands fragments: only called once the expanded size
        is known to be within ``max_expanded_selections``."""
        counts = Counter() if counts is None else counts
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                here = (*path, (selection.alias or selection.name).value)
                counts[here] += 1
                if selection.selection_set is not None:
                    self.merged_fields(selection.selection_set, here, counts, active)
            elif isinstance(selection, InlineFragmentNode):
                self.merged_fields(selection.selection_set, path, counts, active)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is not None and name not in active:
                    self.merged_fields(definition.selection_set, path, counts, active | {name})
        return counts


def _spread_count(document: DocumentNode) -> int:
    count = 0
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                count += 1
            elif selection.selection_set is not None:  # type: ignore[attr-defined]
                stack.append(selection.selection_set)  # type: ignore[attr-defined]
    return count


def document_limit_rule(limits: DocumentLimits) -> type[ASTValidationRule]:
    """The shape limits as one validation rule class (build it once: caches key on it)."""

    class DocumentLimitsRule(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            spreads = _spread_count(node)
            if spreads > limits.max_fragment_spreads:
                self.report_error(
                    GraphQLError(
                        f"The document has {spreads} fragment spreads; at most "
                        f"{limits.max_fragment_spreads} are allowed."
                    )
                )
                return
            analysis = _Analysis(node, limits)
            aliases = 0
            operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
            for definition in operations:
                shape = analysis.selection_set(definition.selection_set)
                aliases += shape.aliases
                name = definition.name.value if definition.name else "anonymous"
                if shape.depth > limits.max_depth:
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                            [definition],
                        )
                    )
                if shape.selections > limits.max_expanded_selections:
                    self.report_error(
                        GraphQLError(
                            f"'{name}' expands to {shape.selections} fields and fragment "
                            f"spreads (each fragment counted wherever it is spread); at most "
                            f"{limits.max_expanded_selections} are allowed.",
                            [definition],
                        )
                    )
                    return
                merged = analysis.merged_fields(definition.selection_set)
                path, count = merged.most_common(1)[0] if merged else ((), 0)
                if count > limits.max_same_name_fields:
                    self.report_error(
                        GraphQLError(
                            f"'{name}' merges {count} fields at {'.'.join(path)} (fields with "
                            f"one response name merge, fragments included); at most "
                            f"{limits.max_same_name_fields} are allowed.",
                            [definition],
                        )
                    )
            if aliases > limits.max_aliases:
                self.report_error(
                    GraphQLError(f"{aliases} aliases found. Allowed: {limits.max_aliases}")
                )

    return DocumentLimitsRule


def _argument_path(parent: Any, ancestors: list[Any]) -> str:
    names = [
        a.name.value for a in [*ancestors, parent] if isinstance(a, ArgumentNode | ObjectFieldNode)
    ]
    return ".".join(names) or "value"


def input_literals_rule(max_list_items: int) -> type[ASTValidationRule]:
    """A string literal with a control character or lone surrogate, or a list literal longer
    than ``max_list_items``, is bad input, named by its argument path."""

    class InputLiteralsRule(ASTValidationRule):
        def enter_string_value(
            self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: list[Any]
        ) -> None:
            found = forbidden_character(node.value)
            if found is not None:
                self._refuse(
                    node, _argument_path(parent, ancestors), f"text must not contain {found}"
                )

        def enter_list_value(
            self, node: ListValueNode, _key: Any, parent: Any, _path: Any, ancestors: list[Any]
        ) -> None:
            if len(node.values) > max_list_items:
                problem = list_too_long(len(node.values), max_list_items)
                self._refuse(node, _argument_path(parent, ancestors), problem)

        def _refuse(self, node: StringValueNode | ListValueNode, where: str, problem: str) -> None:
            self.report_error(
                GraphQLError(
                    f"{where}: {problem}.",
                    [node],
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": where},
                )
            )

    return InputLiteralsRule


def precheck_rules(limits: DocumentLimits) -> tuple[type[ASTValidationRule], ...]:
    return (document_limit_rule(limits), input_literals_rule(limits.max_list_items))


@lru_cache(maxsize=1024)
def precheck(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The shape and literal checks alone, cached like the standard validation."""
    try:
        return validate(schema, document, rules)
    except RecursionError:  # pragma: no cover - validate() already turns it into an error
        return [GraphQLError("The document nests too deeply.")]
