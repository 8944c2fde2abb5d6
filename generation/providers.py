"""The provider generation uses, by name (Anthropic now; OpenAI's Batch API can follow)."""

from .provider import Provider, ProviderError

PROVIDERS = ("anthropic",)


def get_provider(name: str = "anthropic") -> Provider:
    """A client for the named provider; ``ProviderError("not_configured")`` says how to set
    it up when its key is missing."""
    if name == "anthropic":
        from .anthropic_provider import AnthropicProvider

        return AnthropicProvider()
    raise ProviderError(
        "not_configured", f"Unknown generation provider {name!r}; known: {', '.join(PROVIDERS)}."
    )
