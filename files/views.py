"""The part URLs of direct uploads that lead to Partsite itself: its stand-in for presigned storage URLs.

Like a presigned URL, the signed link itself is the permission: whoever started the
upload was checked when it was handed out, and it stops working when the upload expires.
Only a vault whose part URLs lead here takes parts here (Vault.part_url_is_valid).
"""

import time

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from files import services
from files.models import Upload
from files.storage import CHUNK_BYTES, vault
from partsite.bodies import raw_body
from partsite.errors import DomainError

REFUSED = "This part URL is invalid or has expired; GET the upload again for fresh part URLs."


@raw_body
@csrf_exempt
@require_http_methods(["PUT"])
def upload_part(request, upload_id, number):
    upload = Upload.objects.filter(pk=upload_id).first()
    try:
        expires = int(request.GET.get("expires", ""))
    except ValueError:
        expires = 0
    signature = request.GET.get("signature", "")
    if (
        upload is None
        or expires < time.time()
        or not vault().part_url_is_valid(upload, number, expires, signature)
    ):
        return JsonResponse({"detail": REFUSED}, status=403)
    try:
        length = int(request.META["CONTENT_LENGTH"])
    except (KeyError, ValueError):
        return JsonResponse({"detail": "Send the part with a Content-Length header."}, status=411)
    try:
        services.upload_part_receive(upload=upload, number=number, length=length, chunks=_body(request))
    except DomainError as refused:
        return JsonResponse(refused.as_json(), status=refused.http_status)
    return JsonResponse({"number": number, "received": length})


def _body(request):
    while chunk := request.read(CHUNK_BYTES):
        yield chunk
