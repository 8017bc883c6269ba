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

from .common import fail, plural, read_input, shell_word, triage
from .completion import complete_session_ids
from .exit_codes import ExitStatus

if TYPE_CHECKING:
    from itb_triage.engine import FileLock, Interview, Knowledge, SessionRecord, SessionStore, Triage

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
        # Paths and ids stay whole: wrap at spaces only.
        wrapped = textwrap.wrap(paragraph, WIDTH, initial_indent=indent, break_on_hyphens=False,
                                break_long_words=False, subsequent_indent=hang if hang is not None else indent) or [""]
        for line in wrapped:
            click.echo(click.style(line, bold=True) if bold else line, err=True, color=_color())


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


class _Session:
    """The interview plus its saved record; saving problems are reported once, not fatal."""

    def __init__(self, interview: Interview, record: SessionRecord, store: SessionStore,
                 lock: FileLock | None = None) -> None:
        self.interview = interview
        self.record = record
        self.store = store
        self.lock = lock  # held from start to end: a second interview on it is refused
        self.saving = True

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()

    def save(self) -> None:
        from itb_triage.engine import SessionError

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
            if self.record.save_case is not None:
                _say(f"The case file {self.record.save_case} is written when the interview ends.")
        sys.exit(int(status))


def _ask(session: _Session, question: str, number: int) -> None:
    """Ask one question until it gets a valid answer, a skip, or a command."""
    from itb_triage.engine import AnswerError, example_answer, what_to_type

    interview = session.interview
    entry = interview.knowledge.questions[question]
    _say()
    _say(f"Question {number} of about {interview.estimated_length()}")
    _say(f"{number}. {entry['text']}", bold=True, hang=" " * len(f"{number}. "))
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
        wanted = what_to_type(entry)
        _say(f"{wanted[0].upper()}{wanted[1:]}, for example {example_answer(entry)}.", indent="   ")
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
            reading = interview.read(question, text)
        except AnswerError as exc:
            _say(f"{exc}. (Type help for the commands.)", indent="   ")
            continue
        if reading.note:
            _say(f"Noted: {reading.note}.", indent="   ")
        interview.answer(question, reading.value)
        session.save()
        return


def _why(interview: Interview, question: str) -> None:
    items = interview.why(question)
    if not items:
        _say("Nothing depends on it any more; you can skip it.", indent="   ")
        return
    _say("Why we ask: your answer can change", indent="   ")
    for item in items:
        _say(f"- {'; '.join(item.conclusions)}", indent="   ", hang="     ")
        _say(f"{item.because} (rule {item.rule})", indent="     ")


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
                  answers_file: str | None, knowledge: Knowledge) -> _Session:
    """The session to run: resumed (locked, then checked against the knowledge) or new.

    A session another interview has open is refused (SessionBusy: exit status 5)."""
    from itb_triage.engine import InterviewState, SessionError, fit_to_knowledge, knowledge_changed

    version = knowledge.version
    if resume is not None:
        for note in store.open():
            _say(f"Note: {note}.")
        if resume == "LATEST":
            latest = store.latest_unfinished()
            if latest is None:
                fail("no unfinished interview to resume (see `itb-triage sessions list`)")
            resume = latest.id
        resume = store.resolve(resume)
        lock = store.lock(resume)
        record = store.load(resume)  # read under the lock: what the last interview saved
        changed = knowledge_changed(record, knowledge)
        if changed:
            _say(f"Note: {changed}.")
        for problem in fit_to_knowledge(record, knowledge):
            _say(f"Note: {problem}.")
        record.finished = False
        _say(f"Resuming interview {record.id}: {plural(len(record.state.answers), 'answer')} so far.")
        return _Session(interview_factory(record.state), record, store, lock)
    state = InterviewState()
    case_id = None
    if answers_file is not None:
        data, where = read_input(answers_file)
        case = interview_factory(state).triage.read_case(data, where)
        state.answers.update(case.answers)
        case_id = case.id
    record = store.new(state, version, case_id)
    session = _Session(interview_factory(state), record, store)
    try:
        for note in store.open():
            _say(f"Note: {note}.")
        session.lock = store.lock(record.id)
    except SessionError as exc:  # a folder that cannot be used: the interview goes on, unsaved
        session.saving = False
        _say(f"Note: {exc}. Your answers will not be saved, but the interview goes on.")
    return session


