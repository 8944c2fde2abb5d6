"""The Generate page: personas × arcs × topics chosen, a preview of one prompt, the
problems and the estimate before anything is created, then the job."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from core.pages import HtmxHttpRequest, is_partial_request

from .forms import GenerateForm, PreviewForm
from .jobs import GenerationProblems
from .starting import provider_problem, start_generation_job

PAGE = "generation/generate.html"


def _preview(form: PreviewForm) -> dict:
    ask = form.generation_request()
    try:
        _, body = ask.preview(shown=1)
    except DomainError as exc:
        return {"error": exc.message}
    return {"result": body}


@require_http_methods(["GET", "POST"])
@login_required
def generate(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "provider_problem": provider_problem(),
        "demo_provider": settings.GENERATION_DEMO_PROVIDER,
    }
    if request.method == "GET":
        return render(request, PAGE, {**context, "form": GenerateForm()})
    form = GenerateForm(request.POST)
    if form.is_valid():
        try:
            job = start_generation_job(request.user, form.generation_request())
        except GenerationProblems as exc:
            context["error"] = exc.message
            context["problems"] = exc.problems
        except DomainError as exc:
            context["error"] = exc.message
        else:
            messages.success(
                request,
                f"Generation job created: {job.total_items} conversation"
                f"{'s' if job.total_items != 1 else ''} to generate.",
            )
            return redirect("batch-job-detail", pk=job.pk)
    return render(request, PAGE, {**context, "form": form}, status=422)


@require_POST
@login_required
def generate_preview(request: HtmxHttpRequest) -> HttpResponse:
    """The preview part of the page, for what the form holds now."""
    if not is_partial_request(request):
        return redirect("batch-job-generate")
    form = PreviewForm(request.POST)
    preview_context = _preview(form) if form.is_valid() else {}
    return render(request, f"{PAGE}#preview", {"form": form, "preview": preview_context})
