"""Security headers that depend on the request: the Content-Security-Policy's per-request parts
(settings.CONTENT_SECURITY_POLICY holds the rest) and no caching of signed-in pages."""

from urllib.parse import urlsplit

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.utils.cache import patch_cache_control


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, adding what the settings cannot say once for every request.

    - connect-src: the bucket, when files are on S3. The upload form sends the parts of a direct
      upload to presigned bucket URLs, and the 3D view follows the model's redirect there.
    - style-src-attr: DRF's browsable API and its login page (third-party templates meant for
      developers) lay themselves out with style attributes. Attributes only: a style attribute
      holds no selectors and loads nothing that img-src and font-src do not allow.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        origins = storage_origins()
        if origins:
            update["connect-src"] = [*update.get("connect-src", []), *origins]
        if _is_browsable_api(request, response):
            update["style-src-attr"] = [UNSAFE_INLINE]
        parts.update = update
        return parts


def storage_origins():
    """The origins presigned S3 URLs point at, from the AWS_* settings (none on local disk)."""
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    if not bucket:
        return []
    path_style = settings.AWS_S3_ADDRESSING_STYLE == "path"
    if settings.AWS_S3_PUBLIC_ENDPOINT_URL:
        endpoint = urlsplit(settings.AWS_S3_PUBLIC_ENDPOINT_URL)
        origin = f"{endpoint.scheme}://{endpoint.netloc}"
        return [origin] if path_style else [origin, f"{endpoint.scheme}://{bucket}.{endpoint.netloc}"]
    # AWS itself: boto3 names the bucket in the host unless told to use paths; the region's
    # host or the global one, depending on the region and the botocore version.
    hosts = ["s3.amazonaws.com", f"s3.{settings.AWS_S3_REGION_NAME}.amazonaws.com"]
    return [f"https://{host}" if path_style else f"https://{bucket}.{host}" for host in hosts]


def _is_browsable_api(request, response):
    renderer = getattr(response, "accepted_renderer", None)
    return getattr(renderer, "format", None) == "api" or request.path_info.startswith("/api-auth/")


class PrivatePagesMiddleware:
    """What a signed-in person is shown is theirs alone: no browser cache or proxy keeps it.

    Responses that say how they may be cached keep their own Cache-Control (previews, which
    name their image and are kept for a year; downloads). Static files never get here:
    WhiteNoise answers them first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
