# deploy.post hook of plugin django, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# django: superusers of this instance, from the inventory's users (passwords from the secrets file).
# A user without a password keeps the one it has; only a new one gets an unusable password.
(
  PLC_PASSWORD=
  PLC_PASSWORD=$(secret_value PLC_DJANGO_SUPERUSER_0_PASSWORD) || exit 1
  export PLC_PASSWORD
  docker exec -i --env PLC_PASSWORD ybs-hack python manage.py shell <<'PY' || die 'cannot create the superuser jpic'
import os
from django.contrib.auth import get_user_model
User = get_user_model()
user, created = User.objects.get_or_create(**{User.USERNAME_FIELD: "jpic"})
user.email = "jpic@example.com"
user.is_staff = user.is_superuser = True
if os.environ.get("PLC_PASSWORD"):
    user.set_password(os.environ["PLC_PASSWORD"])
elif created:
    user.set_unusable_password()
user.save()
PY
)
(
  PLC_PASSWORD=
  export PLC_PASSWORD
  docker exec -i --env PLC_PASSWORD ybs-hack python manage.py shell <<'PY' || die 'cannot create the superuser hacker'
import os
from django.contrib.auth import get_user_model
User = get_user_model()
user, created = User.objects.get_or_create(**{User.USERNAME_FIELD: "hacker"})
user.is_staff = user.is_superuser = True
if os.environ.get("PLC_PASSWORD"):
    user.set_password(os.environ["PLC_PASSWORD"])
elif created:
    user.set_unusable_password()
user.save()
PY
)
