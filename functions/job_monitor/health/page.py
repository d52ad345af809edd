"""The health page: one self-contained HTML document (inline CSS, a few lines of JS, inline SVG; no asset).

Every value that comes from a server, a payload or the store goes through :func:`html.escape` (a repository,
tag or reason holding markup shows as text). Filters are a plain GET form, so they work by keyboard and without
JavaScript; the script only submits the form when a choice changes. Each colour has its state written beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from functions.job_monitor.health.model import STATES, Cell, Health, RunSummary

_CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;
--verified:#1a7f37;--pending:#9a6700;--syncing:#0969da;--failed:#cf222e;--missing:#8250df;--stuck:#bc4c00}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;
--verified:#3fb950;--pending:#d29922;--syncing:#4493f8;--failed:#f85149;--missing:#ab7df8;--stuck:#db6d28}}
body{margin:0;padding:1rem 1.5rem;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,sans-serif}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.muted{color:var(--muted)}.warn{border:2px solid var(--failed);padding:.5rem;margin:.5rem 0}
form{display:flex;gap:1rem;flex-wrap:wrap;align-items:end;margin:1rem 0}
label{display:flex;flex-direction:column;font-size:.85rem}
select,button{font:inherit;padding:.2rem .4rem}
:focus-visible{outline:3px solid var(--syncing);outline-offset:2px}
table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;
vertical-align:top}
td.cell{min-width:9rem;border-left:6px solid var(--line)}
.badge{font-weight:600}
""" + "".join(
    f".s-{s}{{border-left-color:var(--{s})!important}}.s-{s} .badge{{color:var(--{s})}}" for s in STATES
)

LinkFor = Callable[[dict[str, str]], str]  # query values -> a link to this page that keeps the signature

_JS = (
    "document.querySelectorAll('#filters select').forEach(function(s){"
    "s.addEventListener('change',function(){s.form.submit()})});"
)


def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _options(name: str, label: str, values: Iterable[str], chosen: str) -> str:
    opts = [f'<option value=""{" selected" if not chosen else ""}>all</option>']
    for value in values:
        mark = " selected" if value == chosen else ""
        opts.append(f'<option value="{escape(value)}"{mark}>{escape(value)}</option>')
    return f'<label>{label}<select name="{name}" id="f-{name}">{"".join(opts)}</select></label>'


def _cell(cell: Cell, now: datetime, json_link: str) -> str:
    parts = [
        f'<td class="cell s-{cell.state}" data-state="{cell.state}" data-region="{escape(cell.region)}">',
        f'<span class="badge">{cell.state}</span> <code>{escape(cell.tag)}</code>',
        f'<br><small class="muted">to {escape(cell.target_namespace)} · last success {_age(cell.last_success, now)}'
        "</small>",
    ]
    if cell.last_failure:
        parts.append(f'<br><small class="reason">{escape(cell.last_failure)}</small>')
    if cell.state in ("failed", "missing", "stuck"):
        ids = []
        if cell.job_id is not None:
            ids.append(f"job {cell.job_id}")
        if cell.delivery_id:
            ids.append(f"delivery {escape(cell.delivery_id)}")
        parts.append(f'<br><a href="{escape(json_link)}">{escape(", ".join(ids) or "details")}</a>')
    parts.append("</td>")
    return "".join(parts)


