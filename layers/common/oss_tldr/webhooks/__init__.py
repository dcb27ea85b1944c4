"""GitHub webhooks (``POST /webhooks/github``): the signature check and what a delivery does.

* :func:`~oss_tldr.webhooks.signature.verify_signature`: ``X-Hub-Signature-256`` is HMAC-SHA256 of the raw
  body under ``GITHUB_WEBHOOK_SECRET``, compared in constant time.
* :func:`~oss_tldr.webhooks.deliveries.handle_delivery`: each delivery is stored once by its
  ``X-GitHub-Delivery`` id; activity events on a known repository mark its live shared reports stale.
"""
