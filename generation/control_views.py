"""The buttons of the job page's Generation panel: Cancel, Pause, Resume, Retry failed
generations (``generation.control``), for whoever may see the job (its owner, staff).

With htmx the panel is swapped for its new state with a notice, and the items table
reloads; when the action ended or reopened the job, the whole page reloads instead (its
status, progress and enrichment change too) and shows the notice at the top. Without
JavaScript each button is a plain form post answered by a redirect to the page."""

import uuid
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from conversations.models import BatchJob
from core.errors import DomainError
from core.pages import HtmxHttpRequest, is_partial_request

from . import control
from .overview import panel

NANO = Decimal("0.000000001")
# What the budget's column holds (20 digits, 9 of them decimals).
MAX_BUDGET = Decimal(10) ** 11

PANEL = "generation/job_panel.html"
ACTIONS = {
    "cancel": control.cancel,
    "pause": control.pause,
    "resume": control.resume,
    "retry-failed": control.retry_failed,
}
# Tells the job's items table to reload (``intake.views.ITEMS_ADDED``).
ITEMS_CHANGED = "items-added"


@require_POST
@login_required
def generation_action(request: HtmxHttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    act = ACTIONS.get(action)
    job = BatchJob.objects.visible_to(request.user).filter(pk=pk).first()
    if act is None or job is None:
        raise Http404("No such batch job or action.")
    was_finished = job.is_finished
    try:
        if action == "resume":
            done = act(job, request.user, budget_usd=_budget(request))
        else:
            done = act(job, request.user)
    except DomainError as exc:
        job.refresh_from_db()
        notice, level = exc.message, messages.WARNING
    else:
        job = done.job
        notice, level = done.message, messages.SUCCESS if done.changed else messages.INFO
    if not is_partial_request(request) or job.is_finished != was_finished:
        messages.add_message(request, level, notice)
        if not is_partial_request(request):
            return redirect("batch-job-detail", pk=job.pk)
        response = HttpResponse()
        response["HX-Refresh"] = "true"
        return response
    context = {
        "job": job,
        "panel": panel(job),
        "notice": notice,
        "notice_ok": level != messages.WARNING,
    }
    response = render(request, PANEL, context)
    response["HX-Trigger"] = ITEMS_CHANGED
    return response


def _budget(request: HtmxHttpRequest):
    """The new budget Resume was sent with: ``control.KEEP`` without the field, None when
    it was left empty (no budget), else the amount in USD (rounded down to 1e-9)."""
    if "budget_usd" not in request.POST:
        return control.KEEP
    text = request.POST["budget_usd"].strip()
    if not text:
        return None
    try:
        amount = Decimal(text).quantize(NANO, rounding=ROUND_FLOOR)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount >= MAX_BUDGET:
        raise DomainError(
            f"The budget must be an amount of USD such as 12.50, not “{text[:40]}”; "
            "nothing was changed."
        )
    return amount