def case_file_text(document: dict[str, Any], path: Path) -> str:
    """A case document as the file name asks: YAML for .yaml or .yml, JSON otherwise."""
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    import json

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _write_case(path: Path, interview: Interview, case_id: str | None) -> None:
    """Write the answers as a case file, atomically (never through a link planted at a
    temporary name, never over anything but a regular file); a WriteError is one line
    and exit status 2, after the result has been shown."""
    from itb_triage.engine import atomic_write

    text = case_file_text(interview.case(case_id).to_json(), path)
    atomic_write(path, text.encode("utf-8"), what="the case file")
    _say(f"Answers saved as a case file: {path}")


@click.command()
@click.option("--resume", "resume", is_flag=False, flag_value="LATEST", default=None, metavar="[ID]",
              shell_complete=complete_session_ids,
              help="Continue a saved interview (the latest unfinished one if no ID is given; the id's unique "
                   "beginning will do).")
@click.option("--answers", "answers_file", metavar="CASE",
              help="Start from the answers in a case file (JSON or YAML; - for stdin); only what is still "
                   "unanswered and relevant is asked.")
@click.option("--save-case", "save_case", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the answers to FILE in the case format (YAML for .yaml or .yml, else JSON) once the "
                   "result is shown; remembered through quit and --resume.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Format of the final result (printed on stdout).")
def interview(resume: str | None, answers_file: str | None, save_case: Path | None, fmt: str) -> None:
    """Answer questions about your pain, then get the triage result.

    Questions go to stderr and the result to stdout. At any prompt: ? or why, back,
    help, quit. Every answer is saved as you go; Ctrl-C or end of input saves too
    (exit status 130) and prints how to resume. A session another interview has
    open is refused (exit status 5). A saved answer that no longer fits the
    questions is set aside with a note, and asked again if it matters. If
    --save-case FILE cannot be written, the result is shown, then exit status 2.
    """
    from itb_triage.engine import Interview, Relevance, SessionStore

    engine = triage()
    relevance = Relevance(engine.knowledge)
    store = SessionStore()
    session = _load_session(store, resume, lambda state: Interview(engine, state, relevance), answers_file,
                            engine.knowledge)
    try:
        _interview(session, engine, resume, save_case, fmt)
    finally:
        session.close()


def _interview(session: _Session, engine: Triage, resume: str | None, save_case: Path | None, fmt: str) -> None:
    """Greet, ask until done (saving as it goes), finish."""
    interview_ = session.interview
    case_id = session.record.case_id or session.record.id
    if save_case is not None:  # remembered, so that it survives quit and --resume
        session.record.save_case = str(save_case.absolute())
    session.save()
    if resume is None:
        _say("ITB triage interview", bold=True)
        _say("Answer in plain words; press Enter to skip a question. "
             "At any prompt: ? (why we ask), back, help, quit.")
        if session.saving:
            _say(f"Session {session.record.id}: saved after every answer.")

    try:
        _interview_until_done(session, interview_, case_id, engine)
    except KeyboardInterrupt:  # Ctrl-C outside a prompt (a prompt turns it into Abort)
        _say()
        session.leave(ExitStatus.INTERRUPTED)
    _finish(session, interview_, case_id, engine, fmt)


def _interview_until_done(session: _Session, interview_: Interview, case_id: str, engine: Triage) -> None:
    """Ask; after urgent advice at a terminal, offer to go on for a fuller record."""
    from .render import render_card

    while True:
        _run(session)
        urgent = interview_.urgent_disposition()
        if urgent is None or interview_.state.full_record or not sys.stdin.isatty():
            break
        click.echo(render_card(interview_.result(case_id), engine.knowledge, WIDTH), err=True, nl=False)
        try:
            more = click.confirm("Continue answering for a fuller record (the advice above stands)?",
                                 default=False, err=True)
        except click.Abort:
            more = False
        if not more:
            break
        interview_.continue_for_full_record()


