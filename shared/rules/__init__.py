"""Sync rules (the selection rules): which pushed images go to which SWR regions and namespaces.

Modules: :mod:`~shared.rules.patterns` (the linear-time engine), :mod:`~shared.rules.selection` (version
selection), :mod:`~shared.rules.model` (rule data), :mod:`~shared.rules.parse` (JSON to rules),
:mod:`~shared.rules.ruleset` (loading and matching). Import from ``shared.rules``; the modules are its parts.

What sync rules decide: which pushed images go to which SWR regions and namespaces.

Configuration: ``SYNC_RULES`` (JSON text) or ``SYNC_RULES_FILE`` (path to a JSON file). The JSON is a list of
rules, or an object ``{"rules": [...]}``. A rule::

    {
      "name": "team-apps",                       # optional, unique; default label "rules[<index>]"
      "namespace": "demo",                       # pattern, default "*"
      "repository": "team/**",                   # pattern, default "**"
      "tags": {"include": ["v\\d+(\\.\\d+)*"],   # optional; regexes, full match
               "exclude": [".*-rc\\d*"]},
      "targets": [{"region": "cn-north-4", "namespace": "demo-dr", "override": false}]
    }

Patterns are globs: ``*`` (any run of characters without ``/``), ``**`` (any run, ``/`` included; ``**/`` at the
start of a segment also matches zero segments, so ``**/app`` matches ``app``), ``?`` (one character other than
``/``) and ``{a,b}`` (alternatives, may nest). A pattern written ``re:<regex>`` is a regex, full match.

Tag filters: a tag passes when it full-matches at least one ``include`` regex (no ``include`` = every tag) and
none of the ``exclude`` regexes. Matching takes time linear in the input whatever the pattern
(:mod:`shared.rules.patterns`): globs run on an NFA, regexes on RE2. Regexes are compiled at load, limited to 512
characters; one RE2 cannot run (a backreference, a lookaround) is refused there, with the reason.

Every matching rule contributes its targets; targets are de-duplicated by (region, namespace). If two rules name
the same destination with different ``override`` values, ``override`` is true (the explicit request to overwrite
wins).
"""

from shared.rules.model import (
    MAX_REGEX_LEN,
    MAX_RULES,
    MAX_TARGETS,
    REGEX_PREFIX,
    Evaluation,
    Match,
    Pattern,
    Rule,
    RuleError,
    TagFilter,
    Target,
)
from shared.rules.parse import compile_glob, compile_pattern, compile_regex, glob_to_regex, split_patterns
from shared.rules.ruleset import Listing, RuleSet, load_rules, read_rules_file

__all__ = [
    "MAX_REGEX_LEN",
    "MAX_RULES",
    "MAX_TARGETS",
    "REGEX_PREFIX",
    "Evaluation",
    "Listing",
    "Match",
    "Pattern",
    "Rule",
    "RuleError",
    "RuleSet",
    "TagFilter",
    "Target",
    "compile_glob",
    "compile_pattern",
    "compile_regex",
    "glob_to_regex",
    "load_rules",
    "read_rules_file",
    "split_patterns",
]
