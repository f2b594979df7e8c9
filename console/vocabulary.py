"""Dr.Gero's values in plain words, in one place: run statuses, algorithms, cadences."""

from __future__ import annotations

ALGORITHMS: dict[str, tuple[str, str]] = {
    "LAST_N": (
        "Newest rows",
        "Uses the most recent rows, so the model learns from what is happening now.",
    ),
    "RANDOM_SHUFFLE": (
        "Random sample",
        "Picks rows at random from all the data, so older and newer rows count alike.",
    ),
    "WEIGHTED_SHUFFLE": (
        "Weighted sample",
        "Picks rows at random but favours the ones Dr.Gero weighs as more useful.",
    ),
}

# Dr.Gero's creation modes, in the words of the list and the model page.
CREATION_WORDS: dict[str, str] = {"auto": "Automatic"}

CADENCES: dict[str, tuple[str, str, str]] = {
    # value: (label, one sentence, the summary's opening words)
    "REAL_TIME": ("Real time", "Fine-tune as new data arrives.", "As new data arrives"),
    "DAILY": ("Daily", "Fine-tune once a day.", "Every day"),
    "WEEKLY": ("Weekly", "Fine-tune once a week.", "Every week"),
    "MONTHLY": ("Monthly", "Fine-tune once a month.", "Every month"),
}

# Run status categories; Dr.Gero's own values are undocumented, so synonyms are matched.
STATUS_SYNONYMS: dict[str, str] = {
    "queued": "queued",
    "pending": "queued",
    "created": "queued",
    "submitted": "queued",
    "waiting": "queued",
    "scheduled": "queued",
    "running": "running",
    "in_progress": "running",
    "inprogress": "running",
    "started": "running",
    "training": "running",
    "processing": "running",
    "succeeded": "succeeded",
    "success": "succeeded",
    "successful": "succeeded",
    "completed": "succeeded",
    "complete": "succeeded",
    "done": "succeeded",
    "finished": "succeeded",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
    "errored": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "aborted": "cancelled",
    "stopped": "cancelled",
}
ACTIVE_CATEGORIES = ("queued", "running")
CATEGORIES = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "unknown",
    "unreadable",
    "gone",
)
CATEGORY_WORDS = {
    "queued": "Queued — waiting for Dr.Gero to start it",
    "running": "Running — training now",
    "succeeded": "Succeeded — finished; the model was updated",
    "failed": "Failed — ended with an error",
    "cancelled": "Cancelled — stopped before finishing",
    "unknown": "Unknown — a status the console does not know, shown as Dr.Gero sent it",
    "unreadable": "Unknown — no member's token can read this model any more",
    "gone": "No longer in Dr.Gero — Dr.Gero stopped listing this run before it ended",
}


TRIGGER_WORDS = {
    "api": "started through Dr.Gero's API",
    "schedule": "started by Dr.Gero's schedule",
    "scheduled": "started by Dr.Gero's schedule",
    "manual": "started by hand in Dr.Gero",
    "ui": "started in Dr.Gero's own pages",
}


def trigger_words(trigger: object) -> str:
    """How Dr.Gero says a run was started, in words; an unknown value as it came."""
    if not isinstance(trigger, str) or not trigger.strip():
        return ""
    known = TRIGGER_WORDS.get(trigger.strip().lower())
    return known or f"Dr.Gero says it was started by “{one_line(trigger, 60)}”"


# What to try after a failed run, by what Dr.Gero's reason says (its wording is not
# documented, so a few phrasings are matched); the first that matches speaks.
FAILURE_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("out of memory", "out-of-memory", "oom", "memory"),
        "Try again with fewer rows: training ran out of memory with this many.",
    ),
    (
        ("too small", "too few", "not enough", "insufficient", "empty dataset", "no data"),
        "Try again with more rows, or with synthetic data on, so that Dr.Gero adds generated "
        "examples to a small dataset.",
    ),
    (
        ("plan", "billing", "payment", "quota", "budget", "entitlement", "upgrade"),
        "This needs a paid Dr.Gero plan, or more budget on the token. A Dr.Gero workspace "
        "owner or admin can change the plan; then run it again.",
    ),
)
FAILURE_FALLBACK = (
    "The console does not know this reason. Check the run's settings below and run it again; "
    "if it fails the same way, ask whoever looks after your team's Dr.Gero workspace."
)


def failure_advice(reason: str) -> str:
    """The next step after a failed run, in words, from the reason Dr.Gero gave."""
    import re

    text = reason.casefold()
    for needles, advice in FAILURE_ADVICE:
        if any(re.search(rf"\b{re.escape(n)}\b", text) for n in needles):
            return advice
    return FAILURE_FALLBACK


def status_category(status: str | None) -> str:
    """Dr.Gero's status → queued, running, succeeded, failed, cancelled or unknown."""
    key = (status or "").strip().lower().replace("-", "_").replace(" ", "_")
    return STATUS_SYNONYMS.get(key, "unknown")


def dataset_phrase(*, auto: bool, rows: int | None, algorithm: str) -> str:
    """``the newest 1,000 rows``, ``a random sample of 2,000 rows``, ``an automatic …``."""
    if auto or rows is None:
        size = "an automatically sized set of"
        return {
            "LAST_N": f"{size} the newest rows",
            "RANDOM_SHUFFLE": f"{size} randomly sampled rows",
            "WEIGHTED_SHUFFLE": f"{size} weighted-sampled rows",
        }.get(algorithm, f"{size} rows chosen by {algorithm}")
    count = f"{rows:,} row{'s' if rows != 1 else ''}"
    return {
        "LAST_N": f"the newest {count}",
        "RANDOM_SHUFFLE": f"a random sample of {count}",
        "WEIGHTED_SHUFFLE": f"a weighted sample of {count}",
    }.get(algorithm, f"{count} chosen by {algorithm}")


def duration_phrase(seconds: float | int | None) -> str:
    """``41 min``, ``2 h 5 min``, ``12 s``; "" when unknown."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def one_line(text: str, limit: int = 80) -> str:
    """Text for a single-line place (an email subject): control, format and line-separator
    characters gone, white space folded, at most ``limit`` characters."""
    import unicodedata

    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn")
    )
    folded = " ".join(kept.split())
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"


def chat_plain(text: str) -> str:
    """Text a chat receiver shows as written, never as markup or a mention.

    Slack reads ``&``, ``<`` and ``>`` as markup and documents escaping them as ``&amp;``,
    ``&lt;`` and ``&gt;`` (so ``<!channel>`` and ``<https://…|label>`` arrive as text);
    Mattermost and Teams read the same field. A zero-width space after ``@`` keeps
    ``@here``, ``@channel`` and ``@name`` from notifying anyone.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("@", "@\u200b")
