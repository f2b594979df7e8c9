"""The layout every signed-in page shares — its head's assets and its header — built in Python.

As template nodes (a navigation loop, four ``{% url %}``s, three ``{% static %}``s, the
member's name, role and inbox count) the layout cost more than a small page's own content,
on every request; here it is a few string joins. The markup is what ``base.html`` had, every
value escaped by ``format_html``; the view and browser tests read it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django_htmx.jinja import htmx_script

from console.csrf import get_token
from console.fragments import CSRF_MARK
from console.markup import escape, format_html, format_html_join
from console.navigation import current

register = template.Library()


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    """A test that changes the static storage or the URLs gets the layout built anew."""
    _assets.cache_clear()
    _links.cache_clear()
    _HEADERS.clear()


@cache
def _assets() -> SafeString:
    """The same for every page of a deployment (hashed static names), so built once."""
    return format_html(
        '<link rel="icon" href="{}" type="image/svg+xml">\n'
        '  <link rel="stylesheet" href="{}">\n'
        "  {}\n"
        '  <script src="{}" defer></script>',
        static("console/favicon.svg"),
        static("console/console.css"),
        htmx_script(version=2, minified=True, extensions="", nonce=None),
        static("console/console.js"),
    )


@register.simple_tag
def head_assets() -> SafeString:
    return _assets()


@cache
def _links() -> dict[str, str]:
    names = ("logout", "inbox", "notifications", "password-change", "notices")
    return {name: reverse(f"console:{name}") for name in names}


# Each member's header as last built, per process: the same member, role, inbox count and
# current page give the same markup, with the CSRF token left as a marker (console.fragments)
# and filled in per request. Emptied when full; a changed name, role or count is a new key.
_HEADERS: dict[tuple[Any, ...], str] = {}
HEADERS_KEPT = 2048


@register.simple_tag(takes_context=True)
def site_header(context: Any) -> SafeString:
    """The header's navigation and the member's corner: who and in what role, the inbox and
    its unread count, their settings, password and log-out."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return mark_safe("")
    role = context.get("my_role")
    # A count, or a lazy one (a POST's page asks only if it shows it): read as its text.
    unread = int(str(context.get("inbox_unread") or 0))
    request = context["request"]
    key = (user.pk, user.get_username(), role, unread, current(request.path))
    kept = _HEADERS.get(key)
    if kept is None:
        if len(_HEADERS) >= HEADERS_KEPT:
            _HEADERS.clear()
        kept = _HEADERS[key] = _site_header(context, user, role, unread)
    token = context.get("csrf_token") or get_token(request)
    return mark_safe(kept.replace(CSRF_MARK, escape(str(token))))  # noqa: S308  (escaped when built)


def _site_header(context: Any, user: Any, role: Any, unread: int) -> str:
    links = _links()
    nav = format_html_join(
        "\n",
        '          <li><a href="{}"{}>{}</a></li>',
        (
            (item.url, mark_safe(' aria-current="page"') if item.current else "", item.label)
            for item in context.get("nav_items", ())
        ),
    )
    count = format_html(' aria-label="Inbox, {} unread"', unread) if unread else mark_safe("")
    badge = format_html(
        '<span class="badge" id="inbox-count"{} aria-hidden="true">{}</span>',
        mark_safe("") if unread else mark_safe(" hidden"),
        unread or "",
    )
    return format_html(
        '<nav aria-label="Main">\n        <ul class="nav">\n{}\n        </ul>\n      </nav>\n'
        '      <form class="logout" method="post" action="{}">\n'
        '        <input type="hidden" name="csrfmiddlewaretoken" value="{}">\n'
        '        <span class="whoami">{} · <span class="whoami__role">{}</span></span>\n'
        '        <a href="{}" class="inbox-link" id="inbox-link"{}>Inbox{}</a>\n'
        '        <a href="{}">Your settings</a>\n'
        '        <a href="{}">Password</a>\n'
        '        <button type="submit" class="button button--quiet">Log out</button>\n'
        "      </form>",
        nav,
        links["logout"],
        mark_safe(CSRF_MARK),  # noqa: S308  (the marker, filled in with the escaped token)
        user.get_username(),
        role.label if role else "no role yet",
        links["inbox"],
        count,
        badge,
        links["notifications"],
        links["password-change"],
    )


@register.simple_tag(takes_context=True)
def notices_poll(context: Any) -> SafeString:
    """The layout's timer that asks for new notices (and the inbox count), for a member."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return SafeString("")
    return format_html(
        '<div hidden hx-get="{}" hx-trigger="every {}s" hx-swap="none"></div>',
        _links()["notices"],
        context.get("notice_poll_seconds"),
    )


@register.simple_tag(takes_context=True)
def theme_attribute(context: Any) -> SafeString:
    """`` data-theme="dark"`` on the page for a member's chosen colours ("system": nothing)."""
    theme = context.get("theme")
    if not theme or theme == "system":
        return SafeString("")
    return format_html(' data-theme="{}"', theme)


@register.simple_tag(takes_context=True)
def page_messages(context: Any) -> SafeString:
    """The messages waiting for this page (a notice's with a link to its run)."""
    from console.middleware import message_link

    waiting = context.get("messages")
    if not waiting:
        return SafeString("")
    lines = "".join(
        format_html(
            '<p class="message message--{}">{}{}</p>',
            message.level_tag,
            message,
            format_html(' <a href="{}">See the run</a>', link)
            if (link := message_link(message))
            else "",
        )
        for message in waiting
    )
    return SafeString(f'<div class="messages" role="status">\n      {lines}\n    </div>')
