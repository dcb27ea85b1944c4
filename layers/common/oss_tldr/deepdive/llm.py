"""The deep dive's OpenAI summariser: one chat completion per explanation and per deep dive, each held to a
strict JSON schema (Structured Outputs) and checked before use, asked through the reports' request loop
(:func:`oss_tldr.reports.summarise.llm.complete`: retries from the budget, the deadline, 429 and refusals
as domain errors). Imports the OpenAI SDK: only :func:`oss_tldr.deepdive.summarise.get_summariser`
imports this module, and only when a key is configured."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from oss_tldr.deepdive import prompts
from oss_tldr.deepdive.hunks import Excerpt
from oss_tldr.deepdive.summarise import MAX_POINTS, POINT_WORDS, SUMMARY_WORDS, Sections, with_note
from oss_tldr.github.thread_payloads import Thread
from oss_tldr.reports.summarise import LLMBudget, clip_words
from oss_tldr.reports.summarise.llm import ChatModel, complete
from oss_tldr.reports.summarise.validation import InvalidAnswer, parse_answer

A = TypeVar("A", bound=BaseModel)
EXPLANATION_TOKENS = 200
DEEP_DIVE_TOKENS = 1500


class DiffAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    explanation: str


class DeepDiveAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    summary: str
    reviews: list[str]
    comments: list[str]
    action_items: list[str]


def _points(values: list[str]) -> tuple[str, ...]:
    return tuple(clip_words(v, POINT_WORDS) for v in values if v.strip())[:MAX_POINTS]


def parse_explanation(content: str | None) -> str:
    answer = parse_answer(DiffAnswer, content, "explanation")
    if not answer.explanation.strip():
        raise InvalidAnswer("explanation: empty")
    return answer.explanation


def parse_sections(content: str | None) -> Sections:
    answer = parse_answer(DeepDiveAnswer, content, "deep dive")
    if not answer.summary.strip():
        raise InvalidAnswer("deep dive: no summary")
    return Sections(
        clip_words(answer.summary, SUMMARY_WORDS),
        _points(answer.reviews),
        _points(answer.comments),
        _points(answer.action_items),
    )


class OpenAIDeepDive(ChatModel):
    prompt_version = prompts.PROMPT_VERSION

    def explain(self, file: str, patch: Excerpt, budget: LLMBudget) -> str:
        text = complete(
            self._chat,
            self.model,
            purpose="diff_explanation",
            system=prompts.DIFF_SYSTEM,
            user=prompts.diff_message(file, patch),
            max_tokens=EXPLANATION_TOKENS,
            schema=DiffAnswer,
            parse=parse_explanation,
            budget=budget,
        )
        return with_note(text, patch)

    def sections(self, thread: Thread, budget: LLMBudget) -> Sections:
        return complete(
            self._chat,
            self.model,
            purpose="deep_dive",
            system=prompts.THREAD_SYSTEM,
            user=prompts.thread_message(thread),
            max_tokens=DEEP_DIVE_TOKENS,
            schema=DeepDiveAnswer,
            parse=parse_sections,
            budget=budget,
        )
