"""Valid specs expand into fully specified plans: defaults, matrices, interpolation, paths."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from fanout_tui.spec import (
    ConflictRule,
    MergeStrategy,
    OutputFormat,
    PolicyMode,
    Rate,
    RetryPolicy,
    describe_plan,
    load_plan,
    load_plan_text,
)


def _write(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_design_example_expands_completely(tmp_path: Path) -> None:
    spec = _write(
        tmp_path,
        """\
        version: 1
        name: summarize-docs
        description: Summarize documents in parallel.
        defaults:
          timeout: 2m
          retry: {attempts: 3, backoff: 1s, max_backoff: 30s, jitter: true}
          env: {PYTHONUNBUFFERED: "1"}
          cwd: .
        concurrency: 8
        resources:
          llm-api: {concurrency: 2, rate: 30/min}
          db: {concurrency: 1}
        secrets: [OPENAI_API_KEY]
        branches:
          - id: intro
            title: Summarize the intro
            run: python summarize.py docs/intro.md
            uses: [llm-api]
            output:
              format: json
              schema: {type: object, required: [doc, summary]}
            success: {exit_codes: [0]}
          - id: stats
            call: mypkg.tasks:word_stats
            with: {path: docs/intro.md}
            output: {format: json}
          - id: "chapter-${{ matrix.n }}"
            matrix: {n: [1, 2, 3]}
            run: python summarize.py docs/ch${{ matrix.n }}.md
            uses: [llm-api]
            output: {format: json}
        merge:
          strategy: key
          key: doc
          on_conflict: error
        policy:
          mode: best_effort
          min_success: 4
          fail_fast: false
        output: merged.json
        """,
    )
    plan = load_plan(spec)
    assert plan.name == "summarize-docs"
    assert plan.description == "Summarize documents in parallel."
    assert plan.spec_path == spec
    assert plan.concurrency == 8
    assert plan.secrets == ("OPENAI_API_KEY",)
    assert plan.resources["llm-api"].rate == Rate(count=30, per_s=60)
    assert plan.resources["llm-api"].concurrency == 2
    assert plan.resources["db"].rate is None
    assert [b.id for b in plan.branches] == [
        "intro",
        "stats",
        "chapter-1",
        "chapter-2",
        "chapter-3",
    ]
    assert [b.index for b in plan.branches] == [0, 1, 2, 3, 4]
    intro = plan.branch("intro")
    assert intro.title == "Summarize the intro"
    assert intro.run == "python summarize.py docs/intro.md"
    assert intro.cwd == tmp_path
    assert intro.env == {"PYTHONUNBUFFERED": "1"}
    assert intro.timeout_s == 120
    assert intro.kill_grace_s == 5
    assert intro.retry == RetryPolicy(attempts=3, backoff_s=1, max_backoff_s=30, jitter=True)
    assert intro.uses == ("llm-api",)
    assert intro.output.format is OutputFormat.JSON
    assert intro.output.schema == {"type": "object", "required": ["doc", "summary"]}
    assert intro.python_path == ()
    stats = plan.branch("stats")
    assert (stats.run, stats.call, stats.with_args) == (
        None,
        "mypkg.tasks:word_stats",
        {"path": "docs/intro.md"},
    )
    assert stats.python_path == (tmp_path,)
    chapter = plan.branch("chapter-2")
    assert chapter.run == "python summarize.py docs/ch2.md"
    assert chapter.matrix == {"n": "2"}  # as written in the spec
    assert plan.merge.strategy is MergeStrategy.KEY
    assert plan.merge.key == "doc"
    assert plan.merge.on_conflict is ConflictRule.ERROR
    assert plan.merge.order == tuple(b.id for b in plan.branches)
    assert plan.policy.mode is PolicyMode.BEST_EFFORT
    assert plan.policy.min_success == 4
    assert plan.output == tmp_path / "merged.json"


def test_matrix_is_the_cartesian_product_in_declared_order() -> None:
    plan = load_plan_text(
        """\
version: 1
name: m
branches:
  - id: first
    run: echo
  - id: "${{ matrix.algo }}-${{ matrix.doc }}"
    title: "${{ matrix.algo }} of ${{ matrix.doc }}"
    matrix: {algo: [md5, sha1], doc: [a, b, c]}
    run: [digest, "--algo=${{ matrix.algo }}", "${{ matrix.doc }}.md"]
    env: {DOC: "${{ matrix.doc }}"}
    cwd: "work/${{ matrix.doc }}"
  - id: last
    run: echo
