"""Stand-ins for services the backend talks to over the network, reached over real sockets
so that the real client libraries run unmodified against them."""
