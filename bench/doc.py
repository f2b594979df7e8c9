"""docs/benchmarks.md is written by three commands: `make bench` the whole of it, `make fuzz`
and `make chaos` a marked section each, which `make bench` keeps as they are."""

from __future__ import annotations

import re

from bench.common import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
MARK = re.compile(r"<!-- (?P<name>[a-z]+) -->\n.*?<!-- /(?P=name) -->\n", re.S)


def sections() -> dict[str, str]:
    """The marked sections of the document as it is now, by name."""
    text = DOC.read_text() if DOC.exists() else ""
    return {m["name"]: m[0] for m in MARK.finditer(text)}


def marked(name: str, lines: list[str]) -> str:
    return f"<!-- {name} -->\n" + "\n".join(lines).rstrip() + f"\n<!-- /{name} -->\n"


def replace_section(name: str, lines: list[str]) -> None:
    """Put ``lines`` in the section ``name``, replacing it, or at the end."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = marked(name, lines)
    found = sections().get(name)
    text = text.replace(found, block) if found else text.rstrip() + "\n\n" + block
    DOC.write_text(text)


# Each figure is shown with the value the previous `make bench` wrote beside it. The figures of
# a run are kept in docs/benchmarks.json (name → number); the next run reads them first.
FIGURES = ROOT / "docs" / "benchmarks.json"


def previous_figures() -> dict[str, float]:
    import json

    return json.loads(FIGURES.read_text()) if FIGURES.exists() else {}


def save_figures(figures: dict[str, float]) -> None:
    import json

    FIGURES.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


def was(previous: dict[str, float], key: str, fmt: str = "{:.1f}") -> str:
    """`` (was 43.3)`` after a figure, or nothing when the previous run did not measure it."""
    value = previous.get(key)
    return "" if value is None else f" (was {fmt.format(value)})"
