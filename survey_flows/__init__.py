"""The survey flow format and its pure engine: what a flow is (`model`), how a reply is read
(`reading`, `keywords`, `languages`), sandboxed templates and conditions (`expressions`),
the engine itself (`engine`, with the plain values it takes and returns in `engine_values`),
schedules and due times (`schedules`, `due_times`), a flow drawn as a diagram (`graph`) and
the shipped flows (`library/`). Loading flow files and checking them with FILE:LINE
problems lives in `checks/`.

Imports: the standard library, jinja2, ruamel.yaml and APScheduler only. Nothing here imports
from `bot`, `storage` or `reports`; they build on this package, never the other way.
"""
