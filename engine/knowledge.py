"""Loading the knowledge and rule files, checking them, and holding them as one value.

`load_knowledge()` reads every YAML file and validates each against its JSON Schema;
when they all conform, it checks every cross-reference (citations, questions,
conditions, red flags, advice, ladder ids) and the staging of the rules. It reports
every problem of the failing step, each with its file and JSON path, in one
KnowledgeError (cross-references are only checked on schema-valid files).

The shipped knowledge, once it has passed, is kept on disk keyed by the digest of its
files (engine/kb_cache.py), and later starts skip the parsing and the schema checks.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import contract
from .documents import DocumentError, load_yaml
from .errors import KnowledgeError
from .fingerprint import knowledge_digest, knowledge_version
from .kb_cache import read_checked, write_checked
from .package_data import package_folder
from .patterns import Pattern, parse_pattern
from .rulebase import STAGES, Rule, layering_problems, overlap_problems, parse_rule

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from referencing import Registry

Entry = dict[str, Any]

# file name -> schema file name
KNOWLEDGE_FILES = {
    "citations.yaml": "citations.schema.json",
    "questions.yaml": "questions.schema.json",
    "conditions.yaml": "conditions.schema.json",
    "red_flags.yaml": "red_flags.schema.json",
    "ladder.yaml": "ladder.schema.json",
    "advice.yaml": "advice.schema.json",
    "plan.yaml": "plan.schema.json",
    "presentation.yaml": "presentation.schema.json",
}


@dataclass(frozen=True)
class Knowledge:
    """Everything the engine knows, checked. Entries keep their file order."""

    citations: Mapping[str, Entry]
    sections: tuple[Entry, ...]
    questions: Mapping[str, Entry]
    conditions: Mapping[str, Entry]
    red_flags: Mapping[str, Entry]
    dispositions: Mapping[str, Entry]
    tiers: Mapping[str, Entry]
    recommendations: Mapping[str, Entry]
    avoid: Mapping[str, Entry]
    rules: tuple[Rule, ...]
    relevance: Mapping[str, tuple[Pattern, ...]]
    case_schema: Mapping[str, Any]
    result_schema: Mapping[str, Any]
    version: str
    files: tuple[str, ...] = field(default=())
    plan: Mapping[str, Any] = field(default_factory=dict)
    # The plain words of the summary card and the labels for ids (presentation.yaml).
    presentation: Mapping[str, Any] = field(default_factory=dict)

    def disposition_rank(self, disposition: str) -> int:
        """0 is the most urgent."""
        return list(self.dispositions).index(disposition)

    def tier_rung(self, tier: str) -> int:
        """1 is conservative."""
        return list(self.tiers).index(tier) + 1

    @property
    def screening_questions(self) -> tuple[str, ...]:
        return tuple(q for q, entry in self.questions.items() if entry.get("screening"))

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _package_dir(package: str) -> Traversable:
    return package_folder(package)


def _schemas(schemas: Traversable) -> dict[str, dict[str, Any]]:
    return {item.name: json.loads(item.read_text(encoding="utf-8"))
            for item in schemas.iterdir() if item.name.endswith(".schema.json")}


def _registry(schemas: dict[str, dict[str, Any]]) -> Registry:
    """The schemas, for jsonschema to resolve references between them. Imported here:
    jsonschema costs a cold start about 60 ms, and a cached knowledge base needs none."""
    from referencing import Registry, Resource

    registry: Registry = Registry()
    for schema in schemas.values():
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return registry


def _read_yaml(item: Traversable, label: str, problems: list[str]) -> Any:
    """The parsed file, or None with the reason added to `problems`."""
    try:
        document = load_yaml(item.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{label}: file is missing")
    except IsADirectoryError:
        problems.append(f"{label}: is a directory, not a YAML file")
    except OSError as exc:
        problems.append(f"{label}: cannot read: {exc.strerror or exc}")
    except (DocumentError, UnicodeDecodeError) as exc:
        line = f" (line {exc.line})" if isinstance(exc, DocumentError) and exc.line else ""
        problems.append(f"{label}{line}: {exc}")
    else:
        if document is None:
            problems.append(f"{label}: file is empty")
        return document
    return None


def _schema_problems(label: str, document: Any, schema: dict[str, Any], registry: Registry) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{label}: {error.json_path}: {error.message}" for error in errors]


# Where the knowledge names its sources: lists of citation ids, and single ones.
_CITE_LIST = "cite"
_CITE_ONE = ("dose_source", "quote_source")


def _walk_cites(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (json path, citation id) for every `cite` list, `dose_source` and `quote_source`."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key == _CITE_LIST and isinstance(value, list):
                yield from ((f"{here}[{i}]", c) for i, c in enumerate(value) if isinstance(c, str))
            elif key in _CITE_ONE and isinstance(value, str):
                yield here, value
            else:
                yield from _walk_cites(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_cites(value, f"{path}[{index}]")


def _cited_ids(document: Any) -> set[str]:
    """Every citation id `_walk_cites` yields, without their paths: what a start checks.
    Building a path string for every node took most of that walk's time, and the paths
    are only needed for a problem to report."""
    found: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == _CITE_LIST and isinstance(value, list):
                    found.update(c for c in value if isinstance(c, str))
                elif key in _CITE_ONE and isinstance(value, str):
                    found.add(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            for value in node:
                if isinstance(value, dict | list):
                    stack.append(value)
    return found


def _by_id(docs: dict[str, Any], name: str, key: str, problems: list[str]) -> dict[str, Entry]:
    """The entries of list `key` in knowledge file `name`, by id; duplicates are problems."""
    out: dict[str, Entry] = {}
    for index, entry in enumerate(docs[name][key]):
        if entry["id"] in out:
            problems.append(f"knowledge/{name}: $.{key}[{index}].id: duplicate id '{entry['id']}'")
        out[entry["id"]] = entry
    return out


def load_knowledge(knowledge_dir: Path | None = None, rules_dir: Path | None = None, *,
                   use_cache: bool = True) -> Knowledge:
    """Load and check the shipped knowledge, or copies of it in other folders.

    The shipped knowledge comes from the on-disk cache when it holds these very files
    checked (`use_cache=False` checks them all again, as `kb validate` does).
    """
    kdir: Traversable = knowledge_dir if knowledge_dir is not None else _package_dir("itb_triage.knowledge")
    rdir: Traversable = rules_dir if rules_dir is not None else _package_dir("itb_triage.rules")
    sdir = _package_dir("itb_triage.knowledge.schemas")
    schemas = _schemas(sdir)
    folders = {"knowledge": kdir, "rules": rdir, "schemas": sdir}
    digest: str | None = None
    if use_cache and knowledge_dir is None and rules_dir is None:
        with contextlib.suppress(OSError):  # an unreadable file is reported by the checks below
            digest = knowledge_digest(folders)
    if digest is not None:
        documents = read_checked(digest)
        if documents is not None:
            try:
                return _assemble(documents["docs"], documents["rule_docs"], schemas, digest[:12])
            except Exception:  # a cache entry of another shape: check the files instead
                pass
    problems: list[str] = []
    registry = _registry(schemas)

    docs: dict[str, Any] = {}
    for name, schema_name in KNOWLEDGE_FILES.items():
        label = f"knowledge/{name}"
        item = kdir / name
        doc = _read_yaml(item, label, problems)
        if doc is None:
            continue
        found = _schema_problems(label, doc, schemas[schema_name], registry)
        problems.extend(found)
        if not found:
            docs[name] = doc

    rule_docs: dict[str, Any] = {}
    rule_files = sorted((i for i in rdir.iterdir() if i.name.endswith(".yaml")), key=lambda i: i.name)
    if not rule_files:
        problems.append("rules/: no rule files (*.yaml)")
    for item in rule_files:
        label = f"rules/{item.name}"
        doc = _read_yaml(item, label, problems)
        if doc is None:
            continue
        found = _schema_problems(label, doc, schemas["rules.schema.json"], registry)
        problems.extend(found)
        if not found:
            rule_docs[label] = doc
    if problems or len(docs) < len(KNOWLEDGE_FILES):
        raise KnowledgeError(problems)

    knowledge = _assemble(docs, rule_docs, schemas, digest[:12] if digest else knowledge_version(folders))
    if digest is not None:
        write_checked(digest, {"docs": docs, "rule_docs": rule_docs})
    return knowledge


def _assemble(docs: dict[str, Any], rule_docs: dict[str, Any], schemas: dict[str, Any], version: str) -> Knowledge:
    problems: list[str] = []
    citations = _by_id(docs, "citations.yaml", "citations", problems)
    questions = _by_id(docs, "questions.yaml", "questions", problems)
    conditions = _by_id(docs, "conditions.yaml", "conditions", problems)
    red_flags = _by_id(docs, "red_flags.yaml", "red_flags", problems)
    dispositions = _by_id(docs, "ladder.yaml", "dispositions", problems)
    tiers = _by_id(docs, "ladder.yaml", "tiers", problems)
    recommendations = _by_id(docs, "advice.yaml", "recommendations", problems)
    avoid = _by_id(docs, "advice.yaml", "avoid", problems)

    for name, doc in [*((f"knowledge/{n}", d) for n, d in docs.items()), *rule_docs.items()]:
        if _cited_ids(doc) <= citations.keys():
            continue
        for path, cited in _walk_cites(doc, "$"):
            if cited not in citations:
                problems.append(f"{name}: {path}: unknown citation '{cited}'")

    case_schema = schemas["case.schema.json"]
    problems += _question_problems(questions, case_schema)
    problems += _missing(contract.CONDITIONS, conditions, "knowledge/conditions.yaml", "condition")
    problems += _missing(contract.RECOMMENDATIONS, recommendations, "knowledge/advice.yaml", "recommendation")
    problems += _missing(contract.AVOID, avoid, "knowledge/advice.yaml", "avoid item")
    for index, flag in enumerate(red_flags.values()):
        for j, suspect in enumerate(flag.get("suspects", [])):
            if suspect not in conditions:
                where = f"knowledge/red_flags.yaml: $.red_flags[{index}].suspects[{j}]"
                problems.append(f"{where}: unknown condition '{suspect}'")

    tier_rungs = {t: i + 1 for i, t in enumerate(tiers)}
    ranks = {"disposition": {d: i for i, d in enumerate(dispositions)}, "tier": tier_rungs}
    relevance = {
        q: tuple(parse_pattern(p, tier_rungs) for p in entry.get("relevant_when", []))
        for q, entry in questions.items()
    }
    tables = (questions, conditions, red_flags, dispositions, tiers, recommendations, avoid)
    for q, patterns in relevance.items():
        for pattern in patterns:
            problems += _reference_problems(pattern, f"knowledge/questions.yaml: question {q}: relevant_when", *tables)

    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for label, doc in rule_docs.items():
        for position, raw in enumerate(doc["rules"]):
            rule = parse_rule(raw, doc["stage"], label, position, tier_rungs, ranks)
            if rule.id in seen:
                problems.append(
                    f"{label}: $.rules[{position}].id: duplicate rule id '{rule.id}' (also in {seen[rule.id]})"
                )
            seen[rule.id] = label
            where = f"{label}: $.rules[{position}] ({rule.id})"
            for branch in rule.branches:
                for pattern in branch.patterns:
                    problems += _reference_problems(pattern, f"{where}.when", *tables)
            for fact in rule.then:
                problems += _conclusion_problems(fact, f"{where}.then", *tables)
            problems += _red_flag_urgency_problems(rule, where, red_flags)
            rules.append(rule)
    rules.sort(key=lambda r: (r.stage_index, r.file, r.position))
    problems += layering_problems(rules)
    problems += overlap_problems(rules)
    problems += _unconcluded(rules, red_flags, "red_flag", "knowledge/red_flags.yaml", "red flag")
    problems += _unconcluded(rules, recommendations, "recommend", "knowledge/advice.yaml", "recommendation")
    problems += _unconcluded(rules, avoid, "avoid", "knowledge/advice.yaml", "avoid item")
    problems += _plan_problems(docs["plan.yaml"], recommendations, tiers, dispositions)
    problems += _presentation_problems(docs["presentation.yaml"], recommendations, avoid, tiers, dispositions,
                                       conditions, red_flags)
    if problems:
        raise KnowledgeError(problems)

    return Knowledge(
        citations=citations,
        sections=tuple(docs["questions.yaml"]["sections"]),
        questions=questions,
        conditions=conditions,
        red_flags=red_flags,
        dispositions=dispositions,
        tiers=tiers,
        recommendations=recommendations,
        avoid=avoid,
        rules=tuple(rules),
        relevance=relevance,
        case_schema=case_schema,
        result_schema=schemas["result.schema.json"],
        version=version,
        files=tuple(sorted([*(f"knowledge/{n}" for n in docs), *rule_docs])),
        plan=docs["plan.yaml"],
        presentation=docs["presentation.yaml"],
    )


def _plan_problems(
    plan: Mapping[str, Any],
    recommendations: Mapping[str, Entry],
    tiers: Mapping[str, Entry],
    dispositions: Mapping[str, Entry],
) -> list[str]:
    """Every id the plan names must exist (its citations are checked with the others)."""
    label = "knowledge/plan.yaml"
    problems: list[str] = []
    components: set[str] = set()
    for i, component in enumerate(plan["components"]):
        where = f"{label}: $.components[{i}]"
        if component["id"] in components:
            problems.append(f"{where}.id: duplicate id '{component['id']}'")
        components.add(component["id"])
        if component["recommendation"] not in recommendations:
            problems.append(f"{where}.recommendation: unknown recommendation id '{component['recommendation']}'")
        if component["quotes"] and "quote_source" not in component:
            problems.append(f"{where}: quotes need a quote_source")
    for i, week in enumerate(plan["weeks"]):
        if week["week"] != i + 1:
            problems.append(f"{label}: $.weeks[{i}].week: expected week {i + 1}, found {week['week']}")
        for j, step in enumerate(week["steps"]):
            if step["component"] not in components:
                problems.append(f"{label}: $.weeks[{i}].steps[{j}].component: unknown component '{step['component']}'")
    for i, item in enumerate(plan["escalate"]):
        if item["recommendation"] not in recommendations:
            problems.append(f"{label}: $.escalate[{i}].recommendation: unknown recommendation id "
                            f"'{item['recommendation']}'")
    for i, topic in enumerate(plan["disagreements"]):
        problems += [f"{label}: $.disagreements[{i}].about[{j}]: unknown recommendation id '{r}'"
                     for j, r in enumerate(topic["about"]) if r not in recommendations]
    for i, note in enumerate(plan.get("tier_notes", [])):
        if note["tier"] not in tiers:
            problems.append(f"{label}: $.tier_notes[{i}].tier: unknown tier '{note['tier']}'")
        problems += [f"{label}: $.tier_notes[{i}].dispositions[{j}]: unknown disposition '{d}'"
                     for j, d in enumerate(note.get("dispositions", [])) if d not in dispositions]
    for i, note in enumerate(plan.get("disposition_notes", [])):
        if note["disposition"] not in dispositions:
            problems.append(f"{label}: $.disposition_notes[{i}].disposition: unknown disposition "
                            f"'{note['disposition']}'")
    return problems


def _presentation_problems(
    presentation: Mapping[str, Any],
    recommendations: Mapping[str, Entry],
    avoid: Mapping[str, Entry],
    tiers: Mapping[str, Entry],
    dispositions: Mapping[str, Entry],
    conditions: Mapping[str, Entry],
    red_flags: Mapping[str, Entry],
) -> list[str]:
    """Every disposition and tier has its words, and every id named is known.

    A recommendation or avoid id the knowledge does not carry is accepted when the
    contract announces it (contract.ANNOUNCED), so the wording can be ready before the
    knowledge that uses it.
    """
    label = "knowledge/presentation.yaml"
    problems: list[str] = []
    announced = set(contract.ANNOUNCED)
    worded = [d["id"] for d in presentation["dispositions"]]
    problems += [f"{label}: $.dispositions: disposition '{d}' has no wording" for d in dispositions if d not in worded]
    problems += [f"{label}: $.dispositions[{i}].id: unknown disposition '{d}'"
                 for i, d in enumerate(worded) if d not in dispositions]
    problems += [f"{label}: $.dispositions[{i}].id: duplicate disposition '{d}'"
                 for i, d in enumerate(worded) if d in worded[:i]]
    for i, place in enumerate(presentation["places"]):
        rec = place["recommendation"]
        if rec not in recommendations and rec not in announced:
            problems.append(f"{label}: $.places[{i}].recommendation: unknown recommendation id '{rec}'")
        problems += [f"{label}: $.places[{i}].dispositions[{j}]: unknown disposition '{d}'"
                     for j, d in enumerate(place.get("dispositions", [])) if d not in dispositions]
    for i, rec in enumerate(presentation["things_to_do"].get("first", [])):
        if rec not in recommendations and rec not in announced:
            problems.append(f"{label}: $.things_to_do.first[{i}]: unknown recommendation id '{rec}'")
    problems += [f"{label}: $.things_to_do.doses.{rec}: unknown recommendation id"
                 for rec in presentation["things_to_do"].get("doses", {})
                 if rec not in recommendations and rec not in announced]
    net = presentation["safety_net"]
    if net not in recommendations and net not in announced:
        problems.append(f"{label}: $.safety_net: unknown recommendation id '{net}'")
    labels = presentation["labels"]
    problems += [f"{label}: $.labels.tiers: tier '{t}' has no label" for t in tiers if t not in labels["tiers"]]
    known: dict[str, Mapping[str, Entry] | tuple[str, ...]] = {
        "conditions": conditions, "red_flags": red_flags, "tiers": tiers,
        "recommendations": recommendations, "avoid": avoid,
    }
    for kind, table in known.items():
        for ident in labels.get(kind, {}):
            if ident not in table and not (kind in ("recommendations", "avoid") and ident in announced):
                problems.append(f"{label}: $.labels.{kind}.{ident}: unknown {kind.rstrip('s').replace('_', ' ')} id")
    return problems


def _missing(required: tuple[str, ...], present: Mapping[str, Entry], label: str, what: str) -> list[str]:
    return [f"{label}: the contract's {what} '{r}' is missing" for r in required if r not in present]


def _unconcluded(rules: list[Rule], entries: Mapping[str, Entry], kind: str, label: str, what: str) -> list[str]:
    concluded = {f.id for r in rules for f in r.then if f.kind == kind}
    return [f"{label}: {what} '{e}' is concluded by no rule" for e in entries if e not in concluded]


def _red_flag_urgency_problems(rule: Rule, where: str, red_flags: Mapping[str, Entry]) -> list[str]:
    """A rule raising a red flag must send the runner at that flag's urgency."""
    dispositions = {f.id for f in rule.then if f.kind == "disposition"}
    problems = []
    for fact in rule.then:
        if fact.kind == "red_flag" and fact.id in red_flags:
            urgency = red_flags[fact.id]["urgency"]
            if urgency not in dispositions:
                problems.append(f"{where}.then: red flag '{fact.id}' has urgency '{urgency}' but the rule concludes "
                                f"disposition {sorted(dispositions) or 'none'}")
    return problems


