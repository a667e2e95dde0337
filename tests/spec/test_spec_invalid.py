"""A corpus of wrong specs: each must be reported at the right line and column, in words.

Each case is a whole spec file. ``line``/``column`` are where the report must point (the
offending key or value), and ``fragment`` is part of what it must say.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from fanout_tui.spec import SpecError, load_plan, load_plan_text

HEAD = "version: 1\nname: corpus\n"
"""Two lines most cases start with, so their line numbers start at 3."""


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    line: int
    column: int | None
    fragment: str
    field: str | None = None


CASES = [
    Case(
        "unsupported-version",
        "version: 2\nname: x\nbranches: [{id: a, run: echo}]\n",
        1,
        10,
        "unsupported version 2",
        "version",
    ),
    Case(
        "version-as-text",
        "version: '1'\nname: x\nbranches: [{id: a, run: echo}]\n",
        1,
        10,
        "the version is the number 1, not the text '1'; write version: 1",
    ),
    Case(
        "missing-name",
        "version: 1\nbranches: [{id: a, run: echo}]\n",
        1,
        1,
        "missing required field 'name'",
    ),
    Case("missing-branches", HEAD, 1, 1, "missing required field 'branches'"),
    Case(
        "x-fields-only-at-the-top",
        HEAD + "branches: [{id: a, run: x, x-note: hi}]\n",
        3,
        28,
        "unknown field",
        "branches[0].x-note",
    ),
    Case(
        "misspelled-branches",
        HEAD + "branchs: [{id: a, run: echo}]\n",
        3,
        1,
        "branchs: unknown field, and the required field 'branches' is missing; "
        "did you mean 'branches'?",
    ),
    Case(
        "misspelled-required-nested-field",
        HEAD + "branches: [{id: a, run: echo, success: {exit_code: [0]}}]\n",
        3,
        41,
        "unknown field, and the required field 'exit_codes' is missing; did you mean 'exit_codes'?",
    ),
    Case(
        "enum-in-the-wrong-case",
        HEAD + "branches: [{id: a, run: echo, output: {format: JSON}}]\n",
        3,
        48,
        "'JSON' is not one of 'text', 'json', 'jsonl' or 'lines'; did you mean 'json'?",
    ),
    Case(
        "interpolation-in-a-duration",
        HEAD + "branches: [{id: a, run: x, timeout: '${{ matrix.t }}', matrix: {t: [1s]}}]\n",
        3,
        37,
        "branches[0].timeout: ${{ … }} is not expanded in this field",
    ),
    Case(
        "absurd-duration",
        HEAD + "branches: [{id: a, run: x, timeout: 99999999999999999999h}]\n",
        3,
        37,
        "'99999999999999999999h' is too long; a duration is at most 8784h (366 days)",
    ),
    Case(
        "env-name-with-equals",
        HEAD + "branches: [{id: a, run: x, env: {'A=B': '1'}}]\n",
        3,
        34,
        "branches[0].env[\"A=B\"]: not a valid variable name: use letters, digits and '_', "
        "starting with a letter or '_'",
    ),
    Case("no-branches", HEAD + "branches: []\n", 3, 11, "at least one branch", "branches"),
    Case(
        "unknown-top-level-key",
        HEAD + "concurency: 3\nbranches: [{id: a, run: echo}]\n",
        3,
        1,
        "unknown field; did you mean 'concurrency'?",
        "concurency",
    ),
    Case(
        "misspelled-retry-field",
        HEAD
        + """\
        branches:
          - id: a
            run: echo
          - id: b
            run: echo
            retry:
              attemps: 3
        """,
        9,
        7,
        "did you mean 'attempts'?",
        "branches[1].retry.attemps",
    ),
    Case(
        "unknown-field-lists-choices",
        HEAD
        + """\
        branches:
          - id: a
            run: echo
            output: {fmt: json}
        """,
        6,
        14,
        "did you mean 'format'?",
        "branches[0].output.fmt",
    ),
    Case(
        "number-where-text-belongs",
        HEAD + "branches:\n  - id: 2024\n    run: x\n",
        4,
        9,
        "must be text, not 2024; write it in quotes",
        "branches[0].id",
    ),
    Case(
        "number-in-a-command-list",
        HEAD + "branches:\n  - id: a\n    run: [python3, x.py, 3]\n",
        5,
        10,
        "item 2 of the command, 3, must be text; write it in quotes",
    ),
    Case(
        "misplaced-field",
        HEAD + "timeout: 30s\nbranches: [{id: a, run: x}]\n",
        3,
        1,
        "unknown field; did you mean 'defaults.timeout'?",
        "timeout",
    ),
    Case(
        "empty-output-path",
        HEAD + "branches: [{id: a, run: x}]\noutput: ''\n",
        4,
        9,
        "must not be empty",
        "output",
    ),
    Case(
        "bad-duration",
        HEAD + "defaults:\n  timeout: 2 minutes\nbranches: [{id: a, run: x}]\n",
        4,
        12,
        "'2 minutes' is not a duration",
        "defaults.timeout",
    ),
    Case(
        "negative-duration",
        HEAD + "branches: [{id: a, run: x, kill_grace: -1}]\n",
        3,
        40,
        "it must be 0 or more",
    ),
    Case(
        "zero-timeout",
        HEAD + "branches: [{id: a, run: x, timeout: 0}]\n",
        3,
        37,
        "must be longer than 0",
    ),
    Case(
        "bad-rate",
        HEAD + "resources:\n  api: {rate: 30/day}\nbranches: [{id: a, run: x}]\n",
        4,
        15,
        "'30/day' is not a rate",
        "resources.api.rate",
    ),
    Case(
        "resource-concurrency-zero",
        HEAD + "resources:\n  api: {concurrency: 0}\nbranches: [{id: a, run: x}]\n",
        4,
        22,
        "must be at least 1",
    ),
    Case(
        "global-concurrency-zero",
        HEAD + "concurrency: 0\nbranches: [{id: a, run: x}]\n",
        3,
        14,
        "must be at least 1",
        "concurrency",
    ),
    Case(
        "retry-attempts-zero",
        HEAD + "branches: [{id: a, run: x, retry: {attempts: 0}}]\n",
        3,
        46,
        "must be at least 1",
        "branches[0].retry.attempts",
    ),
    Case(
        "run-not-a-command",
        HEAD + "branches:\n  - id: a\n    run: 5\n",
        5,
        10,
        "must be a shell command",
    ),
    Case(
        "run-and-call",
        HEAD + "branches:\n  - id: a\n    run: echo\n    call: m:f\n",
        6,
        5,
        "either 'run' or 'call', not both",
    ),
    Case(
        "neither-run-nor-call",
        HEAD + "branches:\n  - id: a\n    title: nothing\n",
        4,
        5,
        "needs 'run' (a command) or 'call'",
        "branches[0]",
    ),
    Case(
        "call-without-colon",
        HEAD + "branches:\n  - id: a\n    call: mypkg.tasks\n",
        5,
        11,
        "is not a callable; write module:function",
    ),
    Case(
        "with-without-call",
        HEAD + "branches:\n  - id: a\n    run: x\n    with: {n: 1}\n",
        6,
        5,
        "'with' gives arguments to 'call'",
    ),
    Case("bad-id", HEAD + "branches:\n  - id: a b\n    run: x\n", 4, 9, "'a b' is not a valid id"),
    Case(
        "duplicate-id",
        HEAD + "branches:\n  - {id: a, run: x}\n  - {id: b, run: x}\n  - {id: a, run: y}\n",
        6,
        10,
        "duplicate branch id 'a' (first at line 4)",
    ),
    Case(
        "matrix-without-id-variable",
        HEAD
        + """\
        branches:
          - id: same
            matrix: {n: [1, 2]}
            run: echo ${{ matrix.n }}
        """,
        4,
        9,
        "the matrix gives several branches the id 'same' (n=1 and n=2); "
        "put ${{ matrix.n }} in the id",
    ),
    Case(
        "matrix-name-missing-from-id",
        HEAD
        + """\
        branches:
          - id: a-${{ matrix.n }}
            matrix: {n: [1, 2], os: [linux, mac]}
            run: x
        """,
        4,
        9,
        "the id 'a-1' (os=linux and os=mac); put ${{ matrix.os }} in the id",
    ),
    Case(
        "matrix-value-listed-twice",
        HEAD
        + """\
        branches:
          - id: a-${{ matrix.n }}
            matrix: {n: [x, y, x]}
            run: x
        """,
        4,
        9,
        "matrix.n lists 'x' more than once, so two branches get the id 'a-x'",
    ),
    Case(
        "matrix-values-the-same-as-text",
        HEAD
        + """\
        branches:
          - id: a-${{ matrix.n }}
            matrix: {n: [1, "1"]}
            run: x
        """,
        4,
        9,
        "matrix.n has 1 and '1', the same as text, so two branches get the id 'a-1'",
    ),
    Case(
        "matrix-values-run-together",
        HEAD
        + """\
        branches:
          - id: a${{ matrix.n }}${{ matrix.m }}
            matrix: {n: [1, 11], m: [1, 11]}
            run: x
        """,
        4,
        9,
        "n=1, m=11 and n=11, m=1 both give the id 'a111'; put a separator",
    ),
    Case(
        "matrix-duplicate-after-expansion",
        HEAD
        + """\
        branches:
          - id: ch-2
            run: x
          - id: ch-${{ matrix.n }}
            matrix: {n: [1, 2, 3]}
            run: x
        """,
        6,
        9,
        "duplicate branch id 'ch-2' (first at line 4)",
    ),
    Case(
        "unknown-matrix-name",
        HEAD
        + """\
        branches:
          - id: ch-${{ matrix.n }}
            matrix: {num: [1, 2]}
            run: echo
        """,
        4,
        12,
        "the matrix has no 'n' (it has num)",
    ),
    Case(
        "matrix-name-without-matrix",
        HEAD
        + """\
        branches:
          - id: a
            run: echo ${{ matrix.n }}
        """,
        5,
        15,
        "this branch has no matrix",
    ),
    Case(
        "unknown-interpolation-kind",
        HEAD
        + """\
        branches:
          - id: a
            run: echo ${{ secrets.TOKEN }}
        """,
        5,
        15,
        "unknown name 'secrets'",
    ),
    Case(
        "unset-env-variable",
        HEAD
        + """\
        branches:
          - id: a
            env: {TOKEN: "${{ env.FANOUT_TEST_SURELY_UNSET }}"}
            run: echo
        """,
        5,
        19,
        "the environment variable FANOUT_TEST_SURELY_UNSET is not set",
        "branches[0].env.TOKEN",
    ),
    Case(
        "unclosed-interpolation",
        HEAD + "branches:\n  - id: a\n    run: echo ${{ matrix.n\n",
        5,
        15,
        "is not closed",
    ),
    Case(
        "interpolation-in-name",
        "version: 1\nname: run-${{ env.HOME }}\nbranches: [{id: a, run: x}]\n",
        2,
        7,
        "not expanded in this field",
        "name",
    ),
    Case(
        "empty-matrix",
        HEAD + "branches:\n  - id: a-${{ matrix.n }}\n    run: x\n    matrix: {n: []}\n",
        6,
        17,
        "the matrix 'n' has no values",
    ),
    Case(
        "uses-unknown-resource",
        HEAD
        + """\
        resources:
          llm-api: {concurrency: 2}
        branches:
          - id: a
            run: x
            uses: [llm-apj]
        """,
        8,
        12,
        "unknown resource 'llm-apj' (resources: llm-api); did you mean 'llm-api'?",
    ),
    Case(
        "merge-order-unknown-id",
        HEAD
        + """\
        branches:
          - {id: alpha, run: x}
          - {id: beta, run: x}
        merge:
          order: [beta, alpah]
        """,
        7,
        17,
        "no branch has the id 'alpah'; did you mean 'alpha'?",
        "merge.order[1]",
    ),
    Case(
        "merge-order-twice",
        HEAD
        + """\
        branches:
          - {id: alpha, run: x}
        merge:
          order: [alpha, alpha]
        """,
        6,
        18,
        "already named at merge.order[0]",
    ),
    Case(
        "key-merge-needs-key",
        HEAD
        + """\
        branches:
          - {id: a, run: x, output: {format: json}}
        merge:
          strategy: key
        """,
        6,
        13,
        "strategy key needs 'key'",
    ),
    Case(
        "key-merge-needs-json",
        HEAD
        + """\
        branches:
          - {id: a, run: x, output: {format: json}}
          - id: b
            run: x
            output: {format: text}
        merge: {strategy: key, key: doc}
        """,
        7,
        22,
        "output.format must be json or jsonl (not text)",
    ),
    Case(
        "key-merge-default-text",
        HEAD
        + """\
        branches:
          - {id: a, run: x, output: {format: json}}
          - id: b
            run: x
        merge: {strategy: key, key: doc}
        """,
        5,
        5,
        "must be json or jsonl (not text)",
        "branches[1]",
    ),
    Case(
        "synthesis-needs-synthesizer",
        HEAD
        + """\
        branches:
          - {id: a, run: x}
        merge:
          strategy: synthesis
        """,
        6,
        13,
        "strategy synthesis needs a 'synthesizer'",
    ),
    Case(
        "synthesizer-without-synthesis",
        HEAD
        + """\
        branches:
          - {id: a, run: x}
        merge:
          synthesizer: {run: cat}
        """,
        6,
        3,
        "'synthesizer' applies to strategy synthesis",
    ),
    Case(
        "unknown-strategy",
        HEAD + "branches: [{id: a, run: x}]\nmerge: {strategy: concatinate}\n",
        4,
        19,
        "did you mean 'concatenate'?",
        "merge.strategy",
    ),
    Case(
        "unknown-conflict-rule",
        HEAD
        + """\
        branches: [{id: a, run: x, output: {format: json}}]
        merge: {strategy: key, key: doc, on_conflict: newest}
        """,
        4,
        47,
        "is not one of 'error', 'first', 'last' or 'collect'",
    ),
    Case(
        "min-success-above-count",
        HEAD
        + """\
        branches:
          - {id: a, run: x}
          - {id: b, run: x}
        policy:
          mode: best_effort
          min_success: 3
        """,
        8,
        16,
        "min_success is 3, but the spec has only 2 branches",
    ),
    Case(
        "min-success-bad-percent",
        HEAD
        + """\
        branches: [{id: a, run: x}]
        policy: {mode: best_effort, min_success: 120%}
        """,
        4,
        42,
        "a count like 4 or a percentage like",
    ),
    Case(
        "min-success-with-all-or-nothing",
        HEAD
        + """\
        branches: [{id: a, run: x}]
        policy:
          min_success: 1
        """,
        5,
        3,
        "min_success applies to mode best_effort",
    ),
    Case(
        "output-schema-invalid",
        HEAD
        + """\
        branches:
          - id: a
            run: x
            output:
              format: json
              schema:
                type: object
                properties:
                  doc: {type: strin}
        """,
        11,
        23,
        "not a valid JSON Schema",
        "branches[0].output.schema.properties.doc.type",
    ),
    Case(
        "output-schema-with-text",
        HEAD
        + """\
        branches:
          - id: a
            run: x
            output:
              format: lines
              schema: {type: object}
        """,
        7,
        15,
        "an output schema needs format json or jsonl (not lines)",
    ),
    Case(
        "exit-code-out-of-range",
        HEAD + "branches: [{id: a, run: x, success: {exit_codes: [0, 300]}}]\n",
        3,
        54,
        "must be at most 255",
    ),
    Case(
        "env-name-invalid",
        HEAD + "branches: [{id: a, run: x, env: {BAD-NAME: 1}}]\n",
        3,
        34,
        "branches[0].env.BAD-NAME: not a valid variable name: use letters, digits and '_'",
    ),
    Case(
        "env-value-bool",
        HEAD + "branches: [{id: a, run: x, env: {DEBUG: yes}}]\n",
        3,
        41,
        'an environment value is text, YAML reads yes as true; write it in quotes: "yes"',
    ),
    Case(
        "name-not-text",
        "version: 1\nname: [a]\nbranches: [{id: a, run: x}]\n",
        2,
        7,
        "must be text, not a list",
    ),
    Case(
        "branches-not-a-list", HEAD + "branches: {id: a}\n", 3, 11, "must be a list, not a mapping"
    ),
    Case(
        "duplicate-key",
        HEAD + "branches: [{id: a, run: x}]\nname: again\n",
        4,
        1,
        "duplicate key (first at line 2)",
    ),
    Case("yaml-syntax", HEAD + "branches:\n  - id: a\n    run: [echo\n", 6, 1, "YAML syntax error"),
    Case(
        "yaml-bad-indent", HEAD + "branches:\n  - id: a\n     run: x\n", 5, 9, "YAML syntax error"
    ),
    Case(
        "yaml-tab",
        HEAD + "branches:\n\t- id: a\n",
        4,
        1,
        "YAML syntax error: a tab indents this line; YAML indents with spaces only",
    ),
    Case(
        "yaml-tab-after-spaces",
        HEAD + "branches:\n  - id: a\n  \t  run: x\n",
        5,
        3,
        "a tab indents this line; YAML indents with spaces only",
    ),
    Case(
        "unknown-tag",
        HEAD + "branches: [{id: a, run: !shell echo}]\n",
        3,
        25,
        "could not determine a constructor for the tag '!shell'",
    ),
    Case(
        "boolean-key",
        HEAD + "branches: [{id: a, run: x}]\nmerge:\n  yes: key\n",
        5,
        3,
        "reads as true; write it in quotes",
    ),
    Case(
        "fail-fast-with-best-effort",
        HEAD
        + """\
        branches: [{id: a, run: x}]
        policy: {mode: best_effort, fail_fast: true}
        """,
        4,
        40,
        "fail_fast applies to mode all_or_nothing",
    ),
    Case(
        "reserved-synthesizer-id",
        HEAD
        + """\
        branches: [{id: synthesizer, run: x}]
        merge: {strategy: synthesis, synthesizer: {run: cat}}
        """,
        3,
        17,
        "the id 'synthesizer' is taken",
    ),
    Case(
        "secret-name-invalid",
        HEAD + "secrets: [API KEY]\nbranches: [{id: a, run: x}]\n",
        3,
        11,
        "'API KEY' is not a valid variable name",
    ),
]


def _text(case: Case) -> str:
    """The case's file: the indented block after ``HEAD`` is dedented."""
    body = case.text.removeprefix(HEAD)
    return case.text[: len(case.text) - len(body)] + textwrap.dedent(body)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_spec_is_reported_where_it_is_wrong(case: Case, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(_text(case), encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_plan(spec)
    issues = raised.value.issues
    matching = [issue for issue in issues if case.fragment in str(issue)]
    assert matching, f"no issue says {case.fragment!r}:\n{raised.value}"
    issue = matching[0]
    assert (issue.line, issue.column if case.column else None) == (case.line, case.column), str(
        raised.value
    )
    assert issue.path == spec
    if case.field is not None:
        assert issue.field == case.field
    report = str(raised.value)
    assert f"{spec}:{case.line}:" in report
    assert "Traceback" not in report


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_report_format_names_file_line_column_field_and_hint(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD + "branches:\n  - id: a\n    run: x\n    retry: {attemps: 2}\n", encoding="utf-8"
    )
    with pytest.raises(SpecError) as raised:
        load_plan(spec)
    assert str(raised.value) == (
        f"{spec}:6:13: branches[0].retry.attemps: unknown field; did you mean 'attempts'?"
    )


def test_several_errors_are_reported_together_in_file_order(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nname: x\ntimeout: 3s\nbranches:\n  - {id: a, run: x, retry: {tries: 2}}\n"
        "policy: {mode: most}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as raised:
        load_plan(spec)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{spec}: 3 errors"
    assert [line.split(":")[1] for line in lines[1:]] == ["3", "5", "6"]
    assert "timeout: unknown field; did you mean 'defaults.timeout'?" in lines[1]
    assert "retry.tries: unknown field; expected one of: attempts," in lines[2]
    assert "'most' is not one of 'all_or_nothing' or 'best_effort'" in lines[3]


def test_a_long_report_is_capped(tmp_path: Path) -> None:
    branches = "".join(f"  - {{id: b{i}, run: x, retry: {{attemps: 2}}}}\n" for i in range(30))
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "branches:\n" + branches, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_plan(spec)
    lines = str(raised.value).splitlines()
    assert lines[0].endswith(": 30 errors")
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "… and 10 more errors"


def test_unknown_field_without_a_close_match_lists_the_fields(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "branches: [{id: a, run: x, retry: {zzz: 1}}]\n", encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_plan(spec)
    assert "expected one of: attempts, backoff, max_backoff, jitter" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD + "nmae: y\nbranches: [{id: a, run: x}]\n",
            "<spec>:3:1: nmae: unknown field; did you mean 'name'?",
        ),
        (
            HEAD + "branches: [{id: a, idd: b, run: x}]\n",
            "<spec>:3:20: branches[0].idd: unknown field; did you mean 'id'?",
        ),
    ],
    ids=["name", "id"],
)
def test_a_near_miss_of_a_given_required_field_is_only_unknown(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as raised:
        load_plan_text(text)
    assert str(raised.value) == expected


def test_a_secret_value_never_shows_in_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", "tok en-1234")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD + "secrets: [API_TOKEN]\nbranches: [{id: 'x-${{ env.API_TOKEN }}', run: x}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as raised:
        load_plan(spec)
    assert "is not a valid id" in str(raised.value)
    assert "tok en-1234" not in str(raised.value)


def test_interpolation_errors_point_into_the_string_when_it_is_written_as_is() -> None:
    text = (
        HEAD + "branches:\n"
        "  - id: a\n"
        "    title: 'see ${{ matrix.x }}'\n"  # quoted as is: points at the ${{
        '    run: "tab\\t${{ env.SURELY_UNSET_Q }}"\n'  # an escape: points at the string
        "    cwd: |\n"  # a block: points at the block
        "      ${{ nope }}\n"
    )
    with pytest.raises(SpecError) as raised:
        load_plan_text(text)
    positions = [(issue.field, issue.line, issue.column) for issue in raised.value.issues]
    assert positions == [
        ("branches[0].title", 5, 17),
        ("branches[0].run", 6, 10),
        ("branches[0].cwd", 7, 10),
    ]


@pytest.mark.parametrize(
    "text",
    [
        HEAD.replace("version: 1", "version: '1'") + "branches: [{id: a, run: x}]\n",
        HEAD + "branchs: [{id: a, run: x}]\n",
        HEAD + "Branches: [{id: a, run: x}]\n",
        HEAD + "branches: [{id: a, run: x, success: {exit_code: [0]}}]\n",
        HEAD + "branches: [{id: a, run: x, env: {'A=B': '1'}}]\n",
    ],
)
def test_one_mistake_gets_one_clear_line(text: str) -> None:
    with pytest.raises(SpecError) as raised:
        load_plan_text(text)
    report = str(raised.value)
    assert len(raised.value.issues) == 1, report
    assert "reads version 1" not in report
    assert report.count("A=B") <= 1, report