"""
    )
    ids = [b.id for b in plan.branches]
    assert ids == [
        "first",
        "md5-a",
        "md5-b",
        "md5-c",
        "sha1-a",
        "sha1-b",
        "sha1-c",
        "last",
    ]
    assert [b.index for b in plan.branches] == list(range(8))
    branch = plan.branch("sha1-b")
    assert branch.title == "sha1 of b"
    assert branch.run == ("digest", "--algo=sha1", "b.md")
    assert branch.env == {"DOC": "b"}
    assert branch.cwd == Path.cwd() / "work" / "b"
    assert branch.matrix == {"algo": "sha1", "doc": "b"}


def test_matrix_values_keep_their_type_when_a_with_value_is_one_reference() -> None:
    plan = load_plan_text(
        """\
version: 1
name: m
branches:
  - id: "n${{ matrix.n }}-${{ matrix.fast }}"
    matrix: {n: [1, 2.5], fast: [true]}
    call: tasks:work
    with:
      n: "${{ matrix.n }}"
      label: "item ${{ matrix.n }} fast=${{ matrix.fast }}"
      nested: {list: ["${{ matrix.fast }}", 7]}
"""
    )
    assert [b.id for b in plan.branches] == ["n1-true", "n2.5-true"]
    assert plan.branches[0].with_args == {
        "n": 1,
        "label": "item 1 fast=true",
        "nested": {"list": [True, 7]},
    }
    assert plan.branches[1].with_args["n"] == 2.5


def test_env_values_are_the_text_as_written_not_what_yaml_1_1_reads() -> None:
    plan = load_plan_text(
        """\
version: 1
name: e
defaults:
  env: {ZIP: 01234, TIME: 12:30, V: 3.10, AGENT: 007, MASK: 0x1F, BIG: 1e3, N: 1_000}
branches:
  - id: a
    run: x
    env: {PORT: 8080, RATIO: 0.50, NEG: -0}
merge:
  strategy: synthesis
  synthesizer: {run: merge, env: {LEVEL: 010}}
"""
    )
    expected = {
        "ZIP": "01234",
        "TIME": "12:30",
        "V": "3.10",
        "AGENT": "007",
        "MASK": "0x1F",
        "BIG": "1e3",
        "N": "1_000",
    }
    assert plan.branches[0].env == {**expected, "PORT": "8080", "RATIO": "0.50", "NEG": "-0"}
    assert plan.merge.synthesizer is not None
    assert plan.merge.synthesizer.env == {**expected, "LEVEL": "010"}


def test_env_values_from_anchors_and_merge_keys_keep_their_text_too() -> None:
    plan = load_plan_text(
        """\
version: 1
name: e
branches:
  - {id: a, run: x, env: &env {V: 3.10}}
  - {id: b, run: x, env: {<<: *env, W: 2.0}}
  - {id: c, run: x, env: *env}
"""
    )
    assert plan.branch("a").env == {"V": "3.10"}
    assert plan.branch("b").env == {"V": "3.10", "W": "2.0"}
    assert plan.branch("c").env == {"V": "3.10"}


def test_matrix_values_in_text_are_written_as_in_the_spec() -> None:
    plan = load_plan_text(
        """\
version: 1
name: m
branches:
  - id: py-${{ matrix.v }}
    title: Python ${{ matrix.v }} at ${{ matrix.at }}
    matrix: {v: [3.9, 3.10, 0x1F, 012], at: [12:30]}
    run: [tox, "-e", "py${{ matrix.v }}", "--at=${{ matrix.at }}"]
    env: {V: "${{ matrix.v }}"}
"""
    )
    assert [b.id for b in plan.branches] == ["py-3.9", "py-3.10", "py-0x1F", "py-012"]
    second = plan.branch("py-3.10")
    assert second.title == "Python 3.10 at 12:30"
    assert second.run == ("tox", "-e", "py3.10", "--at=12:30")
    assert second.env == {"V": "3.10"}
    assert second.matrix == {"v": "3.10", "at": "12:30"}
    assert "Python 3.10 at 12:30  [v=3.10, at=12:30]" in describe_plan(plan)


def test_matrix_true_false_in_text_are_written_as_in_the_spec() -> None:
    plan = load_plan_text(
        """\