def _matrix(health: Health, now: datetime, link: LinkFor) -> str:
    regions = health.regions
    if not health.cells:
        return '<p id="empty">No replication recorded yet (or none matches the filters).</p>'
    rows: dict[str, dict[str, Cell]] = {}
    for cell in health.cells:
        rows.setdefault(cell.repo, {})[cell.region] = cell
    head = "".join(f'<th scope="col">{escape(r)}</th>' for r in regions)
    body = []
    for repo in sorted(rows):
        by_region = rows[repo]
        namespace = next(iter(by_region.values())).namespace
        cells = "".join(
            _cell(by_region[r], now, link({"namespace": namespace, "region": r, "format": "json"}))
            if r in by_region
            else '<td class="muted">-</td>'
            for r in regions
        )
        body.append(
            f'<tr data-namespace="{escape(namespace)}"><th scope="row">{escape(repo)}</th>{cells}</tr>'
        )
    return (
        '<table id="matrix"><caption class="muted">Repositories &times; target regions: the newest tag\'s state'
        f'</caption><thead><tr><th scope="col">repository</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def lag_chart(runs: Sequence[RunSummary], region: str, width: int = 320, height: int = 80) -> str:
    """p50 and p95 of the push-to-verified lag over the runs (oldest left), as an inline SVG."""
    points = [
        (r.lag[region].get("p50", 0.0), r.lag[region].get("p95", 0.0))
        for r in reversed(runs)
        if region in r.lag
    ]
    if not points:
        return ""
    top = max(max(p) for p in points) or 1.0
    step = width / max(1, len(points) - 1)

    def line(values: list[float]) -> str:
        return " ".join(
            f"{i * step:.1f},{height - v / top * (height - 6) - 3:.1f}" for i, v in enumerate(values)
        )

    p50, p95 = [p[0] for p in points], [p[1] for p in points]
    dots = "".join(
        f'<circle cx="{i * step:.1f}" cy="{height - v / top * (height - 6) - 3:.1f}" r="3" fill="var(--syncing)"/>'
        for i, v in enumerate(p50)
    )
    title = f"replication lag to {region}: p50 {p50[-1]:.1f} s, p95 {p95[-1]:.1f} s (latest run)"
    return (
        f'<figure><svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{escape(title)}</title>"
        f'<polyline fill="none" stroke="var(--syncing)" stroke-width="2" points="{line(p50)}"/>'
        f'<polyline fill="none" stroke="var(--failed)" stroke-width="2" stroke-dasharray="4 3" points="{line(p95)}"/>'
        f"{dots}</svg><figcaption>{escape(region)}: p50 (solid) {p50[-1]:.1f} s, p95 (dashed) {p95[-1]:.1f} s, "
        f"max {top:.1f} s over {len(points)} run(s)</figcaption></figure>"
    )


def _runs(runs: Sequence[RunSummary], now: datetime) -> str:
    if not runs:
        return '<p class="muted">No run stored yet.</p>'
    rows = "".join(
        f"<tr><td>{escape(r.at.isoformat(timespec='seconds'))} ({_age(r.at, now)})</td><td>{escape(r.status)}</td>"
        f"<td>{escape(r.coverage)}</td><td>{r.alerts}</td><td>{r.verified}/{r.pending}/{r.missing}</td></tr>"
        for r in runs
    )
    return (
        '<table id="runs"><thead><tr><th scope="col">run</th><th scope="col">status</th><th scope="col">coverage'
        '</th><th scope="col">alerts</th><th scope="col">verified/pending/missing</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def render(
    full: Health,
    shown: Health,
    now: datetime,
    chosen: dict[str, str],
    keep: dict[str, str],
    link: LinkFor | None = None,
) -> str:
    """The page. ``full`` gives the filter choices, ``shown`` the filtered matrix; ``keep`` are query values
    every form submit and link must carry (a signed link's expiry and signature)."""
    link = link or (lambda q: "?" + urlencode({**keep, **q}))
    counts = shown.counts()
    summary = " · ".join(
        f'<span class="s-{s}"><span class="badge">{s}</span> {counts[s]}</span>' for s in STATES
    )
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in keep.items())
    charts = "".join(lag_chart(full.runs, region) for region in full.regions)
    warn = f'<p class="warn" role="alert">State store: {escape(full.degraded)}</p>' if full.degraded else ""
    more = f'<p class="muted">{full.truncated} more cell(s) not shown.</p>' if full.truncated else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>swr-sync · replication health</title><style>{_CSS}</style></head><body>"
        f'<header><h1>Replication health</h1><p class="muted">generated {escape(now.isoformat(timespec="seconds"))}'
        f' from the stored state (no SWR request)</p><p id="counts">{summary}</p></header>{warn}'
        f'<form id="filters" method="get">{hidden}<input type="hidden" name="format" value="html">'
        f"{_options('namespace', 'Namespace', full.namespaces, chosen.get('namespace', ''))}"
        f"{_options('state', 'State', STATES, chosen.get('state', ''))}"
        f"{_options('region', 'Region', full.regions, chosen.get('region', ''))}"
        f'<button type="submit">Filter</button> <a href="{escape(link({"format": "json"}))}">JSON</a></form>'
        f"<main>{_matrix(shown, now, link)}{more}<h2>End-to-end lag per region</h2>"
        f"{charts or '<p class=muted>No lag measured yet.</p>'}<h2>Last runs</h2>{_runs(full.runs, now)}</main>"
        f"<script>{_JS}</script></body></html>"
    )


def refused(message: str) -> str:
    """The page for an expired, altered or missing link (403)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>swr-sync · link refused</title>'
        f"<style>{_CSS}</style></head><body><h1>This link cannot be used</h1>"
        f'<p id="refused">{escape(message)}</p><p class="muted">Ask for a new link: '
        "<code>swr-sync health-link</code>, or an authenticated call with <code>?link=1</code>.</p></body></html>"
    )
