"""The report as one self-contained HTML file that reads well on a phone.

Everything is inline (CSS, charts as base64 PNG with alt text), so the file can be emailed
or attached to a funding report and opened anywhere, offline. Tables have captions and row
headers and scroll sideways on narrow screens instead of shrinking the text.

Jinja2 autoescaping is on for the whole template and nothing is marked safe except the
chart data URIs built here, so resident text (stories) and staff text (labels, group names)
are always escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, StrictUndefined

from reports.charts import Chart
from reports.formats.headline import GLOSSARY, what_changed, when_made
from reports.formats.wording import (
    attrition_check_sentence,
    attrition_sentence,
    band_lines,
    change_sentence,
    choice_lines,
    clean_text,
    comparison_sentence,
    count_words,
    follow_up_sentence,
    hidden_phrase,
    number,
    p_value,
    period_words,
    reliable_sentence,
    response_sentence,
    signed,
    tests_sentence,
)

__all__ = ["render"]

_TEMPLATE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.flow.title }}: change summary</title>
<style>
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 1rem; line-height: 1.5; color: #111; background: #fff;
  margin: 0 auto; padding: 1rem; max-width: 54rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: .5rem 0; }
h2 { font-size: 1.25rem; margin-top: 2.25rem; border-bottom: 2px solid #333; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
p, li, dd { max-width: 40rem; }
.meta { color: #333; }
.headline { background: #f3f6f9; border-left: 6px solid #1d4f91; padding: .25rem 1rem; }
.headline h2 { border-bottom: none; margin-top: .75rem; }
.headline li { margin: .5rem 0; font-size: 1.05rem; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .75rem 0; }
table { border-collapse: collapse; min-width: 100%; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0 .5rem; }
th, td { border: 1px solid #999; padding: .35rem .5rem; text-align: right;
  vertical-align: top; white-space: nowrap; }
thead th { background: #eee; text-align: center; white-space: normal; }
th[scope=row] { text-align: left; background: #f6f6f6; }
td.hidden { text-align: left; font-style: italic; color: #333; white-space: normal; }
figure { margin: 1.25rem 0; }
figure img { display: block; width: 100%; max-width: 44rem; height: auto;
  border: 1px solid #ddd; }
figcaption { font-size: .9rem; color: #333; margin-top: .35rem; }
blockquote { margin: .75rem 0; padding: .25rem .75rem; border-left: 4px solid #555; }
blockquote p { margin: .25rem 0; overflow-wrap: anywhere; }
.cite { font-size: .85rem; color: #333; }
dt { font-weight: 600; margin-top: .5rem; }
dd { margin-left: 1rem; }
@media (max-width: 32rem) {
  body { padding: .6rem; }
  h1 { font-size: 1.3rem; }
  th, td { padding: .25rem .35rem; font-size: .82rem; }
}
@media print { .table-wrap { overflow: visible; } h2 { break-after: avoid; } }
</style>
</head>
<body>
<header>
<h1>{{ report.flow.title }}: change summary</h1>
<p class="meta">Period: {{ period_words(report.period) }}.
Scope: {{ "all groups" if report.scope == "all" else "group " ~ report.scope }}.
Made on {{ when_made(report.generated_at) }}.</p>
</header>
<main>
<section id="what-changed" class="headline">
<h2>What changed</h2>
<ul>{% for sentence in what_changed(report) %}<li>{{ sentence }}</li>{% endfor %}</ul>
</section>
<h2 id="details">Details and statistics</h2>
<details class="glossary"><summary>What the words below mean</summary>
<dl>{% for term, meaning in glossary %}<dt>{{ term }}</dt><dd>{{ meaning }}</dd>{% endfor %}</dl>
</details>
<section id="who-answered">
<h2>Who answered</h2>
{% set p = report.participants %}
{% if p.suppressed %}
<p>Counts {{ hidden }}.</p>
{% else %}
<p>{{ attrition_sentence(p) }} {{ response_sentence(p) }}</p>
{% endif %}
<div class="table-wrap"><table>
<caption>Attrition: how many people reached each stage</caption>
<thead><tr><th scope="col">Stage</th><th scope="col">People</th></tr></thead>
<tbody>
{% for stage in report.attrition %}
<tr><th scope="row">{{ stage_words.get(stage.stage, stage.stage) | capitalize }}</th>
<td>{{ "not shown" if stage.count is none else stage.count }}</td></tr>
{% endfor %}
</tbody></table></div>
{% if show_groups %}
<div class="table-wrap"><table>
<caption>Who answered, by group</caption>
<thead><tr><th scope="col">Group</th><th scope="col">Enrolled</th>
<th scope="col">Sent a check-in</th><th scope="col">Answered</th>
<th scope="col">Baseline and later</th><th scope="col">Response rate</th></tr></thead>
<tbody>
{% for name, body in report.groups.items() %}
{% set gp = body.participants %}
<tr><th scope="row">{{ name }}</th>
{% if gp.suppressed %}<td class="hidden" colspan="5">{{ hidden }}</td>
{% else %}<td>{{ gp.enrolled }}</td><td>{{ gp.prompted }}</td><td>{{ gp.responded }}</td>
<td>{{ gp.paired }}</td>
<td>{{ "–" if gp.response_rate is none else "%.0f%%" % (100 * gp.response_rate) }}</td>
{% endif %}</tr>
{% endfor %}
</tbody></table></div>
{% endif %}
</section>

{% for name, m in report.measures.items() %}
<section id="measure-{{ name }}">
<h2>{{ m.label }}</h2>
<p class="meta">{{ "Higher" if m.higher_is_better else "Lower" }} is better.</p>
{% if m.suppressed %}
<p>Figures {{ hidden }}.</p>
{% elif not m.n_paired %}
<p>Nobody answered at the start and again later.</p>
{% else %}
<p><strong>Verdict: {{ m.verdict }}.</strong></p>
<p>{{ count_words(m.n_paired, "person", "people") }} answered at the start and again later;
their mean went from {{ number(m.baseline_mean) }} to {{ number(m.latest_mean) }}.
{{ change_sentence(m) }} {{ tests_sentence(m) }} {{ follow_up_sentence(m) }}</p>
<p>{{ reliable_sentence(m) }}</p>
{% if band_lines(m) %}<ul class="bands">{% for line in band_lines(m) %}<li>{{ line }}</li>
{% endfor %}</ul>{% endif %}
{% for note in m.get('notes', []) %}<p class="meta">Note: {{ note }}</p>
{% endfor %}
{% endif %}
{% if attrition_check_sentence(m) %}<p>{{ attrition_check_sentence(m) }}</p>{% endif %}
{% if m.get('comparisons') %}<ul class="comparisons">{% for c in m.comparisons %}
<li>{{ comparison_sentence(c) }}</li>{% endfor %}</ul>{% endif %}
<div class="table-wrap"><table>
<caption>{{ m.label }}: change from baseline to latest answer, same people</caption>
<thead><tr><th scope="col">Scope</th><th scope="col">People</th>
<th scope="col">Baseline mean</th><th scope="col">Latest mean</th>
<th scope="col">Mean change (95% CI)</th><th scope="col">Median change</th>
<th scope="col">Wilcoxon p</th><th scope="col">Adjusted p</th>
<th scope="col">Verdict</th><th scope="col">d<sub>z</sub></th>
<th scope="col">Improved</th><th scope="col">No reliable change</th>
<th scope="col">Deteriorated</th></tr></thead>
<tbody>
{% for scope_name, f in scopes(name) %}
<tr><th scope="row">{{ scope_name }}</th>
{% if f.suppressed %}<td class="hidden" colspan="12">{{ hidden }}</td>
{% else %}<td>{{ f.n_paired }}</td><td>{{ fmt(f.baseline_mean) }}</td>
<td>{{ fmt(f.latest_mean) }}</td>
<td>{{ fmt_signed(f.mean_change) }}{% if f.ci95 %} ({{ signed(f.ci95[0]) }} to
{{ signed(f.ci95[1]) }}){% endif %}</td>
<td>{{ fmt_signed(f.median_change) }}</td>
<td>{{ "–" if f.wilcoxon_p is none else ("< 0.001" if f.wilcoxon_p < 0.001
  else "%.3f" % f.wilcoxon_p) }}</td>
<td>{{ "–" if f.p_adjusted is none else ("< 0.001" if f.p_adjusted < 0.001
  else "%.3f" % f.p_adjusted) }}</td>
<td>{{ f.verdict }}</td>
<td>{{ fmt(f.effect_size_dz) }}</td>
<td>{{ count(f.reliable_change.improved) }}</td>
<td>{{ count(f.reliable_change.no_change) }}</td>
<td>{{ count(f.reliable_change.deteriorated) }}</td>{% endif %}</tr>
{% endfor %}
</tbody></table></div>
{% for chart in charts.get(name, []) %}
<figure><img src="{{ chart.uri }}" alt="{{ chart.alt }}" width="704">
<figcaption>{{ chart.title }}. {{ chart.alt }}</figcaption></figure>
{% endfor %}
{% if m.weekly %}
<div class="table-wrap"><table>
<caption>{{ m.label }}: mean per week (weeks start on Monday)</caption>
<thead><tr><th scope="col">Week starting</th><th scope="col">People</th>
<th scope="col">Mean</th><th scope="col">95% interval</th></tr></thead>
<tbody>
{% for w in m.weekly %}
<tr><th scope="row">{{ w.week_start }}</th>
{% if w.suppressed %}<td class="hidden" colspan="3">not shown (too few people)</td>
{% else %}<td>{{ w.n }}</td><td>{{ fmt(w.mean) }}</td>
<td>{% if w.ci95 %}{{ number(w.ci95[0]) }} to {{ number(w.ci95[1]) }}{% else %}–{% endif %}</td>
{% endif %}</tr>
{% endfor %}
</tbody></table></div>
{% endif %}
</section>
{% endfor %}

{% if report.choices %}
<section id="choices">
<h2>What people picked</h2>
<p>People who picked each option at least once in the period.</p>
{% for question in report.choices.values() %}
{% set heading, lines = choice_lines(question, report.method.suppression_threshold) %}
<h3>{{ heading }}</h3>
<ul>{% for line in lines %}<li>{{ line }}</li>{% endfor %}</ul>
{% endfor %}
</section>
{% endif %}

{% if report.get('questions') %}
<section id="questions">
<h2>Answers to each question</h2>
<p>People who gave each answer at least once in the period.</p>
{% for q in report.questions.values() %}
<h3>{{ q.question }}</h3>
{% if q.suppressed %}<p>{{ hidden|capitalize }}.</p>{% else %}
<ul>{% for a in q.answers %}
<li>{{ a.label }}: {{ "not shown" if a.people is none else a.people }}</li>
{% endfor %}</ul>{% endif %}
{% endfor %}
</section>
{% endif %}

<section id="stories">
<h2>Stories</h2>
{% if not report.stories %}<p>No stories in this period.</p>{% endif %}
{% for story in report.stories %}
<blockquote><p>{{ clean_text(story.text) }}</p>
<p class="cite">{{ story.date }}{% if story.group %}, {{ story.group }}{% endif %},
{{ story.participant }}</p></blockquote>
{% endfor %}
</section>

<section id="method">
<h2>How these figures were made</h2>
{% for paragraph in report.method.paragraphs %}<p>{{ paragraph }}</p>
{% endfor %}
<h3>Definitions</h3>
<dl>
{% for term, meaning in report.method.definitions.items() %}
<dt>{{ term }}</dt><dd>{{ meaning }}</dd>
{% endfor %}
</dl>
</section>
</main>
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True)
_ENV.globals.update(
    what_changed=what_changed,
    glossary=GLOSSARY,
    when_made=when_made,
    attrition_check_sentence=attrition_check_sentence,
    attrition_sentence=attrition_sentence,
    band_lines=band_lines,
    choice_lines=choice_lines,
    change_sentence=change_sentence,
    clean_text=clean_text,
    comparison_sentence=comparison_sentence,
    count_words=count_words,
    follow_up_sentence=follow_up_sentence,
    tests_sentence=tests_sentence,
    number=number,
    p_value=p_value,
    period_words=period_words,
    reliable_sentence=reliable_sentence,
    response_sentence=response_sentence,
    signed=signed,
    fmt=lambda x: "–" if x is None else number(x),
    fmt_signed=lambda x: "–" if x is None else signed(x),
    count=lambda x: "–" if x is None else str(x),
)
_COMPILED = _ENV.from_string(_TEMPLATE)


def _chart_entries(charts: Sequence[Chart]) -> dict[str, list[dict[str, str]]]:
    """Charts by measure, each with a data URI for its PNG."""
    out: dict[str, list[dict[str, str]]] = {}
    for chart in charts:
        uri = "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")
        out.setdefault(chart.measure, []).append(
            {"uri": uri, "alt": chart.alt, "title": chart.title}
        )
    return out


#: Plain words for the attrition stages of the JSON report.
STAGE_WORDS = {
    "enrolled": "enrolled",
    "prompted": "sent at least one check-in",
    "responded": "answered at least once",
    "withdrawn": "withdrew (STOP or blocked)",
    "forgotten": "asked to be forgotten (erased)",
    "lost_to_follow_up": "lost to follow-up",
}


def render(report: dict[str, Any], charts: Sequence[Chart] = ()) -> str:
    """The HTML document for ``report``, with ``charts`` under their measures."""
    threshold = report["method"]["suppression_threshold"]
    own = "All" if report["scope"] == "all" else report["scope"]

    def scopes(name: str) -> list[tuple[str, dict[str, Any]]]:
        rows = [(own, report["measures"][name])]
        if report["scope"] == "all":
            rows += [(g, body["measures"][name]) for g, body in report["groups"].items()]
        return rows

    return _COMPILED.render(
        report=report,
        charts=_chart_entries(charts),
        hidden=hidden_phrase(threshold),
        scopes=scopes,
        show_groups=report["scope"] == "all" and bool(report["groups"]),
        stage_words=STAGE_WORDS,
    )
