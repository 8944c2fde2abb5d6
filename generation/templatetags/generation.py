"""The job page's Generation panel and a generation job's state next to its status, for the
pages of intake (which does not import generation): ``{% load generation %}
{% generation_panel job %}`` and ``{% generation_state job %}`` render nothing for a job
whose items come from outside."""

from django import template

from generation.overview import panel, settings_of, state

register = template.Library()


@register.inclusion_tag("generation/job_panel.html", takes_context=True)
def generation_panel(context, job) -> dict:
    # The panel's buttons post forms: they need the page's CSRF token.
    return {"job": job, "panel": panel(job), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("generation/job_state.html")
def generation_state(job, element_id: str = "", oob: bool = False) -> dict:
    """A "Paused" or "Cancelling" badge for an open generation job that is so (the job's
    status stays ``processing`` or ``queued``: its items still come in); with
    ``element_id``, wrapped in an element of that id even when empty, for the panel's
    actions to replace (``oob``: out of band, in an htmx answer)."""
    shown = state(job)
    wrapped = bool(element_id) and settings_of(job) is not None
    return {"state": shown, "element_id": element_id if wrapped else "", "oob": oob}
