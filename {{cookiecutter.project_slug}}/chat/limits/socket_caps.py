"""How many sockets one client may hold open: at most CHAT_MAX_SOCKETS_PER_SENDER for a
sender (a logged-in user, or a guest's session) and CHAT_MAX_SOCKETS_PER_ADDRESS for a
client address, counted where the channel layer keeps its groups: in this process's
memory with the in-memory layer, in Redis with channels-redis (chat.stores.redis_socket_caps),
where every server process counts the same sockets.

A socket over either cap is refused with CLOSE_TOO_MANY_SOCKETS.
"""

from django.conf import settings

from chat import stores


def caps(sender, address):
    """{owner: cap} for a socket of ``sender`` from ``address`` (chat.limits.flood keys)."""
    owners = {address: settings.CHAT_MAX_SOCKETS_PER_ADDRESS}
    if sender != address:
        owners[sender] = settings.CHAT_MAX_SOCKETS_PER_SENDER
    return owners


def counts_for(layer):
    """The socket counts store of this event loop (chat.stores)."""
    return stores.store("socket_counts", layer)
