"""The settings of the tests' local clusters: production's, with a cheap password hash.

Every web instance, worker and manage.py run of a cluster the tests start gets
DJANGO_SETTINGS_MODULE=tests.cluster.settings (conftest.py, SHARED_ENV). The fault tests
log 6-20 visitors in before they break something; with PBKDF2's 0.5 s of CPU per login
those logins, the set-up and not the subject, took over 10 s each at load average 12-15
on this machine and made the tier slow and flaky. The unit tests use the same hasher
(tests/conftest.py). Nothing else differs: the throttle refuses a locked client before
any password is checked, whatever the hasher.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
