"""manage.py chat_recount: the kept counts (rooms.counts) worked out again from the
messages."""

from django.core.management.base import BaseCommand

from rooms import counts
from rooms.models import Membership, PublicRoom


class Command(BaseCommand):
    help = (
        "Work out again, from the saved messages, every member's unread and mention counts "
        "and the public rooms the lobby lists: after messages or members were written "
        "other than through the chat (an import, a restored table, rows changed in SQL). "
        "The chat keeps them itself; this reads every message of every room, once. Run it "
        "while nobody writes: a message posted meanwhile may be counted twice, or not at all."
    )

    def handle(self, *args, **options):
        counts.recount()
        self.stdout.write(
            f"Recounted {Membership.objects.count()} memberships and "
            f"{PublicRoom.objects.count()} public rooms."
        )
