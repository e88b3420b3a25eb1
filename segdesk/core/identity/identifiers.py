"""Normalised identifiers: emails, outside keys and the node names the stitch uses."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value) -> str | None:
    """Trimmed and lower-cased; None when it is not an email address at all."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if _EMAIL.match(email) else None


def clean_key(value) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def email_node(email: str) -> str:
    return "email:" + email


def contact_key_node(key: str) -> str:
    return "cid:" + key


def user_node(user_id: str) -> str:
    return "user:" + user_id


def customer_node(key: str) -> str:
    return "cus:" + key


# Server-side page views (a userId, no anonymousId) have no device of their own:
# sessions and device spans file them under this pseudo device, one per user.
USER_DEVICE = "userId:"


def user_device(user_id: str) -> str:
    return USER_DEVICE + user_id


def user_id_node(user_id: str) -> str:
    """The node a userId stands for: an email when it is one, else a user id."""
    return email_node(user_id.lower()) if "@" in user_id else user_node(user_id)
