"""Reading bounce and complaint reports: DSNs (RFC 3464) through flufl.bounce, abuse
reports (ARF, RFC 5965) by hand, and a hard / soft / complaint verdict for each recipient.

Pure functions over bytes: no database, no app. The service decides what a verdict does.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import NamedTuple

from flufl.bounce import all_failures

from ..models import BounceKind

# ARF feedback types that mean "this subscriber did not want this mail" (RFC 5965 section 7.3).
COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other"}

# Failures that say nothing bad about the address itself: a full mailbox (x.2.2), a message
# too big (x.3.4), a policy or spam block (x.7.*). Soft even when the server said 5xx.
_SOFT_DETAILS = {("2", "2"), ("3", "4")}
_SOFT_SUBJECTS = {"7"}

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# A failure reply (4xx, 5xx); a transcript's 220 greeting or 250 OK is no reason.
_SMTP_REPLY = re.compile(r"\b([45]\d\d)\b[\s:-]")
# The "550-5.1.1 " that starts each continuation line of a multi-line SMTP reply.
_CONTINUATION = re.compile(r"(?<=\S)\s+[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\s+")
_MAX_REASON = 500


@dataclass(frozen=True)
class Failure:
    """One recipient a report is about, with the verdict and the server's own words."""

    kind: BounceKind
    recipient: str  # "" when the report redacts it (common in ARF feedback loops)
    status: str  # enhanced status code "5.1.1", or ""
    reason: str


@dataclass(frozen=True)
class BounceReport:
    """What a bounce or complaint says, plus what identifies the message it is about."""

    failures: tuple[Failure, ...]
    message_ids: tuple[str, ...]  # Message-IDs of the original mail quoted in the report
    addresses: tuple[str, ...]  # addresses the report was sent to / about (VERP candidates)
    recipients: tuple[str, ...]  # addresses this message itself was sent to (nothing quoted)


def parse(raw: bytes) -> BounceReport:
    """Read one raw message; a report with no failures means it is no bounce at all."""
    msg = email.message_from_bytes(raw)  # compat32: what flufl.bounce expects
    feedback = _first_part(msg, "message/feedback-report")
    failures = _complaints(feedback) if feedback is not None else _bounces(msg)
    recipients = _recipients(msg)
    return BounceReport(
        tuple(failures), _original_message_ids(msg), _addresses(msg, recipients), recipients
    )


# ------------------------------------------------------------------ complaints (ARF)


def _complaints(feedback: Message) -> list[Failure]:
    fields = _fields(feedback)
    if not fields:
        return []
    kind = _get(fields[0], "Feedback-Type").strip().lower()
    if kind not in COMPLAINT_TYPES:
        return []  # not-spam and unknown types are no complaint
    recipient = parseaddr(_get(fields[0], "Original-Rcpt-To"))[1].lower()
    return [Failure(BounceKind.COMPLAINT, recipient, "", f"feedback report: {kind}")]


# ------------------------------------------------------------------ bounces (DSN and others)


def _bounces(msg: Message) -> list[Failure]:
    statuses = _dsn_fields(msg)
    try:
        temporary, permanent = all_failures(msg)
    except Exception:
        # flufl.bounce's heuristic detectors can trip over malformed input (a report with no
        # From, say); the standard DSN fields read above still stand on their own.
        temporary = frozenset(a.encode() for a, f in statuses.items() if not f.final)
        permanent = frozenset(a.encode() for a, f in statuses.items() if f.final)
    found = {a.decode().lower(): True for a in permanent}
    found.update({a.decode().lower(): False for a in temporary if a.decode().lower() not in found})
    text = _body_text(msg)
    failures = []
    for recipient, permanent_failure in sorted(found.items()):
        status, reason, _ = statuses.get(recipient, _NO_FIELDS)
        reason = reason or _reason_near(text, recipient)
        status = status or _status_in(reason)
        failures.append(
            Failure(_classify(permanent_failure, status, reason), recipient, status, reason)
        )
    return failures


def _classify(permanent: bool, status: str, reason: str) -> BounceKind:
    """Hard when the address itself is bad for good.

    A status saying the address is fine (full mailbox, message too big, policy block) is soft
    whatever else. Otherwise 5.x.x is hard, and so is 4.x.x when the server gave up (an
    X.400 gateway's "Action: failed, Status: 4.4.7" after days of trying). Without a status,
    the detector's "permanent" stands: MDaemon's "Permanent Delivery Failure" quotes only a
    bare 552, yet it has removed the message for good.
    """
    if status:
        klass, subject, detail = status.split(".")
        if subject in _SOFT_SUBJECTS or (subject, detail) in _SOFT_DETAILS:
            return BounceKind.SOFT
        return BounceKind.HARD if klass == "5" or permanent else BounceKind.SOFT
    if permanent:
        return BounceKind.HARD
    reply = _SMTP_REPLY.search(reason)
    return BounceKind.HARD if reply and reply.group(1).startswith("5") else BounceKind.SOFT


