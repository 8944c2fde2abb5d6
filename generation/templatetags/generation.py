"""The job page's Generation panel, for the pages of intake (which does not import
generation): ``{% load generation %}{% generation_panel job %}`` renders nothing for a job
whose items come from outside."""

from django import template

from generation.overview import panel

register = template.Library()


@register.inclusion_tag("generation/job_panel.html", takes_context=True)
def generation_panel(context, job) -> dict:
    # The panel's buttons post forms: they need the page's CSRF token.
    return {"job": job, "panel": panel(job), "csrf_token": context.get("csrf_token")}
