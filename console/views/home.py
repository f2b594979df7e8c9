"""The root URL sends a member to the first page of the navigation."""

from django.http import HttpRequest, HttpResponseRedirect
from django.views.decorators.http import require_GET

from console.navigation import navigation
from console.roles import Role, role_of


@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    items = navigation(request, role_of(request.user) or Role.VIEWER)
    return HttpResponseRedirect(items[0].url if items else "/account/password/")
