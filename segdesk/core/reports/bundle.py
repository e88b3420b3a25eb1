"""What a PDF holds, as data: sections of titles, figures, chart series and tables.

``segdesk export pdf`` and the app's "Export PDF" build a :class:`Bundle`
here and hand it to the painter (``ui/pdf_export.py``, Qt's PDF writer), so
which reports, figures and rows a PDF shows is decided without Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...errors import InvalidInput
from ..fx import chosen_currency
from ..store import read_setting
from .campaign_view import compact
from .compare import MAIN, build_view
from .dashboard import FIGURES, figure_text, load_dashboard, trend_title, trend_x_label
from .chart_view import chart_view
from .table import ReportTable, range_text, range_text_full

REPORT_DEFAULTS = {"ltv": {"by": "source"}, "attribution": {"by": "source", "model": "linear", "lookback_days": 90},
                   "roas": {"by": "source"}, "summary": {}}


@dataclass
class Section:
    title: str
    subtitle: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)  # {"title", "series", "kind"?, "x_label"?}
    table: ReportTable | None = None
    table_title: str = ""


@dataclass
class Cover:
    """The first page's top: who the report is for (settings ``report.client_name`` and
    ``report.logo_path``), the date range in full, and when it was prepared."""

    client: str = ""
    logo_path: str = ""
    date_range_full: str = ""


@dataclass
class Bundle:
    """A whole document: its title, the date range for its header, and its sections in order."""

    title: str
    date_range: str
    sections: list[Section]
    cover: Cover = field(default_factory=Cover)


CLIENT_SETTING, LOGO_SETTING = "report.client_name", "report.logo_path"


def cover_of(conn, date_range_full: str, client: str | None = None, logo: str | None = None) -> Cover:
    """The cover from the workspace settings, ``client`` / ``logo`` overriding them (a CLI flag)."""
    def setting(key):
        return (read_setting(conn, key) or "").strip()

    return Cover(client if client is not None else setting(CLIENT_SETTING),
                 logo if logo is not None else setting(LOGO_SETTING), date_range_full)


def section_of(report, *, subtitle: str = "", chart_title: str = "", kind: str | None = None,
               originals: bool = False) -> Section:
    """One report as a section: its chart (when it has series) above its table; the chart in the
    reporting currency when the report was built with one, unless ``originals`` (chart_view.py)."""
    t = ReportTable.of(report)
    if "compare" in t.extra:  # a page is narrower than a screen: the counts and the main figure's comparison
        keep = ("key", "contacts", "customers", "leads", MAIN.get(t.name), "main_previous", "main_change",
                "main_change_pct", "trend")
        t = replace(t, columns=[c for c in t.columns if c.key in keep])
    view = chart_view(t, originals=originals)
    charts = [{"title": chart_title or view.title, "series": view.series, "kind": kind,
               "x_label": view.x_label, "note": view.note if view.currency else ""}] if view.series else []
    if not subtitle:
        subtitle = " · ".join(x for x in [describe(t.parameters), range_text(t.parameters)] + t.notes if x)
    return Section(title=t.title, subtitle=subtitle, charts=charts, table=t)


def describe(params: dict) -> str:
    """Parameters as one readable line ("model: linear · lookback: 90 days")."""
    parts = []
    for k, v in params.items():
        if v in (None, "", [], {}) or k in ("since", "until", "timezone", "name"):
            continue
        if k in ("lookback_days", "lookback"):
            v = f"{v} days"
        if k == "filters" and isinstance(v, dict):  # "source: facebook", not a dict's repr
            parts.extend(f"{f}: {x}" for f, x in v.items())
            continue
        if k == "compare":
            v = "previous period" if v == "previous" else "same period last year"
        parts.append(f"{k.replace('_', ' ')}: {v}")
    return " · ".join(parts)


def dashboard_sections(data: dict) -> list[Section]:
    """The dashboard (``load_dashboard``'s answer) as PDF sections."""
    changes, trends = data.get("changes") or {}, data.get("trends") or {}
    unconverted = data.get("unconverted") or {}
    figures = [(label, "\n".join(x for x in (figure_text(key, data["figures"].get(key), unconverted.get(key)),
                                                 changes.get(key, ""), trends.get(key, "")) if x))
               for key, label in FIGURES]
    charts = []
    if data["trend_series"]:
        charts.append({"title": f"{trend_title(data)} in {data['currency'].upper()}", "series": data["trend_series"],
                       "x_label": trend_x_label(data)})
    if data["ltv_series"]:
        charts.append({"title": f"LTV by days since first touch, by first-touch source, in {data['currency'].upper()}",
                       "series": data["ltv_series"], "note": data.get("ltv_note", "")})
    subtitle = range_text(data) + (f" · changes against {data['compared_with']}" if data.get("compared_with") else "")
    return [Section("Dashboard", subtitle=subtitle, figures=figures, charts=charts,
                    table=compact(data["campaigns"]), table_title="Campaigns")]


def report_bundle(conn, names=(), *, filters=None, compare: str | None = None, client: str | None = None,
                  logo: str | None = None, **params) -> Bundle:
    """The dashboard (no names) or the named reports, in order.

    ``params`` (by, model, lookback_days, since, until) apply to the reports that take them;
    ``filters`` and ``compare`` (a saved view's) to the named reports; ``model`` "all" puts
    the attribution models side by side.
    """
    given = {k: v for k, v in params.items() if v not in (None, "")}
    rng = {k: given[k] for k in ("since", "until") if k in given}
    sections: list[Section] = []
    for name in names or ["dashboard"]:
        if name == "dashboard":
            sections += dashboard_sections(load_dashboard(conn, rng.get("since"), rng.get("until")))
            continue
        if name not in REPORT_DEFAULTS:
            raise InvalidInput(f"unknown report '{name}' (choose from dashboard, {', '.join(REPORT_DEFAULTS)})")
        p = {**REPORT_DEFAULTS[name], **{k: v for k, v in given.items() if k in REPORT_DEFAULTS[name]}, **rng}
        # Built with the reporting currency once one was chosen, so the charts are in it (chart_view.py);
        # the tables keep their columns as they were: a page has no room for each converted one beside.
        section = section_of(build_view(conn, name, filters=filters, compare=compare,
                                        currency=chosen_currency(conn), **p))
        if section.table is not None:
            section.table = replace(section.table, columns=[c for c in section.table.columns
                                                            if not c.key.endswith("_converted")])
        sections.append(section)
    title = "SegDesk dashboard" if list(names) in ([], ["dashboard"]) else f"SegDesk: {sections[0].title}" \
        if len(sections) == 1 else "SegDesk reports"
    return Bundle(title, range_text(rng), sections, cover_of(conn, range_text_full(rng), client, logo))