version: 1
name: m
branches:
  - id: "on-${{ matrix.x }}"
    matrix: {x: [yes, no, on, off, true, False]}
    run: echo ${{ matrix.x }}
"""
    )
    assert [b.id for b in plan.branches] == [
        "on-yes",
        "on-no",
        "on-on",
        "on-off",
        "on-true",
        "on-False",
    ]


def test_a_with_value_that_is_one_reference_gets_the_value_yaml_reads() -> None:
    plan = load_plan_text(
        """\
version: 1
name: m
branches:
  - id: "v${{ matrix.v }}"
    matrix: {v: [3.10, yes, "3.20"]}
    call: tasks:work
    with: {value: "${{ matrix.v }}", label: "v=${{ matrix.v }}"}
"""
    )
    assert [b.with_args for b in plan.branches] == [
        {"value": 3.1, "label": "v=3.10"},
        {"value": True, "label": "v=yes"},
        {"value": "3.20", "label": "v=3.20"},
    ]


def test_env_interpolation_reads_the_environment_and_shell_variables_pass_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCS_ROOT", "/srv/docs")
    plan = load_plan_text(
        """\
version: 1
name: e
defaults:
  env: {ROOT: "${{ env.DOCS_ROOT }}"}
branches:
  - id: a
    run: echo $HOME ${HOME} "${{ env.DOCS_ROOT }}/x" $${{ env.DOCS_ROOT }}
