"""Pages joined with their layout when loaded (console.templating): the same markup as
``{% extends %}`` gives, for every shape of page, and Django's own path where joining can't."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Engine
from django.template.loader import get_template
from django.test import RequestFactory

from console.templating import JoinedBlock

LAYOUT = (
    "<title>{% block title %}Layout title{% endblock %}</title>"
    "<h1>{% block heading %}{% endblock %}</h1>"
    "{% block outer %}<div>{% block inner %}inner default{% endblock %}</div>{% endblock %}"
    "<p>{{ shown|default:'nothing set' }}</p>{% cycle 'a' 'b' as letter %}{{ letter }}"
)
PAGES = {
    "layout.html": LAYOUT,
    "layout_if.html": "{% if flag %}{% block body %}default{% endblock %}{% endif %}<i>end</i>",
    "middle.html": '{% extends "layout.html" %}{% block title %}Middle{% endblock %}',
    # Joined:
    "plain.html": (
        '{% extends "layout.html" %}{% block title %}Plain & <b>{{ name }}</b>{% endblock %}'
    ),
    "nested.html": (
        '{% extends "layout.html" %}text outside blocks is dropped'
        "{% block outer %}<section>{% block inner %}page inner{% endblock %}</section>"
        "{% endblock %}"
    ),
    "inner_only.html": '{% extends "layout.html" %}{% block inner %}just inner{% endblock %}',
    "scoped.html": (
        '{% extends "layout.html" %}'
        "{% block heading %}{% with shown='set in a block' %}{{ shown }}{% endwith %}"
        "{% cycle 'x' 'y' as shown %}{{ shown }}{% endblock %}"
    ),
    "loops.html": (
        '{% extends "layout.html" %}{% block heading %}{% for i in items %}{{ i }},'
        "{% empty %}none{% endfor %}{% endblock %}"
    ),
    "partial.html": (
        '{% extends "layout.html" %}{% block heading %}{% partialdef part inline %}'
        "<em>{{ name }}</em>{% endpartialdef %}{% endblock %}"
    ),
    # Left to {% extends %}:
    "super.html": (
        '{% extends "layout.html" %}{% block title %}{{ block.super }} + page{% endblock %}'
    ),
    "variable.html": "{% extends parent %}{% block title %}From a variable{% endblock %}",
    "two_levels.html": '{% extends "middle.html" %}{% block heading %}Two{% endblock %}',
    "in_if.html": '{% extends "layout_if.html" %}{% block body %}page body{% endblock %}',
}
JOINED = {
    "middle.html",
    "plain.html",
    "nested.html",
    "inner_only.html",
    "scoped.html",
    "loops.html",
    "partial.html",
}
CONTEXTS = [
    {"name": "<script>x</script>", "items": [1, 2], "flag": True, "parent": "layout.html"},
    {"name": "", "items": [], "flag": False, "parent": "layout.html"},
]


def _engine(loader: str) -> Engine:
    inner = ("django.template.loaders.locmem.Loader", PAGES)
    return Engine(
        loaders=[("template_partials.loader.Loader", [(loader, [inner])])],
        builtins=["template_partials.templatetags.partials"],
    )


JOINING = _engine("console.templating.Loader")
DJANGO = _engine("django.template.loaders.cached.Loader")


def _joined(template: Any) -> bool:
    return any(isinstance(n, JoinedBlock) for n in template.nodelist)


@pytest.mark.parametrize("name", sorted(set(PAGES) - {"layout.html", "layout_if.html"}))
@pytest.mark.parametrize("values", CONTEXTS, ids=["values", "empty"])
def test_a_page_renders_as_extends_renders_it(name: str, values: dict[str, Any]) -> None:
    page = JOINING.get_template(name)
    assert _joined(page) == (name in JOINED)
    expected = DJANGO.get_template(name).render(Context(values))
    assert page.render(Context(values)) == expected
    assert page.render(Context(values)) == expected  # and again, from the kept join


def test_a_partial_of_a_joined_page_is_still_found() -> None:
    html = JOINING.get_template("partial.html#part").render(Context({"name": "<b>"}))
    assert html == "<em>&lt;b&gt;</em>"


def test_a_page_is_joined_once_and_again_after_a_reset() -> None:
    engine = _engine("console.templating.Loader")
    first = engine.get_template("plain.html")
    assert engine.get_template("plain.html") is first
    for loader in engine.template_loaders:
        loader.reset()
    again = engine.get_template("plain.html")
    assert again is not first and _joined(again)


def test_the_consoles_pages_are_joined_with_the_layout() -> None:
    """Every page that extends base.html is joined, and renders the layout around its own."""
    request = RequestFactory().get("/")
    page = get_template("registration/locked_out.html")
    assert _joined(page.template)
    html = page.render({}, request)
    assert html.startswith("<!doctype html>") and "</html>" in html
    assert "Skip to content" in html
