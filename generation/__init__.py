"""Generation: batch jobs whose conversations an LLM provider writes from the scaffolding
and a prompt template (prompts, the provider, parsing its answers, prices)."""
