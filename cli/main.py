"""The `itb-triage` command line.

Every error, the engine's and Click's, becomes one line on stderr and an exit status in
one place: the `try` in `_LazyGroup.main`, through `common.report`. Nothing here knows
about durable_rules. Heavy modules are imported inside the commands, so `--version` and
`--help` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import click

from itb_triage import __version__

from .common import fail, read_input, report, shell_word, triage, width
from .exit_codes import ExitStatus

if TYPE_CHECKING:
    from itb_triage.engine import Knowledge

FORMATS = ("text", "markdown", "json")


def _version_text() -> str:
    from itb_triage.engine import knowledge_version

    return f"itb-triage {__version__} (knowledge {knowledge_version()})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit()


class _LazyGroup(click.Group):
    """Commands that live in their own modules, imported only when used.

    Importing every command module at start-up cost `--version` over 100 ms (the
    explain module alone 108 ms); this is Click's documented lazy-loading pattern.
    """

    # command name -> "module:attribute", relative to this package
    lazy: ClassVar[dict[str, str]] = {
        "batch": "batch:batch",
        "explain": "explain:explain_command",
        "fhir": "fhir:fhir_group",
        "interview": "interview:interview",
        "report": "report:report_command",
        "serve": "serve:serve",
        "sessions": "interview:sessions",
    }

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """Click's `main`, with every error reported in one style (`common.report`).

        Used by the console script and by Click's test runner alike. Without standalone
        mode Click raises its errors instead of printing them its own way ("Error:" and
        the usage, "Aborted!" and status 1), so they all arrive here.
        """
        try:
            # Always "itb-triage": Click's test runner would name it after the function.
            status = super().main(args, "itb-triage", complete_var, standalone_mode=False, **extra)
        except Exception as exc:
            if not standalone_mode:
                raise
            sys.exit(report(exc))
        except KeyboardInterrupt as exc:
            sys.exit(report(exc))
        if not standalone_mode:
            return status
        # Click returns the status of `ctx.exit` (--help, --version); commands return None.
        sys.exit(status if isinstance(status, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            import importlib

            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the program and knowledge versions and exit.")
def cli() -> None:
    """Triage for runners with pain on the outside of the knee, thigh or hip.

    Says whether it looks like iliotibial band syndrome (ITBS) or something else,
    whether you need a clinician and how soon, which rung of treatment fits, and what
    to do next, with the reasons and sources. Not a medical device.
    """


@cli.command()
@click.argument("case", metavar="CASE")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for reading, markdown for a report, json for programs (the contract).")
@click.option("--detail", is_flag=True,
              help="With text: the full result (reasons, evidence, sources) instead of the one-screen summary.")
def assess(case: str, fmt: str, detail: bool) -> None:
    """Assess one case file (JSON or YAML; `-` reads stdin), or a FHIR QuestionnaireResponse.

    The text is a one-screen summary: where to go and how soon, the likely cause,
    what to do this week, what to avoid and when to get help sooner; --detail gives
    the reasons, the evidence and the sources.

    Exit status 0 on success, 2 for a bad case file, 3 for invalid knowledge,
    4 for an engine failure.
    """
    from .fhir import read_case
    from .render import render_card, render_json, render_text

    data, where = read_input(case)
    engine = triage()
    checked = read_case(engine, data, where)  # a case file or a QuestionnaireResponse
    # The JSON and the Markdown report carry the critical answers (tens of ms per case).
    result = engine.assess(checked, critical=fmt in ("json", "markdown"))
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        from .report import build_report

        click.echo(build_report(engine, checked, "markdown", result), nl=False)
    elif detail:
        click.echo(render_text(result, width(), engine.knowledge), nl=False)
    else:
        more = f"Reasons, evidence and sources: itb-triage assess --detail {shell_word(case)}"
        click.echo(render_card(result, engine.knowledge, width(), more), nl=False)


@cli.group()
def kb() -> None:
    """Inspect and check the knowledge base."""


@kb.command()
@click.option("--knowledge", "knowledge_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Check a copy of the knowledge folder instead of the installed one.")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Check a copy of the rules folder instead of the installed one.")
@click.option("--witnesses", is_flag=True, help="List the witness answers of every rule, not only of the red flags.")
def validate(knowledge_dir: Path | None, rules_dir: Path | None, witnesses: bool) -> None:
    """Check every knowledge and rule file against its schema and every cross-reference,
    and prove that every rule can fire and every red flag can be reached.

    The proof is witness answers: for each rule (each branch of an `any`), answers on
    which the engine fires it; for each red flag, answers whose result shows it at its
    urgency. Prints every problem with its file and path, and exits 3 if there is any.
    """
    from itb_triage.engine import KnowledgeError, check_satisfiable, load_knowledge

    try:
        knowledge = load_knowledge(knowledge_dir, rules_dir, use_cache=False)
    except KnowledgeError as exc:
        _knowledge_problems(exc.problems)
    proof = check_satisfiable(knowledge)
    if proof.problems():
        _knowledge_problems(proof.problems())
    lines = [_summary(knowledge),
             f"  every rule fires  on witness answers: {len(proof.witnesses)} branches of {len(knowledge.rules)} rules"
             + ("" if witnesses else " (--witnesses lists them)"),
             "  every red flag    reached at its urgency, on these answers:"]
    for flag, witness in proof.red_flags.items():
        assert witness is not None  # a flag without one is a problem, reported above
        lines.append(f"    {flag} ({knowledge.red_flags[flag]['urgency']}): {witness.describe()}")
    if witnesses:
        lines.append("  witness answers of every rule:")
        for found in proof.witnesses:
            which = found.rule.id if len(found.rule.branches) == 1 else f"{found.rule.id} (branch {found.branch + 1})"
            lines.append(f"    {which}: {found.describe()}")
    click.echo("\n".join(lines))


def _knowledge_problems(problems: list[str]) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    fail(f"{len(problems)} problem(s) in the knowledge base", ExitStatus.KNOWLEDGE_INVALID)


def _summary(knowledge: Knowledge) -> str:
    stages: dict[str, int] = {}
    for rule in knowledge.rules:
        stages[rule.stage] = stages.get(rule.stage, 0) + 1
    per_stage = ", ".join(f"{stage} {count}" for stage, count in stages.items())
    return "\n".join([
        f"knowledge base OK (version {knowledge.version})",
        f"  questions        {len(knowledge.questions)} ({len(knowledge.screening_questions)} screening)",
        f"  rules            {len(knowledge.rules)} ({per_stage})",
        f"  conditions       {len(knowledge.conditions)}",
        f"  red flags        {len(knowledge.red_flags)}",
        f"  recommendations  {len(knowledge.recommendations)}",
        f"  avoid items      {len(knowledge.avoid)}",
        f"  citations        {len(knowledge.citations)}",
    ])




def main() -> None:
    """Console-script entry point; stdout guarded, so that a failed write to it is one
    line and exit status 2 (`common.report`), not a traceback."""
    from . import stdout

    stdout.guard()
    cli.main(prog_name="itb-triage")
