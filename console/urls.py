"""The page map; every URL name lives in the ``console`` namespace."""

from django.urls import include, path

from console.views import auth, health, home

app_name = "console"

console_patterns = [
    path("", home.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password-change"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

urlpatterns = [path("", include((console_patterns, "console")))]
