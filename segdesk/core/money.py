"""Money as integers in the currency's minor unit (Stripe's convention).

Amounts from files arrive in major units ("49.00"); they convert exactly with
``Decimal``, never through floats, and an amount finer than the currency allows
("49.001" USD, "10.5" JPY) is an error rather than a silent rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from iso4217 import Currency

from ..errors import InvalidInput

# The maintained ISO 4217 list (the ``iso4217`` package, ISO's own table): "usd", "eur", ...
ISO_CODES = frozenset(c.code.lower() for c in Currency)
# Plain decimals only: "1234.56", "-3", "1,234.56" (thousands commas in threes). Not "1_000"
# (Python's literal syntax), "1e3" or "1e400" (a spreadsheet's notation, or an overflow), "0x10".
AMOUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# The largest amount taken, in major units: far above any real order, and sums of many such
# stay inside SQLite's 64-bit integers.
MAX_MAJOR = Decimal(10) ** 12

# Stripe's lists: https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())


class MoneyError(InvalidInput, ValueError):
    """An amount or currency code that cannot be money (still a ValueError for parsers that catch those)."""


def exponent(currency: str) -> int:
    c = currency.lower()
    if c in ZERO_DECIMAL:
        return 0
    if c in THREE_DECIMAL:
        return 3
    return 2


def normalise_currency(currency: str) -> str:
    c = (currency or "").strip().lower()
    if c not in ISO_CODES:
        raise MoneyError(f"'{currency}' is not an ISO 4217 currency code")
    return c


def to_minor(amount: str, currency: str) -> int:
    """'49.00', 'usd' -> 4900; '4900', 'jpy' -> 4900."""
    text = (amount or "").strip()
    if not AMOUNT.fullmatch(text):
        raise MoneyError(f"'{amount}' is not an amount (digits, an optional '.' and decimals)")
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise MoneyError(f"'{amount}' is not an amount") from None
    if abs(value) > MAX_MAJOR:
        raise MoneyError(f"'{amount}' is larger than {MAX_MAJOR:,} allows")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"'{amount}' has more decimals than {currency.upper()} allows ({exponent(currency)})"
        )
    return int(scaled)


def to_major(minor: int | float, currency: str) -> Decimal:
    return Decimal(str(minor)).scaleb(-exponent(currency))


def format_money(minor: int | float, currency: str) -> str:
    exp = exponent(currency)
    value = to_major(minor, currency)
    return f"{value:,.{exp}f} {currency.upper()}"


def add(total: dict[str, int], currency: str, amount: int) -> None:
    total[currency] = total.get(currency, 0) + amount
