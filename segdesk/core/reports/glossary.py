"""One name and one explanation per measure, wherever it appears (tables, tiles, charts, tooltips).

The app shows ``NAMES[key]`` and explains it with ``EXPLAIN[key]``; report
columns already carry these names (ltv.py, roas.py, attribution.py), and the
tests hold them to it, so "lead value" never turns into "value per contact"
on another page.
"""

from __future__ import annotations

NAMES = {
    "value_per_contact": "Lead value",
    "lead_value": "Lead value",
    "value_per_customer": "Value per customer",
    "ltv_at_days": "LTV",
    "revenue": "Revenue",
    "customers": "Customers",
    "contacts": "Contacts",
    "leads": "Leads",
    "spend": "Spend",
    "roas": "ROAS",
    "credit": "Credit",
    "conversion_rate": "Conversion",
    "cost_per_lead": "Cost per lead",
    "cost_per_customer": "Cost per customer",
}

EXPLAIN = {
    "lead_value": "Lead value: revenue from these contacts divided by the number of contacts (customers or not).",
    "value_per_customer": "Value per customer: revenue from these contacts divided by those who bought.",
    "ltv_at_days": ("LTV (lifetime value) at N days: average revenue a contact brought in its first N days after "
                    "first touch, over contacts known for at least N days."),
    "revenue": "Revenue: paid orders net of refunds, per currency (currencies are never added).",
    "customers": "Customers: contacts with revenue above zero.",
    "contacts": "Contacts: people whose first touch falls in this group.",
    "leads": "Leads: contacts whose first touch came from this group.",
    "spend": "Spend: ad spend imported for this group.",
    "roas": "ROAS (return on ad spend): revenue divided by spend in the same currency; 1 is break-even.",
    "credit": "Credit: the share of order revenue the attribution model gives this group.",
    "conversion_rate": "Conversion: customers divided by contacts.",
    "cost_per_lead": "Cost per lead: spend divided by leads.",
    "cost_per_customer": "Cost per customer: spend divided by customers.",
}
EXPLAIN["value_per_contact"] = EXPLAIN["lead_value"]


def explain(key: str) -> str:
    return EXPLAIN.get(key, "")
