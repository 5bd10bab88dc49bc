"""manage.py chat_token USERNAME: API tokens (api.views) made, listed and revoked."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.models import ApiToken


class Command(BaseCommand):
    help = (
        "Make an API token for USERNAME and print its key, which is shown only once; or, "
        "with --list or --revoke, list or revoke that user's tokens."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="", help="what the token is for (default: the command line)"
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--list", action="store_true", help="list the user's tokens")
        action.add_argument(
            "--revoke",
            metavar="PREFIX",
            help="revoke the user's token with this prefix (as --list shows it) or key, or 'all'",
        )

    def handle(self, *args, username, name, list, revoke, **options):
        user = (
            get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        )
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        owned = ApiToken.objects.filter(user=user).order_by("created")
        if list:
            for token in owned:
                used = token.last_used.isoformat() if token.last_used else "never"
                self.stdout.write(
                    f"{token.prefix}…  {token.name}  made {token.created.isoformat()}, used {used}"
                )
            return
        if revoke is not None:
            if revoke == "all":
                revoked = owned
            elif len(revoke) > tokens.SHOWN_LENGTH:  # a whole key
                revoked = owned.filter(key_hash=tokens.key_hash(revoke))
            else:
                revoked = owned.filter(prefix=revoke)
            count, _ = revoked.delete()
            if not count:
                raise CommandError(f"{username} has no token {revoke!r}.")
            self.stdout.write(f"Revoked {count} token(s) of {username}.")
            return
        if not user.is_active:
            raise CommandError(f"{username} is inactive: a token of theirs would not work.")
        token, key = tokens.issue(user, name or "manage.py chat_token")
        self.stdout.write(key)