"""
    )
    branch = plan.branch("a")
    assert branch.run == 'echo $HOME ${HOME} "/srv/docs/x" $/srv/docs'
    assert branch.env == {"ROOT": "/srv/docs"}


def test_defaults_merge_into_each_branch_field_by_field(tmp_path: Path) -> None:
    spec = _write(
        tmp_path,
        """\
        version: 1
        name: d
        resources: {api: {concurrency: 1}}
        defaults:
          timeout: 1h30m
          kill_grace: 500ms
          retry: {attempts: 3, backoff: 2s}
          env: {A: "1", B: 2}
          cwd: sub
          uses: [api]
          output: {format: jsonl}
          success: {exit_codes: [0, 3]}
        branches:
          - id: inherits
            run: x
          - id: overrides
            run: x
            timeout: 10
            kill_grace: 0
            retry: {jitter: false, max_backoff: 1m}
            env: {B: "3", C: x}
            cwd: /abs/place
            uses: []
            output: {schema: {type: object}}
            success: {exit_codes: [1]}
        """,
    )
    plan = load_plan(spec)
    inherits, overrides = plan.branches
    assert inherits.timeout_s == 5400
    assert inherits.kill_grace_s == 0.5
    assert inherits.retry == RetryPolicy(attempts=3, backoff_s=2, max_backoff_s=30, jitter=True)
    assert inherits.env == {"A": "1", "B": "2"}
    assert inherits.cwd == tmp_path / "sub"
    assert inherits.uses == ("api",)
    assert inherits.output.format is OutputFormat.JSONL
    assert inherits.success_exit_codes == frozenset({0, 3})
    assert overrides.timeout_s == 10
    assert overrides.kill_grace_s == 0
    assert overrides.retry == RetryPolicy(attempts=3, backoff_s=2, max_backoff_s=60, jitter=False)
    assert overrides.env == {"A": "1", "B": "3", "C": "x"}
    assert list(overrides.env) == ["A", "B", "C"]
    assert overrides.cwd == Path("/abs/place")
    assert overrides.uses == ()
    assert overrides.output.format is OutputFormat.JSONL
    assert overrides.output.schema == {"type": "object"}
    assert overrides.success_exit_codes == frozenset({1})


def test_built_in_defaults_when_nothing_is_said() -> None:
    plan = load_plan_text("version: 1\nname: n\nbranches: [{id: a, run: x}]\n")
    branch = plan.branch("a")
    assert branch.timeout_s is None
    assert branch.kill_grace_s == 5
    assert branch.retry == RetryPolicy()
    assert branch.retry.attempts == 1
    assert branch.output.format is OutputFormat.TEXT
    assert branch.success_exit_codes == frozenset({0})
    assert branch.cwd == Path.cwd()
    assert branch.env == {}
    assert plan.concurrency is None
    assert plan.merge.strategy is MergeStrategy.CONCATENATE
    assert plan.merge.separator == "\n"
    assert plan.policy.mode is PolicyMode.ALL_OR_NOTHING
    assert plan.policy.min_success == 1
    assert plan.output is None
    assert plan.spec_path is None


def test_relative_paths_resolve_against_the_spec_folder_not_the_working_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = _write(
        folder,
        """\
        version: 1
        name: p
        defaults: {cwd: ../data}
        branches:
          - {id: a, run: x}
          - {id: b, run: x, cwd: here/./there}
          - {id: c, call: "tasks:run"}
        output: out/merged.txt
        """,
    )
    monkeypatch.chdir(tmp_path)
    plan = load_plan(Path("specs/spec.yaml"))
    assert plan.branch("a").cwd == tmp_path / "data"
    assert plan.branch("b").cwd == folder / "here" / "there"
    assert plan.branch("c").python_path == (folder,)
    assert plan.output == folder / "out" / "merged.txt"
    assert plan.spec_path is not None and plan.spec_path.is_absolute()
    assert spec.exists()


def test_percent_min_success_becomes_a_count_rounded_up() -> None:
    def min_success(share: str, count: int) -> int:
        branches = "".join(f"  - {{id: b{i}, run: x}}\n" for i in range(count))
        text = (
            f"version: 1\nname: p\nbranches:\n{branches}"
            f"policy: {{mode: best_effort, min_success: '{share}'}}\n"
        )
        return load_plan_text(text).policy.min_success

    assert min_success("80%", 5) == 4
    assert min_success("70%", 10) == 7
    assert min_success("50%", 3) == 2
    assert min_success("1%", 3) == 1
    assert min_success("100%", 7) == 7
    assert min_success("33.4%", 3) == 2


def test_best_effort_defaults_to_one_success() -> None:
    plan = load_plan_text(
        "version: 1\nname: p\nbranches: [{id: a, run: x}, {id: b, run: x}]\n"
        "policy: {mode: best_effort}\n"
    )
    assert plan.policy.min_success == 1
    assert plan.policy.fail_fast is False


def test_all_or_nothing_needs_every_branch() -> None:
    plan = load_plan_text(
        "version: 1\nname: p\nbranches: [{id: a, run: x}, {id: b, run: x}]\n"
        "policy: {fail_fast: true}\n"
    )
    assert plan.policy.mode is PolicyMode.ALL_OR_NOTHING
    assert plan.policy.min_success == 2
    assert plan.policy.fail_fast is True


def test_synthesizer_becomes_a_branch_plan_inheriting_env_and_cwd(tmp_path: Path) -> None:
    spec = _write(
        tmp_path,
        """\
        version: 1
        name: s
        defaults:
          env: {A: "1"}
          cwd: work
          timeout: 1m
          retry: {attempts: 4}
        branches: [{id: a, run: x}]
        merge:
          strategy: synthesis
          synthesizer:
            run: [python3, merge.py]
            env: {B: "2"}
            timeout: 10s
            retry: {attempts: 2}
        """,
    )
    plan = load_plan(spec)
    synthesizer = plan.merge.synthesizer
    assert synthesizer is not None
    assert synthesizer.id == "synthesizer"
    assert synthesizer.run == ("python3", "merge.py")
    assert synthesizer.env == {"A": "1", "B": "2"}
    assert synthesizer.cwd == tmp_path / "work"
    assert synthesizer.timeout_s == 10
    assert synthesizer.retry.attempts == 2
    assert synthesizer.output.format is OutputFormat.TEXT


def test_synthesizer_does_not_inherit_timeout_or_retry() -> None:
    plan = load_plan_text(
        "version: 1\nname: s\ndefaults: {timeout: 1m, retry: {attempts: 4}}\n"
        "branches: [{id: a, run: x}]\n"
        "merge: {strategy: synthesis, synthesizer: {run: cat}}\n"
    )
    synthesizer = plan.merge.synthesizer
    assert synthesizer is not None
    assert synthesizer.timeout_s is None
    assert synthesizer.retry == RetryPolicy()


def test_merge_order_puts_named_branches_first_then_the_rest_in_declared_order() -> None:
    plan = load_plan_text(
        "version: 1\nname: o\n"
        "branches: [{id: a, run: x}, {id: b, run: x}, {id: c, run: x}, {id: d, run: x}]\n"
        "merge: {order: [c, a], separator: ' | '}\n"
    )
    assert plan.merge.order == ("c", "a", "b", "d")
    assert plan.merge.separator == " | "


def test_durations_in_every_form() -> None:
    branches = [
        ("a", "500ms", 0.5),
        ("b", "30s", 30),
        ("c", "2m", 120),
        ("d", "1h30m", 5400),
        ("e", "90", 90),
        ("f", "1.5", 1.5),
        ("g", "1m 30s", 90),
    ]
    text = "version: 1\nname: d\nbranches:\n" + "".join(
        f"  - {{id: {name}, run: x, timeout: '{value}'}}\n" for name, value, _ in branches
    )
    text += "  - {id: plain, run: x, timeout: 7}\n"
    plan = load_plan_text(text)
    for name, _, seconds in branches:
        assert plan.branch(name).timeout_s == seconds
    assert plan.branch("plain").timeout_s == 7


def test_yaml_anchors_and_merge_keys_work() -> None:
    plan = load_plan_text(
        """\
