"""The `itb-triage` command line.

Engine errors are turned into one line on stderr and an exit status in one place
(`_fail`); nothing here knows about durable_rules. Heavy modules are imported inside
the commands, so `--version` and `--help` start fast.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NoReturn

import click

from itb_triage import __version__

from .exit_codes import ExitStatus

if TYPE_CHECKING:
    from itb_triage.engine import Knowledge, Triage

FORMATS = ("text", "markdown", "json")


def _fail(message: str, status: ExitStatus) -> NoReturn:
    click.echo(f"itb-triage: error: {message}", err=True)
    sys.exit(int(status))


def _version_text() -> str:
    from itb_triage.engine.fingerprint import knowledge_version

    return f"itb-triage {__version__} (knowledge {knowledge_version()})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit()


def _triage() -> Triage:
    """Load the knowledge and compile the rules, mapping failures to exit statuses."""
    from itb_triage.engine import KnowledgeError, Triage

    try:
        return Triage()
    except KnowledgeError as exc:
        _fail(f"the knowledge base is invalid: {exc} (run `itb-triage kb validate`)", ExitStatus.KNOWLEDGE_INVALID)


def _read_input(source: str) -> tuple[bytes, str]:
    """The bytes of a case file, or of stdin for `-`, and the name to report."""
    if source == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        return Path(source).read_bytes(), source
    except OSError as exc:
        _fail(f"{source}: cannot read the case file: {exc.strerror or exc}", ExitStatus.INPUT_ERROR)


def _width() -> int:
    if sys.stdout.isatty():
        return max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
    return 80


class _LazyGroup(click.Group):
    """Commands that live in their own modules, imported only when used.

    Importing every command module at start-up cost `--version` over 100 ms (the
    explain module alone 108 ms); this is Click's documented lazy-loading pattern.
    """

    # command name -> "module:attribute", relative to this package
    lazy: ClassVar[dict[str, str]] = {
        "batch": "batch:batch",
        "explain": "explain:explain_command",
        "interview": "interview:interview",
        "report": "report:report_command",
        "sessions": "interview:sessions",
    }

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
    """Assess one case file (JSON or YAML; `-` reads stdin).

    The text is a one-screen summary: where to go and how soon, the likely cause,
    what to do this week, what to avoid and when to get help sooner; --detail gives
    the reasons, the evidence and the sources.

    Exit status 0 on success, 2 for a bad case file, 3 for invalid knowledge,
    4 for an engine failure.
    """
    from itb_triage.engine import CaseError, EngineError

    from .render import render_card, render_json, render_text

    data, where = _read_input(case)
    triage = _triage()
    try:
        checked = triage.read_case(data, where)
        # The JSON and the Markdown report carry the critical answers (tens of ms per case).
        result = triage.assess(checked, critical=fmt in ("json", "markdown"))
    except CaseError as exc:
        _fail(exc.one_line(), ExitStatus.INPUT_ERROR)
    except EngineError as exc:
        _fail(f"{where}: the rule engine failed: {exc}", ExitStatus.ENGINE_FAILURE)
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        from .report import build_report

        click.echo(build_report(triage, checked, "markdown", result), nl=False)
    elif detail:
        click.echo(render_text(result, _width(), triage.knowledge), nl=False)
    else:
        more = f"Reasons, evidence and sources: itb-triage assess --detail {_shell_word(case)}"
        click.echo(render_card(result, triage.knowledge, _width(), more), nl=False)


def _shell_word(path: str) -> str:
    """A path as the runner would type it again in a shell."""
    import shlex

    from .render import printable

    return shlex.quote(printable(path))


@cli.group()
def kb() -> None:
    """Inspect and check the knowledge base."""


@kb.command()
@click.option("--knowledge", "knowledge_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Check a copy of the knowledge folder instead of the installed one.")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Check a copy of the rules folder instead of the installed one.")
def validate(knowledge_dir: Path | None, rules_dir: Path | None) -> None:
    """Check every knowledge and rule file against its schema and every cross-reference.

    Prints every problem with its file and path, and exits 3 if there is any.
    """
    from itb_triage.engine import KnowledgeError, load_knowledge

    try:
        knowledge = load_knowledge(knowledge_dir, rules_dir)
    except KnowledgeError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        _fail(f"{len(exc.problems)} problem(s) in the knowledge base", ExitStatus.KNOWLEDGE_INVALID)
    click.echo(_summary(knowledge))


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
    """Console-script entry point: Click's own handling, except that Ctrl-C exits with the
    documented 130 (Click's standalone mode says "Aborted!" and exits 1)."""
    try:
        status = cli.main(prog_name="itb-triage", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("interrupted", err=True)  # Click has already ended the ^C line
        sys.exit(int(ExitStatus.INTERRUPTED))
    except click.ClickException as exc:  # usage errors: Click's message, status 2
        exc.show()
        sys.exit(exc.exit_code)
    # Without standalone mode, Click returns the status of `ctx.exit` (--help, --version)
    # instead of exiting; the commands themselves exit through sys.exit or return None.
    sys.exit(status if isinstance(status, int) else 0)
