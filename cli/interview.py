"""`itb-triage interview` and `itb-triage sessions`: asking a runner, keyboard only.

Prompts and everything said along the way go to stderr; the final result goes to
stdout in the chosen format, so `interview --format json > result.json` works and
equals `assess` of the saved case. Every answer is saved before the next question.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .exit_codes import ExitStatus

if TYPE_CHECKING:
    from itb_triage.engine.interview import Interview
    from itb_triage.engine.sessions import SessionRecord, SessionStore

WIDTH = 80
COMMANDS = (
    ("?  or  why", "why this question is asked: which conclusions hang on it"),
    ("back", "go back and change the previous answer"),
    ("help", "show these commands"),
    ("quit", "save and leave; resume later with `itb-triage interview --resume`"),
    ("(empty)", "skip the question"),
)


def _say(text: str = "", indent: str = "", bold: bool = False, hang: str | None = None) -> None:
    """Interview chatter: wrapped to 80 columns (before styling), on stderr."""
    if not text:
        click.echo("", err=True)
        return
    for paragraph in text.split("\n"):
        wrapped = textwrap.wrap(paragraph, WIDTH, initial_indent=indent,
                                subsequent_indent=hang if hang is not None else indent) or [""]
        for line in wrapped:
            click.echo(click.style(line, bold=True) if bold else line, err=True, color=_color())


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


class _Session:
    """The interview plus its saved record; saving problems are reported once, not fatal."""

    def __init__(self, interview: Interview, record: SessionRecord, store: SessionStore) -> None:
        self.interview = interview
        self.record = record
        self.store = store
        self.saving = True

    def save(self) -> None:
        from itb_triage.engine.sessions import SessionError

        if not self.saving:
            return
        try:
            self.store.save(self.record)
        except SessionError as exc:
            self.saving = False
            _say(f"Note: {exc}. Your answers will not be saved, but the interview goes on.")

    def leave(self, status: ExitStatus) -> NoReturn:
        self.save()
        if self.saving:
            _say(f"Saved. Resume with: itb-triage interview --resume {self.record.id}")
        sys.exit(int(status))


def _ask(session: _Session, question: str, number: int) -> None:
    """Ask one question until it gets a valid answer, a skip, or a command."""
    from itb_triage.engine.interview import AnswerError

    interview = session.interview
    entry = interview.knowledge.questions[question]
    _say()
    _say(f"{number}. {entry['text']}", bold=True)
    if entry["type"] in ("choice", "multi"):
        options = [f"{i}) {v['label']}" for i, v in enumerate(entry["values"], start=1)]
        if len("   ".join(options)) <= WIDTH - 3:
            _say("   ".join(options), indent="   ")
        else:
            for option in options:
                _say(option, indent="   ")
        if entry["type"] == "multi":
            _say("Several: separate with commas, e.g. 1,3. None: type none.", indent="   ")
    else:
        unit = f" {entry['unit']}" if entry.get("unit") else ""
        _say(f"A number from {entry['minimum']} to {entry['maximum']}{unit}.", indent="   ")
    _say(entry["help"], indent="   ")
    while True:
        try:
            text = click.prompt("", default="", show_default=False, prompt_suffix="> ", err=True)
        except click.Abort:
            _say()
            session.leave(ExitStatus.INTERRUPTED)
        command = text.strip().lower()
        if command in ("?", "why"):
            _why(interview, question)
            continue
        if command == "help":
            for name, meaning in COMMANDS:
                _say(f"{name:<12} {meaning}", indent="   ")
            continue
        if command == "quit":
            session.leave(ExitStatus.OK)
        if command == "back":
            previous = interview.back()
            if previous is None:
                _say("This is the first question.", indent="   ")
                continue
            session.save()
            return
        if not command:
            interview.skip(question)
            if entry.get("screening"):
                _say("Skipped. This is a safety question: until it is answered the result stays incomplete.",
                     indent="   ")
            session.save()
            return
        try:
            value = interview.parse(question, text)
        except AnswerError as exc:
            _say(f"Sorry: {exc}. (Type help for the commands.)", indent="   ")
            continue
        interview.answer(question, value)
        session.save()
        return


def _why(interview: Interview, question: str) -> None:
    items = interview.why(question)
    if not items:
        _say("Nothing depends on it any more; you can skip it.", indent="   ")
        return
    _say("Why we ask: your answer can change", indent="   ")
    for item in items:
        _say(f"- {'; '.join(item.conclusions)}", indent="     ", hang="       ")
        _say(f"because {item.because} (rule {item.rule})", indent="       ")


def _announce_urgent(interview: Interview, disposition: str) -> None:
    """Urgent advice at once, before any further question."""
    knowledge = interview.knowledge
    _say()
    _say(f"!! {knowledge.dispositions[disposition]['headline']}", bold=True)
    flags = [f.id for f in interview.analysis().settled("red_flag")]
    for flag in flags:
        entry = knowledge.red_flags[flag]
        if entry["urgency"] in ("emergency", "same_day"):
            _say(f"- {entry['name']}: {entry['criteria']}", indent="   ")


def _run(session: _Session) -> None:
    """Ask until nothing relevant is left; urgent advice interrupts at once."""
    interview = session.interview
    announced = interview.urgent_disposition()
    sections = {s["id"]: s for s in interview.knowledge.sections}
    current_section = None
    while True:
        question = interview.next_question()
        if question is None:
            return
        section = interview.knowledge.questions[question]["section"]
        if section != current_section:
            current_section = section
            _say()
            _say(sections[section]["title"].upper(), bold=True)
            if sections[section].get("intro"):
                _say(sections[section]["intro"])
        _ask(session, question, len(interview.state.history) + 1)
        urgent = interview.urgent_disposition()
        if urgent is not None and urgent != announced:
            announced = urgent
            _announce_urgent(interview, urgent)
            if urgent == "same_day" and interview.next_question() is not None:
                _say("A few more safety questions could make this more urgent:", indent="   ")


def _load_session(store: SessionStore, resume: str | None, interview_factory: Any,
                  answers_file: str | None, version: str) -> _Session:
    from itb_triage.engine import CaseError
    from itb_triage.engine.interview import InterviewState
    from itb_triage.engine.sessions import SessionError

    if resume is not None:
        try:
            record = store.load(resume) if resume != "LATEST" else store.latest_unfinished()
        except SessionError as exc:
            _fail(str(exc), ExitStatus.INPUT_ERROR)
        if record is None:
            _fail("no unfinished interview to resume (see `itb-triage sessions list`)", ExitStatus.INPUT_ERROR)
        if record.knowledge_version != version:
            _say(f"Note: the knowledge changed since this interview began ({record.knowledge_version} -> {version}); "
                 "your answers are kept.")
        record.finished = False
        _say(f"Resuming interview {record.id}: {len(record.state.answers)} answers so far.")
        return _Session(interview_factory(record.state), record, store)
    state = InterviewState()
    case_id = None
    if answers_file is not None:
        from .main import _read_input

        data, where = _read_input(answers_file)
        triage = interview_factory(state).triage
        try:
            case = triage.read_case(data, where)
        except CaseError as exc:
            _fail(exc.one_line(), ExitStatus.INPUT_ERROR)
        state.answers.update(case.answers)
        case_id = case.id
    record = store.new(state, version, case_id)
    return _Session(interview_factory(state), record, store)


def _fail(message: str, status: ExitStatus) -> NoReturn:
    click.echo(f"itb-triage: error: {message}", err=True)
    sys.exit(int(status))


def _write_case(path: Path, interview: Interview, case_id: str | None) -> None:
    import json

    document = interview.case(case_id).to_json()
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        _say(f"Note: could not write {path}: {exc.strerror or exc}")
    else:
        _say(f"Answers saved as a case file: {path}")


@click.command()
@click.option("--resume", "resume", is_flag=False, flag_value="LATEST", default=None, metavar="[ID]",
              help="Continue a saved interview (the latest unfinished one if no ID is given).")
@click.option("--answers", "answers_file", metavar="CASE",
              help="Start from the answers in a case file (JSON or YAML; - for stdin); only what is still "
                   "unanswered and relevant is asked.")
@click.option("--save-case", "save_case", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the answers to FILE in the case format when the interview ends.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Format of the final result (printed on stdout).")
def interview(resume: str | None, answers_file: str | None, save_case: Path | None, fmt: str) -> None:
    """Answer questions about your pain, then get the triage result.

    Questions go to stderr and the result to stdout. At any prompt: ? or why, back,
    help, quit. Every answer is saved as you go; Ctrl-C or end of input saves too
    (exit status 130) and prints how to resume.
    """
    from itb_triage.engine.interview import Interview
    from itb_triage.engine.relevance import Relevance
    from itb_triage.engine.sessions import SessionStore

    from .main import _triage


    triage = _triage()
    relevance = Relevance(triage.knowledge)
    store = SessionStore()
    session = _load_session(store, resume, lambda state: Interview(triage, state, relevance), answers_file,
                            triage.knowledge.version)
    interview_ = session.interview
    case_id = session.record.case_id or session.record.id
    session.save()
    if resume is None:
        _say("ITB triage interview", bold=True)
        _say("Answer in plain words; press Enter to skip a question. "
             "At any prompt: ? (why we ask), back, help, quit.")
        if session.saving:
            _say(f"Session {session.record.id}: saved after every answer.")

    try:
        _interview_until_done(session, interview_, case_id, triage)
    except KeyboardInterrupt:  # Ctrl-C outside a prompt (a prompt turns it into Abort)
        _say()
        session.leave(ExitStatus.INTERRUPTED)
    _finish(session, interview_, case_id, triage, save_case, fmt)


def _interview_until_done(session: _Session, interview_: Interview, case_id: str, triage: Any) -> None:
    """Ask; after urgent advice at a terminal, offer to go on for a fuller record."""
    from .render import render_card

    while True:
        _run(session)
        urgent = interview_.urgent_disposition()
        if urgent is None or interview_.state.full_record or not sys.stdin.isatty():
            break
        click.echo(render_card(interview_.result(case_id), triage.knowledge, WIDTH), err=True, nl=False)
        try:
            more = click.confirm("Continue answering for a fuller record (the advice above stands)?",
                                 default=False, err=True)
        except click.Abort:
            more = False
        if not more:
            break
        interview_.continue_for_full_record()


def _shell_word(path: str) -> str:
    import shlex

    from .render import printable

    return shlex.quote(printable(path))


def _finish(session: _Session, interview_: Interview, case_id: str, triage: Any, save_case: Path | None,
            fmt: str) -> None:
    """Mark the session finished, write the case file if asked, print the result."""
    from .render import render_card, render_json

    session.record.finished = True
    session.save()
    if save_case is not None:
        _write_case(save_case, interview_, case_id)
    result = interview_.result(case_id)
    if fmt == "json":
        # Byte for byte what `assess --format json` prints, critical answers included.
        click.echo(render_json(triage.assess(interview_.case(case_id), critical=True)), nl=False)
    elif fmt == "markdown":
        from .report import build_report  # the same report as `assess --format markdown`

        click.echo(build_report(triage, interview_.case(case_id), "markdown"), nl=False)
    else:
        _say()
        if save_case is not None:
            more = f"Reasons, evidence and sources: itb-triage assess --detail {_shell_word(str(save_case))}"
        else:
            more = ("Reasons, evidence and sources: save your answers with --save-case FILE, "
                    "then run itb-triage assess --detail FILE")
        click.echo(render_card(result, triage.knowledge, WIDTH, more), nl=False)


@click.group()
def sessions() -> None:
    """List, show or delete saved interviews."""


@sessions.command("list")
def sessions_list() -> None:
    """Saved interviews, oldest first."""
    from itb_triage.engine.sessions import SessionStore

    store = SessionStore()
    records, problems = store.records()
    for problem in problems:
        click.echo(f"itb-triage: warning: {problem}", err=True)
    if not records:
        click.echo(f"No saved interviews in {store.root}.")
        return
    for record in records:
        status = "finished" if record.finished else "in progress"
        click.echo(f"{record.id}  {record.updated}  {len(record.state.answers):>2} answers  {status}")


@sessions.command("show")
@click.argument("session_id", metavar="ID")
def sessions_show(session_id: str) -> None:
    """The answers of one saved interview."""
    from itb_triage.engine.sessions import SessionError, SessionStore

    from .main import _triage

    try:
        record = SessionStore().load(session_id)
    except SessionError as exc:
        _fail(str(exc), ExitStatus.INPUT_ERROR)
    questions = _triage().knowledge.questions
    click.echo(f"Interview {record.id} ({'finished' if record.finished else 'in progress'}), "
               f"started {record.created}, last answer {record.updated}")
    for question, value in record.state.answers.items():
        entry = questions.get(question, {"text": question, "values": []})
        labels = {v["id"]: v["label"] for v in entry.get("values", [])}
        shown = ", ".join(labels.get(v, str(v)) for v in value) if isinstance(value, list) else labels.get(
            value, str(value))
        click.echo(f"- {entry['text']}\n    {shown or 'none'}")
    if record.state.skipped:
        click.echo(f"Skipped: {', '.join(record.state.skipped)}")


@sessions.command("delete")
@click.argument("session_id", metavar="ID")
def sessions_delete(session_id: str) -> None:
    """Delete one saved interview."""
    from itb_triage.engine.sessions import SessionError, SessionStore

    try:
        SessionStore().delete(session_id)
    except SessionError as exc:
        _fail(str(exc), ExitStatus.INPUT_ERROR)
    click.echo(f"Deleted {session_id}.")