version: 1
name: anchors
branches:
  - &common {id: z, run: echo hi, timeout: 5s}
  - {<<: *common, id: a}
  - {<<: *common, id: b, timeout: 9s}
"""
    )
    assert [b.id for b in plan.branches] == ["z", "a", "b"]
    assert plan.branch("a").timeout_s == 5
    assert plan.branch("a").run == "echo hi"
    assert plan.branch("b").timeout_s == 9


def test_top_level_x_fields_are_ignored_and_hold_anchors_to_reuse() -> None:
    plan = load_plan_text(
        """\
version: 1
name: x
x-common: &common
  timeout: 30s
  env: {V: 3.10}
x-command: &command "echo ${{ matrix.n }}"
x-notes: [anything, {at: all}]
branches:
  - <<: *common
    id: a-${{ matrix.n }}
    matrix: {n: [1, 2]}
    run: *command
"""
    )
    assert [(b.id, b.run, b.env, b.timeout_s) for b in plan.branches] == [
        ("a-1", "echo 1", {"V": "3.10"}, 30),
        ("a-2", "echo 2", {"V": "3.10"}, 30),
    ]


def test_call_branches_keep_arguments_as_written() -> None:
    plan = load_plan_text(
        "version: 1\nname: c\nbranches:\n"
        "  - {id: a, call: 'pkg.mod:fn', with: {n: 3, flags: [x, y], deep: {k: null}}}\n"
    )
    assert plan.branch("a").with_args == {"n": 3, "flags": ["x", "y"], "deep": {"k": None}}


def test_a_matrix_of_a_thousand_branches_loads_fast(capsys: pytest.CaptureFixture[str]) -> None:
    first = ", ".join(str(i) for i in range(40))
    second = ", ".join(str(i) for i in range(25))
    text = (
        "version: 1\nname: big\n"
        "defaults: {env: {A: '1'}, timeout: 30s}\n"
        "branches:\n"
        "  - id: 'item-${{ matrix.a }}-${{ matrix.b }}'\n"
        f"    matrix: {{a: [{first}], b: [{second}]}}\n"
        "    run: python3 work.py --a ${{ matrix.a }} --b ${{ matrix.b }}\n"
        "    env: {ITEM: '${{ matrix.a }}/${{ matrix.b }}'}\n"
        "    output: {format: json, schema: {type: object}}\n"
        "merge: {strategy: key, key: id}\n"
        "policy: {mode: best_effort, min_success: 90%}\n"
    )
    started = time.perf_counter()
    plan = load_plan_text(text)
    elapsed = time.perf_counter() - started
    assert len(plan.branches) == 1000
    assert plan.policy.min_success == 900
    assert len({b.id for b in plan.branches}) == 1000
    with capsys.disabled():
        print(f"\n1000-branch matrix loaded in {elapsed * 1000:.0f} ms", file=sys.stderr)
    assert elapsed < 1.0
