"""The assistant graph: LLM or offline planner, tools and approval interrupts."""
