from django.urls import path

from worker import views

urlpatterns = [
    # The Elastic Beanstalk worker daemon posts each queued job here (worker/views.py).
    path("worker/", views.worker_endpoint, name="worker"),
]
