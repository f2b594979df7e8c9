"""The team webhook's address rule and the one way it is called.

A webhook address reaches only the outside: its host is resolved and every address it resolves
to must be a public one. Loopback, private (RFC 1918, fc00::/7), shared (CGNAT, 100.64/10),
link-local (169.254/16 with the cloud metadata service, fe80::/10), multicast, unspecified and
reserved addresses are refused: when an Admin saves it, and again at every call, which then
connects to the very address it checked (with the host name kept for TLS and ``Host``), so a DNS
answer that changes in between cannot steer the call inside. Redirects are never followed.

The classification is the standard library's ``ipaddress`` (its ``is_global`` and friends
follow IANA's special-purpose registries); no third-party SSRF library is used because the
maintained ones wrap ``requests`` sessions and do not pin the checked address for TLS as
urllib3's ``server_hostname`` does here. ``CONSOLE_WEBHOOK_ALLOW_PRIVATE`` lets a deployment
that needs an internal receiver reach loopback, private and shared addresses; link-local,
multicast, unspecified and reserved ones stay refused even then.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from console.crypto import encrypt_secret
from console.models import Delivery, DeliveryChannel, DeliveryState, TeamWebhook
from console.services.audit import Actor, Target, audit_record
from drgero_client.client import is_loopback_host

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# What an Admin sees of a call that reached no receiver: never a closed port from a slow one.
NOT_DELIVERED = "could not deliver"


class Undeliverable(Exception):
    """The call did not reach a receiver that answered; the words never include the URL."""


RULE_WORDS = {
    "loopback": "a loopback address (this machine: 127.0.0.0/8, ::1)",
    "private": "a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)",
    "shared": "a shared carrier-grade NAT address (100.64.0.0/10)",
    "link-local": "a link-local address (169.254.0.0/16, fe80::/10, where cloud metadata lives)",
    "multicast": "a multicast address",
    "unspecified": "an unspecified address (0.0.0.0, ::)",
    "reserved": "a reserved address that is not on the public internet",
}
INTERNAL_RULES = {"loopback", "private", "shared"}  # what CONSOLE_WEBHOOK_ALLOW_PRIVATE opens


def _embedded(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it goes."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_rule(raw: IPAddress) -> str | None:
    """The rule that refuses this address, or None for a public one."""
    ip = _embedded(raw)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 4 and ip in CGNAT:
        return "shared"
    if ip.is_private and not ip.is_reserved:
        return "private"
    if not ip.is_global or ip.is_reserved:
        return "reserved"
    return None


def refused_rule(ip: IPAddress) -> str | None:
    """The rule that keeps the webhook from this address here, or None when it may go."""
    rule = address_rule(ip)
    if rule is None or (rule in INTERNAL_RULES and settings.CONSOLE_WEBHOOK_ALLOW_PRIVATE):
        return None
    return rule


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name resolves to (the seam the tests replace)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in found:
            found.append(ip)
    return found


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, all allowed; raises ``Undeliverable`` naming the rule otherwise."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise Undeliverable(f"the host name {host} could not be found") from None
    if not addresses:
        raise Undeliverable(f"the host name {host} could not be found")
    for ip in addresses:
        rule = refused_rule(ip)
        if rule is not None:
            raise Undeliverable(f"{host} is {RULE_WORDS[rule]}, which the webhook may not reach")
    return addresses


@sensitive_variables("url")
def webhook_url_problem(url: str) -> str | None:
    """Why a webhook address cannot be saved, in plain words; None when it can."""
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        return "Enter a full web address, starting with https://."
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "Leave the user name and password out of the address."
    try:
        host, port = _host_port(url)
    except ValueError:
        return "Enter a full web address, starting with https://."
    if parts.scheme != "https" and not (
        settings.CONSOLE_WEBHOOK_ALLOW_LOOPBACK_HTTP and is_loopback_host(host)
    ):
        return "The webhook address must start with https://."
    try:
        checked_addresses(host, port)
    except Undeliverable as exc:
        words = str(exc)
        if "could not be found" in words:
            return f"The host name {host} could not be found. Check the address."
        return (
            f"The webhook must be an address on the internet: {words}. A deployment that "
            "needs an internal receiver sets CONSOLE_WEBHOOK_ALLOW_PRIVATE=1."
        )
    return None


@sensitive_variables("url")
def post_json(url: str, document: dict[str, Any]) -> int:
    """POST the document to the checked address; returns the receiver's status code.

    Raises ``Undeliverable`` when the address is refused or nothing answered in time. The
    connection goes to the address that was checked; TLS verifies the certificate against the
    host name, and ``Host`` carries it. Redirects come back as their status, unfollowed.
    """
    parts = urlsplit(url)
    host, port = _host_port(url)
    address = str(checked_addresses(host, port)[0])
    timeout = urllib3.Timeout(
        connect=settings.CONSOLE_WEBHOOK_TIMEOUT[0], read=settings.CONSOLE_WEBHOOK_TIMEOUT[1]
    )
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            # The CA bundle requests itself would use: REQUESTS_CA_BUNDLE (a company CA, or
            # the soak run's own), else certifi's.
            ca_certs=os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    default_port = 443 if parts.scheme == "https" else 80
    host_header = f"[{host}]" if ":" in host else host
    if port != default_port:
        host_header += f":{port}"
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=json.dumps(document).encode(),
            headers={"Host": host_header, "Content-Type": "application/json"},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=True,
        )
    except urllib3.exceptions.HTTPError:
        raise Undeliverable(NOT_DELIVERED) from None
    finally:
        pool.close()
    return int(response.status)


# The team's webhook: saved encrypted by an Admin, shown back only by its host.

WEBHOOK_BINDING = ("webhook", "team")


@sensitive_variables("url")
def webhook_save(*, actor: User, url: str, request: HttpRequest | None = None) -> str | None:
    """Save the team webhook (encrypted); returns a problem in words, or None."""
    problem = webhook_url_problem(url)
    if problem:
        return problem
    value, key_id = encrypt_secret(url, binding=WEBHOOK_BINDING)
    host = urlsplit(url).hostname or ""
    with transaction.atomic():
        TeamWebhook.objects.update_or_create(
            pk=1,
            defaults={
                "ciphertext": value,
                "key_id": key_id,
                "host": host[:255],
                "saved_by": actor,
                "saved_at": timezone.now(),
            },
        )
        audit_record(
            actor=Actor.of(actor),
            action="team.webhook_set",
            outcome="succeeded",
            target=Target("webhook", "team", host),
            changes={"host": host},
            request=request,
        )
    return None


def webhook_remove(*, actor: User, request: HttpRequest | None = None) -> bool:
    with transaction.atomic():
        deleted, _ = TeamWebhook.objects.filter(pk=1).delete()
        if deleted:
            audit_record(
                actor=Actor.of(actor),
                action="team.webhook_remove",
                outcome="succeeded",
                target=Target("webhook", "team", ""),
                request=request,
            )
    return bool(deleted)


def webhook_status() -> dict[str, Any]:
    """What the Team page shows Admins: where it goes, and recent failures."""
    hook = TeamWebhook.objects.filter(pk=1).first()
    recent = Delivery.objects.filter(channel=DeliveryChannel.WEBHOOK).order_by("-pk")
    failing = list(
        recent.exclude(last_error="").exclude(state=DeliveryState.SENT).select_related("run")[:5]
    )
    return {
        "webhook": hook,
        "webhook_failures": failing,
        "webhook_last_sent": recent.filter(state=DeliveryState.SENT).first(),
    }
