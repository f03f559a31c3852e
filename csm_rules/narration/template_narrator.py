"""``TemplateNarrator``: the default narrator — jinja2 templates from ``narrators/``, no network.

The templates only lay words around facts chosen in code (:mod:`csm_rules.narration.facts`), so every text
names the account, band and score, the signals that hurt most with their values in plain words, the
triggers, and one next action. The environment is sandboxed (templates are analyst-edited files), undefined
names raise (StrictUndefined) and HTML templates (``*.html.j2``) are autoescaped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from csm_rules._resources import data_path
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict, ExpansionOpportunity
from csm_rules.errors import NarrationError
from csm_rules.narration.facts import AccountFacts, account_facts, opportunity_facts, qbr_facts
from csm_rules.narration.narrative import QBR_SECTIONS, AlertTexts, Narrative, NarratorName
from csm_rules.text.escape import chat_text
from csm_rules.text.labels import capitalised

__all__ = ["TemplateNarrator", "check_sections", "sentence_list", "tidy_prose"]

_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def sentence_list(items: Iterable[Any]) -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"`` (the jinja filter ``sentence_list``)."""
    words = [str(item) for item in items if str(item).strip()]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _capfirst(value: Any) -> str:
    return capitalised(str(value))


def tidy_prose(text: str) -> str:
    """Join a template's soft line breaks into paragraphs; keep bullets ("- ") and blank-line breaks."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [_SPACES.sub(" ", line).strip() for line in block.splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            continue
        out: list[str] = []
        for line in lines:
            if line.startswith("- ") or not out or out[-1].startswith("- "):
                out.append(line)
            else:
                out[-1] = f"{out[-1]} {line}"
        paragraphs.append("\n".join(out))
    return "\n\n".join(paragraphs)


def _tidy_lines(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


def _account_context(facts: AccountFacts) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in facts.__dataclass_fields__}


class TemplateNarrator:
    """Writes every text from the jinja2 templates in ``templates_dir`` (default: the shipped ``narrators/``).

    Example::

        narrator = TemplateNarrator()
        print(narrator.churn_explanation(verdict).text)
    """

    def __init__(self, templates_dir: str | Path | None = None) -> None:
        self.templates_dir = Path(templates_dir) if templates_dir is not None else data_path("narrators")
        if not self.templates_dir.is_dir():
            raise NarrationError(f"templates folder {str(self.templates_dir)!r} does not exist")
        self._env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(self.templates_dir),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["sentence_list"] = sentence_list
        self._env.filters["capfirst"] = _capfirst
        self._env.filters["chat"] = chat_text  # account text in chat markup (alert_chat.j2)
        self.version = "template:" + self._templates_digest()
        self._next_action: jinja2.Template | None = None

    @property
    def name(self) -> NarratorName:
        """Always ``"template"``."""
        return "template"

    def _templates_digest(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.templates_dir.glob("*")):
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    def render(self, template: str, context: Mapping[str, Any]) -> str:
        """Render one template with ``context``; any template error becomes a :class:`NarrationError`."""
        try:
            return self._env.get_template(template).render(context)
        except jinja2.TemplateError as exc:
            raise NarrationError(f"narrator template {template!r} failed: {exc}") from exc

    def next_action_text(self, key: str) -> str:
        """The wording of one next-action key (the ``next_action`` macro of ``_macros.j2``)."""
        try:
            if self._next_action is None:
                self._next_action = self._env.from_string(
                    '{% from "_macros.j2" import next_action %}{{ next_action(key) }}'
                )
            return self._next_action.render(key=key).strip()
        except jinja2.TemplateError as exc:
            raise NarrationError(f"narrator template '_macros.j2' failed: {exc}") from exc

    def _narrative(self, verdict: AccountVerdict, kind: str, text: str) -> Narrative:
        return Narrative(
            text=text,
            narrator="template",
            verdict_fingerprint=verdict.fingerprint,
            kind=kind,
            version=self.version,
        )

    def churn_explanation(
        self, verdict: AccountVerdict, *, snapshot: AccountSnapshot | None = None
    ) -> Narrative:
        """Why the account is (or is not) at risk: band, score, triggers, worst signals, next step."""
        text = tidy_prose(self.render("churn_explanation.j2", _account_context(account_facts(verdict))))
        return self._narrative(verdict, "churn_explanation", text)

    def talk_track(
        self,
        verdict: AccountVerdict,
        opportunity: ExpansionOpportunity,
        *,
        snapshot: AccountSnapshot | None = None,
    ) -> Narrative:
        """What to say about one expansion opportunity (template ``talk_track_<type>.j2``)."""
        kind = opportunity.opportunity_type.value
        context = _account_context(account_facts(verdict)) | {"opportunity": opportunity_facts(opportunity)}
        text = tidy_prose(self.render(f"talk_track_{kind}.j2", context))
        return self._narrative(verdict, f"talk_track:{kind}:{opportunity.key}", text)

    def qbr_summaries(
        self,
        verdict: AccountVerdict,
        sections: Sequence[str] = QBR_SECTIONS,
        *,
        snapshot: AccountSnapshot | None = None,
    ) -> dict[str, Narrative]:
        """One 2–3 sentence summary per QBR section (``snapshot`` adds value metrics and health history)."""
        check_sections(sections)
        qbr = qbr_facts(verdict, snapshot)
        context = _account_context(account_facts(verdict, customer=True)) | {
            name: getattr(qbr, name) for name in qbr.__dataclass_fields__
        }
        return {
            section: self._narrative(
                verdict, f"qbr:{section}", tidy_prose(self.render(f"qbr_{section}.j2", context))
            )
            for section in sections
        }

    def alert_texts(self, verdict: AccountVerdict, explanation: Narrative) -> AlertTexts:
        """Subject, plain and HTML body of the Gmail draft, and the chat text, around ``explanation``."""
        facts = account_facts(verdict)
        written_by = _written_by(explanation)
        context = _account_context(facts) | {
            "explanation": explanation.text,
            "explanation_paragraphs": [p for p in explanation.text.split("\n\n") if p.strip()],
            "written_by": written_by,
        }
        return AlertTexts(
            subject=" ".join(self.render("alert_subject.j2", context).split()),
            text_body=_tidy_lines(self.render("alert_email.txt.j2", context)),
            html_body=_tidy_lines(self.render("alert_email.html.j2", context)),
            chat_text=_tidy_lines(self.render("alert_chat.j2", context)),
        )


def _written_by(explanation: Narrative) -> str:
    if explanation.narrator == "claude":
        return "Explanation written by Claude and checked against the rules' verdict."
    if explanation.fallback_reason:
        return "Explanation written from the standard template (the AI narrator was not used this time)."
    return "Explanation written from the standard template."


def check_sections(sections: Sequence[str]) -> None:
    """Raise ``ValueError`` for a QBR section id that is not one of :data:`QBR_SECTIONS`."""
    if isinstance(sections, str):
        raise ValueError("sections must be a sequence of section ids, not one string")
    unknown = [s for s in sections if s not in QBR_SECTIONS]
    if unknown:
        raise ValueError(f"unknown QBR section(s) {unknown}; expected some of {list(QBR_SECTIONS)}")
