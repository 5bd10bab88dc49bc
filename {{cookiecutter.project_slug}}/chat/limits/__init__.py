"""What the core allows one client, and one process, before it refuses: frames per sender
(flood), sockets per sender and address (socket_caps), and sockets joining at once
(admission)."""
