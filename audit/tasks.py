"""Celery tasks: thin shells around the telling. Each takes an id and is safe to run twice."""

from celery import shared_task

from audit import dispatch, notifications, webhooks

# Email retries wait 1, 2, 4, 8 and 16 minutes.
EMAIL_RETRIES = 5


@shared_task(ignore_result=True)
def dispatch_event(event_id):
    dispatch.event_dispatch(event_id)


@shared_task(bind=True, ignore_result=True, max_retries=EMAIL_RETRIES)
def send_notification_email(self, notification_id):
    try:
        notifications.notification_email_send(notification_id)
    except notifications.EmailNotSent as error:
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id):
    webhooks.delivery_attempt(delivery_id)


@shared_task(ignore_result=True)
def tell_what_was_missed():
    """Queue again what lost its message: events, webhook deliveries and emails."""
    return (
        dispatch.events_requeue_undispatched() + webhooks.deliveries_requeue_due()
        + notifications.emails_requeue_pending()
    )
