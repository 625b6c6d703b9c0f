"""Placeholder: the replica router and read-your-writes arrive in the next commit."""

from __future__ import annotations


class ReplicaRouter:
    pass


class ReplicaRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