def _finish(session: _Session, interview_: Interview, case_id: str, engine: Triage, fmt: str) -> None:
    """Print the result, then mark the session finished and write the case file if asked:
    both only once the result has been shown."""
    from .render import render_card, render_json

    case = interview_.case(case_id)
    if fmt == "json":
        # Byte for byte what `assess --format json` prints, critical answers included.
        click.echo(render_json(engine.assess(case, critical=True)), nl=False)
    elif fmt == "markdown":
        from .report import build_report  # the same report as `assess --format markdown`

        click.echo(build_report(engine, case, "markdown"), nl=False)
    else:
        _say()
        save_case = session.record.save_case
        if save_case is not None:
            more = f"Reasons, evidence and sources: itb-triage assess --detail {shell_word(str(save_case))}"
        else:
            more = ("Reasons, evidence and sources: save your answers with --save-case FILE, "
                    "then run itb-triage assess --detail FILE")
        click.echo(render_card(engine.assess(case), engine.knowledge, WIDTH, more), nl=False)
    session.record.finished = True
    session.save()
    if session.record.save_case is not None:
        _write_case(Path(session.record.save_case), interview_, case_id)


@click.group()
def sessions() -> None:
    """List, show or delete saved interviews."""


@sessions.command("list")
def sessions_list() -> None:
    """Saved interviews, oldest first."""
    from itb_triage.engine import printable

    store = _store()
    records, problems = store.records()
    for problem in problems:
        click.echo(f"itb-triage: warning: {printable(problem)}", err=True)
    if not records:
        click.echo(f"No saved interviews in {printable(str(store.root))}.")
        return
    for record in records:
        status = "finished" if record.finished else "in progress"
        click.echo(printable(f"{record.id}  {record.updated}  {plural(len(record.state.answers), 'answer'):>10}  "
                             f"{status}"))


def _store() -> SessionStore:
    """The session store, its folder checked (another user's is refused: exit status 2)."""
    from itb_triage.engine import SessionStore

    store = SessionStore()
    for note in store.open(create=False):
        click.echo(f"itb-triage: warning: {note}", err=True)
    return store


@sessions.command("show")
@click.argument("session_id", metavar="ID", shell_complete=complete_session_ids)
def sessions_show(session_id: str) -> None:
    """The answers of one saved interview (ID or its unique beginning)."""
    from itb_triage.engine import fit_to_knowledge, printable

    record = _store().load(session_id)
    knowledge = triage().knowledge
    # Shown as an interview would resume it; the file itself is left as it is.
    for problem in fit_to_knowledge(record, knowledge):
        click.echo(f"itb-triage: warning: {printable(problem)}", err=True)
    questions = knowledge.questions
    out = [f"Interview {record.id} ({'finished' if record.finished else 'in progress'})",
           f"started {record.created}, last answer {record.updated}", ""]
    for question, value in record.state.answers.items():
        entry = questions.get(question)
        out.extend(_wrapped(f"- {entry['text'] if entry else question}", "  "))
        out.extend(_wrapped(_in_words(entry, value) if entry else str(value), "    "))
    if record.state.skipped:
        out.append("")
        out.append("Skipped:")
        for question in record.state.skipped:
            entry = questions.get(question)
            out.extend(_wrapped(f"- {entry['text'] if entry else question}", "  "))
    if record.dropped:
        out.append("")
        out.append("Set aside (no longer fit the questions):")
        for question, value in record.dropped.items():
            out.extend(_wrapped(f"- {question} = {value!r}", "  "))
    click.echo("\n".join(printable(line) for line in out))


def _in_words(entry: dict[str, Any], value: Any) -> str:
    """An answer as the runner gave it: choices by their labels, numbers with their unit."""
    if entry["type"] in ("choice", "multi"):
        labels = {v["id"]: v["label"] for v in entry["values"]}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in chosen) or "none"
    unit = entry.get("unit")
    return f"{value} {unit}" if unit else str(value)


def _wrapped(text: str, hang: str) -> list[str]:
    """Lines of at most 80 columns; the first as given, the rest indented by `hang`."""
    first = hang[:-2] if text.startswith("- ") else hang
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=hang) or [first]


@sessions.command("delete")
@click.argument("session_id", metavar="ID", shell_complete=complete_session_ids)
def sessions_delete(session_id: str) -> None:
    """Delete one saved interview (ID or its unique beginning); not one that an
    interview has open (exit status 5)."""
    click.echo(f"Deleted {_store().delete(session_id)}.")
