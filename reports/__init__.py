"""Reports that only read and compute: the data a report needs (`data`, `columns`), the
statistics (`statistics`, `weekly`, `suppression`), the assembled report (`build`,
`method`), charts (`charts`), coordinators' summary sentences (`summary`), exports
(`export`) and output formats (`formats/`).

Imports: `storage` (read-only queries) and `survey_flows`. Never `bot`, and no channel code.
"""
