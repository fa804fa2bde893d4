"""LangGraph graphs: the assistant, context budgeting and prompts."""