class _DsnFields(NamedTuple):
    status: str  # "5.1.1", or ""
    reason: str  # the Diagnostic-Code's text
    final: bool  # Action: failed (the server gave up), not delayed


_NO_FIELDS = _DsnFields("", "", False)


def _dsn_fields(msg: Message) -> dict[str, _DsnFields]:
    """Recipient -> its Status, Diagnostic-Code and Action, from every delivery-status part."""
    result = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload()[1:]:  # the first block is about the message
            action = _get(block, "Action").strip().lower()
            if not action.startswith(("fail", "delay", "error")):
                continue  # delivered, relayed, expanded: no failure
            recipient = ""
            for header in ("Original-Recipient", "Final-Recipient"):
                recipient = recipient or _typed_address(_get(block, header))
            if recipient:
                status = _STATUS.search(_get(block, "Status"))
                diagnostic = _one_line(_get(block, "Diagnostic-Code")).partition(";")
                reason = _CONTINUATION.sub(" ", diagnostic[2].strip() or diagnostic[0].strip())
                result[recipient] = _DsnFields(
                    status.group(0) if status else "",
                    reason[:_MAX_REASON],
                    not action.startswith("delay"),
                )
    return result


def _typed_address(value: str) -> str:
    """The address in ``rfc822; user@example.org`` (or a bare / angle-bracketed one)."""
    address = value.partition(";")[2] if ";" in value else value
    return parseaddr(address.strip())[1].lower()


def _reason_near(text: str, recipient: str) -> str:
    """The first SMTP reply line at or after the recipient's mention in a free-text bounce."""
    lower = text.lower()
    start = max(lower.find(recipient), 0)
    for line in text[start:].splitlines():
        if _SMTP_REPLY.search(line):
            return _one_line(line)[:_MAX_REASON]
    return ""


def _status_in(reason: str) -> str:
    status = _STATUS.search(reason)
    return status.group(0) if status else ""


# ------------------------------------------------------------------ what the report is about


def _original_message_ids(msg: Message) -> tuple[str, ...]:
    """Message-IDs of our original mail: from the quoted headers, then the report's own hints."""
    ids: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            headers = email.message_from_string(_decoded(part), policy=email.policy.compat32)
            ids += _get_all(headers, "Message-ID")
        elif kind == "message/rfc822" and part.is_multipart():
            ids += _get_all(part.get_payload(0), "Message-ID")
        elif kind == "message/delivery-status" and part.is_multipart():
            ids += [_get(b, "X-Original-Message-ID") for b in part.get_payload()]
    text = _body_text(msg)
    # Exim and Yahoo quote the original inline as text, after their own report.
    ids += re.findall(r"(?im)^message-id:\s*(<[^>\s]+>)", text)
    ids += _get_all(msg, "In-Reply-To")
    return tuple(dict.fromkeys(i.strip() for i in ids if i and i.strip()))


def _recipients(msg: Message) -> tuple[str, ...]:
    """Where this message was sent: the envelope recipient the mail server noted, and To / Cc."""
    values = []
    for header in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
        values += _get_all(msg, header)
    return _unique_addresses(values)


def _addresses(msg: Message, recipients: tuple[str, ...]) -> tuple[str, ...]:
    """Addresses that may carry a VERP tag: where the report went, and our envelope sender."""
    values = list(recipients)
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/feedback-report" and part.is_multipart():
            values += [_get(f, "Original-Mail-From") for f in part.get_payload()]
        elif kind == "text/rfc822-headers":
            headers = email.message_from_string(_decoded(part), policy=email.policy.compat32)
            values += _get_all(headers, "Return-Path")
        elif kind == "message/rfc822" and part.is_multipart():
            values += _get_all(part.get_payload(0), "Return-Path")
    values += re.findall(r"(?im)^return-path:\s*(<[^>\s]*>)", _body_text(msg))
    return _unique_addresses(values)


def _unique_addresses(values: list[str]) -> tuple[str, ...]:
    found = [a.lower() for _, a in getaddresses(values) if a]
    return tuple(dict.fromkeys(found))


# ------------------------------------------------------------------ small helpers


def _get(msg: Message, name: str) -> str:
    # compat32 hands back a Header object, not a str, for a value with 8-bit bytes in it.
    value = msg.get(name)
    return str(value) if value is not None else ""


def _get_all(msg: Message, name: str) -> list[str]:
    return [str(v) for v in msg.get_all(name, [])]


def _first_part(msg: Message, content_type: str) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _fields(part: Message) -> list[Message]:
    payload = part.get_payload()
    return payload if isinstance(payload, list) else []


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        try:
            return payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:  # a charset name Python does not know
            return payload.decode("utf-8", "replace")
    return payload if isinstance(payload, str) else ""


def _body_text(msg: Message) -> str:
    """The report's own plain text, decoded; a quoted original message is not searched."""
    if msg.get_content_maintype() == "message":
        return ""
    if msg.is_multipart():
        return "\n".join(_body_text(p) for p in msg.get_payload())
    return _decoded(msg) if msg.get_content_type() == "text/plain" else ""


def _one_line(value: str) -> str:
    return " ".join(str(value).split())
