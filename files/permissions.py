"""Who may do what with CAD files: the one place where that is decided. Every role may read."""

from partsite.errors import NotPermitted
from partsite.roles import Role, role_of


def check_may_upload(user):
    if role_of(user) not in (Role.LEAD, Role.FABRICATOR):
        raise NotPermitted("Only leads and fabricators may upload files.")


def check_may_manage_revisions(user):
    """Deleting a revision and starting its conversion again are a lead's calls."""
    if role_of(user) != Role.LEAD:
        raise NotPermitted("Only a lead may do this to a revision.")


def check_may_use_upload(user, upload):
    check_may_upload(user)
    if role_of(user) != Role.LEAD and upload.created_by_id != user.pk:
        raise NotPermitted("Only whoever started this upload, or a lead, may continue or abort it.")
