"""Pages joined with their layout once, when loaded, instead of on every render.

On every render, ``{% extends %}`` finds the parent again, walks all of its nodes for blocks,
and builds a new block node for each block the page fills. Together that was about a
twentieth of a bare page's server time (docs/benchmarks.md, "Fifth push"). The console's
pages extend ``base.html`` in the simplest way: one level, a constant name, blocks that are
not inside other tags, and no ``{{ block.super }}``.

This loader is Django's cached loader. When it loads such a page, it also builds the page
joined with its layout: the layout's nodes, with each block replaced by the page's own (or
the layout's, where the page has none). It keeps that, and renders it as the page. Each block
still renders in a context layer of its own, as Django's blocks do, so a value set inside a
block stays there. A template that does anything else is left to ``{% extends %}``
unchanged. The partials that htmx swaps (``page.html#name``) are the page's own nodes, found
through the page's ``extra_data`` as before.
"""

from __future__ import annotations

import copy
from typing import Any

from django.template import Context, Template
from django.template.base import FilterExpression, Node, NodeList, TextNode
from django.template.loader_tags import BlockNode, ExtendsNode
from django.template.loaders import cached
from django.utils.safestring import SafeString


class JoinedBlock(Node):
    """A block of a joined page: its nodes, in a context layer of their own."""

    child_nodelists = ("nodelist",)

    def __init__(self, block: BlockNode, nodelist: NodeList) -> None:
        self.name = block.name
        self.nodelist = nodelist
        self.origin = block.origin
        self.token = block.token

    def render(self, context: Context) -> SafeString:
        with context.push():
            return self.nodelist.render(context)

    def __repr__(self) -> str:
        return f"<JoinedBlock: {self.name}>"


class NotJoined(Exception):
    """The page extends its layout in a way only ``{% extends %}`` renders."""


def _extends(template: Template) -> ExtendsNode | None:
    for node in template.nodelist:
        if not isinstance(node, TextNode):
            return node if isinstance(node, ExtendsNode) else None
    return None


def _joined_nodes(nodelist: NodeList, blocks: dict[str, BlockNode]) -> NodeList:
    joined = NodeList()
    for node in nodelist:
        if isinstance(node, BlockNode):
            chosen = blocks.get(node.name, node)
            node = JoinedBlock(chosen, _joined_nodes(chosen.nodelist, blocks))
        elif node.get_nodes_by_type(BlockNode):
            raise NotJoined  # a block inside another tag ({% if %}, {% for %}, …)
        joined.append(node)
    return joined


class Loader(cached.Loader):
    """Django's cached loader, which also keeps each page joined with its layout."""

    def __init__(self, engine: Any, loaders: Any) -> None:
        super().__init__(engine, loaders)
        # The page's name -> (the page as loaded, the page joined with its layout).
        self.joined: dict[str, tuple[Template, Template]] = {}

    def get_template(self, template_name: str, skip: Any = None) -> Template:
        template = super().get_template(template_name, skip)
        if skip:
            # Asked for by another page's {% extends %}: the page as written, whose blocks
            # that page fills.
            return template
        kept = self.joined.get(template_name)
        if kept is None or kept[0] is not template:
            kept = self.joined[template_name] = (template, self._join(template))
        return kept[1]

    def _join(self, page: Template) -> Template:
        extends = _extends(page)
        if extends is None:
            return page
        name = extends.parent_name
        if not isinstance(name, FilterExpression) or name.filters or "block.super" in page.source:
            return page
        if not isinstance(parent := name.var, str):
            return page  # a variable's value, known only when rendered
        layout = super().get_template(parent, skip=[page.origin])
        if layout.nodelist.get_nodes_by_type(ExtendsNode):
            return page  # more than one level
        try:
            nodes = _joined_nodes(layout.nodelist, extends.blocks)
        except NotJoined:
            return page
        joined = copy.copy(page)
        joined.nodelist = nodes
        return joined

    def reset(self) -> None:
        super().reset()
        self.joined.clear()
