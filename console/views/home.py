"""The root URL sends a member to the first page of the navigation."""

from django.http import HttpRequest, HttpResponseRedirect
from django.views.decorators.http import require_GET

from console.navigation import navigation


@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    items = navigation(request)
    return HttpResponseRedirect(items[0].url if items else "/account/password/")
