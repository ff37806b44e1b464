"""Flow files in, `model.Flow` or every problem at FILE:LINE out: reading a file's text
(`file_text`), YAML with line numbers (`yaml_lines`), the check in progress (`checker.Checker`),
the checks of each part (`flow` for the whole file and its top-level keys, `steps`, `choices`,
`measures`, `schedule`, `conditions` for the values a `when` or `alert` compares with, and
`joining` for the welcome flow's consent step), the problems themselves (`problems`), loading
one flow (`loading`) and the flows folder (`folder.FlowLibrary`).

Imports: the flat `survey_flows` modules (model, expressions, schedules, ...) and ruamel.yaml;
the engine never imports from here, and nothing here imports from `bot`, `storage` or
`reports`.
"""
