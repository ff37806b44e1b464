"""Output formats of a change summary: text, JSON, CSV and HTML, all drawn from one report.

Each module has ``render(report, ...)``, taking the dict that ``reports.build.analyse`` returns
as ``.data``, so every format shows exactly the same (already suppressed) figures.

Imports: other `reports` modules and `survey_flows`; never `bot` or `storage`.
"""