def _question_problems(questions: Mapping[str, Entry], case_schema: Mapping[str, Any]) -> list[str]:
    label = "knowledge/questions.yaml"
    answers = case_schema["properties"]["answers"]["properties"]
    problems = [f"{label}: question '{q}' is not in the case schema" for q in questions if q not in answers]
    problems += [f"{label}: the case schema's question '{q}' has no entry" for q in answers if q not in questions]
    for q, spec in answers.items():
        entry = questions.get(q)
        if entry is None:
            continue
        enum = spec.get("enum") or spec.get("items", {}).get("enum")
        kind = "multi" if spec.get("type") == "array" else "choice" if enum else spec.get("type")
        if entry["type"] != kind:
            problems.append(f"{label}: question '{q}': type is '{entry['type']}', the case schema says '{kind}'")
        if enum and [v["id"] for v in entry.get("values", [])] != enum:
            problems.append(f"{label}: question '{q}': values must be {enum} in that order")
        if not enum and (entry.get("minimum"), entry.get("maximum")) != (spec.get("minimum"), spec.get("maximum")):
            problems.append(f"{label}: question '{q}': range must be {spec.get('minimum')}..{spec.get('maximum')}")
    return problems


def _reference_problems(
    pattern: Pattern,
    where: str,
    questions: Mapping[str, Entry],
    conditions: Mapping[str, Entry],
    red_flags: Mapping[str, Entry],
    dispositions: Mapping[str, Entry],
    tiers: Mapping[str, Entry],
    recommendations: Mapping[str, Entry],
    avoid: Mapping[str, Entry],
) -> list[str]:
    """Unknown ids and impossible values in one pattern."""
    known: dict[str, Mapping[str, Entry]] = {
        "answer": questions, "unanswered": questions, "condition": conditions, "red_flag": red_flags,
        "disposition": dispositions, "tier": tiers, "recommend": recommendations, "avoid": avoid,
    }
    problems: list[str] = []
    table = known.get(pattern.kind)
    for ident in pattern.ids:
        if table is not None and ident not in table:
            problems.append(f"{where}: unknown {pattern.kind.replace('_', ' ')} id '{ident}'")
    if pattern.kind == "answer" and pattern.ids and pattern.ids[0] in questions:
        question = questions[pattern.ids[0]]
        allowed = [v["id"] for v in question.get("values", [])]
        if allowed:
            problems += [f"{where}: '{v}' is not a value of question '{question['id']}' (one of {allowed})"
                         for v in pattern.values if v not in allowed]
            if pattern.comparisons:
                problems.append(f"{where}: question '{question['id']}' is not a number; it cannot be compared")
        else:
            problems += [f"{where}: question '{question['id']}' takes a number, not '{v}'"
                         for v in pattern.values if not isinstance(v, (int, float))]
    if pattern.kind == "unanswered":
        problems += [f"{where}: '{q}' is not a screening question" for q in pattern.ids
                     if q in questions and not questions[q].get("screening")]
    return problems


def _conclusion_problems(fact: Any, where: str, *tables: Mapping[str, Entry]) -> list[str]:
    questions, conditions, red_flags, dispositions, tiers, recommendations, avoid = tables
    known: dict[str, Mapping[str, Entry]] = {
        "unanswered": questions, "condition": conditions, "red_flag": red_flags,
        "disposition": dispositions, "tier": tiers, "recommend": recommendations, "avoid": avoid,
    }
    table = known.get(fact.kind)
    if table is not None and fact.id not in table:
        return [f"{where}: unknown {fact.kind.replace('_', ' ')} id '{fact.id}'"]
    return []


__all__ = ["STAGES", "Knowledge", "load_knowledge"]
