"""A fake LLM provider of ours: an HTTP server on 127.0.0.1 speaking Anthropic's Messages
and Message Batches APIs well enough for the official SDK (as moto's server does for S3),
with misbehaviour scripted per request. Tests and the demo run it as a real process:

    python -m devtools.fake_anthropic [--port 0] [--api-key KEY]

and point the SDK at it with ANTHROPIC_BASE_URL. It needs nothing but the standard library.
"""
