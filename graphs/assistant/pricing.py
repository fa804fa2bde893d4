"""Estimated cost of model calls, from list prices in US dollars per million tokens.

Prices change; the table holds OpenAI's published list prices for the models people
commonly point the bot at, and settings can override them (``MODEL_PRICE_INPUT_PER_MTOK``,
``MODEL_PRICE_OUTPUT_PER_MTOK``), e.g. zero for a model served on your own machine.
Unknown models get no estimate (``None``) rather than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

# model name prefix -> (input, output) USD per 1M tokens
LIST_PRICES_USD_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}


@dataclass(frozen=True, slots=True)
class Price:
    input_usd_per_mtok: float
    output_usd_per_mtok: float

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_usd_per_mtok + completion_tokens * self.output_usd_per_mtok
        ) / 1_000_000


def price_for(
    model: str, *, input_override: float | None = None, output_override: float | None = None
) -> Price | None:
    """The price of ``model``: the overrides when both are set, else the longest
    matching prefix in the list, else None."""
    if input_override is not None and output_override is not None:
        return Price(input_override, output_override)
    name = model.lower()
    for prefix in sorted(LIST_PRICES_USD_PER_MTOK, key=len, reverse=True):
        if name.startswith(prefix):
            return Price(*LIST_PRICES_USD_PER_MTOK[prefix])
    return None
