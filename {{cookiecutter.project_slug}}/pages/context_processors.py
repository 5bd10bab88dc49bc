from django.conf import settings

from accounts.views import password_resets_offered


def site(request):
    return {
        "project_name": settings.SITE_NAME,
        "password_resets_offered": password_resets_offered(),
    }
